//! Oplock and lease breaks against the model server: the core's `BreakPolicy`
//! acknowledges with the right body on the open's session and tree, only when the
//! server waits for it, and reports every break.

mod common;

use std::sync::{Arc, Mutex};

use common::SEEDS;
use pike_core::wire::{RequestBody, SessionId, TreeId, disposition, lease_state, oplock_level};
use pike_core::{BreakAck, BreakKey, BreakKind, BreakPolicy, Hook, LeaseKey, Request};
use pike_proptests::{Pair, ServerConfig, ServerPolicy};

const RWH: u32 =
    lease_state::READ_CACHING | lease_state::HANDLE_CACHING | lease_state::WRITE_CACHING;

fn setup(seed: u64, policy: BreakPolicy) -> (Pair, SessionId, TreeId) {
    let mut config = Pair::client_config();
    config.break_policy = policy;
    let mut p = Pair::new(config, ServerConfig::default(), seed);
    let sid = p.connect();
    let tid = p.tree_connect(sid, "share").expect("tree");
    (p, sid, tid)
}

/// Every OPLOCK_BREAK request the client encodes (the acknowledgments).
fn record_acks(p: &mut Pair) -> Arc<Mutex<Vec<Request>>> {
    let acks = Arc::new(Mutex::new(Vec::new()));
    let seen = acks.clone();
    p.client
        .add_hook(Hook::before_encode(move |r: &mut Request| {
            if matches!(r.body, RequestBody::OplockBreakAck(_)) {
                seen.lock().unwrap().push(r.clone());
            }
        }));
    acks
}

/// The client's tracked (state, breaking_to) of lease `key`, as the server's
/// `lease_state` reports it, so each side can be checked against the other.
fn tracked(p: &Pair, key: u8) -> Option<(u32, Option<u32>)> {
    p.client
        .lease(LeaseKey([key; 16]))
        .map(|l| (l.state, l.breaking_to))
}

#[test]
fn auto_ack_answers_an_oplock_break_on_the_open_s_tree() {
    for seed in SEEDS {
        let (mut p, sid, tid) = setup(seed, BreakPolicy::AutoAck);
        let acks = record_acks(&mut p);
        let mut c = Pair::create_request("op", disposition::OPEN_IF);
        c.requested_oplock_level = oplock_level::BATCH;
        let first = p.create_with(sid, tid, c.clone()).unwrap();
        assert_eq!(first.oplock_level, oplock_level::BATCH);
        p.create_with(sid, tid, c).unwrap();
        p.drive();
        let b = p.breaks.last().expect("a break").clone();
        assert_eq!(b.key(), BreakKey::Oplock(first.file_id));
        assert_eq!((b.route, b.acked), (Some((sid, tid)), Some(1)));
        assert!(b.is_ack_required());
        // The 24-byte oplock form (MS-SMB2 2.2.24.1), addressed to the open's tree.
        let sent = acks.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        assert!(
            matches!(&sent[0].body, RequestBody::OplockBreakAck(o) if o.structure_size == 24),
            "{sent:?}"
        );
        assert_eq!((sent[0].session, sent[0].tree), (Some(sid), Some(tid)));
        assert_eq!(
            p.server.oplock_of(first.file_id),
            Some((oplock_level::II, None))
        );
        // Level II to none completes on the server's side: nothing to acknowledge.
        assert!(p.server.break_oplock(first.file_id, oplock_level::NONE));
        p.drive();
        let b = p.breaks.last().expect("a second break");
        assert!(!b.is_ack_required());
        assert_eq!(b.acked, None);
        assert_eq!(acks.lock().unwrap().len(), 1);
        assert!(p.lost.is_none());
    }
}

#[test]
fn auto_ack_answers_lease_breaks_only_when_asked() {
    for seed in SEEDS {
        let (mut p, sid, tid) = setup(seed, BreakPolicy::AutoAck);
        let acks = record_acks(&mut p);
        p.create_with(sid, tid, common::lease_create("l", 1, RWH))
            .unwrap();
        p.create_with(sid, tid, common::lease_create("l", 2, RWH))
            .unwrap();
        p.drive();
        let b = p.breaks[0].clone();
        assert_eq!(b.key(), BreakKey::Lease(LeaseKey([1; 16])));
        assert!(matches!(
            b.kind,
            BreakKind::Lease {
                current_state: RWH,
                new_state: lease_state::READ_CACHING,
                ack_required: true,
                ..
            }
        ));
        assert_eq!(b.acked, Some(lease_state::READ_CACHING));
        let sent = acks.lock().unwrap().clone();
        assert!(
            matches!(&sent[..], [r] if matches!(&r.body, RequestBody::OplockBreakAck(o) if o.structure_size == 36)),
            "one 36-byte lease ack (MS-SMB2 2.2.24.2): {sent:?}"
        );
        assert_eq!(
            p.server.lease_state([1; 16]),
            Some((lease_state::READ_CACHING, None))
        );
        assert_eq!(tracked(&p, 1), p.server.lease_state([1; 16]));
        // A read-only lease breaks without ACK_REQUIRED: reported, not acknowledged,
        // and the tracked state moves at once.
        assert!(p.server.break_lease([2; 16], lease_state::NONE));
        p.drive();
        let b = p.breaks.last().expect("a second break");
        assert!(!b.is_ack_required());
        assert_eq!(b.acked, None);
        assert_eq!(tracked(&p, 2), Some((lease_state::NONE, None)));
        assert_eq!(acks.lock().unwrap().len(), 1);
        assert!(
            p.server.violations().is_empty(),
            "{:?}",
            p.server.violations()
        );
    }
}

#[test]
fn a_custom_policy_chooses_the_level_and_manual_sends_nothing() {
    let seen = Arc::new(Mutex::new(0));
    let counter = seen.clone();
    let drop_all = BreakPolicy::Custom(Arc::new(move |b: &pike_core::Break| {
        *counter.lock().unwrap() += 1;
        assert!(b.is_ack_required());
        BreakAck::To(lease_state::NONE)
    }));
    let (mut p, sid, tid) = setup(SEEDS[0], drop_all);
    p.create_with(sid, tid, common::lease_create("c", 1, RWH))
        .unwrap();
    p.create_with(sid, tid, common::lease_create("c", 2, RWH))
        .unwrap();
    p.drive();
    assert_eq!(*seen.lock().unwrap(), 1);
    assert_eq!(p.breaks[0].acked, Some(lease_state::NONE));
    assert_eq!(
        p.server.lease_state([1; 16]),
        Some((lease_state::NONE, None))
    );

    let (mut p, sid, tid) = setup(SEEDS[1], BreakPolicy::Manual);
    let acks = record_acks(&mut p);
    let first = p
        .create_with(sid, tid, common::lease_create("m", 1, RWH))
        .unwrap();
    p.create_with(sid, tid, common::lease_create("m", 2, RWH))
        .unwrap();
    p.drive();
    assert_eq!(p.breaks[0].acked, None);
    assert!(acks.lock().unwrap().is_empty());
    assert_eq!(
        p.server.lease_state([1; 16]),
        Some((RWH, Some(lease_state::READ_CACHING)))
    );
    assert_eq!(tracked(&p, 1), p.server.lease_state([1; 16]));
    // The caller's own ack is the break's: right body, right route.
    let ack = p.breaks[0].ack_as_asked().expect("ack required");
    assert!(p.call(ack).is_ok());
    assert_eq!(
        p.server.lease_state([1; 16]),
        Some((lease_state::READ_CACHING, None))
    );
    assert_eq!(tracked(&p, 1), p.server.lease_state([1; 16]));
    // Closing the last open that shares a lease forgets it.
    p.close(sid, tid, first.file_id).unwrap();
    assert_eq!(tracked(&p, 1), None);
    assert!(tracked(&p, 2).is_some());
}

#[test]
fn breaks_of_opens_this_connection_did_not_make_are_reported_not_acked() {
    let (mut p, sid, tid) = setup(SEEDS[2], BreakPolicy::AutoAck);
    let acks = record_acks(&mut p);
    p.server.set_policy(ServerPolicy {
        break_every: 2,
        ..ServerPolicy::default()
    });
    for i in 0..6 {
        p.create(sid, tid, &format!("f{i}"), disposition::OPEN_IF)
            .unwrap();
    }
    p.drive();
    assert!(p.breaks.len() >= 2, "{}", p.breaks.len());
    assert!(
        p.breaks
            .iter()
            .all(|b| b.route.is_none() && b.acked.is_none())
    );
    assert!(acks.lock().unwrap().is_empty());
    assert!(p.lost.is_none());
}

#[test]
fn leases_go_with_the_opens_the_server_closed() {
    // TREE_DISCONNECT closes the tree's opens (MS-SMB2 3.3.5.8), LOGOFF the session's
    // (3.3.5.6): their leases and oplocks must not stay tracked, nor their break routes.
    let (mut p, sid, tid) = setup(SEEDS[0], BreakPolicy::Manual);
    let other_tree = p.tree_connect(sid, "share").expect("second tree");
    let mut batch = Pair::create_request("o", disposition::OPEN_IF);
    batch.requested_oplock_level = oplock_level::BATCH;
    let oplocked = p.create_with(sid, tid, batch).unwrap();
    p.create_with(sid, tid, common::lease_create("t", 1, RWH))
        .unwrap();
    p.create_with(sid, other_tree, common::lease_create("u", 2, RWH))
        .unwrap();
    assert_eq!(
        p.client.oplock_level(oplocked.file_id),
        Some(oplock_level::BATCH)
    );

    let disconnect = Request::new(pike_core::wire::TreeDisconnectRequest).tree(sid, tid);
    assert!(p.call(disconnect).is_ok());
    assert_eq!(p.server.lease_state([1; 16]), None);
    assert_eq!(tracked(&p, 1), None);
    assert_eq!(p.client.oplock_level(oplocked.file_id), None);
    assert_eq!(tracked(&p, 2), p.server.lease_state([2; 16]));
    assert!(tracked(&p, 2).is_some());

    p.logoff(sid).unwrap();
    assert_eq!(p.server.lease_state([2; 16]), None);
    assert_eq!(tracked(&p, 2), None);
}

#[test]
fn a_grant_answered_after_its_tree_s_disconnect_is_not_kept() {
    let (mut p, sid, tid) = setup(SEEDS[2], BreakPolicy::Manual);
    // Both answers leave in one flush, in reverse: the disconnect's first.
    p.server.set_policy(ServerPolicy {
        reorder: true,
        ..ServerPolicy::default()
    });
    let create = p.submit(Request::new(common::lease_create("r", 4, RWH)).tree(sid, tid));
    let disconnect = p.submit(Request::new(pike_core::wire::TreeDisconnectRequest).tree(sid, tid));
    p.drive();
    let order: Vec<_> = p
        .log
        .iter()
        .filter_map(|r| match r {
            pike_proptests::Record::Completed(id, true) => Some(*id),
            _ => None,
        })
        .collect();
    assert!(order.ends_with(&[disconnect, create]), "{order:?}");
    assert_eq!(p.server.lease_state([4; 16]), None);
    assert_eq!(tracked(&p, 4), None);
}

#[test]
fn an_open_closed_by_its_own_compound_is_not_kept() {
    let (mut p, sid, tid) = setup(SEEDS[1], BreakPolicy::Manual);
    let open_close = |p: &mut Pair| {
        let chain = pike_core::Compound::new()
            .push(Request::new(common::lease_create("k", 3, RWH)).tree(sid, tid))
            .related(
                Request::new(pike_core::wire::CloseRequest {
                    flags: 0,
                    file_id: pike_core::wire::FileId::RELATED,
                })
                .tree(sid, tid),
            );
        let ids = p.client.submit_compound(p.now, chain).unwrap();
        let create = p.wait(ids[0]).expect("create");
        assert!(p.wait(ids[1]).is_ok());
        match create.body {
            pike_core::wire::ResponseBody::Create(c) => c.file_id,
            other => panic!("{other:?}"),
        }
    };
    let gone = open_close(&mut p);
    assert_eq!(p.server.lease_state([3; 16]), None);
    assert_eq!(tracked(&p, 3), None);
    assert_eq!(p.client.oplock_level(gone), None);

    // While another open holds the lease, the compound's grant still updates it.
    let held = p
        .create_with(
            sid,
            tid,
            common::lease_create("k", 3, lease_state::READ_CACHING),
        )
        .unwrap();
    assert_eq!(tracked(&p, 3), Some((lease_state::READ_CACHING, None)));
    open_close(&mut p);
    assert_eq!(tracked(&p, 3), p.server.lease_state([3; 16]));
    assert_eq!(tracked(&p, 3).map(|t| t.0), Some(RWH));
    p.close(sid, tid, held.file_id).unwrap();
    assert_eq!(tracked(&p, 3), None);
}
