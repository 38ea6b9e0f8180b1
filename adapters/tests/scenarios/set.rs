//! pike's `set.py` and `readwrite.py`: SET_INFO of basic information, position and
//! rename; zero-length writes.

use bytes::Bytes;
use pike::harness::{Requirements, expect_status};
use pike::pike_core::wire::{
    FileBasicInformation, FilePositionInformation, FileRenameInformation, NtStatus, WriteRequest,
    WriteResponse, access, disposition, file_attributes,
};

use crate::{create, scenario};

/// 2021-01-01T00:00:00Z as FILETIME.
const NEW_YEAR: u64 = 132_539_328_000_000_000;

scenario!(set_basic_information, Requirements::new(), |fx| {
    let file = fx
        .tree()
        .create(create(fx.rel("b"), disposition::CREATE))
        .await?;
    let info = FileBasicInformation {
        last_write_time: NEW_YEAR,
        file_attributes: file_attributes::HIDDEN,
        ..Default::default() // zero: leave unchanged (MS-FSCC 2.4.7)
    };
    file.set_info(&info).await?;
    let got: FileBasicInformation = file.query_info().await?;
    assert_eq!(got.last_write_time, NEW_YEAR);
    assert_ne!(got.file_attributes & file_attributes::HIDDEN, 0, "{got:?}");
    file.set_info(&FilePositionInformation {
        current_byte_offset: 7,
    })
    .await?;
    let pos: FilePositionInformation = file.query_info().await?;
    assert_eq!(pos.current_byte_offset, 7);
    Ok(())
});

scenario!(set_rename, Requirements::new(), |fx| {
    fx.path("old").write_bytes(b"renamed").await?;
    let file = fx
        .tree()
        .create(create(fx.rel("old"), disposition::OPEN))
        .await?;
    let to = FileRenameInformation {
        file_name: fx.rel("new"),
        ..Default::default()
    };
    file.set_info(&to).await?;
    file.close().await?;
    assert!(!fx.path("old").exists().await?);
    assert_eq!(fx.path("new").read_bytes().await?, b"renamed");
    // Onto an existing name without ReplaceIfExists: refused.
    fx.path("other").write_bytes(b"x").await?;
    let file = fx
        .tree()
        .create(create(fx.rel("new"), disposition::OPEN))
        .await?;
    let req = pike::pike_core::wire::SetInfoRequest::new(
        file.id(),
        &FileRenameInformation {
            file_name: fx.rel("other"),
            ..Default::default()
        },
    );
    expect_status(
        NtStatus::OBJECT_NAME_COLLISION,
        fx.tree().submit(fx.tree().request(req))?,
    )
    .await?;
    Ok(())
});

scenario!(readwrite_zero_length_write, Requirements::new(), |fx| {
    let file = fx
        .tree()
        .create(create(fx.rel("z"), disposition::CREATE))
        .await?;
    let write = |file_id| WriteRequest {
        file_id,
        data: Bytes::new(),
        offset: 10,
        ..Default::default()
    };
    let w: WriteResponse = fx.tree().call(write(file.id())).await?;
    assert_eq!(w.count, 0);
    // A zero-length write does not extend the file...
    assert_eq!(file.size().await?, 0);
    // ...but still checks access (pike's test_write_zero_no_access).
    let read_only = pike::pike_core::wire::CreateRequest {
        desired_access: access::FILE_READ_DATA | access::FILE_READ_ATTRIBUTES,
        ..create(fx.rel("z"), disposition::OPEN)
    };
    let ro = fx.tree().create(read_only).await?;
    expect_status(
        NtStatus::ACCESS_DENIED,
        fx.tree().call::<WriteResponse>(write(ro.id())),
    )
    .await?;
    Ok(())
});
