//! pike's `compound.py`: related chains on one handle, and a failing CREATE whose
//! status cascades to the related parts (MS-SMB2 3.3.5.2.7.2).

use bytes::Bytes;
use pike::harness::{Requirements, TestError, check_status};
use pike::pike_core::wire::{
    FileId, FileInfoClass, FileStandardInformation, NtStatus, QueryDirectoryRequest,
    QueryInfoRequest, QueryInfoResponse, ResponseBody, WriteRequest, disposition,
};

use crate::{create, scenario};

scenario!(compound_create_write_close, Requirements::new(), |fx| {
    let data = Bytes::from_static(b"one round trip");
    let write = WriteRequest {
        file_id: FileId::RELATED,
        data: data.clone(),
        ..Default::default()
    };
    let create = create(fx.rel("w"), disposition::CREATE);
    let (_, parts) = fx.tree().open_do_close(create, vec![write.into()]).await?;
    match &parts[0].body {
        ResponseBody::Write(w) => assert_eq!(w.count as usize, data.len()),
        other => return Err(TestError::fail(format!("WRITE answered {other:?}"))),
    }
    assert_eq!(fx.path("w").read_bytes().await?, data);
    Ok(())
});

scenario!(compound_create_query_close, Requirements::new(), |fx| {
    fx.path("q").write_bytes(b"12345").await?;
    let query = QueryInfoRequest::for_class::<FileStandardInformation>(FileId::RELATED, 4096);
    let create = create(fx.rel("q"), disposition::OPEN);
    let (_, parts) = fx.tree().open_do_close(create, vec![query.into()]).await?;
    let q = QueryInfoResponse::try_from(parts[0].body.clone())
        .map_err(|b| TestError::fail(format!("QUERY_INFO answered {b:?}")))?;
    let std: FileStandardInformation = q.parse().map_err(|e| TestError::fail(e.to_string()))?;
    assert_eq!(std.end_of_file, 5);
    Ok(())
});

scenario!(compound_failed_create_cascades, Requirements::new(), |fx| {
    let list = QueryDirectoryRequest {
        info_class: FileInfoClass::Directory,
        file_id: FileId::RELATED,
        file_name: "*".into(),
        output_buffer_length: 4096,
        ..Default::default()
    };
    let create = crate::open_dir(fx.rel("missing"));
    let chain = fx.tree().open_do_close_chain(create, vec![list.into()]);
    let results = fx.tree().compound(chain).await?;
    assert_eq!(results.len(), 3);
    for r in results {
        // The CREATE's own status, passed on to the related QUERY_DIRECTORY and CLOSE.
        check_status(NtStatus::OBJECT_NAME_NOT_FOUND, r)?;
    }
    Ok(())
});
