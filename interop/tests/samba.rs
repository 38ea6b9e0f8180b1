//! pike-core against a real Samba, over blocking sockets: the whole M1 sequence with
//! sha256-equal data, and typed logon/share errors. Configured by `PIKE_*` variables.

use std::time::Instant;

use bytes::Bytes;
use pike_core::Request;
use pike_core::auth::{Credentials, Spnego};
use pike_core::wire::{
    Dialect, LogoffRequest, NtStatus, ReadRequest, ResponseBody, TreeDisconnectRequest,
    WriteRequest, create_options, disposition,
};
use pike_interop::{Driver, create_request, pattern, target_or_skip, wall_time};
use sha2::{Digest, Sha256};

/// negotiate → NTLMv2 session → tree → create → write → read → close → logoff.
#[test]
fn full_sequence_sha256_equal() {
    let Some(t) = target_or_skip("full_sequence_sha256_equal") else {
        return;
    };
    let (mut d, sid) = Driver::logon(&t).expect("logon");
    let dialect = d.conn.dialect().expect("negotiated");
    assert_eq!(
        dialect,
        t.max_dialect.unwrap_or(Dialect::Smb311),
        "server settles on our maximum"
    );
    let info = d.conn.session_info(sid).expect("session");
    if t.sign {
        assert!(info.signing_required, "signing must be required: {info:?}");
    }
    if t.encrypt {
        assert!(info.encrypt_data, "session must be encrypted: {info:?}");
    }
    let tid = d.tree_connect(&t, sid, &t.share).expect("TREE_CONNECT");

    let name = format!("pike-m1-{}.bin", std::process::id());
    let opts = create_options::NON_DIRECTORY_FILE;
    let fid = d
        .create(
            sid,
            tid,
            create_request(&name, disposition::OVERWRITE_IF, opts),
        )
        .expect("CREATE")
        .file_id;
    let data = pattern(3 * 1024 * 1024 + 12345);
    let chunk = d.conn.max_write_size();
    assert!(chunk >= 65536, "write size {chunk}");
    // Pipelined: submit every WRITE, then wait for all of them.
    let ids: Vec<_> = data
        .chunks(chunk)
        .enumerate()
        .map(|(i, c)| {
            let w = WriteRequest {
                offset: (i * chunk) as u64,
                file_id: fid,
                data: Bytes::copy_from_slice(c),
                ..Default::default()
            };
            d.conn
                .submit(Instant::now(), Request::new(w).tree(sid, tid))
                .expect("submit")
        })
        .collect();
    for id in ids {
        match d.wait(id).expect("WRITE").body {
            ResponseBody::Write(w) => assert!(w.count as usize <= chunk),
            other => panic!("unexpected {other:?}"),
        }
    }
    let rchunk = d.conn.max_read_size();
    let ids: Vec<_> = (0..data.len())
        .step_by(rchunk)
        .map(|off| {
            let r = ReadRequest {
                length: rchunk.min(data.len() - off) as u32,
                offset: off as u64,
                file_id: fid,
                ..Default::default()
            };
            d.conn
                .submit(Instant::now(), Request::new(r).tree(sid, tid))
                .expect("submit")
        })
        .collect();
    let mut back = Vec::with_capacity(data.len());
    for id in ids {
        match d.wait(id).expect("READ").body {
            ResponseBody::Read(r) => back.extend_from_slice(&r.data),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        Sha256::digest(&back),
        Sha256::digest(&data),
        "read back differs"
    );
    d.close(sid, tid, fid).expect("CLOSE");

    // Delete it: open with DELETE_ON_CLOSE, close.
    let del = create_request(&name, disposition::OPEN, create_options::DELETE_ON_CLOSE);
    let fid = d.create(sid, tid, del).expect("CREATE").file_id;
    d.close(sid, tid, fid).expect("CLOSE");
    d.call(Request::new(TreeDisconnectRequest).tree(sid, tid))
        .expect("TREE_DISCONNECT");
    d.call(Request::new(LogoffRequest).session(sid))
        .expect("LOGOFF");
    assert!(d.lost.is_none(), "connection lost: {:?}", d.lost);
    let c = d.conn.credits();
    assert!(c.total_granted > 1 && c.in_flight == 0, "{c:?}");
}

#[test]
fn wrong_password_is_logon_failure() {
    let Some(t) = target_or_skip("wrong_password_is_logon_failure") else {
        return;
    };
    let mut d = Driver::connect((&t.server, t.port), t.config()).expect("connect");
    let id = d.conn.negotiate(Instant::now()).expect("negotiate");
    d.wait(id).expect("NEGOTIATE");
    let creds = Credentials::new(t.user.clone(), t.domain.clone(), "definitely-wrong");
    let id = d
        .conn
        .session_setup(
            Instant::now(),
            Box::new(Spnego::ntlm(creds)),
            Some(wall_time()),
        )
        .expect("session_setup");
    let err = d.wait(id).expect_err("wrong password must fail");
    assert_eq!(err.status(), Some(NtStatus::LOGON_FAILURE), "{err}");
    assert_eq!(
        err.to_string(),
        "SESSION_SETUP failed: STATUS_LOGON_FAILURE"
    );
}

#[test]
fn unknown_share_is_bad_network_name() {
    let Some(t) = target_or_skip("unknown_share_is_bad_network_name") else {
        return;
    };
    let (mut d, sid) = Driver::logon(&t).expect("logon");
    let err = d
        .tree_connect(&t, sid, "no-such-share")
        .expect_err("must fail");
    assert_eq!(err.status(), Some(NtStatus::BAD_NETWORK_NAME), "{err}");
}
