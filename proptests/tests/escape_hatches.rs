//! Escape hatches against the model server: a request body from the caller's own
//! encoder, and captured frames decoded offline exactly as the connection decoded
//! them live.

mod common;

use std::sync::{Arc, Mutex};

use bytes::{BufMut, Bytes};
use common::{SEEDS, pattern};
use pike_core::wire::{
    Command, EchoRequest, EncodeBody, FileId, FileStandardInformation, NtStatus, RequestBody,
    ResponseBody, SessionId, disposition,
};
use pike_core::{
    Captured, Hook, Request, RequestError, Response, Sender, TransformOverrides, decode_captured,
};
use pike_proptests::{Pair, ServerConfig};

/// A WRITE (MS-SMB2 2.2.21) encoded by hand, DataOffset computed from `base`.
struct HandWrite {
    file_id: FileId,
    offset: u64,
    data: &'static [u8],
}

impl EncodeBody for HandWrite {
    fn command(&self) -> Command {
        Command::Write
    }

    fn encode_body(&self, out: &mut Vec<u8>, base: usize) {
        // The data follows the 48-byte fixed part.
        let data_offset = out.len() - base + 48;
        out.put_u16_le(49);
        out.put_u16_le(data_offset as u16);
        out.put_u32_le(self.data.len() as u32);
        out.put_u64_le(self.offset);
        out.put_slice(&self.file_id.to_bytes());
        out.put_u32_le(0); // Channel
        out.put_u32_le(0); // RemainingBytes
        out.put_u32_le(0); // WriteChannelInfoOffset, Length
        out.put_u32_le(0); // Flags
        out.put_slice(self.data);
    }
}

#[test]
fn a_callers_encoder_writes_what_it_encodes() {
    for seed in SEEDS {
        let mut p = Pair::default_with_seed(seed);
        let sid = p.connect();
        let tid = p.tree_connect(sid, "share").unwrap();
        let fid = p.create(sid, tid, "hand", disposition::OPEN_IF).unwrap();
        let body = RequestBody::encoded(&HandWrite {
            file_id: fid,
            offset: 3,
            data: b"by hand",
        });
        assert_eq!(body.command(), Command::Write);
        let r = p.call(Request::new(body).tree(sid, tid)).unwrap();
        assert!(
            matches!(r.body, ResponseBody::Write(ref w) if w.count == 7),
            "{r:?}"
        );
        assert_eq!(&p.read(sid, tid, fid, 3, 7).unwrap()[..], b"by hand");
        // Deliberately wrong: a Length past the end of the message. The server refuses it.
        let mut wrong = Vec::new();
        HandWrite {
            file_id: fid,
            offset: 0,
            data: b"x",
        }
        .encode_body(&mut wrong, 0);
        wrong[4..8].copy_from_slice(&1000u32.to_le_bytes());
        let bad = RequestBody::Raw {
            command: Command::Write,
            body: Bytes::from(wrong),
        };
        match p.call(Request::new(bad).tree(sid, tid)) {
            Err(RequestError::Status(e)) => assert_eq!(e.status, NtStatus::INVALID_PARAMETER),
            other => panic!("{other:?}"),
        }
    }
}

/// Plaintext frames each way: requests after encoding, responses after decryption.
type Frames = Arc<Mutex<Vec<Vec<u8>>>>;

fn capture(p: &mut Pair) -> (Frames, Frames, Frames) {
    let (sent, sealed, received) = (Frames::default(), Frames::default(), Frames::default());
    let (s, x, r) = (sent.clone(), sealed.clone(), received.clone());
    p.client.add_hook(Hook::after_send(move |frame, plain| {
        s.lock().unwrap().push(plain.to_vec());
        x.lock().unwrap().push(frame.to_vec());
    }));
    p.client.add_hook(Hook::before_decode(move |chain| {
        r.lock().unwrap().push(chain.to_vec());
    }));
    (sent, sealed, received)
}

#[test]
fn captured_frames_decode_offline_as_they_did_live() {
    let server = ServerConfig {
        encrypt_data: true,
        ..ServerConfig::default()
    };
    let mut p = Pair::new(Pair::client_config(), server, SEEDS[1]);
    let (sent, sealed, received) = capture(&mut p);
    let sid = p.connect();
    let tid = p.tree_connect(sid, "share").unwrap();
    let data = pattern(5000, 9);
    let mut live: Vec<Result<Response, RequestError>> = Vec::new();
    let fid = p.create(sid, tid, "cap", disposition::OPEN_IF).unwrap();
    live.push(p.call(Pair::write_request(sid, tid, fid, 0, &data)));
    live.push(p.call(Pair::read_request(sid, tid, fid, 0, 5000)));
    let _: FileStandardInformation = common::query(&mut p, sid, tid, fid);
    let missing = Pair::create_request("no/such/dir/f", disposition::OPEN);
    live.push(p.call(Request::new(missing).tree(sid, tid)));

    // Every response the caller got is what its captured plaintext decodes to.
    let offline: Vec<Captured> = received
        .lock()
        .unwrap()
        .iter()
        .flat_map(|f| decode_captured(f, Sender::Server).expect("a decodable frame"))
        .collect();
    for want in &live {
        let found = offline.iter().any(|c| match (c, want) {
            (Captured::Response(Ok(a)), Ok(b)) => a == b,
            (Captured::Response(Err(RequestError::Status(a))), Err(RequestError::Status(b))) => {
                a.status == b.status && a.header == b.header
            }
            _ => false,
        });
        assert!(found, "live {want:?} not among the offline decodes");
    }
    assert!(
        matches!(live[2], Err(RequestError::Status(_))),
        "{:?}",
        live[2]
    );

    // Requests: the WRITE decodes with its data; commands come out in order.
    let requests: Vec<Captured> = sent
        .lock()
        .unwrap()
        .iter()
        .flat_map(|f| decode_captured(f, Sender::Client).expect("a decodable frame"))
        .collect();
    let write = requests.iter().find_map(|c| match c {
        Captured::Request {
            body: RequestBody::Write(w),
            ..
        } => Some(w.data.clone()),
        _ => None,
    });
    assert_eq!(write.as_deref(), Some(&data[..]));
    let commands: Vec<Command> = requests
        .iter()
        .map(|c| match c {
            Captured::Request { header, .. } => header.command,
            other => panic!("a request decoded as {other:?}"),
        })
        .collect();
    assert_eq!(commands[0], Command::Negotiate);
    assert!(commands.contains(&Command::QueryInfo));

    // The sealed frames themselves cannot be read offline; that is an error, not data.
    let sealed = sealed.lock().unwrap();
    let last = sealed.last().expect("frames sent");
    assert!(decode_captured(last, Sender::Client).is_err());
    // Neither can a truncated chain.
    let first = &received.lock().unwrap()[0];
    for cut in [0, 3, 40, first.len() - 1] {
        if let Ok(parts) = decode_captured(&first[..cut], Sender::Server) {
            assert!(
                parts
                    .iter()
                    .all(|c| matches!(c, Captured::Response(Err(_))))
            );
        }
    }
}

/// An encrypted pair, the frames it sends, and an ECHO with `t` forced.
fn echo_with(t: TransformOverrides) -> (Pair, Frames, Result<Response, RequestError>) {
    let server = ServerConfig {
        encrypt_data: true,
        ..ServerConfig::default()
    };
    let mut p = Pair::new(Pair::client_config(), server, SEEDS[0]);
    let sid = p.connect();
    let tid = p.tree_connect(sid, "share").unwrap();
    let (_, sealed, _) = capture(&mut p);
    let mut echo = Request::new(EchoRequest).tree(sid, tid);
    echo.transform = t;
    let r = p.call(echo);
    (p, sealed, r)
}

/// The TRANSFORM_HEADER field at `range` of the one frame sent (MS-SMB2 2.2.41).
fn field(sealed: &Frames, range: std::ops::Range<usize>) -> Vec<u8> {
    let frames = sealed.lock().unwrap();
    let [frame] = &frames[..] else {
        panic!("{} frames sent", frames.len());
    };
    frame[range].to_vec()
}

#[test]
fn transform_fields_are_sent_as_forced() {
    // A valid nonce of the caller's choosing: the server opens it and answers.
    let mut nonce = [0; 16];
    nonce[..12].copy_from_slice(b"chosen nonce");
    let (p, sealed, r) = echo_with(TransformOverrides {
        nonce: Some(nonce),
        ..TransformOverrides::default()
    });
    assert!(
        matches!(
            r,
            Ok(Response {
                body: ResponseBody::Echo(_),
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(field(&sealed, 20..36), nonce);
    assert!(
        p.server.violations().is_empty(),
        "{:?}",
        p.server.violations()
    );

    // Authenticated lies and a replaced tag: each refused by the server, never answered.
    let lies: [(TransformOverrides, std::ops::Range<usize>, &[u8], &str); 4] = [
        (
            TransformOverrides {
                original_size: Some(5),
                ..TransformOverrides::default()
            },
            36..40,
            &[5, 0, 0, 0],
            "decrypt",
        ),
        (
            TransformOverrides {
                flags: Some(2),
                ..TransformOverrides::default()
            },
            42..44,
            &[2, 0],
            "decrypt",
        ),
        (
            TransformOverrides {
                signature: Some([0xAA; 16]),
                ..TransformOverrides::default()
            },
            4..20,
            &[0xAA; 16],
            "decrypt",
        ),
        (
            TransformOverrides {
                session_id: Some(SessionId(0x0BAD)),
                ..TransformOverrides::default()
            },
            44..52,
            &0x0BADu64.to_le_bytes(),
            "unknown session",
        ),
    ];
    for (t, range, want, why) in lies {
        let (p, sealed, r) = echo_with(t.clone());
        assert!(r.is_err(), "{t:?} answered: {r:?}");
        assert_eq!(field(&sealed, range), want, "{t:?}");
        assert!(
            p.server.violations().iter().any(|v| v.contains(why)),
            "{t:?}: {:?}",
            p.server.violations()
        );
    }
}
