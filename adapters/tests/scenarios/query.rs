//! pike's `query.py` and `querydirectory.py`.

use pike::File;
use pike::harness::{Fixture, Requirements, TestError, expect_status};
use pike::pike_core::wire::{
    FileAccessInformation, FileAllInformation, FileAttributeTagInformation, FileBasicInformation,
    FileEaInformation, FileId, FileInfoClass, FileInternalInformation, FileModeInformation,
    FileNetworkOpenInformation, FilePositionInformation, FileStandardInformation, NtStatus,
    QueryDirectoryRequest, QueryDirectoryResponse, QueryInfoRequest, QueryInfoResponse,
    disposition, security_information,
};
use pike::runtime::Runtime;

use crate::{create, open_dir, scenario};

async fn file_with<R: Runtime>(fx: &Fixture<R>, data: &[u8]) -> Result<File, TestError> {
    fx.path("f").write_bytes(data).await?;
    Ok(fx
        .tree()
        .create(create(fx.rel("f"), disposition::OPEN))
        .await?)
}

scenario!(query_file_info_classes, Requirements::new(), |fx| {
    let file = file_with(&fx, b"0123456789").await?;
    let basic: FileBasicInformation = file.query_info().await?;
    let std: FileStandardInformation = file.query_info().await?;
    let net: FileNetworkOpenInformation = file.query_info().await?;
    let all: FileAllInformation = file.query_info().await?;
    let id: FileInternalInformation = file.query_info().await?;
    let _: FileEaInformation = file.query_info().await?;
    let _: FilePositionInformation = file.query_info().await?;
    let _: FileModeInformation = file.query_info().await?;
    let access: FileAccessInformation = file.query_info().await?;
    let _: FileAttributeTagInformation = file.query_info().await?;
    assert_eq!((std.end_of_file, net.end_of_file), (10, 10));
    assert_eq!(net.last_write_time, basic.last_write_time);
    assert_eq!(all.basic, basic);
    assert_eq!(all.internal, id);
    assert_ne!(access.access_flags, 0);
    Ok(())
});

scenario!(query_zero_length_buffer, Requirements::new(), |fx| {
    let file = file_with(&fx, b"x").await?;
    // MS-SMB2 3.3.5.20.1: a buffer too small for the fixed structure.
    let q = QueryInfoRequest::for_class::<FileBasicInformation>(file.id(), 0);
    expect_status(
        NtStatus::INFO_LENGTH_MISMATCH,
        fx.tree().call::<QueryInfoResponse>(q),
    )
    .await?;
    // MS-SMB2 3.3.5.20.3: a security descriptor reports the size it needs.
    let sec =
        security_information::OWNER | security_information::GROUP | security_information::DACL;
    let q = QueryInfoRequest::security(file.id(), sec, 0);
    let e = expect_status(
        NtStatus::BUFFER_TOO_SMALL,
        fx.tree().call::<QueryInfoResponse>(q),
    )
    .await?;
    let data = &e.error.error_data;
    // The u32 is the ErrorData itself, or inside one 3.1.1 error context (after its
    // 8-byte header).
    let at = if e.error.error_context_count > 0 {
        8
    } else {
        0
    };
    let need = data
        .get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| TestError::fail(format!("no size in {e:?}")))?;
    assert!(need >= 20, "a descriptor needs at least its header: {need}");
    let q = QueryInfoRequest::security(file.id(), sec, need);
    let _: QueryInfoResponse = fx.tree().call(q).await?;
    Ok(())
});

/// QUERY_DIRECTORY of `dir` for `pattern` as `class`.
fn query(dir: FileId, class: FileInfoClass, pattern: &str, flags: u8) -> QueryDirectoryRequest {
    QueryDirectoryRequest {
        info_class: class,
        flags,
        file_id: dir,
        file_name: pattern.into(),
        output_buffer_length: 64 * 1024,
        ..Default::default()
    }
}

/// The names `q` lists, sorted, `.` and `..` left out.
async fn list<R: Runtime>(
    fx: &Fixture<R>,
    q: QueryDirectoryRequest,
) -> Result<Vec<String>, TestError> {
    let class = q.info_class;
    let r: QueryDirectoryResponse = fx.tree().call(q).await?;
    let entries = r
        .entries(class)
        .map_err(|e| TestError::fail(e.to_string()))?;
    let mut names: Vec<_> = entries
        .into_iter()
        .map(|e| e.file_name)
        .filter(|n| n != "." && n != "..")
        .collect();
    names.sort();
    Ok(names)
}

scenario!(
    querydirectory_classes_and_restart,
    Requirements::new(),
    |fx| {
        use FileInfoClass::{Directory, FullDirectory, IdBothDirectory};
        for n in ["a", "b", "c"] {
            fx.path(n).write_bytes(n.as_bytes()).await?;
        }
        let handle = fx.tree().create(open_dir(fx.rel(""))).await?;
        let dir = handle.id();
        let abc = ["a", "b", "c"];
        assert_eq!(list(&fx, query(dir, Directory, "*", 0)).await?, abc);
        // The scan is exhausted...
        let done = fx
            .tree()
            .call::<QueryDirectoryResponse>(query(dir, Directory, "*", 0));
        expect_status(NtStatus::NO_MORE_FILES, done).await?;
        // ...until restarted, here with another class.
        let restart = QueryDirectoryRequest::RESTART_SCANS;
        assert_eq!(
            list(&fx, query(dir, IdBothDirectory, "*", restart)).await?,
            abc
        );
        // One name, on a fresh handle (a scan's pattern is fixed on some servers).
        let handle = fx.tree().create(open_dir(fx.rel(""))).await?;
        let dir = handle.id();
        assert_eq!(list(&fx, query(dir, FullDirectory, "b", 0)).await?, ["b"]);
        Ok(())
    }
);

// MS-SMB2 3.3.5.18: a first scan that matches nothing fails with STATUS_NO_SUCH_FILE
// (later scans end with STATUS_NO_MORE_FILES).
scenario!(querydirectory_no_match_name, Requirements::new(), |fx| {
    let dir = fx.tree().create(open_dir(fx.rel(""))).await?;
    let q = query(dir.id(), FileInfoClass::Directory, "nothing", 0);
    expect_status(
        NtStatus::NO_SUCH_FILE,
        fx.tree().call::<QueryDirectoryResponse>(q),
    )
    .await?;
    Ok(())
});

scenario!(
    querydirectory_no_match_wildcard,
    Requirements::new(),
    |fx| {
        let dir = fx.tree().create(open_dir(fx.rel(""))).await?;
        let q = query(dir.id(), FileInfoClass::Directory, "nothing*", 0);
        expect_status(
            NtStatus::NO_SUCH_FILE,
            fx.tree().call::<QueryDirectoryResponse>(q),
        )
        .await?;
        Ok(())
    }
);
