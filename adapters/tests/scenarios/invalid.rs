//! pike's `invalid_session.py` and `invalid_tree.py`: requests carrying a SessionId or
//! TreeId the server never handed out (the header field is forced; pike still signs
//! or encrypts with the real session's keys).

use pike::harness::{Fixture, Requirements, TestError, expect_status};
use pike::pike_core::Request;
use pike::pike_core::wire::{
    EchoRequest, EchoResponse, FileId, IoctlRequest, NtStatus, OplockBreak, SessionId,
    TreeConnectRequest, TreeId, disposition, fsctl,
};
use pike::runtime::Runtime;

use crate::{create, scenario};

const BOGUS_SESSION: SessionId = SessionId(0x0bad_5e55_1011_0001);
const BOGUS_TREE: TreeId = TreeId(0x0bad_7ee0);

fn ioctl() -> IoctlRequest {
    IoctlRequest {
        ctl_code: fsctl::FSCTL_QUERY_NETWORK_INTERFACE_INFO,
        file_id: FileId::RELATED,
        max_output_response: 4096,
        flags: IoctlRequest::IS_FSCTL,
        ..Default::default()
    }
}

/// A tree whose connection accepts responses it cannot verify: the server answers a
/// bogus SessionId without the (real) session's signature, which pike would otherwise
/// take for tampering and drop the connection over.
async fn lenient_tree<R: Runtime>(fx: &Fixture<R>) -> Result<pike::Tree, TestError> {
    let mut config = fx.tree_connect().config()?;
    config.dangerous_skip_signature_verification = true;
    let tc = fx.tree_connect().clone().base_config(config);
    Ok(tc.connect(fx.runtime().clone()).await?)
}

/// Sends `req` with `edit` applied; expects `status`; checks the tree still works.
async fn expect_refused(
    tree: &pike::Tree,
    mut req: Request,
    edit: impl FnOnce(&mut Request),
    status: NtStatus,
) -> Result<(), TestError> {
    edit(&mut req);
    expect_status(status, tree.submit(req)?).await?;
    let _: EchoResponse = tree.call(EchoRequest).await?;
    Ok(())
}

fn bogus_session(r: &mut Request) {
    r.header.session_id = Some(BOGUS_SESSION);
}

fn bogus_tree(r: &mut Request) {
    r.header.tree_id = Some(BOGUS_TREE);
}

// MS-SMB2 3.3.5.2.9: an unknown SessionId fails with STATUS_USER_SESSION_DELETED.
scenario!(invalid_session_tree_connect, Requirements::new(), |fx| {
    let tree = lenient_tree(&fx).await?;
    let req = tree.request(TreeConnectRequest {
        path: format!("\\\\server\\{}", tree.share()),
        ..Default::default()
    });
    expect_refused(&tree, req, bogus_session, NtStatus::USER_SESSION_DELETED).await
});

scenario!(invalid_session_ioctl, Requirements::new(), |fx| {
    let tree = lenient_tree(&fx).await?;
    let req = tree.request(ioctl());
    expect_refused(&tree, req, bogus_session, NtStatus::USER_SESSION_DELETED).await
});

scenario!(
    invalid_session_oplock_break_ack,
    Requirements::new(),
    |fx| {
        let tree = lenient_tree(&fx).await?;
        let req = tree.request(OplockBreak::oplock_ack(0, FileId::from_bytes([7; 16])));
        expect_refused(&tree, req, bogus_session, NtStatus::USER_SESSION_DELETED).await
    }
);

// MS-SMB2 3.3.5.2.11: an unknown TreeId fails with STATUS_NETWORK_NAME_DELETED.
scenario!(invalid_tree_create, Requirements::new(), |fx| {
    let req = fx.tree().request(create(fx.rel("x"), disposition::OPEN_IF));
    expect_refused(fx.tree(), req, bogus_tree, NtStatus::NETWORK_NAME_DELETED).await
});

scenario!(invalid_tree_ioctl, Requirements::new(), |fx| {
    let req = fx.tree().request(ioctl());
    expect_refused(fx.tree(), req, bogus_tree, NtStatus::NETWORK_NAME_DELETED).await
});

scenario!(invalid_tree_oplock_break_ack, Requirements::new(), |fx| {
    let req = fx
        .tree()
        .request(OplockBreak::oplock_ack(0, FileId::from_bytes([7; 16])));
    expect_refused(fx.tree(), req, bogus_tree, NtStatus::NETWORK_NAME_DELETED).await
});
