//! Shared by the adapter's integration tests: the server from `PIKE_*`, the runtime
//! from `PIKE_TEST_RUNTIME`, and test data.
#![allow(dead_code, unreachable_pub)]

use sha2::{Digest, Sha256};

/// The server from `PIKE_*`, or `None` (test skipped) when `PIKE_SERVER` is unset;
/// under `CI=true` a missing server fails instead.
pub fn target(test: &str) -> Option<pike::TreeConnect> {
    if std::env::var("PIKE_SERVER").map_or(true, |s| s.is_empty()) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: CI=true but PIKE_SERVER is not set"
        );
        eprintln!("skipping {test}: set PIKE_SERVER/PIKE_PORT/PIKE_SHARE/PIKE_CREDS to run");
        return None;
    }
    Some(pike::TreeConnect::from_env().expect("PIKE_* variables"))
}

/// Which runtime a test runs on: `PIKE_TEST_RUNTIME` (tokio, smol, async-std,
/// blocking), tokio by default.
pub fn runtime() -> String {
    std::env::var("PIKE_TEST_RUNTIME").unwrap_or_else(|_| "tokio".into())
}

/// Deterministic pseudo-random bytes (xorshift).
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub fn sha(d: &[u8]) -> Vec<u8> {
    Sha256::digest(d).to_vec()
}

/// A name no other run uses.
pub fn unique(prefix: &str) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{prefix}-{}-{t}", std::process::id())
}

/// Runs an async test body on the runtime `PIKE_TEST_RUNTIME` names (`blocking`:
/// the blocking client's driver thread, awaited with `block_on`).
#[macro_export]
macro_rules! on_runtime {
    (|$rt:ident| $body:expr) => {{
        match common::runtime().as_str() {
            "tokio" => {
                let $rt = pike::runtime::tokio::Tokio;
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime")
                    .block_on($body)
            }
            "smol" => {
                let $rt = pike::runtime::smol::Smol;
                smol::block_on($body)
            }
            "async-std" => {
                let $rt = pike::runtime::async_std::AsyncStd;
                async_std::task::block_on($body)
            }
            "blocking" => {
                let $rt = pike::blocking::Blocking;
                pike::blocking::block_on($body)
            }
            other => panic!("PIKE_TEST_RUNTIME={other:?}: tokio, smol, async-std or blocking"),
        }
    }};
}
