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
mod client;
mod diag;
mod driver;
mod error;
mod file;
mod hooks;
mod path;
pub mod runtime;
mod tree_connect;

pub use client::{Client, Connection, Session, Tree};
pub use driver::{ConnectionRef, Driver, ResponseFuture, Timer};
pub use error::Error;
pub use file::File;
pub use hooks::HookGuard;
pub use path::{DirEntry, Metadata, OpenOptions, Path, filetime_to_system};
pub use pike_core;
pub use pike_core::{Hook, HookEvent, HookPoint};
pub use tree_connect::{TreeConnect, parse_bool, parse_creds, parse_dialect};

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
