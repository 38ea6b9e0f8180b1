//! pike's `changenotify.py`: a notify reports a file added; a pending notify completes
//! with STATUS_NOTIFY_CLEANUP when its handle closes.

use std::time::Duration;

use pike::harness::{Requirements, TestError};
use pike::pike_core::wire::{
    ChangeNotifyRequest, ChangeNotifyResponse, NtStatus, ResponseBody, completion_filter,
};

use crate::{open_dir, scenario};

/// FILE_ACTION_ADDED (MS-FSCC 2.7.1).
const ADDED: u32 = 1;

fn notify(dir: &pike::File) -> ChangeNotifyRequest {
    ChangeNotifyRequest {
        output_buffer_length: 4096,
        file_id: dir.id(),
        completion_filter: completion_filter::FILE_NAME,
        ..Default::default()
    }
}

scenario!(changenotify_file_added, Requirements::new(), |fx| {
    let dir = fx.tree().create(open_dir(fx.rel(""))).await?;
    let pending = fx.tree().submit(fx.tree().request(notify(&dir)))?;
    fx.wait_interim(&pending, Duration::from_secs(10)).await?;
    fx.path("new-file").write_bytes(b"x").await?;
    let r = pending.await?;
    let ResponseBody::ChangeNotify(n) = r.body else {
        return Err(TestError::fail(format!(
            "CHANGE_NOTIFY answered {:?}",
            r.body
        )));
    };
    let entries = n.entries().map_err(|e| TestError::fail(e.to_string()))?;
    assert!(
        entries
            .iter()
            .any(|e| e.action == ADDED && e.file_name == "new-file"),
        "{entries:?}"
    );
    Ok(())
});

scenario!(changenotify_cleanup_on_close, Requirements::new(), |fx| {
    let dir = fx.tree().create(open_dir(fx.rel(""))).await?;
    let pending = fx.tree().submit(fx.tree().request(notify(&dir)))?;
    fx.wait_interim(&pending, Duration::from_secs(10)).await?;
    dir.close().await?;
    // MS-SMB2 3.3.5.16: closing the handle completes its notify, with no entries.
    let r = pending.await?;
    assert_eq!(r.header.status, NtStatus::NOTIFY_CLEANUP);
    let n = ChangeNotifyResponse::try_from(r.body)
        .map_err(|b| TestError::fail(format!("CHANGE_NOTIFY answered {b:?}")))?;
    assert!(n.output.is_empty(), "{n:?}");
    Ok(())
});
