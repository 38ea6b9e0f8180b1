//! Every command the core sends, against the model server's in-memory file system:
//! QUERY_DIRECTORY, QUERY_INFO, SET_INFO, IOCTL, CHANGE_NOTIFY, LOCK, FLUSH, LOGOFF,
//! TREE_DISCONNECT and oplock / lease break acknowledgments.

mod common;

use bytes::Bytes;
use common::SEEDS;
use pike_core::wire::{
    ChangeNotifyRequest, ChangeNotifyResponse, Dialect, FileAllInformation, FileBasicInformation,
    FileDispositionInformation, FileEndOfFileInformation, FileFsVolumeInformation, FileId,
    FileInfoClass, FileInternalInformation, FileRenameInformation, FileStandardInformation,
    FlushRequest, InfoBuffer, IoctlRequest, LockElement, LockRequest, NtStatus, OplockBreak,
    QueryDirectoryRequest, QueryInfoRequest, ResponseBody, ResponseContext, SessionId,
    SetInfoRequest, TreeDisconnectRequest, TreeId, ValidateNegotiateInfoRequest,
    ValidateNegotiateInfoResponse, completion_filter, create_options, disposition, fsctl,
    lease_state, oplock_level,
};
use pike_core::{Request, RequestError, RequestId, Response, UsageError};
use pike_proptests::{Pair, Record, ServerConfig, ServerPolicy};

fn setup(seed: u64) -> (Pair, SessionId, TreeId) {
    let mut p = Pair::default_with_seed(seed);
    let sid = p.connect();
    let tid = p.tree_connect(sid, "share").expect("tree");
    (p, sid, tid)
}

fn status(r: Result<Response, RequestError>) -> NtStatus {
    match r {
        Ok(r) => r.header.status,
        Err(e) => e.status().unwrap_or_else(|| panic!("no status in {e:?}")),
    }
}

fn open_dir(p: &mut Pair, sid: SessionId, tid: TreeId, name: &str) -> FileId {
    let mut c = Pair::create_request(name, disposition::OPEN_IF);
    c.create_options = create_options::DIRECTORY_FILE;
    p.create_with(sid, tid, c).expect("directory").file_id
}

fn list(
    p: &mut Pair,
    sid: SessionId,
    tid: TreeId,
    dir: FileId,
    q: QueryDirectoryRequest,
) -> Result<Vec<String>, NtStatus> {
    let class = q.info_class;
    let q = QueryDirectoryRequest { file_id: dir, ..q };
    match p.call(Request::new(q).tree(sid, tid)) {
        Ok(r) => match r.body {
            ResponseBody::QueryDirectory(d) => Ok(d
                .entries(class)
                .expect("entries decode")
                .into_iter()
                .map(|e| e.file_name)
                .collect()),
            other => panic!("QUERY_DIRECTORY answered with {other:?}"),
        },
        Err(e) => Err(e.status().expect("a status")),
    }
}

fn set<T: InfoBuffer>(p: &mut Pair, sid: SessionId, tid: TreeId, fid: FileId, v: &T) -> NtStatus {
    status(p.call(Request::new(SetInfoRequest::new(fid, v)).tree(sid, tid)))
}

fn assert_clean(p: &Pair) {
    assert!(
        p.server.violations().is_empty(),
        "{:?}",
        p.server.violations()
    );
    assert!(p.lost.is_none(), "{:?}", p.lost);
}

#[test]
fn query_directory_lists_resumes_and_filters() {
    for seed in SEEDS {
        let (mut p, sid, tid) = setup(seed);
        for name in ["b.txt", "a.txt", "sub\\c.txt", "z.bin"] {
            let f = p.create(sid, tid, name, disposition::CREATE).unwrap();
            p.close(sid, tid, f).unwrap();
        }
        let d = open_dir(&mut p, sid, tid, "d");
        p.close(sid, tid, d).unwrap();
        let root = open_dir(&mut p, sid, tid, "");
        let all = |class| QueryDirectoryRequest {
            info_class: class,
            file_name: "*".into(),
            output_buffer_length: 65536,
            ..QueryDirectoryRequest::default()
        };
        let expected = [".", "..", "a.txt", "b.txt", "d", "sub", "z.bin"];
        for class in [
            FileInfoClass::Directory,
            FileInfoClass::FullDirectory,
            FileInfoClass::BothDirectory,
            FileInfoClass::IdFullDirectory,
            FileInfoClass::IdBothDirectory,
            FileInfoClass::Names,
        ] {
            let mut q = all(class);
            q.flags = QueryDirectoryRequest::RESTART_SCANS;
            assert_eq!(
                list(&mut p, sid, tid, root, q).unwrap(),
                expected,
                "{class:?}"
            );
            assert_eq!(
                list(&mut p, sid, tid, root, all(class)),
                Err(NtStatus::NO_MORE_FILES)
            );
        }
        // A small buffer resumes where the previous response stopped.
        let mut q = all(FileInfoClass::Names);
        q.flags = QueryDirectoryRequest::RESTART_SCANS;
        q.output_buffer_length = 40;
        let mut got = Vec::new();
        loop {
            let mut q = q.clone();
            if !got.is_empty() {
                q.flags = 0;
            }
            match list(&mut p, sid, tid, root, q) {
                Ok(names) => {
                    assert!(!names.is_empty() && names.len() < expected.len());
                    got.extend(names);
                }
                Err(s) => {
                    assert_eq!(s, NtStatus::NO_MORE_FILES);
                    break;
                }
            }
        }
        assert_eq!(got, expected);
        // A pattern, a single entry, and a pattern matching nothing.
        let mut q = all(FileInfoClass::Directory);
        q.flags = QueryDirectoryRequest::REOPEN | QueryDirectoryRequest::RETURN_SINGLE_ENTRY;
        q.file_name = "*.TXT".into();
        assert_eq!(list(&mut p, sid, tid, root, q.clone()).unwrap(), ["a.txt"]);
        q.flags = 0;
        assert_eq!(list(&mut p, sid, tid, root, q).unwrap(), ["b.txt"]);
        let mut q = all(FileInfoClass::Directory);
        q.flags = QueryDirectoryRequest::RESTART_SCANS;
        q.file_name = "nothing*".into();
        assert_eq!(list(&mut p, sid, tid, root, q), Err(NtStatus::NO_SUCH_FILE));
        // A subdirectory, not even one entry fitting, and a file handle.
        let sub = open_dir(&mut p, sid, tid, "sub");
        assert_eq!(
            list(&mut p, sid, tid, sub, all(FileInfoClass::Names)).unwrap(),
            [".", "..", "c.txt"]
        );
        let mut q = all(FileInfoClass::IdBothDirectory);
        q.flags = QueryDirectoryRequest::RESTART_SCANS;
        q.output_buffer_length = 50;
        assert_eq!(
            list(&mut p, sid, tid, root, q),
            Err(NtStatus::INFO_LENGTH_MISMATCH)
        );
        let file = p.create(sid, tid, "a.txt", disposition::OPEN).unwrap();
        assert_eq!(
            list(&mut p, sid, tid, file, all(FileInfoClass::Names)),
            Err(NtStatus::INVALID_PARAMETER)
        );
        assert_eq!(
            list(&mut p, sid, tid, root, all(FileInfoClass::Basic)),
            Err(NtStatus::INVALID_INFO_CLASS)
        );
        // A large OutputBufferLength is charged several credits (MS-SMB2 3.1.5.2).
        let mut q = all(FileInfoClass::Names);
        q.flags = QueryDirectoryRequest::RESTART_SCANS;
        q.output_buffer_length = 200_000;
        assert_eq!(
            list(&mut p, sid, tid, root, q).unwrap().len(),
            expected.len()
        );
        assert_clean(&p);
    }
}

#[test]
fn query_info_reports_the_file_system() {
    let (mut p, sid, tid) = setup(SEEDS[0]);
    let f = p
        .create(sid, tid, "dir\\info.bin", disposition::CREATE)
        .unwrap();
    p.write(sid, tid, f, 0, &[7; 5000]).unwrap();
    let std: FileStandardInformation = common::query(&mut p, sid, tid, f);
    assert_eq!(
        (std.end_of_file, std.directory, std.delete_pending),
        (5000, false, false)
    );
    let all: FileAllInformation = common::query(&mut p, sid, tid, f);
    assert_eq!(all.name.file_name, "\\dir\\info.bin");
    assert_eq!(all.standard, std);
    let g = p.create(sid, tid, "other", disposition::CREATE).unwrap();
    let a: FileInternalInformation = common::query(&mut p, sid, tid, f);
    let b: FileInternalInformation = common::query(&mut p, sid, tid, g);
    assert_ne!(a.index_number, b.index_number, "file ids are unique");
    let vol: FileFsVolumeInformation = common::query(&mut p, sid, tid, f);
    assert_eq!(vol.volume_label, "model");
    let dir = open_dir(&mut p, sid, tid, "dir");
    let std: FileStandardInformation = common::query(&mut p, sid, tid, dir);
    assert!(std.directory);

    // Too small: fixed classes fail, variable ones are cut with BUFFER_OVERFLOW.
    let small = QueryInfoRequest::for_class::<FileStandardInformation>(f, 8);
    assert_eq!(
        status(p.call(Request::new(small).tree(sid, tid))),
        NtStatus::INFO_LENGTH_MISMATCH
    );
    let cut = QueryInfoRequest::for_class::<FileAllInformation>(f, 104);
    let r = p
        .call(Request::new(cut).tree(sid, tid))
        .expect("overflow has a body");
    assert_eq!(r.header.status, NtStatus::BUFFER_OVERFLOW);
    match r.body {
        ResponseBody::QueryInfo(q) => assert_eq!(q.output.len(), 104),
        other => panic!("{other:?}"),
    }
    // Security: too small a buffer learns the size needed (MS-SMB2 3.3.5.20.3).
    let sd = QueryInfoRequest::security(f, 4, 8);
    match p.call(Request::new(sd).tree(sid, tid)) {
        Err(RequestError::Status(s)) => {
            assert_eq!(s.status, NtStatus::BUFFER_TOO_SMALL);
            let need = u32::from_le_bytes(s.error.error_data[..4].try_into().unwrap());
            let sd = QueryInfoRequest::security(f, 4, need);
            let r = p.call(Request::new(sd).tree(sid, tid)).expect("descriptor");
            match r.body {
                ResponseBody::QueryInfo(q) => assert_eq!(q.output.len(), need as usize),
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    let bad = QueryInfoRequest {
        file_info_class: FileInfoClass::Rename.code(),
        output_buffer_length: 100,
        file_id: f,
        ..QueryInfoRequest::default()
    };
    assert_eq!(
        status(p.call(Request::new(bad).tree(sid, tid))),
        NtStatus::INVALID_INFO_CLASS
    );
    p.close(sid, tid, f).unwrap();
    assert_eq!(
        status(
            p.call(
                Request::new(QueryInfoRequest::for_class::<FileBasicInformation>(f, 100))
                    .tree(sid, tid)
            )
        ),
        NtStatus::FILE_CLOSED
    );
    assert_clean(&p);
}

#[test]
fn set_info_resizes_renames_and_deletes() {
    for seed in SEEDS {
        let (mut p, sid, tid) = setup(seed);
        let f = p.create(sid, tid, "a.txt", disposition::CREATE).unwrap();
        p.write(sid, tid, f, 0, b"hello world").unwrap();
        // End of file: shrink, then grow with zeros.
        let eof = |n| FileEndOfFileInformation { end_of_file: n };
        assert_eq!(set(&mut p, sid, tid, f, &eof(5)), NtStatus::SUCCESS);
        assert_eq!(&p.read(sid, tid, f, 0, 100).unwrap()[..], b"hello");
        assert_eq!(set(&mut p, sid, tid, f, &eof(8)), NtStatus::SUCCESS);
        assert_eq!(&p.read(sid, tid, f, 0, 100).unwrap()[..], b"hello\0\0\0");
        let std: FileStandardInformation = common::query(&mut p, sid, tid, f);
        assert_eq!(std.end_of_file, 8);

        // Rename: the open follows the file.
        let to = |name: &str, replace| FileRenameInformation {
            replace_if_exists: replace,
            root_directory: 0,
            file_name: name.into(),
        };
        assert_eq!(
            set(&mut p, sid, tid, f, &to("x\\b.txt", false)),
            NtStatus::SUCCESS
        );
        assert!(!p.server.files().contains_key("a.txt"));
        assert_eq!(p.server.files()["x\\b.txt"], b"hello\0\0\0");
        let all: FileAllInformation = common::query(&mut p, sid, tid, f);
        assert_eq!(all.name.file_name, "\\x\\b.txt");
        let g = p.create(sid, tid, "c.txt", disposition::CREATE).unwrap();
        p.close(sid, tid, g).unwrap();
        assert_eq!(
            set(&mut p, sid, tid, f, &to("c.txt", false)),
            NtStatus::OBJECT_NAME_COLLISION
        );
        assert_eq!(
            set(&mut p, sid, tid, f, &to("c.txt", true)),
            NtStatus::SUCCESS
        );
        assert_eq!(p.server.files()["c.txt"], b"hello\0\0\0");

        // Delete on close: the file stays until its last open closes.
        let disp = |d| FileDispositionInformation { delete_pending: d };
        assert_eq!(set(&mut p, sid, tid, f, &disp(true)), NtStatus::SUCCESS);
        let std: FileStandardInformation = common::query(&mut p, sid, tid, f);
        assert!(std.delete_pending);
        assert_eq!(
            p.create(sid, tid, "c.txt", disposition::OPEN)
                .unwrap_err()
                .status(),
            Some(NtStatus::DELETE_PENDING)
        );
        p.close(sid, tid, f).unwrap();
        assert!(!p.server.files().contains_key("c.txt"));
        // DELETE_ON_CLOSE at create, and a non-empty directory refuses deletion.
        let mut c = Pair::create_request("tmp", disposition::CREATE);
        c.create_options |= create_options::DELETE_ON_CLOSE;
        let t = p.create_with(sid, tid, c).unwrap().file_id;
        assert!(p.server.files().contains_key("tmp"));
        p.close(sid, tid, t).unwrap();
        assert!(!p.server.files().contains_key("tmp"));
        let k = p.create(sid, tid, "x\\keep", disposition::CREATE).unwrap();
        p.close(sid, tid, k).unwrap();
        let x = open_dir(&mut p, sid, tid, "x");
        assert_eq!(
            set(&mut p, sid, tid, x, &disp(true)),
            NtStatus::DIRECTORY_NOT_EMPTY
        );
        let basic = FileBasicInformation {
            last_write_time: 0x01d9_0000_0000_0000,
            ..FileBasicInformation::default()
        };
        let y = p.create(sid, tid, "y", disposition::CREATE).unwrap();
        assert_eq!(set(&mut p, sid, tid, y, &basic), NtStatus::SUCCESS);
        let b: FileBasicInformation = common::query(&mut p, sid, tid, y);
        assert_eq!(b.last_write_time, basic.last_write_time);
        assert_clean(&p);
    }
}

fn validate_request(p: &Pair, sid: SessionId, tid: TreeId, guid: [u8; 16]) -> Request {
    let cfg = p.client.config().clone();
    let mut dialects = cfg.dialects.clone();
    dialects.sort();
    let input = ValidateNegotiateInfoRequest {
        capabilities: pike_core::wire::Capabilities(0x46),
        guid,
        security_mode: pike_core::wire::SecurityMode(1),
        dialects,
        dialect_count: None,
    };
    let ioctl = IoctlRequest::fsctl(
        fsctl::FSCTL_VALIDATE_NEGOTIATE_INFO,
        FileId::RELATED,
        input.to_bytes(),
        24,
    );
    let mut req = Request::new(ioctl).tree(sid, tid);
    req.sign = Some(true);
    req
}

#[test]
fn ioctl_validates_negotiate_and_refuses_unknown_fsctls() {
    for dialect in [Dialect::Smb300, Dialect::Smb302] {
        let mut c = Pair::client_config();
        c.dialects = vec![Dialect::Smb210, dialect];
        let mut p = Pair::new(c, ServerConfig::default(), SEEDS[1]);
        let sid = p.connect();
        let tid = p.tree_connect(sid, "share").unwrap();
        let guid = p.client.config().client_guid;
        let r = p
            .call(validate_request(&p, sid, tid, guid))
            .expect("validated");
        let neg = p.client.negotiated().unwrap().clone();
        let out = match r.body {
            ResponseBody::Ioctl(i) => ValidateNegotiateInfoResponse::decode(&i.output).unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(out.dialect, dialect);
        assert_eq!(out.guid, neg.server_guid);
        assert_eq!(out.capabilities, neg.capabilities);
        assert_eq!(out.security_mode, neg.security_mode);
        assert_ne!(r.raw[16] & 0x08, 0, "the response is signed");

        let f = p.create(sid, tid, "f", disposition::CREATE).unwrap();
        let unknown = IoctlRequest::fsctl(0x0009_ABCD, f, Bytes::new(), 64);
        assert_eq!(
            status(p.call(Request::new(unknown.clone()).tree(sid, tid))),
            NtStatus::NOT_SUPPORTED
        );
        let closed = IoctlRequest {
            file_id: FileId {
                persistent: 1,
                volatile: 2,
            },
            ..unknown.clone()
        };
        assert_eq!(
            status(p.call(Request::new(closed).tree(sid, tid))),
            NtStatus::FILE_CLOSED
        );
        let not_fsctl = IoctlRequest {
            flags: 0,
            ..unknown
        };
        assert_eq!(
            status(p.call(Request::new(not_fsctl).tree(sid, tid))),
            NtStatus::NOT_SUPPORTED
        );
        assert_clean(&p);

        // A GUID other than the one NEGOTIATE carried ends the connection.
        let id = p.submit(validate_request(&p, sid, tid, [0xEE; 16]));
        assert!(matches!(p.wait(id), Err(RequestError::ConnectionLost(_))));
        assert!(p.server.violations()[0].contains("Guid"));
    }
    // At 3.1.1 the request itself is a violation (preauth integrity replaces it).
    let (mut p, sid, tid) = setup(SEEDS[2]);
    let guid = p.client.config().client_guid;
    let id = p.submit(validate_request(&p, sid, tid, guid));
    assert!(matches!(p.wait(id), Err(RequestError::ConnectionLost(_))));
}

fn notify(dir: FileId, filter: u32, tree: bool, len: u32) -> ChangeNotifyRequest {
    ChangeNotifyRequest {
        flags: if tree {
            ChangeNotifyRequest::WATCH_TREE
        } else {
            0
        },
        output_buffer_length: len,
        file_id: dir,
        completion_filter: filter,
    }
}

fn interim_seen(p: &Pair, id: RequestId) -> bool {
    p.log.contains(&Record::Interim(id))
}

fn changes(r: Response) -> Vec<(u32, String)> {
    match r.body {
        ResponseBody::ChangeNotify(n) => n
            .entries()
            .unwrap()
            .into_iter()
            .map(|e| (e.action, e.file_name))
            .collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn change_notify_waits_for_a_change_or_cancel() {
    for seed in SEEDS {
        let (mut p, sid, tid) = setup(seed);
        let root = open_dir(&mut p, sid, tid, "");
        let names = completion_filter::FILE_NAME | completion_filter::DIR_NAME;
        let id = p.submit(Request::new(notify(root, names, false, 4096)).tree(sid, tid));
        p.drive();
        assert!(interim_seen(&p, id), "CHANGE_NOTIFY went async");
        assert!(!p.done.contains_key(&id), "nothing changed yet");
        let f = p.create(sid, tid, "new.txt", disposition::CREATE).unwrap();
        assert_eq!(changes(p.wait(id).unwrap()), [(1, "new.txt".to_owned())]);

        // A rename reports both names in one response.
        let id = p.submit(Request::new(notify(root, names, false, 4096)).tree(sid, tid));
        let to = FileRenameInformation {
            replace_if_exists: false,
            root_directory: 0,
            file_name: "renamed.txt".into(),
        };
        assert_eq!(set(&mut p, sid, tid, f, &to), NtStatus::SUCCESS);
        assert_eq!(
            changes(p.wait(id).unwrap()),
            [(4, "new.txt".to_owned()), (5, "renamed.txt".to_owned())]
        );

        // The filter decides: a write does not complete a name watch; WATCH_TREE sees
        // below the directory.
        let id = p.submit(Request::new(notify(root, names, true, 4096)).tree(sid, tid));
        p.write(sid, tid, f, 0, b"data").unwrap();
        p.drive();
        assert!(!p.done.contains_key(&id));
        let g = p
            .create(sid, tid, "sub\\deep.txt", disposition::CREATE)
            .unwrap();
        assert_eq!(
            changes(p.wait(id).unwrap()),
            [(1, "sub\\deep.txt".to_owned())]
        );

        // Too small a buffer: STATUS_NOTIFY_ENUM_DIR.
        let id = p.submit(Request::new(notify(root, names, false, 8)).tree(sid, tid));
        let h = p
            .create(sid, tid, "longer-name.txt", disposition::CREATE)
            .unwrap();
        let r = p.wait(id).unwrap();
        assert_eq!(r.header.status, NtStatus::NOTIFY_ENUM_DIR);

        // CANCEL completes it with STATUS_CANCELLED, exactly once.
        let id = p.submit(Request::new(notify(root, names, false, 4096)).tree(sid, tid));
        p.drive();
        assert!(interim_seen(&p, id));
        p.client.cancel(p.now, id).unwrap();
        assert_eq!(status(p.wait(id)), NtStatus::CANCELLED);
        // Closing the directory completes a watch with STATUS_NOTIFY_CLEANUP.
        let id = p.submit(Request::new(notify(root, names, false, 4096)).tree(sid, tid));
        p.drive();
        p.close(sid, tid, root).unwrap();
        let r = p.wait(id).unwrap();
        assert_eq!(r.header.status, NtStatus::NOTIFY_CLEANUP);
        assert_eq!(
            r.body,
            ResponseBody::ChangeNotify(ChangeNotifyResponse::default())
        );
        // A file cannot be watched.
        assert_eq!(
            status(p.call(Request::new(notify(g, names, false, 4096)).tree(sid, tid))),
            NtStatus::INVALID_PARAMETER
        );
        p.close(sid, tid, h).unwrap();
        p.drive();
        assert_eq!(p.server.parked_count(), 0);
        assert_eq!(p.client.in_flight(), 0);
        assert_clean(&p);
    }
}

fn lock(fid: FileId, offset: u64, length: u64, flags: u32) -> LockRequest {
    LockRequest {
        file_id: fid,
        locks: vec![LockElement {
            offset,
            length,
            flags,
        }],
        ..LockRequest::default()
    }
}

#[test]
fn lock_conflicts_block_and_cancel() {
    for seed in SEEDS {
        let (mut p, sid, tid) = setup(seed);
        let a = p.create(sid, tid, "locked", disposition::CREATE).unwrap();
        let b = p.create(sid, tid, "locked", disposition::OPEN).unwrap();
        p.write(sid, tid, a, 0, &[1; 100]).unwrap();
        let call = |p: &mut Pair, l: LockRequest| status(p.call(Request::new(l).tree(sid, tid)));
        let x = LockElement::EXCLUSIVE;
        let s = LockElement::SHARED;
        let now = LockElement::FAIL_IMMEDIATELY;
        assert_eq!(call(&mut p, lock(a, 0, 10, x)), NtStatus::SUCCESS);
        assert_eq!(
            call(&mut p, lock(b, 5, 10, x | now)),
            NtStatus::LOCK_NOT_GRANTED
        );
        assert_eq!(
            call(&mut p, lock(b, 5, 10, s | now)),
            NtStatus::LOCK_NOT_GRANTED
        );
        assert_eq!(call(&mut p, lock(b, 10, 10, x | now)), NtStatus::SUCCESS);
        // Mandatory locks: the other open can neither write nor read the range.
        assert_eq!(
            p.write(sid, tid, b, 3, b"x").unwrap_err().status(),
            Some(NtStatus::FILE_LOCK_CONFLICT)
        );
        assert_eq!(
            p.read(sid, tid, b, 0, 4).unwrap_err().status(),
            Some(NtStatus::FILE_LOCK_CONFLICT)
        );
        assert_eq!(p.read(sid, tid, a, 0, 4).unwrap().len(), 4);

        // A blocking lock waits until the range is free.
        let id = p.submit(Request::new(lock(b, 0, 5, s)).tree(sid, tid));
        p.drive();
        assert!(interim_seen(&p, id) && !p.done.contains_key(&id));
        assert_eq!(
            call(&mut p, lock(a, 0, 10, LockElement::UNLOCK)),
            NtStatus::SUCCESS
        );
        assert_eq!(status(p.wait(id)), NtStatus::SUCCESS);
        // Unlocking what is not locked, and mixing flags.
        assert_eq!(
            call(&mut p, lock(a, 0, 10, LockElement::UNLOCK)),
            NtStatus::RANGE_NOT_LOCKED
        );
        let mut two = lock(a, 50, 1, x);
        two.locks.push(LockElement {
            offset: 60,
            length: 1,
            flags: x,
        });
        assert_eq!(call(&mut p, two), NtStatus::INVALID_PARAMETER);
        // CANCEL and CLOSE end a blocked lock with STATUS_CANCELLED.
        let id = p.submit(Request::new(lock(a, 0, 20, x)).tree(sid, tid));
        p.drive();
        assert!(interim_seen(&p, id));
        p.client.cancel(p.now, id).unwrap();
        assert_eq!(status(p.wait(id)), NtStatus::CANCELLED);
        let id = p.submit(Request::new(lock(a, 0, 20, x)).tree(sid, tid));
        p.drive();
        p.close(sid, tid, a).unwrap();
        assert_eq!(status(p.wait(id)), NtStatus::CANCELLED);
        assert_eq!(p.server.parked_count(), 0);
        assert_clean(&p);
    }
}

#[test]
fn flush_logoff_and_tree_disconnect() {
    let (mut p, sid, tid) = setup(SEEDS[0]);
    let f = p.create(sid, tid, "f", disposition::CREATE).unwrap();
    let flush = |fid| FlushRequest { file_id: fid };
    assert_eq!(
        status(p.call(Request::new(flush(f)).tree(sid, tid))),
        NtStatus::SUCCESS
    );
    // TREE_DISCONNECT closes the tree's opens; the tree is then gone.
    let t2 = p.tree_connect(sid, "share").unwrap();
    let g = p.create(sid, t2, "g", disposition::CREATE).unwrap();
    let root = open_dir(&mut p, sid, t2, "");
    let id = p.submit(
        Request::new(notify(root, completion_filter::FILE_NAME, false, 1024)).tree(sid, t2),
    );
    p.drive();
    assert_eq!(
        status(p.call(Request::new(TreeDisconnectRequest).tree(sid, t2))),
        NtStatus::SUCCESS
    );
    assert_eq!(p.wait(id).unwrap().header.status, NtStatus::NOTIFY_CLEANUP);
    assert_eq!(
        p.server.open_count(),
        1,
        "only the first tree's open is left"
    );
    assert_eq!(
        status(p.call(Request::new(flush(g)).tree(sid, t2))),
        NtStatus::NETWORK_NAME_DELETED
    );
    assert_eq!(
        status(p.call(Request::new(TreeDisconnectRequest).tree(sid, t2))),
        NtStatus::NETWORK_NAME_DELETED
    );
    // LOGOFF closes the rest; the session can no longer be used.
    p.logoff(sid).unwrap();
    assert_eq!((p.server.open_count(), p.server.session_count()), (0, 0));
    assert_eq!(
        p.client
            .submit(p.now, Request::new(flush(f)).tree(sid, tid)),
        Err(UsageError::UnknownSession)
    );
    assert_clean(&p);
}

#[test]
fn leases_break_and_acknowledge() {
    for seed in SEEDS {
        let (mut p, sid, tid) = setup(seed);
        let rwh =
            lease_state::READ_CACHING | lease_state::HANDLE_CACHING | lease_state::WRITE_CACHING;
        let c = p
            .create_with(sid, tid, common::lease_create("leased", 1, rwh))
            .unwrap();
        assert_eq!(c.oplock_level, oplock_level::LEASE);
        let ctx = ResponseContext::from_contexts(&c.contexts).unwrap();
        assert!(
            matches!(ctx[..], [ResponseContext::Lease(l)] if l.lease_state == rwh),
            "{ctx:?}"
        );
        // A second client's open (another lease key) breaks the first lease to R.
        let c2 = p
            .create_with(sid, tid, common::lease_create("leased", 2, rwh))
            .unwrap();
        let ctx = ResponseContext::from_contexts(&c2.contexts).unwrap();
        assert!(
            matches!(ctx[..], [ResponseContext::Lease(l)] if l.lease_state == lease_state::READ_CACHING)
        );
        p.drive();
        assert_eq!(p.breaks.len(), 1);
        let n = match &p.breaks[0].response.body {
            ResponseBody::OplockBreak(b) => b.lease().expect("a lease break"),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            (
                n.lease_key,
                n.current_lease_state,
                n.new_lease_state,
                n.flags
            ),
            ([1; 16], rwh, lease_state::READ_CACHING, 1)
        );
        // Acknowledging more than the break left is refused; the right ack succeeds once.
        let ack = |state| Request::new(OplockBreak::lease_ack([1; 16], state)).tree(sid, tid);
        assert_eq!(status(p.call(ack(rwh))), NtStatus::REQUEST_NOT_ACCEPTED);
        let r = p.call(ack(lease_state::READ_CACHING)).expect("ack");
        assert!(matches!(r.body, ResponseBody::OplockBreak(ref b) if b.structure_size == 36));
        assert_eq!(
            p.server.lease_state([1; 16]),
            Some((lease_state::READ_CACHING, None))
        );
        assert_eq!(
            status(p.call(ack(lease_state::READ_CACHING))),
            NtStatus::UNSUCCESSFUL
        );
        // An unsolicited break of a read lease needs no acknowledgment.
        assert!(p.server.break_lease([2; 16], lease_state::NONE));
        p.drive();
        assert_eq!(p.breaks.len(), 2);
        assert_eq!(
            p.server.lease_state([2; 16]),
            Some((lease_state::NONE, None))
        );
        assert_clean(&p);
    }
}

#[test]
fn oplocks_break_and_acknowledge() {
    let (mut p, sid, tid) = setup(SEEDS[1]);
    let mut c = Pair::create_request("op", disposition::OPEN_IF);
    c.requested_oplock_level = oplock_level::BATCH;
    let first = p.create_with(sid, tid, c.clone()).unwrap();
    assert_eq!(first.oplock_level, oplock_level::BATCH);
    let second = p.create_with(sid, tid, c).unwrap();
    assert_eq!(second.oplock_level, oplock_level::II);
    p.drive();
    let info = match &p.breaks.last().expect("a break").response.body {
        ResponseBody::OplockBreak(b) => b.oplock().expect("an oplock break"),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (info.file_id, info.oplock_level),
        (first.file_id, oplock_level::II)
    );
    let ack = |level| Request::new(OplockBreak::oplock_ack(level, first.file_id)).tree(sid, tid);
    assert_eq!(
        status(p.call(ack(oplock_level::BATCH))),
        NtStatus::INVALID_OPLOCK_PROTOCOL
    );
    assert!(p.call(ack(oplock_level::II)).is_ok());
    assert_eq!(
        p.server.oplock_of(first.file_id),
        Some((oplock_level::II, None))
    );
    assert_eq!(
        status(p.call(ack(oplock_level::II))),
        NtStatus::INVALID_OPLOCK_PROTOCOL
    );
    assert_clean(&p);
}

#[test]
fn delayed_responses_time_out_once_then_arrive_late() {
    for seed in SEEDS {
        let (mut p, sid, tid) = setup(seed);
        let f = p.create(sid, tid, "slow", disposition::CREATE).unwrap();
        p.server.set_policy(ServerPolicy {
            delay_ms: 5_000,
            ..ServerPolicy::default()
        });
        // Shorter than the deadline: only time delivers it.
        let id = p.submit(Pair::read_request(sid, tid, f, 0, 10));
        p.drive();
        assert!(!p.done.contains_key(&id), "held until virtual time passes");
        p.advance(std::time::Duration::from_millis(4_999));
        p.drive();
        assert!(!p.done.contains_key(&id));
        p.advance(std::time::Duration::from_millis(1));
        p.drive();
        assert!(p.done.contains_key(&id));
        // Longer than the 30 s deadline: a timeout, and the late answer changes nothing.
        p.server.set_policy(ServerPolicy {
            delay_ms: 45_000,
            ..ServerPolicy::default()
        });
        let id = p.submit(Pair::read_request(sid, tid, f, 0, 10));
        let r = p.wait(id);
        assert!(matches!(r, Err(RequestError::Timeout { .. })), "{r:?}");
        assert!(p.now - p.epoch >= std::time::Duration::from_secs(30));
        p.advance(std::time::Duration::from_secs(20));
        p.drive();
        let completions = p
            .log
            .iter()
            .filter(|r| matches!(r, Record::Completed(x, _) if *x == id))
            .count();
        assert_eq!(completions, 1);
        assert!(!p.server.has_deferred());
        assert_eq!(p.client.in_flight(), 0);
        assert_eq!(
            u64::from(p.client.credits().available),
            p.server.credits_outstanding()
        );
        assert_clean(&p);
    }
}
