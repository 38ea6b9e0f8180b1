//! pike's `tree.py` and `echo.py`.

use pike::harness::{Requirements, expect_status};
use pike::pike_core::wire::{
    Command, EchoRequest, EchoResponse, EncodeBody, NtStatus, RequestBody, ResponseBody,
    disposition,
};

use crate::scenario;

scenario!(echo, Requirements::new(), |fx| {
    let _: EchoResponse = fx.tree().call(EchoRequest).await?;
    Ok(())
});

/// An ECHO body (MS-SMB2 2.2.28) from the caller's own encoder, with the
/// StructureSize it is told to write.
struct HandEcho(u16);

impl EncodeBody for HandEcho {
    fn command(&self) -> Command {
        Command::Echo
    }

    fn encode_body(&self, out: &mut Vec<u8>, _base: usize) {
        out.extend_from_slice(&self.0.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
    }
}

scenario!(echo_from_callers_encoder, Requirements::new(), |fx| {
    let tree = fx.tree();
    let r = tree
        .raw()
        .call(tree.request(RequestBody::encoded(&HandEcho(4))))
        .await?;
    assert!(matches!(r.body, ResponseBody::Echo(_)), "{r:?}");
    // MS-SMB2 3.3.5.2.6: a StructureSize that is not the command's is refused.
    let bad = tree.request(RequestBody::encoded(&HandEcho(5)));
    expect_status(NtStatus::INVALID_PARAMETER, tree.submit(bad)?).await?;
    Ok(())
});

scenario!(tree_connect_disconnect, Requirements::new(), |fx| {
    let session = fx.tree().session();
    let second = session.tree_connect(fx.tree().share()).await?;
    assert_ne!(second.id(), fx.tree().id());
    let _: EchoResponse = second.call(EchoRequest).await?;
    let gone = second.id();
    second.disconnect().await?;
    // MS-SMB2 3.3.5.2.11: the TreeId is gone.
    let mut req = fx
        .tree()
        .request(crate::create(fx.rel("x"), disposition::OPEN_IF));
    req.header.tree_id = Some(gone);
    expect_status(NtStatus::NETWORK_NAME_DELETED, fx.tree().submit(req)?).await?;
    // The first tree is untouched.
    assert!(fx.dir().is_dir().await?);
    Ok(())
});

scenario!(tree_connect_bad_share, Requirements::new(), |fx| {
    let e = fx.tree().session().tree_connect("no-such-share-pike").await;
    pike::harness::check_status(NtStatus::BAD_NETWORK_NAME, e.map(|t| t.id()))?;
    Ok(())
});
