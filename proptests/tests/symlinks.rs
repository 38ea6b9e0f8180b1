//! The model server's symbolic links, as a Windows server keeps them: reparse points set
//! and read with FSCTL_SET/GET_REPARSE_POINT, CREATE stopping on them with
//! STATUS_STOPPED_ON_SYMLINK and the Symbolic Link Error Response, the reparse attribute
//! and tag wherever a client reads attributes, and delete/rename acting on the link.

mod common;

use bytes::Bytes;
use common::SEEDS;
use pike_core::wire::{
    CreateResponse, Dialect, FileAttributeTagInformation, FileBasicInformation,
    FileDispositionInformation, FileId, FileInfoClass, FileRenameInformation,
    IO_REPARSE_TAG_SYMLINK, InfoBuffer, IoctlRequest, NtStatus, QueryDirectoryRequest,
    ResponseBody, SessionId, SetInfoRequest, SymlinkError, SymlinkReparse, TreeId, access,
    create_options, disposition, file_attributes, fsctl,
};
use pike_core::{Request, RequestError, Response};
use pike_proptests::{Pair, ServerConfig};
use proptest::prelude::*;

fn setup(seed: u64, dialect: Dialect) -> (Pair, SessionId, TreeId) {
    let mut c = Pair::client_config();
    c.dialects = vec![dialect];
    let mut p = Pair::new(c, ServerConfig::default(), seed);
    let sid = p.connect();
    let tid = p.tree_connect(sid, "share").expect("tree");
    (p, sid, tid)
}

fn status(r: &Result<Response, RequestError>) -> NtStatus {
    match r {
        Ok(r) => r.header.status,
        Err(e) => e.status().unwrap_or_else(|| panic!("no status in {e:?}")),
    }
}

/// A CREATE of `name` with `options` (plus the file/directory kind given there).
fn open(
    p: &mut Pair,
    sid: SessionId,
    tid: TreeId,
    name: &str,
    disp: u32,
    options: u32,
) -> Result<CreateResponse, RequestError> {
    let mut c = Pair::create_request(name, disp);
    c.desired_access |= access::FILE_WRITE_ATTRIBUTES;
    c.create_options = options;
    p.create_with(sid, tid, c)
}

fn fsctl_call(
    p: &mut Pair,
    sid: SessionId,
    tid: TreeId,
    fid: FileId,
    code: u32,
    input: Bytes,
    max_out: u32,
) -> Result<Response, RequestError> {
    let req = IoctlRequest::fsctl(code, fid, input, max_out);
    p.call(Request::new(req).tree(sid, tid))
}

/// Makes `name` a file link to `link` (the client's FSCTL_SET_REPARSE_POINT sequence).
fn make_link(p: &mut Pair, sid: SessionId, tid: TreeId, name: &str, link: &SymlinkReparse) {
    let opts = create_options::OPEN_REPARSE_POINT | create_options::NON_DIRECTORY_FILE;
    let fid = open(p, sid, tid, name, disposition::CREATE, opts)
        .expect("link file")
        .file_id;
    let set = fsctl_call(
        p,
        sid,
        tid,
        fid,
        fsctl::FSCTL_SET_REPARSE_POINT,
        link.to_bytes(),
        0,
    );
    assert_eq!(status(&set), NtStatus::SUCCESS);
    p.close(sid, tid, fid).unwrap();
}

/// The link a CREATE of `name` stopped on.
fn stopped(r: Result<CreateResponse, RequestError>) -> (SymlinkError, u8) {
    match r {
        Err(RequestError::Status(s)) if s.status == NtStatus::STOPPED_ON_SYMLINK => (
            SymlinkError::from_error(&s.error).expect("symbolic link error response"),
            s.error.error_context_count,
        ),
        other => panic!("expected STATUS_STOPPED_ON_SYMLINK, got {other:?}"),
    }
}

fn set_info<T: InfoBuffer>(p: &mut Pair, sid: SessionId, tid: TreeId, fid: FileId, v: &T) {
    let r = p.call(Request::new(SetInfoRequest::new(fid, v)).tree(sid, tid));
    assert_eq!(status(&r), NtStatus::SUCCESS);
}

#[test]
fn set_and_get_reparse_point() {
    let (mut p, sid, tid) = setup(SEEDS[0], Dialect::Smb311);
    let target = p.create(sid, tid, "t.txt", disposition::CREATE).unwrap();
    p.close(sid, tid, target).unwrap();
    let link = SymlinkReparse {
        substitute_name: "\\??\\UNC\\model\\share\\t.txt".into(),
        print_name: "\\\\model\\share\\t.txt".into(),
        flags: 0,
    };
    make_link(&mut p, sid, tid, "l", &link);
    assert_eq!(p.server.symlinks().get("l"), Some(&link));

    let orp = create_options::OPEN_REPARSE_POINT;
    let fid = open(&mut p, sid, tid, "l", disposition::OPEN, orp)
        .unwrap()
        .file_id;
    let get = |p: &mut Pair, max| {
        fsctl_call(
            p,
            sid,
            tid,
            fid,
            fsctl::FSCTL_GET_REPARSE_POINT,
            Bytes::new(),
            max,
        )
    };
    let whole = link.to_bytes();
    match get(&mut p, 16 * 1024).unwrap().body {
        ResponseBody::Ioctl(i) => {
            assert_eq!(i.output, whole);
            assert_eq!(i.file_id, fid);
        }
        other => panic!("{other:?}"),
    }
    // MS-FSA 2.1.5.10.14: a short buffer gets the header and STATUS_BUFFER_OVERFLOW,
    // one shorter than the header STATUS_BUFFER_TOO_SMALL.
    let short = get(&mut p, 12).unwrap();
    assert_eq!(short.header.status, NtStatus::BUFFER_OVERFLOW);
    match short.body {
        ResponseBody::Ioctl(i) => assert_eq!(i.output, whole.slice(..12)),
        other => panic!("{other:?}"),
    }
    assert_eq!(status(&get(&mut p, 7)), NtStatus::BUFFER_TOO_SMALL);

    // Replacing the target of an existing link.
    let again = SymlinkReparse::relative("t.txt");
    let r = fsctl_call(
        &mut p,
        sid,
        tid,
        fid,
        fsctl::FSCTL_SET_REPARSE_POINT,
        again.to_bytes(),
        0,
    );
    assert_eq!(status(&r), NtStatus::SUCCESS);
    assert_eq!(p.server.symlinks().get("l"), Some(&again));
    p.close(sid, tid, fid).unwrap();

    // Not a reparse point; a length that lies; no write access; a non-empty directory.
    let plain = open(&mut p, sid, tid, "t.txt", disposition::OPEN, 0)
        .unwrap()
        .file_id;
    let r = fsctl_call(
        &mut p,
        sid,
        tid,
        plain,
        fsctl::FSCTL_GET_REPARSE_POINT,
        Bytes::new(),
        1024,
    );
    assert_eq!(status(&r), NtStatus::NOT_A_REPARSE_POINT);
    let mut lying = again.to_bytes().to_vec();
    lying[4] += 2;
    let r = fsctl_call(
        &mut p,
        sid,
        tid,
        plain,
        fsctl::FSCTL_SET_REPARSE_POINT,
        lying.into(),
        0,
    );
    assert_eq!(status(&r), NtStatus::IO_REPARSE_DATA_INVALID);
    let mut other_tag = again.to_bytes().to_vec();
    other_tag[..4].copy_from_slice(&0x8000_0017u32.to_le_bytes());
    let r = fsctl_call(
        &mut p,
        sid,
        tid,
        plain,
        fsctl::FSCTL_SET_REPARSE_POINT,
        other_tag.into(),
        0,
    );
    assert_eq!(status(&r), NtStatus::INVALID_DEVICE_REQUEST);
    p.close(sid, tid, plain).unwrap();
    let mut ro = Pair::create_request("t.txt", disposition::OPEN);
    ro.desired_access = access::FILE_READ_ATTRIBUTES;
    let ro = p.create_with(sid, tid, ro).unwrap().file_id;
    let r = fsctl_call(
        &mut p,
        sid,
        tid,
        ro,
        fsctl::FSCTL_SET_REPARSE_POINT,
        again.to_bytes(),
        0,
    );
    assert_eq!(status(&r), NtStatus::ACCESS_DENIED);
    p.close(sid, tid, ro).unwrap();
    let dir_opts = create_options::DIRECTORY_FILE;
    let d = open(&mut p, sid, tid, "d", disposition::CREATE, dir_opts)
        .unwrap()
        .file_id;
    p.create(sid, tid, "d\\inner", disposition::CREATE).unwrap();
    let r = fsctl_call(
        &mut p,
        sid,
        tid,
        d,
        fsctl::FSCTL_SET_REPARSE_POINT,
        again.to_bytes(),
        0,
    );
    assert_eq!(status(&r), NtStatus::DIRECTORY_NOT_EMPTY);
    assert_eq!(p.server.symlinks().len(), 1);
    assert!(
        p.server.violations().is_empty(),
        "{:?}",
        p.server.violations()
    );
}

#[test]
fn create_stops_on_links_with_the_unparsed_length() {
    for (seed, dialect) in
        SEEDS
            .into_iter()
            .zip([Dialect::Smb210, Dialect::Smb302, Dialect::Smb311])
    {
        let (mut p, sid, tid) = setup(seed, dialect);
        make_link(
            &mut p,
            sid,
            tid,
            "d\\Link",
            &SymlinkReparse::relative("real"),
        );
        let contexts = u8::from(dialect == Dialect::Smb311);

        // An intermediate link stops the open whatever the options; what follows the
        // link is unparsed, separator included, in UTF-16 bytes (MS-SMB2 2.2.2.2.1).
        for orp in [0, create_options::OPEN_REPARSE_POINT] {
            let (e, n) = stopped(open(&mut p, sid, tid, "D\\LINK\\sub\\ü.txt", 1, orp));
            assert_eq!(
                e.unparsed_path_length,
                2 * "\\sub\\ü.txt".encode_utf16().count() as u16
            );
            assert_eq!(e.link, SymlinkReparse::relative("real"));
            assert_eq!(n, contexts, "3.1.1 carries it in an error context");
        }
        // Creating below a link stops too: the server creates nothing there.
        let (e, _) = stopped(open(
            &mut p,
            sid,
            tid,
            "d\\link\\new",
            disposition::CREATE,
            0,
        ));
        assert_eq!(e.unparsed_path_length, 8);
        assert!(!p.server.files().contains_key("d\\link\\new"));

        // The last component: a stop with nothing unparsed, or the link itself.
        let (e, _) = stopped(open(&mut p, sid, tid, "d\\link", disposition::OPEN, 0));
        assert_eq!(e.unparsed_path_length, 0);
        let (e, _) = stopped(open(&mut p, sid, tid, "\\d\\link", disposition::OPEN_IF, 0));
        assert_eq!(e.unparsed_path_length, 0);
        let orp = create_options::OPEN_REPARSE_POINT;
        let l = open(&mut p, sid, tid, "d\\link", disposition::OPEN, orp).unwrap();
        assert_ne!(l.file_attributes & file_attributes::REPARSE_POINT, 0);
        p.close(sid, tid, l.file_id).unwrap();
        let r = open(&mut p, sid, tid, "d\\link", disposition::CREATE, orp);
        assert_eq!(
            r.unwrap_err().status(),
            Some(NtStatus::OBJECT_NAME_COLLISION)
        );
        // Names that only start like the link are not it.
        let f = p
            .create(sid, tid, "d\\linked", disposition::CREATE)
            .unwrap();
        p.close(sid, tid, f).unwrap();
        assert!(
            p.server.violations().is_empty(),
            "{:?}",
            p.server.violations()
        );
    }
}

#[test]
fn link_attributes_show_in_info_and_listings() {
    let (mut p, sid, tid) = setup(SEEDS[1], Dialect::Smb311);
    let t = p.create(sid, tid, "d\\t.txt", disposition::CREATE).unwrap();
    p.write(sid, tid, t, 0, b"target").unwrap();
    p.close(sid, tid, t).unwrap();
    make_link(&mut p, sid, tid, "d\\l", &SymlinkReparse::relative("t.txt"));

    let orp = create_options::OPEN_REPARSE_POINT;
    let l = open(&mut p, sid, tid, "d\\l", disposition::OPEN, orp)
        .unwrap()
        .file_id;
    let tag: FileAttributeTagInformation = common::query(&mut p, sid, tid, l);
    assert_eq!(tag.reparse_tag, IO_REPARSE_TAG_SYMLINK);
    assert_ne!(tag.file_attributes & file_attributes::REPARSE_POINT, 0);
    let basic: FileBasicInformation = common::query(&mut p, sid, tid, l);
    assert_ne!(basic.file_attributes & file_attributes::REPARSE_POINT, 0);
    // SET_INFO cannot take the reparse attribute away.
    let cleared = FileBasicInformation {
        file_attributes: file_attributes::NORMAL,
        ..FileBasicInformation::default()
    };
    set_info(&mut p, sid, tid, l, &cleared);
    let basic: FileBasicInformation = common::query(&mut p, sid, tid, l);
    assert_ne!(basic.file_attributes & file_attributes::REPARSE_POINT, 0);
    p.close(sid, tid, l).unwrap();

    let t = open(&mut p, sid, tid, "d\\t.txt", disposition::OPEN, 0)
        .unwrap()
        .file_id;
    let tag: FileAttributeTagInformation = common::query(&mut p, sid, tid, t);
    assert_eq!(
        (
            tag.reparse_tag,
            tag.file_attributes & file_attributes::REPARSE_POINT
        ),
        (0, 0)
    );
    p.close(sid, tid, t).unwrap();

    let mut c = Pair::create_request("d", disposition::OPEN);
    c.create_options = create_options::DIRECTORY_FILE;
    let d = p.create_with(sid, tid, c).unwrap().file_id;
    let q = QueryDirectoryRequest {
        info_class: FileInfoClass::IdBothDirectory,
        file_id: d,
        file_name: "*".into(),
        output_buffer_length: 4096,
        ..Default::default()
    };
    let entries = match p.call(Request::new(q).tree(sid, tid)).unwrap().body {
        ResponseBody::QueryDirectory(r) => r.entries(FileInfoClass::IdBothDirectory).unwrap(),
        other => panic!("{other:?}"),
    };
    let l = entries
        .iter()
        .find(|e| e.file_name == "l")
        .expect("the link is listed");
    assert_ne!(l.file_attributes & file_attributes::REPARSE_POINT, 0);
    // MS-FSCC 2.4.17: EaSize holds the reparse tag of a reparse point.
    assert_eq!(l.ea_size, IO_REPARSE_TAG_SYMLINK);
    let t = entries
        .iter()
        .find(|e| e.file_name == "t.txt")
        .expect("target");
    assert_eq!(
        (
            t.ea_size,
            t.file_attributes & file_attributes::REPARSE_POINT
        ),
        (0, 0)
    );
    p.close(sid, tid, d).unwrap();
}

#[test]
fn delete_and_rename_act_on_the_link() {
    let (mut p, sid, tid) = setup(SEEDS[2], Dialect::Smb302);
    let t = p.create(sid, tid, "t.txt", disposition::CREATE).unwrap();
    p.write(sid, tid, t, 0, b"kept").unwrap();
    p.close(sid, tid, t).unwrap();
    make_link(&mut p, sid, tid, "l", &SymlinkReparse::relative("t.txt"));
    make_link(&mut p, sid, tid, "dl", &SymlinkReparse::relative("."));

    let orp = create_options::OPEN_REPARSE_POINT;
    let l = open(&mut p, sid, tid, "l", disposition::OPEN, orp)
        .unwrap()
        .file_id;
    let into_link = FileRenameInformation {
        replace_if_exists: false,
        root_directory: 0,
        file_name: "dl\\moved".into(),
    };
    let r = p.call(Request::new(SetInfoRequest::new(l, &into_link)).tree(sid, tid));
    assert_eq!(
        status(&r),
        NtStatus::OBJECT_PATH_NOT_FOUND,
        "no link is followed"
    );
    let rename = FileRenameInformation {
        file_name: "l2".into(),
        ..into_link
    };
    set_info(&mut p, sid, tid, l, &rename);
    p.close(sid, tid, l).unwrap();
    assert!(p.server.symlinks().contains_key("l2") && !p.server.symlinks().contains_key("l"));

    let l2 = open(&mut p, sid, tid, "l2", disposition::OPEN, orp)
        .unwrap()
        .file_id;
    set_info(
        &mut p,
        sid,
        tid,
        l2,
        &FileDispositionInformation {
            delete_pending: true,
        },
    );
    p.close(sid, tid, l2).unwrap();
    assert!(!p.server.symlinks().contains_key("l2"));
    assert!(!p.server.files().contains_key("l2"));
    assert_eq!(
        p.server.files().get("t.txt").map(Vec::as_slice),
        Some(&b"kept"[..])
    );

    // Replacing a link by rename drops it with the entry it was.
    let f = p.create(sid, tid, "f", disposition::CREATE).unwrap();
    let over = FileRenameInformation {
        replace_if_exists: true,
        root_directory: 0,
        file_name: "dl".into(),
    };
    set_info(&mut p, sid, tid, f, &over);
    p.close(sid, tid, f).unwrap();
    assert!(p.server.symlinks().is_empty());
    assert!(
        p.server.violations().is_empty(),
        "{:?}",
        p.server.violations()
    );
}

proptest! {
    #![proptest_config(common::proptest_config("proptest-regressions/symlinks.txt"))]

    /// Whatever links lie on a path, a CREATE stops on the first one (the last
    /// component only without FILE_OPEN_REPARSE_POINT), and UnparsedPathLength points
    /// just past it.
    #[test]
    fn create_stops_on_the_first_link(
        links in proptest::collection::btree_set("[abc](\\\\[abc]){0,2}", 0..6),
        path in proptest::collection::vec("[abc]", 1..5),
        orp in any::<bool>(),
    ) {
        let (mut p, sid, tid) = setup(SEEDS[0], Dialect::Smb311);
        let mut made = Vec::new();
        for l in &links {
            // A link inside another link cannot exist.
            if made.iter().any(|m: &String| l.starts_with(&format!("{m}\\")) || m.starts_with(&format!("{l}\\"))) {
                continue;
            }
            make_link(&mut p, sid, tid, l, &SymlinkReparse::relative("x"));
            made.push(l.clone());
        }
        let name = path.join("\\");
        let options = if orp { create_options::OPEN_REPARSE_POINT } else { 0 };
        let first = (1..=path.len()).find(|&n| {
            let prefix = path[..n].join("\\");
            made.contains(&prefix) && !(orp && n == path.len())
        });
        let r = open(&mut p, sid, tid, &name, disposition::OPEN_IF, options);
        match first {
            Some(n) => {
                let (e, _) = stopped(r);
                let parsed = path[..n].join("\\").len();
                prop_assert_eq!(usize::from(e.unparsed_path_length), 2 * (name.len() - parsed));
            }
            None => prop_assert!(r.is_ok(), "{:?}", r),
        }
        prop_assert!(p.server.violations().is_empty());
    }
}
