//! pike's break futures against the model server over the loopback stream: keyed by
//! FileId or LeaseKey, a backlog for breaks nobody waits for yet (oldest first,
//! bounded), and failure once the connection is gone.

mod common;

use std::future::Future;
use std::time::Duration;

use pike::pike_core::RequestError;
use pike::pike_core::wire::{
    CreateRequest, EchoRequest, EchoResponse, Lease, RequestContext, disposition, lease_state,
    oplock_level, share_access,
};
use pike::runtime::tokio::Tokio;
use pike::{BREAK_BACKLOG, BreakKey, BreakKind, Error, LeaseKey};
use pike_proptests::loopback::{self, ModelHandle};
use pike_proptests::{ServerConfig, ServerPolicy};

const RWH: u32 =
    lease_state::READ_CACHING | lease_state::HANDLE_CACHING | lease_state::WRITE_CACHING;
const RH: u32 = lease_state::READ_CACHING | lease_state::HANDLE_CACHING;

fn run(f: impl Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f);
}

/// Every wait has a deadline: a missing break fails the test instead of hanging it.
async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("in time")
}

async fn connect(seed: u64) -> (pike::Tree, ModelHandle) {
    let (stream, server) = loopback::connect(ServerConfig::default(), seed);
    let tree = common::model_target()
        .connect_stream(Tokio, stream)
        .await
        .expect("connect");
    (tree, server)
}

fn leased(name: &str, key: u8) -> CreateRequest {
    CreateRequest {
        impersonation_level: 2,
        desired_access: 0x0012_019F,
        share_access: share_access::ALL,
        create_disposition: disposition::OPEN_IF,
        requested_oplock_level: oplock_level::LEASE,
        contexts: vec![
            RequestContext::Lease(Lease {
                lease_key: [key; 16],
                lease_state: RWH,
                ..Lease::default()
            })
            .to_context(),
        ],
        name: name.into(),
        ..Default::default()
    }
}

/// A round trip: everything the server sent before it has been dispatched.
async fn sync(tree: &pike::Tree) {
    let _: EchoResponse = tree.call(EchoRequest).await.expect("echo");
}

fn new_state(b: &pike::Break) -> u32 {
    match b.kind {
        BreakKind::Lease { new_state, .. } => new_state,
        other => panic!("{other:?}"),
    }
}

#[test]
fn kept_breaks_go_to_the_waiter_for_their_key_oldest_first() {
    run(async {
        let (tree, server) = connect(1).await;
        let _a = tree.create(leased("a", 1)).await.unwrap();
        let _b = tree.create(leased("b", 2)).await.unwrap();
        // Before anyone waits: a on to RH, b to RH, then (after a's automatic ack) a to R.
        server.with(|s| assert!(s.break_lease([1; 16], RH)));
        server.with(|s| assert!(s.break_lease([2; 16], RH)));
        sync(&tree).await;
        server.with(|s| assert!(s.break_lease([1; 16], lease_state::READ_CACHING)));
        sync(&tree).await;
        let raw = tree.raw();
        let first = within(raw.lease_break([1; 16])).await.unwrap();
        assert_eq!(new_state(&first), RH);
        assert_eq!(first.acked, Some(RH), "acknowledged as asked");
        let second = within(raw.lease_break(LeaseKey([1; 16]))).await.unwrap();
        assert_eq!(new_state(&second), lease_state::READ_CACHING);
        // The other key's break waited in the backlog meanwhile.
        let other = within(raw.next_break()).await.unwrap();
        assert_eq!(other.key(), BreakKey::Lease(LeaseKey([2; 16])));
        assert!(raw.poll_break().is_none());
        assert_eq!(raw.breaks_dropped(), 0);
        let v = server.with(|s| s.violations().to_vec());
        assert!(v.is_empty(), "{v:?}");
    });
}

#[test]
fn a_waiting_future_gets_the_break_and_a_dropped_one_gives_it_back() {
    run(async {
        let (tree, server) = connect(2).await;
        let f = tree
            .create(CreateRequest {
                requested_oplock_level: oplock_level::BATCH,
                contexts: Vec::new(),
                ..leased("o", 0)
            })
            .await
            .unwrap();
        assert_eq!(f.create_response().oplock_level, oplock_level::BATCH);
        let raw = tree.raw().clone();
        let waiting = raw.oplock_break(f.id());
        server.with(|s| assert!(s.break_oplock(f.id(), oplock_level::II)));
        let b = within(waiting).await.unwrap();
        assert_eq!(b.key(), BreakKey::Oplock(f.id()));
        assert_eq!(b.acked, Some(u32::from(oplock_level::II)));
        assert!(raw.poll_break().is_none(), "delivered, not kept");
        // A future that was handed a break and dropped unpolled puts it back.
        let dropped = raw.next_break();
        server.with(|s| assert!(s.break_oplock(f.id(), oplock_level::NONE)));
        sync(&tree).await;
        drop(dropped);
        let back = raw.poll_break().expect("back in the backlog");
        assert_eq!(back.new_level(), u32::from(oplock_level::NONE));
    });
}

#[test]
fn the_backlog_drops_the_oldest_beyond_its_bound() {
    run(async {
        let (tree, server) = connect(3).await;
        // One spurious break after every response frame.
        server.with(|s| {
            s.set_policy(ServerPolicy {
                break_every: 1,
                ..ServerPolicy::default()
            })
        });
        let before = server.with(|s| s.breaks_sent());
        for _ in 0..BREAK_BACKLOG + 10 {
            sync(&tree).await;
        }
        let sent = server.with(|s| s.breaks_sent()) - before;
        assert!(sent > BREAK_BACKLOG, "{sent}");
        let raw = tree.raw();
        assert_eq!(raw.breaks_dropped(), (sent - BREAK_BACKLOG) as u64);
        let mut kept = 0;
        while raw.poll_break().is_some() {
            kept += 1;
        }
        assert_eq!(kept, BREAK_BACKLOG);
    });
}

#[test]
fn waiters_fail_once_the_connection_is_gone() {
    run(async {
        let (tree, _server) = connect(4).await;
        let waiting = tree.raw().lease_break([9; 16]);
        tree.session().connection().close();
        match within(waiting).await {
            Err(Error::Request(RequestError::ConnectionLost(_))) => {}
            other => panic!("{other:?}"),
        }
    });
}
