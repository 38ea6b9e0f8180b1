//! A client `Connection` fed arbitrary server bytes: never panics, and whatever it
//! reports keeps the event contract (each RequestId completes at most once, nothing
//! follows ConnectionLost).
//!
//! First input byte picks the client state:
//! - even: a fresh client with NEGOTIATE in flight (cheap, reaches the negotiate path);
//! - odd: a client logged on offline against the model server (SMB 3.1.1, signing),
//!   with a tree connected and a few requests outstanding.
#![no_main]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use pike_core::wire::{EchoRequest, ReadRequest, disposition};
use pike_core::{Connection, Event, Request};
use pike_proptests::Pair;
use pike_proptests::pair::CLIENT_SEED;

fn check(client: &mut Connection, done: &mut HashSet<u64>, lost: &mut bool) {
    while let Some(e) = client.poll_event() {
        assert!(!*lost, "event after ConnectionLost: {e:?}");
        match e {
            Event::Completed { id, .. } => assert!(done.insert(id.0), "{id:?} twice"),
            Event::ConnectionLost(_) => *lost = true,
            _ => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (mut client, now) = if mode % 2 == 0 {
        let now = pike_core::Instant::now();
        let mut c = Connection::new(Arc::new(Pair::client_config()), now, CLIENT_SEED);
        c.negotiate(now).expect("negotiate");
        let mut sink = Vec::new();
        while c.poll_transmit(now, &mut sink).is_some() {}
        (c, now)
    } else {
        let mut p = Pair::default_with_seed(7);
        let sid = p.connect();
        let tid = p.tree_connect(sid, "share").expect("tree");
        let fid = p
            .create(sid, tid, "f", disposition::OPEN_IF)
            .expect("create");
        p.submit(Request::new(EchoRequest).session(sid));
        p.submit(
            Request::new(ReadRequest {
                length: 4096,
                file_id: fid,
                ..ReadRequest::default()
            })
            .tree(sid, tid),
        );
        let mut sink = Vec::new();
        while p.client.poll_transmit(p.now, &mut sink).is_some() {}
        let now = p.now;
        (p.client, now)
    };
    let mut done = HashSet::new();
    let mut lost = false;
    check(&mut client, &mut done, &mut lost);
    // Second byte: chunk size for delivery.
    let (chunk, stream) = match rest.split_first() {
        Some((&c, s)) => (usize::from(c).max(1), s),
        None => return,
    };
    let mut t = now;
    for piece in stream.chunks(chunk) {
        client.handle_input(t, piece);
        let mut sink = Vec::new();
        while client.poll_transmit(t, &mut sink).is_some() {}
        check(&mut client, &mut done, &mut lost);
    }
    t += Duration::from_secs(120);
    client.handle_timeout(t);
    check(&mut client, &mut done, &mut lost);
    client.handle_eof(t);
    check(&mut client, &mut done, &mut lost);
    assert!(lost, "EOF must lose the connection");
});
