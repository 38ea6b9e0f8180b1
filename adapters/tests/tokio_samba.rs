//! The tokio adapter against a real Samba: logon, tree, pipelined write/read round trip,
//! concurrent requests from cloned handles, typed errors. Configured by `PIKE_*`.

use std::sync::Arc;
use std::time::Duration;

use pike::pike_core::auth::{Credentials, Spnego};
use pike::pike_core::crypto::RustCrypto;
use pike::pike_core::wire::{
    CloseRequest, CreateRequest, NtStatus, ReadRequest, ResponseBody, TreeConnectRequest,
    WriteRequest, access, create_options, disposition, share_access,
};
use pike::pike_core::{ClientConfig, EncryptionPolicy, Request};
use pike::{ConnectionRef, runtime};
use sha2::{Digest, Sha256};

struct Env {
    server: String,
    port: u16,
    share: String,
    domain: String,
    user: String,
    password: String,
    config: ClientConfig,
}

fn env_or_skip(test: &str) -> Option<Env> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let Some(server) = var("PIKE_SERVER") else {
        assert!(
            var("CI").as_deref() != Some("true"),
            "{test}: CI=true but PIKE_SERVER unset"
        );
        eprintln!("skipping {test}: PIKE_SERVER not set");
        return None;
    };
    let creds = var("PIKE_CREDS").expect("PIKE_CREDS");
    let (account, password) = creds.split_once('%').expect("user%password");
    let (domain, user) = account.split_once('\\').unwrap_or(("", account));
    let yes = |k: &str| var(k).is_some_and(|v| matches!(v.as_str(), "yes" | "true" | "1"));
    let mut config = ClientConfig::new(Arc::new(RustCrypto));
    config.require_signing = yes("PIKE_SIGN");
    if yes("PIKE_ENCRYPT") {
        config.encryption = EncryptionPolicy::Required;
    }
    config.server_name = server.clone();
    config.client_guid = pike::random_seed()[..16].try_into().expect("16 bytes");
    Some(Env {
        server,
        port: var("PIKE_PORT").map_or(445, |p| p.parse().expect("port")),
        share: var("PIKE_SHARE").expect("PIKE_SHARE"),
        domain: domain.into(),
        user: user.into(),
        password: password.into(),
        config,
    })
}

async fn logon(e: &Env) -> (ConnectionRef, pike::pike_core::wire::SessionId) {
    let conn = runtime::tokio::connect((e.server.as_str(), e.port), Arc::new(e.config.clone()))
        .await
        .expect("connect");
    conn.negotiate().await.expect("NEGOTIATE");
    let auth = Spnego::ntlm(Credentials::new(
        e.user.clone(),
        e.domain.clone(),
        e.password.clone(),
    ));
    let sid = conn
        .session_setup(Box::new(auth))
        .await
        .expect("SESSION_SETUP");
    (conn, sid)
}

#[tokio::test(flavor = "current_thread")]
async fn tokio_round_trip_with_concurrent_handles() {
    let Some(e) = env_or_skip("tokio_round_trip_with_concurrent_handles") else {
        return;
    };
    let (conn, sid) = logon(&e).await;
    let tc = TreeConnectRequest {
        path: format!("\\\\{}\\{}", e.server, e.share),
        ..Default::default()
    };
    let tid = conn
        .call(Request::new(tc).session(sid))
        .await
        .expect("TREE_CONNECT")
        .header
        .tree_id;
    let name = format!("pike-tokio-{}.bin", std::process::id());
    let create = CreateRequest {
        impersonation_level: 2,
        desired_access: access::GENERIC_READ | access::GENERIC_WRITE | access::DELETE,
        share_access: share_access::ALL,
        create_disposition: disposition::OVERWRITE_IF,
        create_options: create_options::DELETE_ON_CLOSE,
        name,
        ..Default::default()
    };
    let fid = match conn
        .call(Request::new(create).tree(sid, tid))
        .await
        .expect("CREATE")
        .body
    {
        ResponseBody::Create(c) => c.file_id,
        other => panic!("{other:?}"),
    };
    let data: Vec<u8> = (0..2_500_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let chunk = conn.with(|c| c.max_write_size());
    // Pipelined from cloned handles: all futures are created before any is awaited.
    let writes: Vec<_> = data
        .chunks(chunk)
        .enumerate()
        .map(|(i, c)| {
            let w = WriteRequest {
                offset: (i * chunk) as u64,
                file_id: fid,
                data: c.to_vec().into(),
                ..Default::default()
            };
            conn.clone()
                .submit(Request::new(w).tree(sid, tid))
                .expect("submit")
        })
        .collect();
    for w in writes {
        w.await.expect("WRITE");
    }
    let rchunk = conn.with(|c| c.max_read_size());
    let reads: Vec<_> = (0..data.len())
        .step_by(rchunk)
        .map(|off| {
            let r = ReadRequest {
                offset: off as u64,
                length: rchunk.min(data.len() - off) as u32,
                file_id: fid,
                ..Default::default()
            };
            conn.submit(Request::new(r).tree(sid, tid)).expect("submit")
        })
        .collect();
    let mut back = Vec::new();
    for r in reads {
        match r.await.expect("READ").body {
            ResponseBody::Read(r) => back.extend_from_slice(&r.data),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(Sha256::digest(&back), Sha256::digest(&data));
    conn.call(
        Request::new(CloseRequest {
            file_id: fid,
            ..Default::default()
        })
        .tree(sid, tid),
    )
    .await
    .expect("CLOSE");
    assert!(conn.lost().is_none());
}

#[tokio::test(flavor = "current_thread")]
async fn tokio_wrong_password_and_refused_port() {
    let Some(mut e) = env_or_skip("tokio_wrong_password_and_refused_port") else {
        return;
    };
    let conn = runtime::tokio::connect((e.server.as_str(), e.port), Arc::new(e.config.clone()))
        .await
        .expect("connect");
    conn.negotiate().await.expect("NEGOTIATE");
    let auth = Spnego::ntlm(Credentials::new(e.user.clone(), e.domain.clone(), "wrong"));
    let err = conn
        .session_setup(Box::new(auth))
        .await
        .expect_err("must fail");
    assert_eq!(err.status(), Some(NtStatus::LOGON_FAILURE), "{err}");
    // Nothing listens on port 1 of loopback: a typed transport error, at once.
    e.port = 1;
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        runtime::tokio::connect((e.server.as_str(), e.port), Arc::new(e.config.clone())),
    )
    .await;
    assert!(matches!(r, Ok(Err(pike::Error::Io(_)))), "{r:?}");
}
