//! pike's `session.py`: several sessions on one connection; LOGOFF.

use pike::harness::{Requirements, TestError, expect_status};
use pike::pike_core::wire::{EchoRequest, EchoResponse, NtStatus};

use crate::scenario;

/// The credentials from `PIKE_CREDS`.
fn creds() -> pike::pike_core::auth::Credentials {
    pike::parse_creds(&std::env::var("PIKE_CREDS").unwrap_or_default())
}

scenario!(session_three_on_one_connection, Requirements::new(), |fx| {
    let conn = fx.tree().session().connection();
    let mut sessions = Vec::new();
    for _ in 0..3 {
        sessions.push(conn.login(creds()).await?);
    }
    let mut ids: Vec<_> = sessions.iter().map(|s| s.id()).collect();
    ids.push(fx.tree().session().id());
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "session ids not distinct: {ids:?}");
    // Each session derived its own keys (MS-SMB2 3.2.5.3.1): compared by fingerprint,
    // never by the keys themselves.
    let mut prints = Vec::new();
    for s in sessions.iter().chain([fx.tree().session()]) {
        let info = s.info().ok_or_else(|| TestError::fail("no session info"))?;
        prints.push(
            info.key_fingerprint
                .ok_or_else(|| TestError::fail(format!("no key fingerprint: {info:?}")))?,
        );
    }
    prints.sort_unstable();
    prints.dedup();
    assert_eq!(prints.len(), 4, "sessions share a key: {prints:02x?}");
    // Each session's own keys sign/encrypt its requests: a tree on each works.
    for s in &sessions {
        let tree = s.tree_connect(fx.tree().share()).await?;
        let _: EchoResponse = tree.call(EchoRequest).await?;
        assert!(tree.path(fx.dir().as_str()).is_dir().await?);
    }
    sessions[0].logoff().await?;
    for s in &sessions[1..] {
        s.tree_connect(fx.tree().share())
            .await
            .map_err(|e| TestError::fail(format!("after another session's LOGOFF: {e}")))?;
    }
    Ok(())
});

scenario!(session_logoff_then_use, Requirements::new(), |fx| {
    let session = fx.tree().session().connection().login(creds()).await?;
    let tree = session.tree_connect(fx.tree().share()).await?;
    let stale = tree.request(pike::pike_core::wire::TreeDisconnectRequest);
    session.logoff().await?;
    // MS-SMB2 3.3.5.2.9: the SessionId is gone. Sent without the session's keys,
    // which the client dropped at LOGOFF.
    let mut req = pike::pike_core::Request::new(stale.body);
    req.header.session_id = stale.session;
    req.header.tree_id = stale.tree;
    expect_status(NtStatus::USER_SESSION_DELETED, fx.tree().submit(req)?).await?;
    Ok(())
});
