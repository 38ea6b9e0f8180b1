//! # pike-core
//!
//! A sans-IO SMB2/3 client: a pure state machine. Bytes received and the current time
//! go in; bytes to send, events and the next deadline come out. No sockets, no clock,
//! no OS randomness, no async runtime.
//!
//! [`Connection`] is the state machine; its [`Hook`]s let caller code inspect or rewrite
//! every request and response at eight points, from the typed [`Request`] through the
//! bytes on the wire to the typed [`Response`].
#![warn(missing_docs)]

pub mod auth;
pub mod compress;
pub mod crypto;
pub mod rng;
pub mod wire;

pub use rng::Rng;

/// The monotonic time type the core takes as `now` (std's on native targets,
/// `web_time`'s in the browser).
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub use std::time::Instant;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub use web_time::Instant;

pub mod config;
pub mod connection;
pub mod error;

pub use config::{ClientConfig, CompressionConfig, EncryptionPolicy};
pub use connection::{
    Break, BreakAck, BreakKey, BreakKind, BreakPolicy, Captured, Compound, CompressionInfo,
    Connection, CreditStats, Event, HeaderDefaults, HeaderOverrides, Hook, HookEvent, HookId,
    HookPoint, LeaseInfo, LeaseKey, NegotiateInfo, Request, RequestId, Response, Sender,
    SessionInfo, TransformOverrides, Transmit, decode_captured,
};
pub use error::{ConnectionError, CopyChunkLimits, RequestError, StatusError, UsageError};
