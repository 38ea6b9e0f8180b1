//! Offline model server and virtual-time pair for testing pike-core.
//!
//! [`ModelServer`] is an in-memory SMB2/3 server with the client's sans-IO shape;
//! [`Pair`] wires it to a [`pike_core::Connection`] through seeded, chunking pipes and
//! drives both with virtual time, so whole exchanges run offline and reproducibly.
//! [`Snapshot`] records a client state once and restores it cheaply (for fuzzing).
//! [`loopback`] puts the server behind a `futures_io` stream, for whole client stacks.

pub mod loopback;
pub mod model_server;
pub mod pair;
pub mod snapshot;

pub use model_server::{
    GrantPolicy, ModelServer, ServerConfig, ServerPolicy, UNHELD_LEASE_KEY,
    WINDOWS_COPYCHUNK_LIMITS,
};
pub use pair::{Pair, Pipe, Record};
pub use snapshot::{Recorder, Snapshot};
