//! Credit flow control against a stingy server.

mod common;

use std::time::Duration;

use common::{SEEDS, pattern};
use pike_core::wire::{Dialect, EchoRequest, MessageId, WriteRequest, disposition};
use pike_core::{Request, RequestError};
use pike_proptests::{GrantPolicy, Pair, ServerConfig};
use sha2::{Digest, Sha256};

fn stingy(initial: u16) -> ServerConfig {
    ServerConfig {
        initial_credit_grant: initial,
        grant: GrantPolicy::Fixed(1),
        ..ServerConfig::default()
    }
}

#[test]
fn one_credit_per_response_still_completes_64_pipelined_writes() {
    for dialect in [Dialect::Smb311, Dialect::Smb202] {
        for seed in SEEDS {
            let mut c = Pair::client_config();
            c.dialects = vec![dialect];
            let mut p = Pair::new(c, stingy(4), seed);
            let sid = p.connect();
            let tid = p.tree_connect(sid, "share").unwrap();
            let fid = p.create(sid, tid, "w", disposition::CREATE).unwrap();
            let window = p.client.credits().available;
            assert_eq!(window, 4, "window stays at the initial grant");
            let data = pattern(64 * 65536, 3);
            let n = p.write_pipelined(sid, tid, fid, &data, 65536).unwrap();
            assert_eq!(n, 64);
            let back = p.read_pipelined(sid, tid, fid, data.len(), 65536).unwrap();
            assert_eq!(Sha256::digest(&back), Sha256::digest(&data));
            p.drive();
            assert!(
                p.server.violations().is_empty(),
                "{:?}",
                p.server.violations()
            );
            assert!(p.server.max_outstanding_seen() <= 4);
            let cs = p.client.credits();
            assert_eq!(cs.in_flight, 0);
            assert_eq!(u64::from(cs.available), p.server.credits_outstanding());
        }
    }
}

#[test]
fn one_credit_window_serialises_requests() {
    for seed in SEEDS {
        let mut p = Pair::new(Pair::client_config(), stingy(1), seed);
        let sid = p.connect();
        let tid = p.tree_connect(sid, "share").unwrap();
        let fid = p.create(sid, tid, "w", disposition::CREATE).unwrap();
        let data = pattern(16 * 65536, 5);
        p.write_pipelined(sid, tid, fid, &data, 65536).unwrap();
        assert!(
            p.server.violations().is_empty(),
            "{:?}",
            p.server.violations()
        );
        assert_eq!(p.server.max_outstanding_seen(), 1);
    }
}

#[test]
fn multi_credit_write_larger_than_the_window_fails_cleanly() {
    let mut p = Pair::new(Pair::client_config(), stingy(8), SEEDS[0]);
    let sid = p.connect();
    let tid = p.tree_connect(sid, "share").unwrap();
    let fid = p.create(sid, tid, "w", disposition::CREATE).unwrap();
    // 1 MiB needs 16 credits; the window is 8 and never grows.
    let body = WriteRequest {
        file_id: fid,
        data: vec![1u8; 1 << 20].into(),
        ..WriteRequest::default()
    };
    let r = p.call(Request::new(body).tree(sid, tid));
    assert!(
        matches!(
            r,
            Err(RequestError::InsufficientCredits {
                needed: 16,
                available: 8
            })
        ),
        "{r:?}"
    );
    assert!(p.server.violations().is_empty());
    // max_write_size() already respects the window.
    assert_eq!(p.client.max_write_size(), 8 * 65536);
}

#[test]
fn generous_server_grows_the_window_for_multi_credit_io() {
    let mut p = Pair::default_with_seed(SEEDS[1]);
    let sid = p.connect();
    let tid = p.tree_connect(sid, "share").unwrap();
    let fid = p.create(sid, tid, "w", disposition::CREATE).unwrap();
    let cs = p.client.credits();
    assert!(cs.available >= 256, "{cs:?}");
    let data = pattern(8 << 20, 9);
    let n = p.write_pipelined(sid, tid, fid, &data, 2 << 20).unwrap();
    assert_eq!(n, 4);
    assert!(
        p.server.violations().is_empty(),
        "{:?}",
        p.server.violations()
    );
    assert!(p.server.max_outstanding_seen() <= 512);
}

/// The model server enforces the window like Samba: a request beyond it is never
/// answered (and recorded), so the client's deadline is all that completes it.
#[test]
fn server_drops_requests_outside_the_window() {
    let mut p = Pair::new(Pair::client_config(), stingy(4), SEEDS[2]);
    let sid = p.connect();
    let mut req = Request::new(EchoRequest).session(sid);
    req.header.message_id = Some(MessageId(10_000));
    let id = p.submit(req);
    p.drive();
    assert!(!p.done.contains_key(&id));
    assert_eq!(
        p.server.violations().len(),
        1,
        "{:?}",
        p.server.violations()
    );
    p.advance(Duration::from_secs(31));
    assert!(matches!(
        p.done.remove(&id),
        Some(Err(RequestError::Timeout { .. }))
    ));
}

#[test]
fn ignoring_the_credit_limit_overruns_the_servers_window() {
    for ignore in [false, true] {
        let mut c = Pair::client_config();
        c.dangerous_ignore_credit_limit = ignore;
        let mut p = Pair::new(c, stingy(4), SEEDS[0]);
        let sid = p.connect();
        // Spend the whole window on a gap: the next request has no credit left.
        let available = p.client.credits().available;
        p.client.dangerous_skip_message_ids(u64::from(available));
        let id = p.submit(Request::new(EchoRequest).session(sid));
        p.drive();
        let v = p.server.violations();
        if ignore {
            // Sent anyway, past the window: the server drops it (Samba disconnects).
            assert!(
                v.iter().any(|m| m.contains("outside the granted window")),
                "{v:?}"
            );
        } else {
            assert!(v.is_empty(), "{v:?}");
            assert!(matches!(
                p.done.get(&id),
                Some(Err(RequestError::InsufficientCredits { .. }))
            ));
        }
    }
}

#[test]
fn skipped_message_ids_leave_a_gap_the_server_accepts() {
    for seed in SEEDS {
        let mut p = Pair::default_with_seed(seed);
        let sid = p.connect();
        let before = p.client.credits();
        p.client.dangerous_skip_message_ids(5);
        let after = p.client.credits();
        assert_eq!(after.next_message_id, before.next_message_id + 5);
        assert_eq!(after.available, before.available.saturating_sub(5));
        let r = p.call(Request::new(EchoRequest).session(sid)).unwrap();
        assert_eq!(r.header.message_id.0, before.next_message_id + 5);
        assert!(
            p.server.violations().is_empty(),
            "{:?}",
            p.server.violations()
        );
    }
}
