//! # pike
//!
//! An SMB2/3 client over the sans-IO [`pike_core`]. One driver loop ([`Driver`]) runs the
//! protocol over any `futures_io::AsyncRead + AsyncWrite` byte stream and a [`Timer`];
//! tiny runtime modules ([`runtime`]) supply TCP and timers for each runtime. Handles
//! ([`ConnectionRef`]) are cheap clones sharing the connection state, quinn-style.
//!
//! ```text
//! ConnectionRef::submit ─► Connection (pike-core) ─► Driver ─► socket
//!        ▲                                              │
//!        └──────── ResponseFuture ◄── events ◄──────────┘
//! ```

mod driver;
mod error;
pub mod runtime;

pub use driver::{ConnectionRef, Driver, ResponseFuture, Timer};
pub use error::Error;
pub use pike_core;

/// 32 bytes of OS entropy for a connection's seed (the core never reads the OS itself).
pub fn random_seed() -> [u8; 32] {
    let mut s = [0u8; 32];
    // An OS without entropy cannot run a secure client at all: fail loudly.
    getrandom::fill(&mut s).expect("the OS random source is unavailable");
    s
}

/// Wall time as FILETIME (NTLMv2 falls back to it when the server sends no timestamp).
pub fn wall_time() -> pike_core::auth::FileTime {
    let d = web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .unwrap_or_default();
    pike_core::auth::FileTime::from_unix(d.as_secs(), d.subsec_nanos())
}
