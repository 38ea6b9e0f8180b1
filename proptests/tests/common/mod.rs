//! Shared helpers for the offline tests (included with `mod common;`).
#![allow(dead_code, unreachable_pub)]

use pike_core::ClientConfig;
use pike_proptests::{Pair, ServerConfig};

/// Pipe seeds: each test runs under three different chunkings.
pub const SEEDS: [u64; 3] = [1, 0xDEAD_BEEF, 0x1234_5678_9ABC];

/// Deterministic test data.
pub fn pattern(len: usize, salt: u8) -> Vec<u8> {
    let mut x: u32 = 0x9E37_79B9 ^ u32::from(salt);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Proptest settings: `PROPTEST_CASES` cases (32 by default), failures kept in `file`.
pub fn proptest_config(file: &'static str) -> proptest::test_runner::Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    proptest::test_runner::Config {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(file),
        )),
        ..Default::default()
    }
}

pub fn pair(client: ClientConfig, server: ServerConfig, seed: u64) -> Pair {
    Pair::new(client, server, seed)
}
