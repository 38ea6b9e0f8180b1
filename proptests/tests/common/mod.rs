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

/// A CREATE of `name` (open-if) asking for a lease with `key` (all bytes) and `state`.
pub fn lease_create(name: &str, key: u8, state: u32) -> pike_core::wire::CreateRequest {
    use pike_core::wire::{Lease, RequestContext, disposition, oplock_level};
    let mut c = Pair::create_request(name, disposition::OPEN_IF);
    c.requested_oplock_level = oplock_level::LEASE;
    c.contexts = vec![
        RequestContext::Lease(Lease {
            lease_key: [key; 16],
            lease_state: state,
            ..Lease::default()
        })
        .to_context(),
    ];
    c
}

/// QUERY_INFO of class `T` on `fid`, decoded; panics on any failure.
pub fn query<T: pike_core::wire::InfoBuffer>(
    p: &mut Pair,
    sid: pike_core::wire::SessionId,
    tid: pike_core::wire::TreeId,
    fid: pike_core::wire::FileId,
) -> T {
    use pike_core::wire::{QueryInfoRequest, ResponseBody};
    let r = p
        .call(pike_core::Request::new(QueryInfoRequest::for_class::<T>(fid, 4096)).tree(sid, tid))
        .expect("QUERY_INFO");
    match r.body {
        ResponseBody::QueryInfo(q) => q.parse::<T>().expect("info decodes"),
        other => panic!("QUERY_INFO answered with {other:?}"),
    }
}

/// pike's `TreeConnect` for the model server's default share and user (its stream comes
/// from `pike_proptests::loopback::connect`).
pub fn model_target() -> pike::TreeConnect {
    let c = ServerConfig::default();
    pike::TreeConnect::new()
        .server("model")
        .share(c.share.clone())
        .creds(pike_core::auth::Credentials::new(
            &c.user,
            &c.domain,
            &c.password,
        ))
}
