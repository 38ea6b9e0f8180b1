//! Error paths against the model server: statuses, timeouts, connection loss.

mod common;

use std::time::Duration;

use common::SEEDS;
use pike_core::wire::{
    Command, CreateRequest, EchoRequest, NtStatus, ReadRequest, RequestBody, create_action,
    create_options, disposition,
};
use pike_core::{ConnectionError, Request, RequestError};
use pike_proptests::{Pair, Record, ServerConfig};

#[test]
fn wrong_password_is_logon_failure() {
    for seed in SEEDS {
        let mut p = Pair::default_with_seed(seed);
        p.negotiate().unwrap();
        let err = p.logon("alice", "wrong").unwrap_err();
        assert_eq!(err.status(), Some(NtStatus::LOGON_FAILURE), "{err:?}");
        let err = p.logon("mallory", "s3cret!").unwrap_err();
        assert_eq!(err.status(), Some(NtStatus::LOGON_FAILURE), "{err:?}");
        // The connection survives; the right password still works.
        p.logon("alice", "s3cret!").unwrap();
        assert!(p.lost.is_none());
        assert!(
            p.server.violations().is_empty(),
            "{:?}",
            p.server.violations()
        );
    }
}

#[test]
fn unknown_share_is_bad_network_name() {
    for seed in SEEDS {
        let mut p = Pair::default_with_seed(seed);
        let sid = p.connect();
        let err = p.tree_connect(sid, "nosuch").unwrap_err();
        assert_eq!(err.status(), Some(NtStatus::BAD_NETWORK_NAME));
        p.tree_connect(sid, "SHARE").unwrap();
    }
}

#[test]
fn read_past_eof_is_end_of_file() {
    for seed in SEEDS {
        let mut p = Pair::default_with_seed(seed);
        let sid = p.connect();
        let tid = p.tree_connect(sid, "share").unwrap();
        let fid = p.create(sid, tid, "small", disposition::CREATE).unwrap();
        p.write(sid, tid, fid, 0, b"hello").unwrap();
        assert_eq!(&p.read(sid, tid, fid, 0, 100).unwrap()[..], b"hello");
        assert_eq!(&p.read(sid, tid, fid, 3, 100).unwrap()[..], b"lo");
        for off in [5, 6, 1 << 40] {
            let err = p.read(sid, tid, fid, off, 10).unwrap_err();
            assert_eq!(err.status(), Some(NtStatus::END_OF_FILE), "offset {off}");
        }
        p.close(sid, tid, fid).unwrap();
        let err = p.read(sid, tid, fid, 0, 1).unwrap_err();
        assert_eq!(err.status(), Some(NtStatus::FILE_CLOSED));
    }
}

#[test]
fn create_dispositions() {
    let mut p = Pair::default_with_seed(SEEDS[0]);
    let sid = p.connect();
    let tid = p.tree_connect(sid, "share").unwrap();
    let st = |r: Result<_, RequestError>| r.err().and_then(|e: RequestError| e.status());
    let open =
        |p: &mut Pair, name: &str, d: u32| p.create_with(sid, tid, Pair::create_request(name, d));
    assert_eq!(
        st(open(&mut p, "a", disposition::OPEN)),
        Some(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
    assert_eq!(
        st(open(&mut p, "a", disposition::OVERWRITE)),
        Some(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
    let c = open(&mut p, "a", disposition::CREATE).unwrap();
    assert_eq!(c.create_action, create_action::CREATED);
    p.write(sid, tid, c.file_id, 0, b"data").unwrap();
    assert_eq!(
        st(open(&mut p, "A", disposition::CREATE)),
        Some(NtStatus::OBJECT_NAME_COLLISION)
    );
    let c = open(&mut p, "a", disposition::OPEN).unwrap();
    assert_eq!((c.create_action, c.end_of_file), (create_action::OPENED, 4));
    let c = open(&mut p, "a", disposition::OPEN_IF).unwrap();
    assert_eq!(c.create_action, create_action::OPENED);
    let c = open(&mut p, "a", disposition::OVERWRITE).unwrap();
    assert_eq!(
        (c.create_action, c.end_of_file),
        (create_action::OVERWRITTEN, 0)
    );
    let c = open(&mut p, "a", disposition::OVERWRITE_IF).unwrap();
    assert_eq!(c.create_action, create_action::OVERWRITTEN);
    let c = open(&mut p, "a", disposition::SUPERSEDE).unwrap();
    assert_eq!(c.create_action, create_action::SUPERSEDED);
    let c = open(&mut p, "b", disposition::SUPERSEDE).unwrap();
    assert_eq!(c.create_action, create_action::CREATED);
    let c = open(&mut p, "c", disposition::OVERWRITE_IF).unwrap();
    assert_eq!(c.create_action, create_action::CREATED);
    let c = open(&mut p, "d", disposition::OPEN_IF).unwrap();
    assert_eq!(c.create_action, create_action::CREATED);
    assert_eq!(st(open(&mut p, "e", 9)), Some(NtStatus::INVALID_PARAMETER));
    // DELETE_ON_CLOSE removes the file at close.
    let mut req = Pair::create_request("tmp", disposition::CREATE);
    req.create_options |= create_options::DELETE_ON_CLOSE;
    let fid = p.create_with(sid, tid, req).unwrap().file_id;
    assert!(p.server.files().contains_key("tmp"));
    p.close(sid, tid, fid).unwrap();
    assert!(!p.server.files().contains_key("tmp"));
    // The share root opens as a directory.
    let root = CreateRequest {
        create_disposition: disposition::OPEN,
        ..CreateRequest::default()
    };
    let c = p.create_with(sid, tid, root).unwrap();
    assert_eq!(c.file_attributes & 0x10, 0x10);
    assert!(
        p.server.violations().is_empty(),
        "{:?}",
        p.server.violations()
    );
}

#[test]
fn unsupported_command_is_not_supported() {
    let mut p = Pair::default_with_seed(SEEDS[1]);
    let sid = p.connect();
    let tid = p.tree_connect(sid, "share").unwrap();
    // A command code outside MS-SMB2 2.2.1 (every defined one is modelled).
    let body = RequestBody::Raw {
        command: Command::Unknown(0x0077),
        body: bytes::Bytes::from_static(&[4, 0, 0, 0]),
    };
    let err = p.call(Request::new(body).tree(sid, tid)).unwrap_err();
    assert_eq!(err.status(), Some(NtStatus::NOT_SUPPORTED));
}

#[test]
fn silent_server_times_out_requests() {
    for seed in SEEDS {
        let mut p = Pair::default_with_seed(seed);
        let sid = p.connect();
        let tid = p.tree_connect(sid, "share").unwrap();
        let fid = p.create(sid, tid, "f", disposition::CREATE).unwrap();
        p.server.set_silent(true);
        let id = p.submit(
            Request::new(ReadRequest {
                length: 10,
                file_id: fid,
                ..ReadRequest::default()
            })
            .tree(sid, tid),
        );
        p.drive();
        assert!(!p.done.contains_key(&id));
        p.advance(Duration::from_secs(29));
        p.drive();
        assert!(!p.done.contains_key(&id), "completed before its deadline");
        p.advance(Duration::from_secs(2));
        let r = p.done.remove(&id).expect("timed out");
        assert_eq!(
            r.unwrap_err(),
            RequestError::Timeout {
                command: Command::Read
            }
        );
        assert_eq!(p.client.credits().in_flight, 0);
        assert!(p.lost.is_none());
    }
}

#[test]
fn silent_server_fails_the_keepalive() {
    let mut p = Pair::default_with_seed(SEEDS[2]);
    p.connect();
    p.server.set_silent(true);
    // Idle for the echo interval: an ECHO goes out, unanswered until its deadline.
    p.advance(Duration::from_secs(61));
    p.drive();
    assert_eq!(p.server.requests_seen().last(), Some(&Command::Echo));
    p.advance(Duration::from_secs(31));
    assert_eq!(p.lost, Some(ConnectionError::KeepaliveTimeout));
    assert_eq!(p.lost_count(), 1);
}

#[test]
fn echo_without_session() {
    let mut p = Pair::default_with_seed(SEEDS[0]);
    p.negotiate().unwrap();
    p.call(Request::new(EchoRequest)).unwrap();
}

#[test]
fn server_close_fails_everything_outstanding_then_one_connection_lost() {
    for seed in SEEDS {
        let mut p = Pair::default_with_seed(seed);
        let sid = p.connect();
        let tid = p.tree_connect(sid, "share").unwrap();
        let fid = p.create(sid, tid, "f", disposition::CREATE).unwrap();
        p.server.set_silent(true);
        let ids: Vec<_> = (0..5)
            .map(|i| {
                p.submit(
                    Request::new(ReadRequest {
                        length: 10,
                        offset: i,
                        file_id: fid,
                        ..ReadRequest::default()
                    })
                    .tree(sid, tid),
                )
            })
            .collect();
        p.drive();
        p.server.close();
        p.drive();
        for id in &ids {
            let r = p.done.remove(id).expect("completed");
            assert_eq!(
                r.unwrap_err(),
                RequestError::ConnectionLost(ConnectionError::Eof)
            );
        }
        assert_eq!(p.lost_count(), 1);
        assert_eq!(
            p.log.last(),
            Some(&Record::ConnectionLost(ConnectionError::Eof))
        );
        let completions_after_lost = p
            .log
            .iter()
            .skip_while(|r| !matches!(r, Record::ConnectionLost(_)))
            .skip(1)
            .count();
        assert_eq!(completions_after_lost, 0);
        // Later submits are refused; nothing more is reported.
        assert!(p.client.submit(p.now, Request::new(EchoRequest)).is_err());
        p.advance(Duration::from_secs(600));
        p.drive();
        assert_eq!(p.lost_count(), 1);
    }
}

#[test]
fn bad_request_signature_makes_the_server_drop_the_connection() {
    let server = ServerConfig {
        require_signing: true,
        ..ServerConfig::default()
    };
    let mut p = Pair::new(Pair::client_config(), server, SEEDS[0]);
    let sid = p.connect();
    let mut req = Request::new(EchoRequest).session(sid);
    req.header.signature = Some([0xAB; 16]);
    req.sign = Some(true);
    let r = p.call(req);
    assert!(r.is_err(), "{r:?}");
    assert!(p.server.is_closed());
    assert_eq!(
        p.server.violations().len(),
        1,
        "{:?}",
        p.server.violations()
    );
    assert_eq!(p.lost, Some(ConnectionError::Eof));
}

/// A WRITE too large for the 24-bit Direct TCP length (MS-SMB2 2.1) fails alone with
/// FrameTooLarge, whether encoded whole or with its data spliced; nothing of it goes on
/// the wire and the connection carries on.
#[test]
fn a_write_too_big_for_one_frame_fails_alone() {
    use pike_core::Transmit;
    use pike_core::wire::MAX_FRAME_LEN;
    for spliced in [false, true] {
        let mut c = Pair::client_config();
        c.dangerous_ignore_credit_limit = true;
        // A server that takes 16 MiB WRITEs: the frame, not the dialect, is the limit.
        let server = ServerConfig {
            max_write: 16 << 20,
            ..ServerConfig::default()
        };
        let mut p = Pair::new(c, server, 1);
        let sid = p.connect();
        let tid = p.tree_connect(sid, "share").unwrap();
        let fid = p.create(sid, tid, "big", disposition::OPEN_IF).unwrap();
        let req = Pair::write_request(sid, tid, fid, 0, &vec![7; MAX_FRAME_LEN]);
        let id = p.submit(req);
        if spliced {
            let mut t = Transmit::new();
            assert_eq!(p.client.poll_transmit_vectored(p.now, &mut t), None);
            assert!(t.is_empty());
        }
        match p.wait(id) {
            Err(RequestError::FrameTooLarge { size }) => assert!(size > MAX_FRAME_LEN),
            other => panic!("spliced {spliced}: {other:?}"),
        }
        assert_eq!(p.write(sid, tid, fid, 0, b"small").unwrap(), 5);
    }
}
