//! pike's `lock.py`: byte-range lock conflicts, and cancelling a blocked lock.

use std::time::Duration;

use pike::harness::{Fixture, Requirements, TestError, expect_status};
use pike::pike_core::wire::{LockElement, LockRequest, LockResponse, NtStatus, disposition};

use pike::runtime::Runtime;

use crate::{create, scenario};

fn lock(file: &pike::File, flags: u32) -> LockRequest {
    LockRequest {
        file_id: file.id(),
        locks: vec![LockElement {
            offset: 0,
            length: 100,
            flags,
        }],
        ..Default::default()
    }
}

/// A 100-byte file `l`, opened twice.
async fn two_opens<R: Runtime>(fx: &Fixture<R>) -> Result<(pike::File, pike::File), TestError> {
    fx.path("l").write_bytes(&[0; 100]).await?;
    let open = || fx.tree().create(create(fx.rel("l"), disposition::OPEN));
    Ok((open().await?, open().await?))
}

scenario!(lock_fail_immediately_conflict, Requirements::new(), |fx| {
    let (a, b) = two_opens(&fx).await?;
    let exclusive = LockElement::EXCLUSIVE | LockElement::FAIL_IMMEDIATELY;
    let _: LockResponse = fx.tree().call(lock(&a, exclusive)).await?;
    let denied = fx.tree().call::<LockResponse>(lock(&b, exclusive));
    expect_status(NtStatus::LOCK_NOT_GRANTED, denied).await?;
    // Released, the range is free for the other handle.
    let _: LockResponse = fx.tree().call(lock(&a, LockElement::UNLOCK)).await?;
    let _: LockResponse = fx.tree().call(lock(&b, exclusive)).await?;
    Ok(())
});

scenario!(lock_cancel_pending, Requirements::new(), |fx| {
    let (a, b) = two_opens(&fx).await?;
    let _: LockResponse = fx.tree().call(lock(&a, LockElement::EXCLUSIVE)).await?;
    // Without FAIL_IMMEDIATELY the conflicting lock waits: STATUS_PENDING, then CANCEL.
    let blocked = fx
        .tree()
        .submit(fx.tree().request(lock(&b, LockElement::EXCLUSIVE)))?;
    fx.wait_interim(&blocked, Duration::from_secs(10)).await?;
    blocked.cancel()?;
    expect_status(NtStatus::CANCELLED, blocked).await?;
    Ok(())
});
