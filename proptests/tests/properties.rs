//! Stream-level properties of the client, against sessions recorded from the model server.
//!
//! - every chunking of the server's byte stream yields the same events;
//! - arbitrary bytes fed mid-session never panic and keep the event contract;
//! - one flipped bit in a response that must be signed (signing required) or that is
//!   encrypted gives an error, never data;
//! - generated request/response PDUs round-trip through encode/decode.
//!
//! A session is recorded once by a [`Script`] driving a client against the model server
//! (NEGOTIATE, SESSION_SETUP, TREE_CONNECT, then a related compound CREATE+WRITE+READ+
//! CLOSE and an ECHO). Replays run the same script on a fresh client with the same seed,
//! feeding it the recorded server bytes instead of a live server.

mod common;
use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use pike_core::auth::{Credentials, FileTime, Spnego};
use pike_core::wire::{
    CloseRequest, CloseResponse, CreateRequest, Dialect, EchoRequest, FileId, FrameDecoder,
    HEADER_LEN, Header, HeaderFlags, MessageId, NtStatus, ReadRequest, ReadResponse, SessionId,
    TreeConnectRequest, TreeId, WriteRequest, WriteResponse, disposition,
};
use pike_core::{ClientConfig, Compound, Connection, Event, Instant, Request, RequestId};
use pike_proptests::pair::{CLIENT_SEED, SERVER_NAME};
use pike_proptests::{ModelServer, Pair, ServerConfig};
use proptest::prelude::*;

/// The client side of a recorded session: the same calls at the same logical points.
struct Script {
    stage: u8,
    waiting: Vec<RequestId>,
    sid: SessionId,
    tid: TreeId,
    events: Vec<String>,
    /// `(id, Debug of the result)` of every completion, in order.
    completions: Vec<(RequestId, bool, String)>,
    lost: bool,
    failed: bool,
    wall: FileTime,
    /// Frames received before the session was set up (for the bit-flip property).
    setup_done: bool,
}

impl Script {
    fn new() -> Self {
        Self {
            stage: 0,
            waiting: Vec::new(),
            sid: SessionId(0),
            tid: TreeId(0),
            events: Vec::new(),
            completions: Vec::new(),
            lost: false,
            failed: false,
            wall: FileTime::from_unix(1_700_000_000, 0),
            setup_done: false,
        }
    }

    fn start(&mut self, c: &mut Connection, now: Instant) {
        self.waiting = vec![c.negotiate(now).expect("negotiate")];
    }

    /// Drains events, checking the contract, and makes the next calls when due.
    fn pump(&mut self, c: &mut Connection, now: Instant) {
        let mut done_ids = BTreeSet::new();
        for (id, _, _) in &self.completions {
            done_ids.insert(*id);
        }
        while let Some(e) = c.poll_event() {
            assert!(!self.lost, "{e:?} after ConnectionLost");
            self.events.push(format!("{e:?}"));
            match &e {
                Event::Completed { id, result } => {
                    assert!(done_ids.insert(*id), "{id:?} completed twice");
                    self.waiting.retain(|w| w != id);
                    match result {
                        Ok(r) => match self.stage {
                            1 => self.sid = r.header.session_id,
                            2 => self.tid = r.header.tree_id,
                            _ => {}
                        },
                        // A step failed: the script stops making calls.
                        Err(_) => self.failed = true,
                    }
                    self.completions
                        .push((*id, result.is_ok(), format!("{result:?}")));
                }
                Event::ConnectionLost(_) => self.lost = true,
                _ => {}
            }
        }
        if !self.waiting.is_empty() || self.lost || self.failed || self.stage >= 4 {
            return;
        }
        self.stage += 1;
        let r = match self.stage {
            1 => {
                let creds = Credentials::new("alice", "CORP", "s3cret!").with_workstation("PAIR");
                c.session_setup(now, Box::new(Spnego::ntlm(creds)), Some(self.wall))
                    .map(|id| vec![id])
            }
            2 => {
                self.setup_done = true;
                let body = TreeConnectRequest {
                    path: format!("\\\\{SERVER_NAME}\\share"),
                    ..TreeConnectRequest::default()
                };
                c.submit(now, Request::new(body).session(self.sid))
                    .map(|id| vec![id])
            }
            3 => {
                let (sid, tid) = (self.sid, self.tid);
                let chain = Compound::new()
                    .push(
                        Request::new(Pair::create_request("f.txt", disposition::OVERWRITE_IF))
                            .tree(sid, tid),
                    )
                    .related(
                        Request::new(WriteRequest {
                            file_id: FileId::RELATED,
                            data: Bytes::from_static(b"hello, recorded world"),
                            ..WriteRequest::default()
                        })
                        .tree(sid, tid),
                    )
                    .related(
                        Request::new(ReadRequest {
                            length: 64,
                            file_id: FileId::RELATED,
                            ..ReadRequest::default()
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
                c.submit_compound(now, chain)
            }
            _ => c
                .submit(now, Request::new(EchoRequest).session(self.sid))
                .map(|id| vec![id]),
        };
        match r {
            Ok(ids) => self.waiting = ids,
            // A typed usage error (closed, or e.g. a forged NEGOTIATE hint the
            // authenticator rejects): the script stops.
            Err(_) => self.failed = true,
        }
    }
}

/// A recorded session: config and the server's frames (each with its 4-byte header).
struct Recording {
    client: Arc<ClientConfig>,
    frames: Vec<Vec<u8>>,
    /// Client bytes sent before each frame was produced: a replay must not deliver a
    /// frame before the client sent the request it answers.
    needs_sent: Vec<usize>,
    /// Index of the first frame after SESSION_SETUP completed.
    first_after_setup: usize,
    script: Script,
}

fn record(server: ServerConfig, dialect: Dialect) -> Recording {
    let mut cfg = Pair::client_config();
    cfg.dialects = vec![dialect];
    let cfg = Arc::new(cfg);
    let now = Instant::now();
    let mut client = Connection::new(cfg.clone(), now, CLIENT_SEED);
    let mut server = ModelServer::new(server);
    server.set_time(FileTime::from_unix(1_700_000_000, 0).0);
    let mut script = Script::new();
    script.start(&mut client, now);
    let mut frames = Vec::new();
    let mut needs_sent = Vec::new();
    let mut sent = 0;
    let mut first_after_setup = None;
    let mut buf = Vec::new();
    for _ in 0..1000 {
        buf.clear();
        while client.poll_transmit(now, &mut buf).is_some() {}
        sent += buf.len();
        if !buf.is_empty() {
            server.handle_input(&buf);
        }
        buf.clear();
        if server.poll_transmit(&mut buf).is_none() && script.waiting.is_empty() {
            break;
        }
        let mut d = FrameDecoder::new(1 << 24);
        d.push(&buf);
        while let Some(f) = d.next_frame().expect("model server frames") {
            let mut framed = pike_core::wire::frame_header(f.len()).to_vec();
            framed.extend_from_slice(&f);
            frames.push(framed);
            needs_sent.push(sent);
        }
        client.handle_input(now, &buf);
        script.pump(&mut client, now);
        if script.setup_done && first_after_setup.is_none() {
            first_after_setup = Some(frames.len());
        }
    }
    assert_eq!(script.stage, 4, "script finished");
    assert!(script.waiting.is_empty() && !script.lost);
    assert!(server.violations().is_empty(), "{:?}", server.violations());
    Recording {
        client: cfg,
        frames,
        needs_sent,
        first_after_setup: first_after_setup.expect("setup completed"),
        script,
    }
}

/// Replays `stream` into a fresh client in the given chunk sizes (cycled), never
/// delivering a recorded frame before the client sent what it answers.
fn replay(rec: &Recording, stream: &[u8], cuts: &[usize]) -> Script {
    let now = Instant::now();
    let mut client = Connection::new(rec.client.clone(), now, CLIENT_SEED);
    let mut script = Script::new();
    script.start(&mut client, now);
    let mut ends = Vec::new();
    let mut end = 0;
    for f in &rec.frames {
        end += f.len();
        ends.push(end);
    }
    let mut sink = Vec::new();
    let mut sent = 0;
    let mut at = 0;
    let mut i = 0;
    while at < stream.len() {
        sink.clear();
        while client.poll_transmit(now, &mut sink).is_some() {}
        sent += sink.len();
        // Deliverable: every frame whose request went out, and anything past the frames.
        let mut limit = 0;
        for (k, &e) in ends.iter().enumerate() {
            if rec.needs_sent[k] > sent {
                break;
            }
            limit = e;
        }
        if limit == end.min(stream.len()) || ends.is_empty() {
            limit = stream.len();
        }
        limit = limit.min(stream.len());
        if limit <= at {
            // The client is stuck (e.g. a request failed): deliver the rest anyway.
            limit = stream.len();
        }
        let n = cuts
            .get(i % cuts.len().max(1))
            .copied()
            .unwrap_or(usize::MAX)
            .max(1);
        i += 1;
        let to = at.saturating_add(n).min(limit);
        client.handle_input(now, &stream[at..to]);
        at = to;
        script.pump(&mut client, now);
    }
    sink.clear();
    while client.poll_transmit(now, &mut sink).is_some() {}
    script.pump(&mut client, now);
    script
}

fn recordings() -> &'static [(&'static str, Recording)] {
    use std::sync::OnceLock;
    static R: OnceLock<Vec<(&'static str, Recording)>> = OnceLock::new();
    R.get_or_init(|| {
        let signed = || ServerConfig {
            require_signing: true,
            ..ServerConfig::default()
        };
        let sealed = || ServerConfig {
            encrypt_data: true,
            ..ServerConfig::default()
        };
        vec![
            (
                "plain 3.1.1",
                record(ServerConfig::default(), Dialect::Smb311),
            ),
            ("signed 3.1.1", record(signed(), Dialect::Smb311)),
            ("signed 3.0.2", record(signed(), Dialect::Smb302)),
            ("signed 2.1", record(signed(), Dialect::Smb210)),
            ("signed 2.0.2", record(signed(), Dialect::Smb202)),
            ("encrypted 3.1.1", record(sealed(), Dialect::Smb311)),
            ("encrypted 3.0", record(sealed(), Dialect::Smb300)),
        ]
    })
}

fn protected() -> impl Strategy<Value = usize> {
    // Indices into recordings() of the signed and encrypted sessions.
    1usize..7
}

proptest! {
    #![proptest_config(common::proptest_config("proptest-regressions/properties-chunking.txt"))]

    /// Every chunking of the server's byte stream yields the same events.
    #[test]
    fn chunking_does_not_change_events(
        which in 0usize..7,
        cuts in proptest::collection::vec(
            prop_oneof![3 => 1usize..8, 3 => 8usize..200, 1 => 200usize..5000],
            1..64,
        ),
    ) {
        let (name, rec) = &recordings()[which];
        let stream: Vec<u8> = rec.frames.concat();
        let got = replay(rec, &stream, &cuts);
        prop_assert_eq!(&got.events, &rec.script.events, "{}", name);
    }
}

proptest! {
    #![proptest_config(common::proptest_config("proptest-regressions/properties-garbage.txt"))]

    /// Arbitrary bytes after a prefix of a real session never panic; the client reports
    /// a typed error (ConnectionLost last) or valid events, each id completing once.
    #[test]
    fn arbitrary_bytes_mid_session_never_panic(
        which in 0usize..7,
        prefix_frames in 0usize..12,
        garbage in proptest::collection::vec(any::<u8>(), 0..512),
        smb_like in any::<bool>(),
        chunk in 1usize..64,
    ) {
        let (_, rec) = &recordings()[which];
        let k = prefix_frames.min(rec.frames.len());
        let mut stream: Vec<u8> = rec.frames[..k].concat();
        if smb_like {
            // A well-framed SMB2 message with a random body, to get past framing.
            let mut msg = Vec::new();
            let h = Header {
                flags: HeaderFlags(HeaderFlags::SERVER_TO_REDIR),
                command: pike_core::wire::Command::from_code(
                    u16::from(garbage.first().copied().unwrap_or(0) % 20),
                ),
                message_id: MessageId(u64::from(garbage.get(1).copied().unwrap_or(0) % 8)),
                status: NtStatus::SUCCESS,
                ..Header::default()
            };
            h.encode(&mut msg);
            msg.extend_from_slice(&garbage);
            stream.extend_from_slice(&pike_core::wire::frame_header(msg.len()));
            stream.extend_from_slice(&msg);
        } else {
            stream.extend_from_slice(&garbage);
        }
        // `replay` checks exactly-once and nothing-after-ConnectionLost as it pumps.
        let s = replay(rec, &stream, &[chunk]);
        let _ = s;
    }
}

proptest! {
    #![proptest_config(common::proptest_config("proptest-regressions/properties-bitflip.txt"))]

    /// One flipped bit in any response after logon in a signing-required or encrypted
    /// session yields an error, never data: every successful completion is exactly the
    /// one of the untampered session.
    #[test]
    fn flipped_bit_in_protected_response_is_never_data(
        which in protected(),
        frame in any::<prop::sample::Index>(),
        bit in any::<prop::sample::Index>(),
    ) {
        let (name, rec) = &recordings()[which];
        let candidates = rec.first_after_setup..rec.frames.len();
        prop_assume!(!candidates.is_empty());
        let k = candidates.start + frame.index(candidates.len());
        let mut frames = rec.frames.clone();
        let payload_bits = (frames[k].len() - 4) * 8;
        let b = bit.index(payload_bits);
        frames[k][4 + b / 8] ^= 1 << (b % 8);
        let got = replay(rec, &frames.concat(), &[usize::MAX]);
        for (id, ok, dbg) in &got.completions {
            if !ok {
                continue;
            }
            let orig = rec.script.completions.iter().find(|(i, _, _)| i == id);
            prop_assert!(
                orig.is_some_and(|(_, _, o)| o == dbg),
                "{}: frame {} bit {} (byte {} of the message): {:?} completed with data \
                 that differs from the untampered session:\n{}",
                name, k, b, b / 8, id, dbg
            );
        }
    }
}

fn header_strategy() -> impl Strategy<Value = Header> {
    (
        any::<u16>(),
        any::<u32>(),
        0u16..0x13,
        any::<u16>(),
        any::<u32>(),
        any::<u64>(),
        any::<u32>(),
        any::<u64>(),
        any::<[u8; 16]>(),
    )
        .prop_map(
            |(charge, status, cmd, credits, flags, mid, tid, sid, sig)| {
                let flags = HeaderFlags(flags & !HeaderFlags::ASYNC_COMMAND);
                Header {
                    credit_charge: charge,
                    status: NtStatus(status),
                    command: pike_core::wire::Command::from_code(cmd),
                    credits,
                    flags,
                    next_command: 0,
                    message_id: MessageId(mid),
                    process_id: 0xfeff,
                    tree_id: TreeId(tid),
                    session_id: SessionId(sid),
                    signature: sig,
                    ..Header::default()
                }
            },
        )
}

fn fid() -> impl Strategy<Value = FileId> {
    (any::<u64>(), any::<u64>()).prop_map(|(persistent, volatile)| FileId {
        persistent,
        volatile,
    })
}

/// Encodes `body` after a default header and returns the message.
fn message(encode: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    Header::default().encode(&mut out);
    encode(&mut out);
    out
}

proptest! {
    #![proptest_config(common::proptest_config("proptest-regressions/properties-roundtrip.txt"))]

    #[test]
    fn header_round_trips(h in header_strategy()) {
        let mut out = Vec::new();
        h.encode(&mut out);
        prop_assert_eq!(out.len(), HEADER_LEN);
        prop_assert_eq!(Header::decode(&out).unwrap(), h);
    }

    #[test]
    fn read_request_round_trips(len in any::<u32>(), off in any::<u64>(), f in fid(),
                                min in any::<u32>(), rem in any::<u32>()) {
        let r = ReadRequest { length: len, offset: off, file_id: f, minimum_count: min,
                              remaining_bytes: rem, ..ReadRequest::default() };
        let m = message(|o| r.encode(o, 0));
        let d = ReadRequest::decode(&m).unwrap();
        prop_assert_eq!((d.length, d.offset, d.file_id, d.minimum_count, d.remaining_bytes),
                        (len, off, f, min, rem));
        prop_assert_eq!(message(|o| d.encode(o, 0)), m);
    }

    #[test]
    fn write_request_round_trips(off in any::<u64>(), f in fid(),
                                 data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let w = WriteRequest { offset: off, file_id: f, data: Bytes::from(data.clone()),
                               ..WriteRequest::default() };
        let m = message(|o| w.encode(o, 0));
        let d = WriteRequest::decode(&m).unwrap();
        prop_assert_eq!((d.offset, d.file_id, &d.data[..]), (off, f, &data[..]));
        prop_assert_eq!(message(|o| d.encode(o, 0)), m);
    }

    #[test]
    fn create_request_round_trips(name in "[a-zA-Z0-9_ .\\\\]{0,40}", access in any::<u32>(),
                                  disp in 0u32..6, opts in any::<u32>()) {
        let c = CreateRequest { name: name.clone(), desired_access: access,
                                create_disposition: disp, create_options: opts,
                                ..CreateRequest::default() };
        let m = message(|o| c.encode(o, 0));
        let d = CreateRequest::decode(&m).unwrap();
        prop_assert_eq!((&d.name, d.desired_access, d.create_disposition, d.create_options),
                        (&name, access, disp, opts));
        prop_assert_eq!(message(|o| d.encode(o, 0)), m);
    }

    #[test]
    fn close_round_trips(flags in any::<u16>(), f in fid(), eof in any::<u64>()) {
        let c = CloseRequest { flags, file_id: f };
        let m = message(|o| c.encode(o, 0));
        prop_assert_eq!(CloseRequest::decode(&m).unwrap(), c);
        let r = CloseResponse { flags, end_of_file: eof, ..CloseResponse::default() };
        let m = message(|o| r.encode(o, 0));
        prop_assert_eq!(CloseResponse::decode(&m).unwrap(), r);
    }

    #[test]
    fn read_and_write_responses_round_trip(
        data in proptest::collection::vec(any::<u8>(), 0..2048),
        remaining in any::<u32>(), count in any::<u32>(),
    ) {
        let r = ReadResponse { data_remaining: remaining, flags: 0,
                               data: Bytes::from(data.clone()) };
        let m = message(|o| r.encode(o, 0));
        let d = ReadResponse::decode(&m).unwrap();
        prop_assert_eq!(&d.data[..], &data[..]);
        prop_assert_eq!(d.data_remaining, remaining);
        let w = WriteResponse { count, remaining };
        let m = message(|o| w.encode(o, 0));
        prop_assert_eq!(WriteResponse::decode(&m).unwrap(), w);
    }
}
