//! QUERY_DIRECTORY, QUERY_INFO, SET_INFO and IOCTL against a real Samba.

use std::collections::BTreeSet;
use std::time::Instant;

use bytes::Bytes;
use pike_core::Request;
use pike_core::wire::{
    CreateRequest, Dialect, FileFsSizeInformation, FileId, FileInfoClass, FileRenameInformation,
    FileStandardInformation, IoctlRequest, NtStatus, QueryDirectoryRequest, QueryInfoRequest,
    ResponseBody, SetInfoRequest, ValidateNegotiateInfoRequest, ValidateNegotiateInfoResponse,
    WriteRequest, access, create_options, disposition, fsctl, share_access,
};
use pike_interop::{Driver, create_request, open_do_close, target_or_skip};

fn dir_request(name: &str, disp: u32) -> CreateRequest {
    CreateRequest {
        impersonation_level: 2,
        desired_access: access::GENERIC_READ | access::GENERIC_WRITE | access::DELETE,
        share_access: share_access::ALL,
        create_disposition: disp,
        create_options: create_options::DIRECTORY_FILE,
        name: name.into(),
        ..Default::default()
    }
}

#[test]
fn directory_of_1000_entries_lists_completely() {
    let Some(t) = target_or_skip("directory_of_1000_entries_lists_completely") else {
        return;
    };
    let (mut d, sid) = Driver::logon(&t).expect("logon");
    let tid = d.tree_connect(&t, sid, &t.share).expect("TREE_CONNECT");
    let dir = format!("pike-list-{}", std::process::id());
    let dfid = d
        .create(sid, tid, dir_request(&dir, disposition::CREATE))
        .expect("mkdir")
        .file_id;
    // 1000 files, each created and closed by one related compound, many in flight.
    let names: BTreeSet<String> = (0..1000).map(|i| format!("f{i:04}.txt")).collect();
    let mut pending = Vec::new();
    for n in &names {
        let create = create_request(&format!("{dir}\\{n}"), disposition::CREATE, 0);
        let chain = open_do_close(sid, tid, create, vec![]);
        pending.extend(
            d.conn
                .submit_compound(Instant::now(), chain)
                .expect("submit"),
        );
    }
    for id in pending {
        d.wait(id).expect("create+close");
    }
    let mut seen = BTreeSet::new();
    let mut flags = QueryDirectoryRequest::RESTART_SCANS;
    loop {
        let q = QueryDirectoryRequest {
            info_class: FileInfoClass::IdBothDirectory,
            flags,
            file_id: dfid,
            file_name: "*".into(),
            output_buffer_length: d.conn.max_transact_size().min(65536) as u32,
            ..Default::default()
        };
        flags = 0;
        match d.call(Request::new(q).tree(sid, tid)) {
            Ok(r) => match r.body {
                ResponseBody::QueryDirectory(q) => {
                    for e in q.entries(FileInfoClass::IdBothDirectory).expect("entries") {
                        seen.insert(e.file_name);
                    }
                }
                other => panic!("{other:?}"),
            },
            Err(e) if e.status() == Some(NtStatus::NO_MORE_FILES) => break,
            Err(e) => panic!("QUERY_DIRECTORY: {e}"),
        }
    }
    seen.remove(".");
    seen.remove("..");
    assert_eq!(seen, names, "every entry listed exactly");
    // Clean up: delete every file (compound create DELETE_ON_CLOSE + close), then the dir.
    let mut pending = Vec::new();
    for n in &names {
        let del = create_request(
            &format!("{dir}\\{n}"),
            disposition::OPEN,
            create_options::DELETE_ON_CLOSE,
        );
        let chain = open_do_close(sid, tid, del, vec![]);
        pending.extend(
            d.conn
                .submit_compound(Instant::now(), chain)
                .expect("submit"),
        );
    }
    for id in pending {
        d.wait(id).expect("delete");
    }
    d.close(sid, tid, dfid).expect("CLOSE dir");
    let rm = CreateRequest {
        create_options: create_options::DIRECTORY_FILE | create_options::DELETE_ON_CLOSE,
        ..dir_request(&dir, disposition::OPEN)
    };
    let fid = d.create(sid, tid, rm).expect("open dir for delete").file_id;
    d.close(sid, tid, fid).expect("rmdir");
}

#[test]
fn query_info_set_info_rename() {
    let Some(t) = target_or_skip("query_info_set_info_rename") else {
        return;
    };
    let (mut d, sid) = Driver::logon(&t).expect("logon");
    let tid = d.tree_connect(&t, sid, &t.share).expect("TREE_CONNECT");
    let a = format!("pike-info-{}.a", std::process::id());
    let b = format!("pike-info-{}.b", std::process::id());
    let fid = d
        .create(sid, tid, create_request(&a, disposition::OVERWRITE_IF, 0))
        .expect("CREATE")
        .file_id;
    let w = WriteRequest {
        file_id: fid,
        data: Bytes::from_static(&[7; 1234]),
        ..Default::default()
    };
    d.call(Request::new(w).tree(sid, tid)).expect("WRITE");
    let q = QueryInfoRequest::for_class::<FileStandardInformation>(fid, 1024);
    let std_info: FileStandardInformation = match d
        .call(Request::new(q).tree(sid, tid))
        .expect("QUERY_INFO")
        .body
    {
        ResponseBody::QueryInfo(r) => r.parse().expect("FileStandardInformation"),
        other => panic!("{other:?}"),
    };
    assert_eq!(std_info.end_of_file, 1234);
    assert!(!std_info.directory);
    let q = QueryInfoRequest::for_class::<FileFsSizeInformation>(fid, 1024);
    let fs: FileFsSizeInformation = match d
        .call(Request::new(q).tree(sid, tid))
        .expect("QUERY_INFO fs")
        .body
    {
        ResponseBody::QueryInfo(r) => r.parse().expect("FileFsSizeInformation"),
        other => panic!("{other:?}"),
    };
    assert!(
        fs.bytes_per_sector > 0 && fs.total_allocation_units > 0,
        "{fs:?}"
    );
    // A zero-length output buffer is refused with a typed status.
    let q = QueryInfoRequest::for_class::<FileStandardInformation>(fid, 0);
    let err = d
        .call(Request::new(q).tree(sid, tid))
        .expect_err("zero-length buffer");
    assert_eq!(err.status(), Some(NtStatus::INFO_LENGTH_MISMATCH), "{err}");
    let rename = FileRenameInformation {
        replace_if_exists: false,
        root_directory: 0,
        file_name: b.clone(),
    };
    d.call(Request::new(SetInfoRequest::new(fid, &rename)).tree(sid, tid))
        .expect("SET_INFO rename");
    d.close(sid, tid, fid).expect("CLOSE");
    let err = d
        .create(sid, tid, create_request(&a, disposition::OPEN, 0))
        .expect_err("old name gone");
    assert_eq!(err.status(), Some(NtStatus::OBJECT_NAME_NOT_FOUND));
    let fid = d
        .create(
            sid,
            tid,
            create_request(&b, disposition::OPEN, create_options::DELETE_ON_CLOSE),
        )
        .expect("new name")
        .file_id;
    d.close(sid, tid, fid).expect("CLOSE");
}

#[test]
fn validate_negotiate_info_matches_at_3_0() {
    let Some(t) = target_or_skip("validate_negotiate_info_matches_at_3_0") else {
        return;
    };
    let (mut d, sid) = Driver::logon(&t).expect("logon");
    let dialect = d.conn.dialect().expect("dialect");
    if !matches!(dialect, Dialect::Smb300 | Dialect::Smb302) {
        eprintln!(
            "skipping: FSCTL_VALIDATE_NEGOTIATE_INFO applies to 3.0/3.0.2, negotiated {dialect}"
        );
        return;
    }
    let tid = d.tree_connect(&t, sid, &t.share).expect("TREE_CONNECT");
    let cfg = d.conn.config().clone();
    let neg = d.conn.negotiated().expect("negotiated").clone();
    let mut dialects = cfg.dialects.clone();
    dialects.sort();
    let input = ValidateNegotiateInfoRequest {
        capabilities: pike_core::wire::Capabilities(0x46),
        guid: cfg.client_guid,
        security_mode: pike_core::wire::SecurityMode(if cfg.require_signing { 3 } else { 1 }),
        dialects,
        dialect_count: None,
    };
    let ioctl = IoctlRequest::fsctl(
        fsctl::FSCTL_VALIDATE_NEGOTIATE_INFO,
        FileId::RELATED,
        input.to_bytes(),
        24,
    );
    // MS-SMB2 3.2.5.5: the validation request is always signed.
    let mut req = Request::new(ioctl).tree(sid, tid);
    req.sign = Some(true);
    let r = d.call(req).expect("IOCTL");
    let out = match r.body {
        ResponseBody::Ioctl(i) => {
            ValidateNegotiateInfoResponse::decode(&i.output).expect("validate response")
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(out.dialect, dialect);
    assert_eq!(out.guid, neg.server_guid);
    assert_eq!(out.capabilities, neg.capabilities);
}
