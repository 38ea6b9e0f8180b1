//! A client `Connection` fed arbitrary server bytes: never panics, and whatever it
//! reports keeps the event contract (each RequestId completes at most once, nothing
//! follows ConnectionLost, EOF always ends in ConnectionLost).
//!
//! First input byte picks the client state:
//! - `% 4 == 0`: a fresh client with NEGOTIATE in flight;
//! - otherwise a client logged on offline against the model server (SMB 3.1.1, NTLM),
//!   tree connected, a file open, ECHO and READ outstanding: `1` plain, `2` signing
//!   required, `3` encrypted. Logged-on clients are recorded once per process and
//!   restored from a [`Snapshot`] (no NTLM per input).
//!
//! Second byte: bit 0x80 starts the stream with the server's real answers to the
//! outstanding ECHO and READ, and bit 0x40 XORs the rest of the input over those answers
//! instead of appending it (near-valid messages). The low 6 bits + 1 are the chunk size.
#![no_main]

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use pike_core::wire::{EchoRequest, ReadRequest, ResponseBody, disposition};
use pike_core::{Connection, Event, Request};
use pike_proptests::pair::CLIENT_SEED;
use pike_proptests::{Pair, Recorder, ServerConfig, Snapshot};

fn record(server: ServerConfig) -> Snapshot {
    let mut r = Recorder::new(Pair::client_config(), server);
    let sid = r.connect();
    let tid = r.tree_connect(sid, "share");
    r.server_mut().files_mut().insert("f".into(), vec![0x42; 3000]);
    let create = Request::new(Pair::create_request("f", disposition::OPEN_IF)).tree(sid, tid);
    let fid = match r.call(create).expect("create").body {
        ResponseBody::Create(c) => c.file_id,
        other => panic!("CREATE answered with {other:?}"),
    };
    r.submit(Request::new(EchoRequest).session(sid));
    r.submit(
        Request::new(ReadRequest {
            length: 4096,
            file_id: fid,
            ..ReadRequest::default()
        })
        .tree(sid, tid),
    );
    r.finish()
}

fn snapshot(kind: u8) -> &'static Snapshot {
    static PLAIN: OnceLock<Snapshot> = OnceLock::new();
    static SIGNED: OnceLock<Snapshot> = OnceLock::new();
    static SEALED: OnceLock<Snapshot> = OnceLock::new();
    match kind {
        1 => PLAIN.get_or_init(|| record(ServerConfig::default())),
        2 => SIGNED.get_or_init(|| {
            record(ServerConfig {
                require_signing: true,
                ..ServerConfig::default()
            })
        }),
        _ => SEALED.get_or_init(|| {
            record(ServerConfig {
                encrypt_data: true,
                ..ServerConfig::default()
            })
        }),
    }
}

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
    let [mode, how, rest @ ..] = data else {
        return;
    };
    let (mut client, now, answers) = match mode % 4 {
        0 => {
            let now = pike_core::Instant::now();
            let mut c = Connection::new(Arc::new(Pair::client_config()), now, CLIENT_SEED);
            c.negotiate(now).expect("negotiate");
            let mut sink = Vec::new();
            while c.poll_transmit(now, &mut sink).is_some() {}
            (c, now, &[][..])
        }
        k => {
            let s = snapshot(k);
            (s.restore(), s.now(), s.undelivered())
        }
    };
    let stream: Vec<u8> = if how & 0x80 == 0 {
        rest.to_vec()
    } else if how & 0x40 == 0 {
        [answers, rest].concat()
    } else {
        let mut s = answers.to_vec();
        if s.len() < rest.len() {
            s.resize(rest.len(), 0);
        }
        for (b, x) in s.iter_mut().zip(rest) {
            *b ^= x;
        }
        s
    };
    let chunk = usize::from(how & 0x3f) + 1;
    let mut done = HashSet::new();
    let mut lost = false;
    let mut t = now;
    let mut sink = Vec::new();
    for piece in stream.chunks(chunk) {
        client.handle_input(t, piece);
        while client.poll_transmit(t, &mut sink).is_some() {}
        check(&mut client, &mut done, &mut lost);
        t += Duration::from_millis(1);
    }
    t += Duration::from_secs(120);
    client.handle_timeout(t);
    check(&mut client, &mut done, &mut lost);
    client.handle_eof(t);
    check(&mut client, &mut done, &mut lost);
    assert!(lost, "EOF must lose the connection");
});
