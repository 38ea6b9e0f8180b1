//! Codec round trips for every PDU, and hostile input: every truncation, lying lengths
//! and random bytes give a typed error (or a value), never a panic.

use bytes::Bytes;
use pike_core::crypto::{CipherId, SigningAlgorithm};
use pike_core::wire::*;

/// Encodes `header` + body the way the connection does: header at `base`, body after it.
fn message(header: &Header, encode: impl Fn(&mut Vec<u8>, usize)) -> Vec<u8> {
    let mut out = vec![0xAA; 4]; // a non-zero base proves offsets are header-relative
    let base = out.len();
    header.encode(&mut out);
    encode(&mut out, base);
    out.split_off(base)
}

fn header(command: Command, response: bool) -> Header {
    let mut flags = HeaderFlags::default();
    flags.set(HeaderFlags::SERVER_TO_REDIR, response);
    Header {
        credit_charge: 3,
        status: NtStatus::SUCCESS,
        command,
        credits: 17,
        flags,
        next_command: 0,
        message_id: MessageId(42),
        process_id: 0xFEFF,
        tree_id: TreeId(7),
        async_id: AsyncId(0),
        session_id: SessionId(0x1122_3344_5566_7788),
        signature: [9; 16],
    }
}

/// Round trip + every truncation of the message must decode to `Err`, never panic.
fn check<T: PartialEq + std::fmt::Debug>(
    value: &T,
    command: Command,
    response: bool,
    encode: impl Fn(&T, &mut Vec<u8>, usize),
    decode: impl Fn(&[u8]) -> Result<T, DecodeError>,
) -> Vec<u8> {
    let h = header(command, response);
    let msg = message(&h, |out, base| encode(value, out, base));
    assert_eq!(Header::decode(&msg).expect("header"), h);
    let back = decode(&msg).unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert_eq!(&back, value, "{command:?} round trip");
    for cut in 0..msg.len() {
        // Prefixes may decode only if everything the body points at is still present.
        if let Ok(v) = decode(&msg[..cut]) {
            assert!(
                cut >= HEADER_LEN,
                "{command:?} decoded from {cut} bytes: {v:?}"
            );
        }
    }
    msg
}

#[test]
fn negotiate_round_trip() {
    let req = NegotiateRequest {
        security_mode: SecurityMode(SecurityMode::SIGNING_ENABLED),
        capabilities: Capabilities(Capabilities::LARGE_MTU | Capabilities::ENCRYPTION),
        client_guid: [5; 16],
        dialects: Dialect::ALL.to_vec(),
        contexts: vec![
            NegotiateContext::PreauthIntegrity {
                hash_algorithms: vec![1],
                salt: Bytes::from_static(&[3; 32]),
            },
            NegotiateContext::Encryption {
                ciphers: vec![CipherId::Aes128Gcm, CipherId::Aes256Ccm],
            },
            NegotiateContext::Compression {
                flags: 1,
                algorithms: vec![1, 2, 3],
            },
            NegotiateContext::NetName {
                name: "server".into(),
            },
            NegotiateContext::Transport { flags: 1 },
            NegotiateContext::Signing {
                algorithms: vec![SigningAlgorithm::AesGmac, SigningAlgorithm::AesCmac],
            },
            NegotiateContext::Unknown {
                context_type: 0x99,
                data: Bytes::from_static(b"raw"),
            },
        ],
        dialect_count: Some(5),
        context_offset: None,
        context_count: Some(7),
    };
    let msg = check(
        &req,
        Command::Negotiate,
        false,
        NegotiateRequest::encode,
        |m| {
            NegotiateRequest::decode(m).map(|mut r| {
                r.context_offset = None;
                r
            })
        },
    );
    // Contexts start 8-aligned.
    let off = u32::from_le_bytes(msg[64 + 28..64 + 32].try_into().unwrap()) as usize;
    assert_eq!(off % 8, 0);

    let resp = NegotiateResponse {
        security_mode: SecurityMode(3),
        dialect: Dialect::Smb311,
        server_guid: [8; 16],
        capabilities: Capabilities(0x2f),
        max_transact_size: 8 << 20,
        max_read_size: 8 << 20,
        max_write_size: 8 << 20,
        system_time: 1,
        server_start_time: 2,
        security_buffer: Bytes::from_static(b"\x60\x06spnego"),
        contexts: vec![
            NegotiateContext::PreauthIntegrity {
                hash_algorithms: vec![1],
                salt: Bytes::from_static(&[1; 32]),
            },
            NegotiateContext::Encryption {
                ciphers: vec![CipherId::Aes128Gcm],
            },
        ],
    };
    check(
        &resp,
        Command::Negotiate,
        true,
        NegotiateResponse::encode,
        NegotiateResponse::decode,
    );
}

#[test]
fn session_and_tree_round_trip() {
    let req = SessionSetupRequest {
        flags: 0,
        security_mode: 1,
        capabilities: 1,
        channel: 0,
        previous_session_id: SessionId(0),
        security_buffer: Bytes::from_static(b"token-bytes"),
        security_buffer_offset: Some(88),
        security_buffer_length: Some(11),
    };
    check(
        &req,
        Command::SessionSetup,
        false,
        SessionSetupRequest::encode,
        SessionSetupRequest::decode,
    );
    let resp = SessionSetupResponse {
        session_flags: SessionFlags(SessionFlags::ENCRYPT_DATA),
        security_buffer: Bytes::from_static(b"final"),
    };
    check(
        &resp,
        Command::SessionSetup,
        true,
        SessionSetupResponse::encode,
        SessionSetupResponse::decode,
    );
    check(
        &LogoffRequest,
        Command::Logoff,
        false,
        LogoffRequest::encode,
        LogoffRequest::decode,
    );
    check(
        &LogoffResponse,
        Command::Logoff,
        true,
        LogoffResponse::encode,
        LogoffResponse::decode,
    );
    let tc = TreeConnectRequest {
        flags: 0,
        path: "\\\\127.0.0.1\\share".into(),
        path_offset: Some(72),
        path_length: Some(34),
    };
    check(
        &tc,
        Command::TreeConnect,
        false,
        TreeConnectRequest::encode,
        TreeConnectRequest::decode,
    );
    let tr = TreeConnectResponse {
        share_type: share_type::DISK,
        share_flags: ShareFlags(ShareFlags::ENCRYPT_DATA),
        capabilities: 0,
        maximal_access: 0x001f_01ff,
    };
    check(
        &tr,
        Command::TreeConnect,
        true,
        TreeConnectResponse::encode,
        TreeConnectResponse::decode,
    );
    check(
        &TreeDisconnectRequest,
        Command::TreeDisconnect,
        false,
        TreeDisconnectRequest::encode,
        TreeDisconnectRequest::decode,
    );
    check(
        &TreeDisconnectResponse,
        Command::TreeDisconnect,
        true,
        TreeDisconnectResponse::encode,
        TreeDisconnectResponse::decode,
    );
    check(
        &EchoRequest,
        Command::Echo,
        false,
        EchoRequest::encode,
        EchoRequest::decode,
    );
    check(
        &EchoResponse,
        Command::Echo,
        true,
        EchoResponse::encode,
        EchoResponse::decode,
    );
    check(
        &CancelRequest,
        Command::Cancel,
        false,
        CancelRequest::encode,
        CancelRequest::decode,
    );
}

#[test]
fn create_round_trip() {
    let contexts = vec![
        CreateContext::new(b"MxAc", Bytes::new()),
        CreateContext::new(b"QFid", Bytes::new()),
        CreateContext::new(b"RqLs", Bytes::from_static(&[7; 52])),
        CreateContext::new(&[0x93; 16], Bytes::from_static(b"guid-named context")),
    ];
    let req = CreateRequest {
        security_flags: 0,
        requested_oplock_level: oplock_level::LEASE,
        impersonation_level: impersonation::IMPERSONATION,
        smb_create_flags: 0,
        desired_access: access::GENERIC_READ,
        file_attributes: file_attributes::NORMAL,
        share_access: share_access::ALL,
        create_disposition: disposition::OPEN_IF,
        create_options: create_options::NON_DIRECTORY_FILE,
        name: "dir\\file.txt".into(),
        contexts: contexts.clone(),
        name_offset: None,
        name_length: None,
        contexts_offset: None,
        contexts_length: None,
    };
    let strip = |mut r: CreateRequest| {
        assert_eq!(r.name_offset, Some(120));
        assert_eq!(r.contexts_offset.unwrap() % 8, 0);
        r.name_offset = None;
        r.name_length = None;
        r.contexts_offset = None;
        r.contexts_length = None;
        r
    };
    check(&req, Command::Create, false, CreateRequest::encode, |m| {
        CreateRequest::decode(m).map(strip)
    });
    let empty_name = CreateRequest {
        name: String::new(),
        contexts: vec![],
        ..req.clone()
    };
    check(
        &empty_name,
        Command::Create,
        false,
        CreateRequest::encode,
        |m| CreateRequest::decode(m).map(strip),
    );
    let resp = CreateResponse {
        oplock_level: 0,
        flags: 0,
        create_action: create_action::CREATED,
        creation_time: 1,
        last_access_time: 2,
        last_write_time: 3,
        change_time: 4,
        allocation_size: 4096,
        end_of_file: 12,
        file_attributes: file_attributes::ARCHIVE,
        file_id: FileId {
            persistent: 1,
            volatile: 2,
        },
        contexts,
    };
    check(
        &resp,
        Command::Create,
        true,
        CreateResponse::encode,
        CreateResponse::decode,
    );
}

#[test]
fn file_io_round_trip() {
    let fid = FileId {
        persistent: 0xdead,
        volatile: 0xbeef,
    };
    let close = CloseRequest {
        flags: CloseRequest::POSTQUERY_ATTRIB,
        file_id: fid,
    };
    check(
        &close,
        Command::Close,
        false,
        CloseRequest::encode,
        CloseRequest::decode,
    );
    let cr = CloseResponse {
        flags: 1,
        end_of_file: 9,
        file_attributes: 0x20,
        ..Default::default()
    };
    check(
        &cr,
        Command::Close,
        true,
        CloseResponse::encode,
        CloseResponse::decode,
    );
    check(
        &FlushRequest { file_id: fid },
        Command::Flush,
        false,
        FlushRequest::encode,
        FlushRequest::decode,
    );
    check(
        &FlushResponse,
        Command::Flush,
        true,
        FlushResponse::encode,
        FlushResponse::decode,
    );
    let rr = ReadRequest {
        length: 65536,
        offset: 1 << 40,
        file_id: fid,
        minimum_count: 1,
        ..Default::default()
    };
    check(
        &rr,
        Command::Read,
        false,
        ReadRequest::encode,
        ReadRequest::decode,
    );
    let resp = ReadResponse {
        data_remaining: 0,
        flags: 0,
        data: Bytes::from_static(b"hello world"),
    };
    check(
        &resp,
        Command::Read,
        true,
        ReadResponse::encode,
        ReadResponse::decode,
    );
    let empty = ReadResponse::default();
    check(
        &empty,
        Command::Read,
        true,
        ReadResponse::encode,
        ReadResponse::decode,
    );
    let w = WriteRequest {
        offset: 77,
        file_id: fid,
        data: Bytes::from(vec![0x5a; 70000]),
        data_offset: Some(112),
        length: Some(70000),
        ..Default::default()
    };
    check(
        &w,
        Command::Write,
        false,
        WriteRequest::encode,
        WriteRequest::decode,
    );
    let zero = WriteRequest {
        file_id: fid,
        data_offset: Some(112),
        length: Some(0),
        ..Default::default()
    };
    check(
        &zero,
        Command::Write,
        false,
        WriteRequest::encode,
        WriteRequest::decode,
    );
    let wr = WriteResponse {
        count: 70000,
        remaining: 0,
    };
    check(
        &wr,
        Command::Write,
        true,
        WriteResponse::encode,
        WriteResponse::decode,
    );
    let err = ErrorResponse {
        error_context_count: 0,
        error_data: Bytes::from_static(&[1, 2, 3, 4]),
    };
    check(
        &err,
        Command::Read,
        true,
        ErrorResponse::encode,
        ErrorResponse::decode,
    );
}

#[test]
fn error_contexts_decode() {
    // Two contexts, the first padded to 8 bytes (MS-SMB2 2.2.2.1).
    let mut data = Vec::new();
    data.extend_from_slice(&5u32.to_le_bytes());
    data.extend_from_slice(&0u32.to_le_bytes());
    data.extend_from_slice(b"abcde\0\0\0");
    data.extend_from_slice(&4u32.to_le_bytes());
    data.extend_from_slice(&0x72647269u32.to_le_bytes());
    data.extend_from_slice(b"wxyz");
    let e = ErrorResponse {
        error_context_count: 2,
        error_data: Bytes::from(data),
    };
    let c = e.contexts().expect("contexts");
    assert_eq!(c.len(), 2);
    assert_eq!(&c[0].data[..], b"abcde");
    assert_eq!(c[1].error_id, 0x72647269);
    let lying = ErrorResponse {
        error_context_count: 3,
        ..e
    };
    assert!(lying.contexts().is_err());
}

#[test]
fn lying_lengths_are_errors() {
    let h = header(Command::Read, true);
    let resp = ReadResponse {
        data: Bytes::from_static(b"0123456789"),
        ..Default::default()
    };
    let mut msg = message(&h, |o, b| resp.encode(o, b));
    msg[64 + 4..64 + 8].copy_from_slice(&1000u32.to_le_bytes()); // DataLength past the end
    assert!(matches!(
        ReadResponse::decode(&msg),
        Err(DecodeError::OutOfBounds { .. })
    ));
    msg[64 + 4..64 + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(ReadResponse::decode(&msg).is_err());

    let h = header(Command::Create, true);
    let resp = CreateResponse {
        contexts: vec![CreateContext::new(b"MxAc", Bytes::from_static(&[0; 8]))],
        ..Default::default()
    };
    let mut msg = message(&h, |o, b| resp.encode(o, b));
    // Point the first context's Next at itself: must not loop forever.
    let ctx_off = u32::from_le_bytes(msg[64 + 80..64 + 84].try_into().unwrap()) as usize;
    msg[ctx_off..ctx_off + 4].copy_from_slice(&1u32.to_le_bytes());
    assert!(CreateResponse::decode(&msg).is_err());

    let h = header(Command::SessionSetup, true);
    let resp = SessionSetupResponse {
        security_buffer: Bytes::from_static(b"x"),
        ..Default::default()
    };
    let mut msg = message(&h, |o, b| resp.encode(o, b));
    msg[64 + 4..64 + 6].copy_from_slice(&0xFFF0u16.to_le_bytes());
    assert!(SessionSetupResponse::decode(&msg).is_err());

    // Wrong StructureSize is typed.
    let mut msg = message(&header(Command::Write, true), |o, b| {
        WriteResponse::default().encode(o, b)
    });
    msg[64] = 16;
    assert!(matches!(
        WriteResponse::decode(&msg),
        Err(DecodeError::StructureSize {
            expected: 17,
            got: 16,
            ..
        })
    ));
}

#[test]
fn garbage_never_panics() {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..4000 {
        let len = (next() % 400) as usize;
        let mut msg: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if i % 2 == 0 && msg.len() >= 64 {
            // A valid header over random bodies reaches the body decoders.
            let cmd = Command::from_code((next() % 0x14) as u16);
            let mut h = header(cmd, true);
            h.flags.set(HeaderFlags::ASYNC_COMMAND, next() % 2 == 0);
            let mut hb = Vec::new();
            h.encode(&mut hb);
            msg[..64].copy_from_slice(&hb);
        }
        if let Ok(h) = Header::decode(&msg) {
            let _ = RequestBody::decode(&h, &msg);
            let _ = ResponseBody::decode(&h, &Bytes::from(msg.clone()));
            let _ = ErrorResponse::decode(&msg).map(|e| e.contexts());
        }
        let _ = classify(&msg);
        let mut fd = FrameDecoder::new(MAX_FRAME_LEN);
        fd.push(&msg);
        while let Ok(Some(_)) = fd.next_frame() {}
    }
}

#[test]
fn framing_rejects_non_smb_and_reassembles() {
    let mut fd = FrameDecoder::new(MAX_FRAME_LEN);
    fd.push(b"HTTP/1.1 400 Bad Request\r\n");
    assert!(
        fd.next_frame().is_err(),
        "a non-SMB peer is rejected at once"
    );

    let mut fd = FrameDecoder::new(MAX_FRAME_LEN);
    fd.push(&[0, 0x10, 0, 0]);
    fd.push(b"GET / ");
    assert!(
        fd.next_frame().is_err(),
        "payload without an SMB ProtocolId is rejected early"
    );

    let msg = message(&header(Command::Echo, true), |o, b| {
        EchoResponse.encode(o, b)
    });
    let mut stream = Vec::new();
    for _ in 0..3 {
        stream.extend_from_slice(&frame_header(msg.len()));
        stream.extend_from_slice(&msg);
    }
    for chunk in [1usize, 3, 7, 68, 1000] {
        let mut fd = FrameDecoder::new(MAX_FRAME_LEN);
        let mut frames = 0;
        for piece in stream.chunks(chunk) {
            fd.push(piece);
            while let Some(f) = fd.next_frame().expect("valid") {
                assert_eq!(&f[..], &msg[..]);
                frames += 1;
            }
        }
        assert_eq!(frames, 3, "chunk size {chunk}");
    }
    let mut fd = FrameDecoder::new(1024);
    fd.push(&frame_header(4096));
    assert!(
        fd.next_frame().is_err(),
        "over-limit frames are refused before buffering"
    );
}
