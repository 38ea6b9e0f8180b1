//! Server-side compound handling (the client has no compound API yet, so the chain is
//! built by hand) and CANCEL of a held request.

mod common;

use common::SEEDS;
use pike_core::wire::{
    CloseRequest, Command, FileId, FrameDecoder, HEADER_LEN, Header, HeaderFlags, MessageId,
    NtStatus, ReadRequest, RequestBody, ResponseBody, SessionId, TreeId, WriteRequest, disposition,
    frame_header,
};
use pike_core::{Request, RequestError};
use pike_proptests::{Pair, ServerConfig};

#[test]
fn related_compound_create_write_read_close() {
    let mut c = Pair::client_config();
    c.dialects = vec![pike_core::wire::Dialect::Smb302];
    let mut p = Pair::new(c, ServerConfig::default(), SEEDS[0]);
    let sid = p.connect();
    let tid = p.tree_connect(sid, "share").unwrap();
    let first = p.client.credits().next_message_id;
    let bodies: Vec<RequestBody> = vec![
        Pair::create_request("chain.txt", disposition::CREATE).into(),
        WriteRequest {
            file_id: FileId::RELATED,
            data: bytes::Bytes::from_static(b"compound!"),
            ..WriteRequest::default()
        }
        .into(),
        ReadRequest {
            length: 100,
            file_id: FileId::RELATED,
            ..ReadRequest::default()
        }
        .into(),
        CloseRequest {
            flags: 0,
            file_id: FileId::RELATED,
        }
        .into(),
    ];
    let n = bodies.len();
    let mut chain = Vec::new();
    for (i, b) in bodies.iter().enumerate() {
        let start = chain.len();
        let mut flags = HeaderFlags::default();
        flags.set(HeaderFlags::RELATED_OPERATIONS, i > 0);
        Header {
            command: b.command(),
            credits: 1,
            flags,
            message_id: MessageId(first + i as u64),
            tree_id: if i == 0 { tid } else { TreeId(u32::MAX) },
            session_id: if i == 0 { sid } else { SessionId(u64::MAX) },
            credit_charge: 1,
            ..Header::default()
        }
        .encode(&mut chain);
        b.encode(&mut chain, start);
        if i + 1 < n {
            while (chain.len() - start) % 8 != 0 {
                chain.push(0);
            }
            let next = (chain.len() - start) as u32;
            chain[start + 20..start + 24].copy_from_slice(&next.to_le_bytes());
        }
    }
    let mut frame = frame_header(chain.len()).to_vec();
    frame.extend_from_slice(&chain);
    // Feed the server directly, byte by byte.
    for b in &frame {
        p.server.handle_input(std::slice::from_ref(b));
    }
    let mut out = Vec::new();
    p.server.poll_transmit(&mut out).expect("a response");
    let mut d = FrameDecoder::new(1 << 24);
    d.push(&out);
    let resp = d.next_frame().unwrap().expect("one frame");
    assert!(d.next_frame().unwrap().is_none(), "one compound frame");
    let resp = bytes::Bytes::from(resp.to_vec());
    let mut at = 0;
    let mut commands = Vec::new();
    loop {
        let h = Header::decode(&resp[at..]).unwrap();
        let end = if h.next_command == 0 {
            resp.len()
        } else {
            at + h.next_command as usize
        };
        assert_eq!(h.status, NtStatus::SUCCESS, "{:?}", h.command);
        assert!(h.flags.is_response());
        assert_eq!(h.flags.is_related(), !commands.is_empty());
        let body = ResponseBody::decode(&h, &resp.slice(at..end)).unwrap();
        if let ResponseBody::Read(r) = &body {
            assert_eq!(&r.data[..], b"compound!");
        }
        commands.push(h.command);
        if h.next_command == 0 {
            break;
        }
        assert_eq!(h.next_command % 8, 0);
        assert!(h.next_command as usize >= HEADER_LEN);
        at = end;
    }
    assert_eq!(
        commands,
        [
            Command::Create,
            Command::Write,
            Command::Read,
            Command::Close
        ]
    );
    assert_eq!(&p.server.files()["chain.txt"][..], b"compound!");
    assert_eq!(p.server.open_count(), 0);
    assert!(
        p.server.violations().is_empty(),
        "{:?}",
        p.server.violations()
    );
}

#[test]
fn cancel_of_a_held_request_completes_it_cancelled() {
    for seed in SEEDS {
        let server = ServerConfig {
            require_signing: true,
            ..ServerConfig::default()
        };
        let mut p = Pair::new(Pair::client_config(), server, seed);
        let sid = p.connect();
        let tid = p.tree_connect(sid, "share").unwrap();
        let fid = p
            .create(sid, tid, "f", disposition::CREATE)
            .expect("create");
        p.server.set_silent(true);
        let id = p.submit(
            Request::new(ReadRequest {
                length: 1,
                file_id: fid,
                ..ReadRequest::default()
            })
            .tree(sid, tid),
        );
        p.drive();
        p.client.cancel(p.now, id).unwrap();
        let r = p.wait(id);
        assert!(
            matches!(&r, Err(RequestError::Status(s)) if s.status == NtStatus::CANCELLED),
            "{r:?}"
        );
        assert!(p.lost.is_none());
        assert_eq!(p.client.credits().in_flight, 0);
        assert!(
            p.server.violations().is_empty(),
            "{:?}",
            p.server.violations()
        );
    }
}

/// A compound whose last part goes async: the chain answer carries that part's
/// STATUS_PENDING interim (as Samba sends it), its final answer follows alone. Every part
/// completes once, the last after an Interim event, and credits add up.
#[test]
fn interim_inside_a_compound_answer() {
    for seed in SEEDS {
        for signing in [false, true] {
            let server = ServerConfig {
                require_signing: signing,
                ..ServerConfig::default()
            };
            let mut p = Pair::new(Pair::client_config(), server, seed);
            let sid = p.connect();
            let tid = p.tree_connect(sid, "share").unwrap();
            p.server.set_policy(pike_proptests::ServerPolicy {
                interim_every: 1,
                ..pike_proptests::ServerPolicy::default()
            });
            let before = p.server.interims_sent();
            let chain = pike_core::Compound::new()
                .push(
                    Request::new(Pair::create_request("c.txt", disposition::OPEN_IF))
                        .tree(sid, tid),
                )
                .related(
                    Request::new(WriteRequest {
                        file_id: FileId::RELATED,
                        data: bytes::Bytes::from_static(b"async"),
                        ..WriteRequest::default()
                    })
                    .tree(sid, tid),
                )
                .related(
                    Request::new(CloseRequest {
                        flags: 0,
                        file_id: FileId::RELATED,
                    })
                    .tree(sid, tid),
                );
            let ids = p.client.submit_compound(p.now, chain).unwrap();
            for id in &ids {
                assert!(p.wait(*id).is_ok(), "{id:?}");
            }
            assert_eq!(p.server.interims_sent(), before + 1, "only the last part");
            assert!(p.log.contains(&pike_proptests::Record::Interim(ids[2])));
            assert_eq!(&p.server.files()["c.txt"][..], b"async");
            p.drive();
            let c = p.client.credits();
            assert_eq!(c.in_flight, 0);
            assert_eq!(u64::from(c.available), p.server.credits_outstanding());
            assert!(p.lost.is_none(), "{:?}", p.lost);
            assert!(
                p.server.violations().is_empty(),
                "{:?}",
                p.server.violations()
            );
        }
    }
}
