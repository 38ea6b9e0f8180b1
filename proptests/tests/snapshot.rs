//! A restored snapshot is the recorded client: it accepts the server's answers to the
//! requests left outstanding, in any chunking, and keeps working afterwards.

use pike_core::wire::{Dialect, EchoRequest, ReadRequest, ResponseBody, disposition};
use pike_core::{Event, Request};
use pike_proptests::{Pair, Recorder, ServerConfig, Snapshot};

fn record(server: ServerConfig, dialect: Dialect) -> Snapshot {
    let mut c = Pair::client_config();
    c.dialects = vec![dialect];
    let mut r = Recorder::new(c, server);
    let sid = r.connect();
    let tid = r.tree_connect(sid, "share");
    r.server_mut()
        .files_mut()
        .insert("f".into(), b"snapshot data".to_vec());
    let create = Request::new(Pair::create_request("f", disposition::OPEN)).tree(sid, tid);
    let fid = match r.call(create).expect("create").body {
        ResponseBody::Create(c) => c.file_id,
        other => panic!("CREATE answered with {other:?}"),
    };
    r.submit(Request::new(EchoRequest).session(sid));
    r.submit(
        Request::new(ReadRequest {
            length: 100,
            file_id: fid,
            ..ReadRequest::default()
        })
        .tree(sid, tid),
    );
    r.finish()
}

#[test]
fn restored_client_completes_outstanding_requests() {
    let configs = [
        (ServerConfig::default(), Dialect::Smb311),
        (ServerConfig::default(), Dialect::Smb210),
        (
            ServerConfig {
                require_signing: true,
                ..ServerConfig::default()
            },
            Dialect::Smb302,
        ),
        (
            ServerConfig {
                encrypt_data: true,
                ..ServerConfig::default()
            },
            Dialect::Smb311,
        ),
    ];
    for (server, dialect) in configs {
        let snap = record(server, dialect);
        assert!(!snap.undelivered().is_empty());
        for chunk in [1, 7, 4096] {
            let mut c = snap.restore();
            assert_eq!(c.dialect(), Some(dialect));
            assert_eq!(c.in_flight(), 2, "ECHO and READ outstanding");
            for piece in snap.undelivered().chunks(chunk) {
                c.handle_input(snap.now(), piece);
            }
            let mut results = Vec::new();
            while let Some(e) = c.poll_event() {
                match e {
                    Event::Completed { result, .. } => results.push(result.expect("success")),
                    other => panic!("unexpected {other:?}"),
                }
            }
            assert_eq!(results.len(), 2, "{dialect:?}");
            let read = results
                .iter()
                .find_map(|r| match &r.body {
                    ResponseBody::Read(r) => Some(r.data.clone()),
                    _ => None,
                })
                .expect("a READ response");
            assert_eq!(&read[..], b"snapshot data");
            assert!(!c.is_closed());
        }
    }
}
