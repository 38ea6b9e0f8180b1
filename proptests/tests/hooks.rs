//! Packet hooks against the model server: each of the eight points fires, and a rewrite
//! there has the effect on the wire (or on the client) that `Hook` documents.

mod common;

use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use common::SEEDS;
use pike_core::wire::{
    Command, EchoRequest, HEADER_LEN, Header, NtStatus, ResponseBody, SessionId, ShareFlags,
    TreeId, disposition, utf16le,
};
use pike_core::{ConnectionError, Hook, HookPoint, Request, RequestError};
use pike_proptests::{Pair, ServerConfig};

/// A pair logged on and connected to `share`.
fn setup(server: ServerConfig, seed: u64) -> (Pair, SessionId, TreeId) {
    let mut p = Pair::new(Pair::client_config(), server, seed);
    let sid = p.connect();
    let tid = p.tree_connect(sid, "share").unwrap();
    (p, sid, tid)
}

fn signed() -> ServerConfig {
    ServerConfig {
        require_signing: true,
        ..ServerConfig::default()
    }
}

fn encrypted() -> ServerConfig {
    ServerConfig {
        encrypt_data: true,
        ..ServerConfig::default()
    }
}

/// A shared log a hook appends to.
fn log<T>() -> Arc<Mutex<Vec<T>>> {
    Arc::new(Mutex::new(Vec::new()))
}

/// Replaces the first occurrence of `from` with `to` (same length) in `buf`.
fn replace(buf: &mut [u8], from: &[u8], to: &[u8]) -> bool {
    assert_eq!(from.len(), to.len());
    match buf.windows(from.len()).position(|w| w == from) {
        Some(at) => {
            buf[at..at + to.len()].copy_from_slice(to);
            true
        }
        None => false,
    }
}

fn create(p: &mut Pair, sid: SessionId, tid: TreeId, name: &str) -> Result<(), RequestError> {
    let req = Pair::create_request(name, disposition::OPEN_IF);
    p.call(Request::new(req).tree(sid, tid)).map(drop)
}

fn has_file(p: &Pair, name: &str) -> bool {
    p.server.files().keys().any(|k| k.ends_with(name))
}

#[test]
fn before_encode_rewrites_the_request() {
    for seed in SEEDS {
        let (mut p, sid, tid) = setup(ServerConfig::default(), seed);
        let seen = log();
        let s = seen.clone();
        p.client.add_hook(Hook::before_encode(move |r| {
            s.lock().unwrap().push(r.command());
            if let pike_core::wire::RequestBody::Create(c) = &mut r.body {
                c.name = "rewritten.txt".into();
            }
        }));
        create(&mut p, sid, tid, "asked.txt").unwrap();
        assert!(has_file(&p, "rewritten.txt") && !has_file(&p, "asked.txt"));
        assert_eq!(*seen.lock().unwrap(), [Command::Create]);
    }
}

#[test]
fn before_encode_sees_internal_requests_and_cancel() {
    let mut p = Pair::default_with_seed(SEEDS[0]);
    let seen = log();
    let s = seen.clone();
    p.client.add_hook(Hook::before_encode(move |r| {
        s.lock().unwrap().push((r.command(), r.header.message_id));
    }));
    let sid = p.connect();
    let tid = p.tree_connect(sid, "share").unwrap();
    p.server.set_silent(true);
    let req = Pair::create_request("held.txt", disposition::OPEN_IF);
    let id = p.submit(Request::new(req).tree(sid, tid));
    p.drive();
    p.client.cancel(p.now, id).unwrap();
    p.drive();
    let seen = seen.lock().unwrap();
    let commands: Vec<Command> = seen.iter().map(|(c, _)| *c).collect();
    // NEGOTIATE, two SESSION_SETUP legs (the connection's own), TREE_CONNECT, CREATE,
    // and the CANCEL addressed to the CREATE's MessageId.
    assert_eq!(
        commands,
        [
            Command::Negotiate,
            Command::SessionSetup,
            Command::SessionSetup,
            Command::TreeConnect,
            Command::Create,
            Command::Cancel
        ]
    );
    assert_eq!(seen[4].1, None, "MessageId is assigned after BeforeEncode");
    assert!(seen[5].1.is_some(), "CANCEL carries its target's MessageId");
}

/// The CREATE name, as it appears in the encoded request.
fn name16(name: &str) -> Vec<u8> {
    utf16le(name)
}

#[test]
fn after_encode_rewrites_are_signed_and_sealed() {
    for server in [signed(), encrypted()] {
        for seed in SEEDS {
            let (mut p, sid, tid) = setup(server.clone(), seed);
            let (signed_before, sealed_before) =
                (p.server.signed_requests(), p.server.encrypted_requests());
            p.client.add_hook(Hook::after_encode(|chain| {
                replace(chain, &name16("aaaa.txt"), &name16("bbbb.txt"));
            }));
            create(&mut p, sid, tid, "aaaa.txt").unwrap();
            assert!(p.lost.is_none(), "{:?}", p.server.violations());
            assert!(has_file(&p, "bbbb.txt") && !has_file(&p, "aaaa.txt"));
            if server.require_signing {
                assert!(p.server.signed_requests() > signed_before);
            } else {
                assert!(p.server.encrypted_requests() > sealed_before);
            }
        }
    }
}

#[test]
fn before_send_rewrites_go_out_unsigned() {
    for seed in SEEDS {
        let (mut p, sid, tid) = setup(signed(), seed);
        p.client.add_hook(Hook::before_send(|frame| {
            replace(frame, &name16("aaaa.txt"), &name16("bbbb.txt"));
        }));
        let r = create(&mut p, sid, tid, "aaaa.txt");
        // The server drops a connection whose request fails verification.
        assert_eq!(p.lost, Some(ConnectionError::Eof), "{r:?}");
        assert!(!has_file(&p, "bbbb.txt"));
    }
}

#[test]
fn after_send_sees_every_frame_and_its_plaintext() {
    for server in [ServerConfig::default(), encrypted()] {
        let (mut p, sid, tid) = setup(server.clone(), SEEDS[1]);
        let frames = log();
        let f = frames.clone();
        p.client.add_hook(Hook::after_send(move |frame, plain| {
            f.lock().unwrap().push((frame.to_vec(), plain.to_vec()));
        }));
        let before = p.c2s.delivered;
        create(&mut p, sid, tid, "x.txt").unwrap();
        p.call(Request::new(EchoRequest)).unwrap();
        let frames = frames.lock().unwrap();
        assert_eq!(frames.len(), 2);
        let wire: usize = frames.iter().map(|(f, _)| f.len() + 4).sum();
        assert_eq!(wire as u64, p.c2s.delivered - before);
        for (frame, plain) in frames.iter() {
            assert_eq!(&plain[..4], b"\xfeSMB");
            if server.encrypt_data && frame.starts_with(b"\xfdSMB") {
                assert_eq!(
                    frame.len(),
                    plain.len() + 52,
                    "TRANSFORM_HEADER + plaintext"
                );
            } else {
                assert_eq!(frame, plain);
            }
        }
        // The tree's CREATE is sealed; ECHO has no session and goes out in the clear.
        assert_eq!(frames[0].0.starts_with(b"\xfdSMB"), server.encrypt_data);
    }
}

#[test]
fn input_and_received_see_every_byte() {
    for seed in SEEDS {
        let mut p = Pair::default_with_seed(seed);
        let input = log();
        let frames = log();
        let (i, f) = (input.clone(), frames.clone());
        p.client
            .add_hook(Hook::input(move |b| i.lock().unwrap().extend_from_slice(b)));
        p.client
            .add_hook(Hook::received(move |b| f.lock().unwrap().push(b.len())));
        let sid = p.connect();
        p.tree_connect(sid, "share").unwrap();
        let input = input.lock().unwrap();
        assert_eq!(input.len() as u64, p.s2c.delivered);
        let frames = frames.lock().unwrap();
        // NEGOTIATE, two SESSION_SETUP legs, TREE_CONNECT.
        assert_eq!(frames.len(), 4);
        assert_eq!(frames.iter().map(|n| n + 4).sum::<usize>(), input.len());
    }
}

/// Flips one bit of every frame after the hook is added.
fn flip_received(p: &mut Pair) {
    p.client.add_hook(Hook::received(|frame| {
        let last = frame.len() - 1;
        frame[last] ^= 0x01;
    }));
}

#[test]
fn received_rewrites_fail_verification() {
    for seed in SEEDS {
        let (mut p, sid, tid) = setup(signed(), seed);
        flip_received(&mut p);
        let r = create(&mut p, sid, tid, "x.txt");
        assert!(
            matches!(
                p.lost,
                Some(ConnectionError::SignatureMismatch {
                    command: Command::Create,
                    ..
                })
            ),
            "{r:?}"
        );
        let (mut p, sid, tid) = setup(encrypted(), seed);
        flip_received(&mut p);
        let r = create(&mut p, sid, tid, "x.txt");
        assert!(
            matches!(p.lost, Some(ConnectionError::DecryptionFailed(_))),
            "{r:?}"
        );
    }
}

/// Sets the Status of every CREATE response to ACCESS_DENIED.
fn deny_creates(chain: &mut BytesMut) {
    let h = Header::decode(chain).unwrap();
    if h.command == Command::Create {
        chain[8..12].copy_from_slice(&NtStatus::ACCESS_DENIED.0.to_le_bytes());
    }
}

#[test]
fn before_decode_rewrites_are_trusted() {
    for server in [signed(), encrypted()] {
        for seed in SEEDS {
            let (mut p, sid, tid) = setup(server.clone(), seed);
            p.client.add_hook(Hook::before_decode(deny_creates));
            let e = create(&mut p, sid, tid, "x.txt").unwrap_err();
            assert_eq!(e.status(), Some(NtStatus::ACCESS_DENIED), "{e}");
            assert!(p.lost.is_none());
            // The server did create it: only the client's view changed.
            assert!(has_file(&p, "x.txt"));
            p.call(Request::new(EchoRequest)).unwrap();
        }
    }
}

#[test]
fn after_decode_rewrites_reach_the_caller_and_the_state() {
    for seed in SEEDS {
        let (mut p, sid, _) = setup(ServerConfig::default(), seed);
        p.client.add_hook(Hook::after_decode(|r| match &mut r.body {
            // Claim the share wants encryption (MS-SMB2 2.2.10 SMB2_SHAREFLAG_ENCRYPT_DATA).
            ResponseBody::TreeConnect(t) => {
                t.share_flags = ShareFlags(t.share_flags.0 | ShareFlags::ENCRYPT_DATA)
            }
            ResponseBody::Create(c) => c.end_of_file = 4242,
            _ => {}
        }));
        let tid = p.tree_connect(sid, "share").unwrap();
        let sealed = p.server.encrypted_requests();
        let req = Pair::create_request("x.txt", disposition::OPEN_IF);
        let c = p.create_with(sid, tid, req).unwrap();
        assert_eq!(c.end_of_file, 4242);
        // The connection acted on the rewritten TREE_CONNECT: the CREATE went sealed.
        assert_eq!(p.server.encrypted_requests(), sealed + 1);
    }
}

#[test]
fn hooks_run_in_order_until_removed() {
    let (mut p, _, _) = setup(ServerConfig::default(), SEEDS[0]);
    let seen = log();
    let (a, b) = (seen.clone(), seen.clone());
    let first = p
        .client
        .add_hook(Hook::after_send(move |_, _| a.lock().unwrap().push(1)));
    let all = p.client.add_hook(Hook::new(move |e| {
        if e.point() == HookPoint::AfterSend {
            b.lock().unwrap().push(2);
        }
    }));
    p.call(Request::new(EchoRequest)).unwrap();
    assert_eq!(*seen.lock().unwrap(), [1, 2]);
    assert!(p.client.remove_hook(first));
    assert!(!p.client.remove_hook(first));
    p.call(Request::new(EchoRequest)).unwrap();
    assert_eq!(*seen.lock().unwrap(), [1, 2, 2]);
    assert!(p.client.remove_hook(all));
    p.call(Request::new(EchoRequest)).unwrap();
    assert_eq!(seen.lock().unwrap().len(), 3);
}

/// MS-SMB2 3.2.4.1.5: a 1 MiB READ or WRITE is charged ceil(1 MiB / 64 KiB) = 16 credits,
/// as the AfterEncode bytes show.
#[test]
fn multi_credit_charge_is_visible_to_hooks() {
    let (mut p, sid, tid) = setup(ServerConfig::default(), SEEDS[2]);
    let charges = log();
    let c = charges.clone();
    p.client.add_hook(Hook::after_encode(move |chain| {
        let h = Header::decode(chain).unwrap();
        c.lock().unwrap().push((h.command, h.credit_charge));
    }));
    let file = p
        .create(sid, tid, "big.bin", disposition::OVERWRITE_IF)
        .unwrap();
    let data = vec![0x5a; 1 << 20];
    assert_eq!(p.write(sid, tid, file, 0, &data).unwrap(), 1 << 20);
    assert_eq!(p.read(sid, tid, file, 0, 1 << 20).unwrap().len(), 1 << 20);
    let charges = charges.lock().unwrap();
    assert_eq!(
        *charges,
        [
            (Command::Create, 1),
            (Command::Write, 16),
            (Command::Read, 16)
        ]
    );
    assert!(
        p.server.violations().is_empty(),
        "{:?}",
        p.server.violations()
    );
}

/// A MessageId rewritten in the bytes is not tracked: the server's answer under it is
/// ignored and the request times out; the connection carries on.
#[test]
fn message_id_rewritten_in_bytes_times_out() {
    let (mut p, sid, tid) = setup(ServerConfig::default(), SEEDS[0]);
    let far = p.server.window_end() - 1;
    let id = p.client.add_hook(Hook::after_encode(move |chain| {
        if Header::decode(chain).unwrap().command == Command::Create {
            chain[24..32].copy_from_slice(&far.to_le_bytes());
        }
    }));
    let e = create(&mut p, sid, tid, "x.txt").unwrap_err();
    assert_eq!(
        e,
        RequestError::Timeout {
            command: Command::Create
        }
    );
    assert!(p.server.message_ids_seen().contains(&far));
    assert!(has_file(&p, "x.txt"), "the server did answer");
    p.client.remove_hook(id);
    create(&mut p, sid, tid, "y.txt").unwrap();
    assert!(p.lost.is_none());
}

/// A response that fails to decode carries its bytes (here one a hook cut short).
#[test]
fn decode_errors_carry_the_packet() {
    let (mut p, sid, tid) = setup(ServerConfig::default(), SEEDS[0]);
    p.client.add_hook(Hook::before_decode(|chain| {
        if Header::decode(chain).unwrap().command == Command::Create {
            chain.truncate(HEADER_LEN + 8);
        }
    }));
    let e = create(&mut p, sid, tid, "x.txt").unwrap_err();
    let packet: &Bytes = e.packet().expect("decode error");
    assert_eq!(packet.len(), HEADER_LEN + 8);
    assert_eq!(&packet[..4], b"\xfeSMB");
    let shown = e.to_string();
    assert!(shown.starts_with("bad CREATE response: "), "{shown}");
    assert!(shown.ends_with(&hex::encode(packet)), "{shown}");
    assert!(matches!(e, RequestError::Decode { .. }));
}
