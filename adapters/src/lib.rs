//! # pike
//!
//! An SMB2/3 client over the sans-IO [`pike_core`], for tokio, smol, async-std
//! (deprecated upstream) and blocking code from one build.
//!
//! One driver loop ([`Driver`]) runs the protocol over any `futures_io::AsyncRead +
//! AsyncWrite` byte stream and a [`Timer`]; tiny [`runtime`] modules supply TCP, timers
//! and a spawner. The handles ([`Connection`] → [`Session`] → [`Tree`] → [`File`], and
//! [`Path`]) are cheap clones sharing the connection state, quinn-style.
//!
//! ```text
//!  Tree / File / Path ─► ConnectionRef::submit ─► Connection (pike-core) ─► Driver ─► socket
//!         ▲                                                                  │
//!         └──────────────── ResponseFuture ◄── events ◄──────────────────────┘
//! ```
//!
//! Every operation is also reachable one level down: build a request
//! ([`Tree::request`]), edit any field, [`Tree::submit`] it (the [`ResponseFuture`]
//! shows the interim AsyncId), and await the typed response.
//!
//! # Testing servers
//!
//! [`harness`] runs conformance tests from plain `cargo test`: requirements that skip,
//! per-server expected failures, a temporary directory on the share, and
//! [`harness::expect_status`].
//!
//! # Oplock and lease breaks
//!
//! The core acknowledges breaks per the connection's [`BreakPolicy`] (default
//! [`BreakPolicy::AutoAck`]: as the server asks, only when it waits for an ack);
//! [`ConnectionRef::on_break`] lets a closure decide instead. Await breaks with
//! [`ConnectionRef::oplock_break`], [`ConnectionRef::lease_break`] or
//! [`ConnectionRef::next_break`]; breaks that arrive first wait in a backlog of at most
//! [`BREAK_BACKLOG`] (the oldest is dropped beyond that).
//!
//! # Scoped header defaults
//!
//! [`Tree::with_defaults`] gives every request submitted on the connection a
//! CreditRequest, ChannelSequence or extra flags (unless the request sets its own) until
//! the returned guard drops.
//!
//! # Hooks
//!
//! A [`Hook`] sees, and may rewrite, traffic at eight points: a request before and
//! after encoding (the latter before signing, so rewrites are still signed), the frame
//! before and after it is sent, bytes and frames received, the plaintext before
//! decoding and the typed response after (see [`Hook`] for exactly what each point gets
//! and what a rewrite does to signing and bookkeeping). Add hooks to a [`Client`] (every
//! connection it makes) or a [`Connection`] (run first); each stays until its
//! [`HookGuard`] drops. [`TreeConnect::client`] and [`TreeConnect::connect_with`] let
//! client hooks see NEGOTIATE and SESSION_SETUP.
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn demo() -> Result<(), pike::Error> {
//! use pike::{Hook, runtime::tokio::Tokio};
//! use pike::pike_core::wire::Header;
//! let tc = pike::TreeConnect::from_env()?;
//! let client = tc.client(Tokio)?;
//! let _guard = client.add_hook(Hook::after_encode(|chain| {
//!     let h = Header::decode(chain).expect("an SMB2 header");
//!     println!("{} charged {} credits", h.command.name(), h.credit_charge);
//! }));
//! let tree = tc.connect_with(&client).await?;
//! # Ok(()) }
//! ```
//!
//! # Diagnostics
//!
//! Every connection honours two variables (or [`Client::trace`] and [`Client::pcap`]):
//!
//! - `PIKE_TRACE=1` logs one line per PDU through `tracing` (target `pike::pdu`, level
//!   INFO): direction, command, status, MessageId, TreeId or AsyncId, SessionId, credits
//!   (charge/requested, or charge/+granted) and protection, e.g.
//!   `S->C CREATE STATUS_SUCCESS mid=6 tid=0x1 sid=0x3f5bb70c credits=1/+1 encrypted len=152`.
//!   The `pike` CLI prints them on stderr.
//! - `PIKE_PCAP=out.pcap` writes every connection's traffic as a pcap file of synthetic
//!   Ethernet/IPv4/TCP (server port 445) that Wireshark and tshark dissect as SMB2:
//!   plaintext, decrypted, TRANSFORM_HEADERs removed.
//!
//! Both show the wire: requests after every hook rewrite, responses before any. Errors
//! name the request and the status (`CREATE failed: STATUS_ACCESS_DENIED`); a response
//! that does not decode carries its bytes ([`pike_core::RequestError::packet`]), shown
//! in hex.
//!
//! # Example
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn demo() -> Result<(), pike::Error> {
//! use pike::runtime::tokio::Tokio;
//! // PIKE_SERVER, PIKE_PORT, PIKE_CREDS, PIKE_SHARE, ... or the builder's setters.
//! let tree = pike::TreeConnect::from_env()?.connect(Tokio).await?;
//! tree.path("hello.txt").write_bytes(b"hello").await?;
//! assert_eq!(tree.path("hello.txt").read_bytes().await?, b"hello");
//! for entry in tree.root().iterdir().await? {
//!     println!("{} {}", entry.name, entry.metadata.len());
//! }
//! # Ok(()) }
//! ```

#[cfg(feature = "blocking")]
pub mod blocking;
mod breaks;
mod client;
mod diag;
mod driver;
mod error;
mod file;
pub mod harness;
mod hooks;
mod links;
mod options;
mod path;
pub mod runtime;
mod tree_connect;

pub use breaks::{BREAK_BACKLOG, BreakFuture};
pub use client::{Client, Connection, Session, Tree};
pub use driver::{ConnectionRef, Driver, HeaderDefaultsGuard, ResponseFuture, Timer};
pub use error::Error;
pub use file::File;
pub use hooks::HookGuard;
pub use links::MAX_LINK_HOPS;
pub use options::OpenOptions;
pub use path::{DirEntry, Metadata, Path, filetime_to_system};
pub use pike_core;
pub use pike_core::{
    Break, BreakAck, BreakKey, BreakKind, BreakPolicy, HeaderDefaults, Hook, HookEvent, HookPoint,
    LeaseInfo, LeaseKey,
};
pub use tree_connect::{TreeConnect, parse_bool, parse_creds, parse_dialect};

/// The crypto provider pike uses unless a [`ClientConfig`](pike_core::ClientConfig) names
/// one: `ring`'s assembly with the `ring` feature (a default), else the pure-Rust
/// RustCrypto (which the browser build uses).
pub fn default_crypto() -> std::sync::Arc<dyn pike_core::crypto::CryptoProvider> {
    #[cfg(feature = "ring")]
    return std::sync::Arc::new(pike_core::crypto::Ring);
    #[cfg(not(feature = "ring"))]
    return std::sync::Arc::new(pike_core::crypto::RustCrypto);
}

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
