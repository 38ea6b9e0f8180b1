//! The user API against a real Samba, on the runtime `PIKE_TEST_RUNTIME` names:
//! multi-MiB round trips (sha256), the whole path API, 1000-entry listings. The same
//! test bodies run async (tokio, smol, async-std) and blocking, written once with a
//! `w!` macro that awaits or blocks.

mod common;

use common::{pattern, sha, unique};
use pike::pike_core::Compound;
use pike::pike_core::wire::{
    CreateRequest, FileId, FileStandardInformation, NtStatus, WriteRequest, access, create_options,
    disposition, share_access,
};

/// Negotiated algorithms match what the matrix row configured on the server.
fn check_negotiated(conn: &pike::Connection) {
    let info = conn.negotiated().expect("negotiated");
    if let Ok(want) = std::env::var("PIKE_EXPECT_DIALECT") {
        assert_eq!(info.dialect.to_string(), want);
    }
    if let Ok(want) = std::env::var("PIKE_EXPECT_CIPHER") {
        assert_eq!(info.cipher.map(|c| format!("{c:?}")), Some(want), "cipher");
    }
    if let Ok(want) = std::env::var("PIKE_EXPECT_SIGNING") {
        assert_eq!(
            format!("{:?}", info.signing_algorithm),
            want,
            "signing algorithm"
        );
    }
}

/// A related CREATE → WRITE → CLOSE chain making `name` with `data`.
fn make_file(tree: &pike::Tree, name: &str, data: &[u8]) -> Compound {
    let create = CreateRequest {
        impersonation_level: 2,
        desired_access: access::GENERIC_WRITE,
        share_access: share_access::ALL,
        create_disposition: disposition::OVERWRITE_IF,
        create_options: create_options::NON_DIRECTORY_FILE,
        name: name.into(),
        ..Default::default()
    };
    let write = WriteRequest {
        file_id: FileId::RELATED,
        data: data.to_vec().into(),
        ..Default::default()
    };
    tree.open_do_close_chain(create, vec![write.into()])
}

/// The suite, for one flavour: `w!(x)` is `x.await` (async) or `x` (blocking API);
/// `wf!(f)` waits for a raw `ResponseFuture`; `$tree` is a `pike::Tree` or a
/// `pike::blocking::Tree`; `$raw` is the async tree under it.
macro_rules! suite {
    ($w:ident, $wf:ident, $tree:expr, $raw:expr) => {{
        let tree = $tree;
        let raw: pike::Tree = $raw;
        check_negotiated(raw.session().connection());
        let base = tree.path(&unique("pike-api"));
        $w!(base.mkdir(false, false)).unwrap();

        // --- directories and existence
        assert!($w!(base.exists()).unwrap());
        assert!($w!(base.is_dir()).unwrap());
        assert!(!$w!(base.is_file()).unwrap());
        $w!(base.mkdir(false, true)).unwrap();
        let e = $w!(base.mkdir(false, false)).unwrap_err();
        assert_eq!(e.status(), Some(NtStatus::OBJECT_NAME_COLLISION), "{e}");
        let deep = base.join("a/b/c");
        assert!($w!(deep.mkdir(false, false)).unwrap_err().is_not_found());
        $w!(deep.mkdir(true, false)).unwrap();
        assert!($w!(deep.is_dir()).unwrap());
        assert_eq!(deep.parent().name(), "b");
        assert!(!$w!(base.join("nope").exists()).unwrap());

        // --- small files, text, touch, stat, typed info classes
        let small = base.join("small.txt");
        $w!(small.write_text("hello, pike")).unwrap();
        assert_eq!($w!(small.read_text()).unwrap(), "hello, pike");
        let m = $w!(small.stat()).unwrap();
        assert!(m.is_file() && m.len() == 11 && m.modified().is_some());
        let info: FileStandardInformation = $w!(small.query_info()).unwrap();
        assert_eq!((info.end_of_file, info.directory), (11, false));
        let touched = base.join("touched");
        $w!(touched.touch(true)).unwrap();
        assert!($w!(touched.is_file()).unwrap());
        assert_eq!($w!(touched.stat()).unwrap().len(), 0);
        $w!(touched.touch(true)).unwrap();
        let e = $w!(touched.touch(false)).unwrap_err();
        assert_eq!(e.status(), Some(NtStatus::OBJECT_NAME_COLLISION));
        $w!(small.write_bytes(b"")).unwrap();
        assert_eq!($w!(small.read_bytes()).unwrap(), b"");

        // --- rename, replace, samefile
        $w!(small.write_text("moved")).unwrap();
        let moved = $w!(small.rename(base.join("moved.txt").as_str())).unwrap();
        assert!(!$w!(small.exists()).unwrap());
        assert_eq!($w!(moved.read_text()).unwrap(), "moved");
        let e = $w!(moved.rename(touched.as_str())).unwrap_err();
        assert_eq!(e.status(), Some(NtStatus::OBJECT_NAME_COLLISION), "{e}");
        let replaced = $w!(moved.replace(touched.as_str())).unwrap();
        assert_eq!($w!(replaced.read_text()).unwrap(), "moved");
        assert!($w!(replaced.samefile(&touched)).unwrap());
        assert!(!$w!(replaced.samefile(&deep)).unwrap());

        // --- glob and iterdir
        for i in 0..5u8 {
            $w!(base.join(&format!("g{i}.dat")).write_bytes(&[i])).unwrap();
        }
        let names = |v: Vec<_>| -> Vec<String> {
            let mut n: Vec<String> = v.into_iter().map(|e: Entry| e.name).collect();
            n.sort();
            n
        };
        let globbed = names($w!(base.glob("g*.dat")).unwrap());
        assert_eq!(globbed, ["g0.dat", "g1.dat", "g2.dat", "g3.dat", "g4.dat"]);
        assert_eq!(names($w!(base.glob("a/*")).unwrap()), ["b"]);
        assert!($w!(base.glob("zz*")).unwrap().is_empty());
        assert!($w!(base.glob("**")).is_err());
        let listed = names($w!(base.iterdir()).unwrap());
        assert_eq!(
            listed,
            [
                "a", "g0.dat", "g1.dat", "g2.dat", "g3.dat", "g4.dat", "touched"
            ]
        );

        // --- open modes, seek, set_len
        let p = base.join("modes.bin");
        let mut f = $w!(p.open("x")).unwrap();
        $w!(f.write_all(b"abc")).unwrap();
        $w!(f.close()).unwrap();
        let e = $w!(p.open("x")).unwrap_err();
        assert_eq!(e.status(), Some(NtStatus::OBJECT_NAME_COLLISION));
        let mut f = $w!(p.open("a")).unwrap();
        $w!(f.write_all(b"def")).unwrap();
        $w!(f.close()).unwrap();
        assert_eq!($w!(p.read_bytes()).unwrap(), b"abcdef");
        let mut f = $w!(p.open("r+")).unwrap();
        $w!(f.seek(std::io::SeekFrom::Start(1))).unwrap();
        $w!(f.write_all(b"X")).unwrap();
        assert_eq!($w!(f.seek(std::io::SeekFrom::End(-1))).unwrap(), 5);
        let mut one = [0u8; 1];
        $w!(f.read_exact(&mut one)).unwrap();
        assert_eq!(&one, b"f");
        $w!(f.set_len(2)).unwrap();
        $w!(f.close()).unwrap();
        assert_eq!($w!(p.read_bytes()).unwrap(), b"aX");
        let f = $w!(p.open("w")).unwrap();
        $w!(f.close()).unwrap();
        assert_eq!($w!(p.stat()).unwrap().len(), 0);
        assert!($w!(p.open("z")).is_err());
        assert!(
            $w!(base.join("missing").open("r"))
                .unwrap_err()
                .is_not_found()
        );

        // --- multi-MiB round trips: whole-file helpers, streams, positioned I/O
        let data = pattern(5 * 1024 * 1024 + 123, 7);
        let big = base.join("big.bin");
        $w!(big.write_bytes(&data)).unwrap();
        assert_eq!(sha(&$w!(big.read_bytes()).unwrap()), sha(&data));
        let mut f = $w!(big.open("r")).unwrap();
        let mut back = Vec::new();
        $w!(f.read_to_end(&mut back)).unwrap();
        assert_eq!(sha(&back), sha(&data));
        let mid = 3 << 20;
        assert_eq!(
            $w!(f.read_at(mid as u64, 1000)).unwrap(),
            &data[mid..mid + 1000]
        );
        let tail = $w!(f.read_at(data.len() as u64 - 10, 100)).unwrap();
        assert_eq!(tail, &data[data.len() - 10..]);
        $w!(f.close()).unwrap();
        let streamed = base.join("stream.bin");
        let mut f = $w!(streamed.open("w")).unwrap();
        for piece in data.chunks(100_000) {
            $w!(f.write_all(piece)).unwrap();
        }
        $w!(f.flush()).unwrap();
        $w!(f.write_at(0, b"HEAD")).unwrap();
        $w!(f.close()).unwrap();
        let mut expect = data.clone();
        expect[..4].copy_from_slice(b"HEAD");
        assert_eq!(sha(&$w!(streamed.read_bytes()).unwrap()), sha(&expect));

        // --- 1000 entries, created with pipelined compounds, listed completely
        let many = base.join("many");
        $w!(many.mkdir(false, false)).unwrap();
        let futs: Vec<_> = (0..1000)
            .flat_map(|i| {
                let name = format!("{}\\f{i:04}", many.as_str());
                raw.submit_compound(make_file(&raw, &name, &[1])).unwrap()
            })
            .collect();
        for f in futs {
            $wf!(f).unwrap();
        }
        let all = names($w!(many.iterdir()).unwrap());
        assert_eq!(all.len(), 1000);
        assert_eq!((all[0].as_str(), all[999].as_str()), ("f0000", "f0999"));

        // --- symbolic links: Samba follows server-side links itself (is_symlink is
        // false); creating one goes through FSCTL_SET_REPARSE_POINT.
        assert!(!$w!(deep.is_symlink()).unwrap());
        assert_eq!($w!(deep.resolve()).unwrap().as_str(), deep.as_str());
        let link = base.join("link");
        match $w!(link.symlink_to("a")) {
            Ok(()) => {
                assert!($w!(link.is_symlink()).unwrap());
                assert_eq!($w!(link.readlink()).unwrap().substitute_name, "a");
                $w!(link.unlink(false)).unwrap();
            }
            // Samba before 4.21 has no reparse points: a typed status, no stray file.
            Err(e) => {
                assert!(e.status().is_some(), "{e}");
                assert!(!$w!(link.exists()).unwrap());
            }
        }

        // --- removal
        let e = $w!(base.join("a").rmdir()).unwrap_err();
        assert_eq!(e.status(), Some(NtStatus::DIRECTORY_NOT_EMPTY), "{e}");
        $w!(p.unlink(false)).unwrap();
        assert!(!$w!(p.exists()).unwrap());
        $w!(p.unlink(true)).unwrap();
        assert!($w!(p.unlink(false)).unwrap_err().is_not_found());
        for e in $w!(many.iterdir()).unwrap() {
            $w!(e.path.unlink(false)).unwrap();
        }
        $w!(many.rmdir()).unwrap();
        $w!(deep.rmdir()).unwrap();
        $w!(deep.parent().rmdir()).unwrap();
        $w!(base.join("a").rmdir()).unwrap();
        for e in $w!(base.iterdir()).unwrap() {
            $w!(e.path.unlink(false)).unwrap();
        }
        $w!(base.rmdir()).unwrap();
        assert!(!$w!(base.exists()).unwrap());
    }};
}

#[test]
fn user_api_suite_async() {
    let Some(tc) = common::target("user_api_suite_async") else {
        return;
    };
    on_runtime!(|rt| async move {
        use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
        type Entry = pike::DirEntry;
        macro_rules! aw {
            ($e:expr) => {
                $e.await
            };
        }
        let tree = tc.connect(rt).await.expect("connect");
        suite!(aw, aw, tree.clone(), tree);
    });
}

#[test]
fn user_api_suite_blocking() {
    let Some(tc) = common::target("user_api_suite_blocking") else {
        return;
    };
    if common::runtime() != "blocking" {
        eprintln!("blocking suite runs under PIKE_TEST_RUNTIME=blocking");
        return;
    }
    use std::io::{Read, Seek, Write};
    type Entry = pike::blocking::DirEntry;
    macro_rules! id {
        ($e:expr) => {
            $e
        };
    }
    macro_rules! bl {
        ($e:expr) => {
            pike::blocking::block_on($e)
        };
    }
    let tree = tc.connect_blocking().expect("connect");
    let raw = tree.0.clone();
    suite!(id, bl, tree, raw);
}

/// A CREATE of `name` (read/write, sharing everything) asking for `oplock`, with a
/// v2 lease request (MS-SMB2 2.2.13.2.10) for `lease` if given.
fn open_for_break(name: &str, oplock: u8, lease: Option<[u8; 16]>) -> CreateRequest {
    use pike::pike_core::wire::{LeaseV2, RequestContext, lease_state};
    let contexts = lease
        .map(|lease_key| {
            RequestContext::LeaseV2(LeaseV2 {
                lease_key,
                lease_state: lease_state::READ_CACHING
                    | lease_state::HANDLE_CACHING
                    | lease_state::WRITE_CACHING,
                ..LeaseV2::default()
            })
            .to_context()
        })
        .into_iter()
        .collect();
    CreateRequest {
        impersonation_level: 2,
        desired_access: access::GENERIC_READ | access::GENERIC_WRITE,
        share_access: share_access::ALL,
        create_disposition: disposition::OPEN_IF,
        requested_oplock_level: oplock,
        contexts,
        name: name.into(),
        ..Default::default()
    }
}

/// The blocking break waiters: a second connection's open breaks the first's batch
/// oplock (MS-SMB2 3.3.4.6) while a thread waits for it, then its lease (3.3.4.7)
/// before anyone waits (the break is kept); with nothing pending, the wait times out.
#[test]
fn blocking_break_waiters() {
    use std::time::{Duration, Instant};

    use pike::pike_core::wire::{Dialect, lease_state, oplock_level};
    use pike::{BreakKind, Error};

    let Some(tc) = common::target("blocking_break_waiters") else {
        return;
    };
    if common::runtime() != "blocking" {
        eprintln!("blocking break waiters run under PIKE_TEST_RUNTIME=blocking");
        return;
    }
    // Far below the 30-35 s a server waits for an unanswered break.
    const PROMPT: Duration = Duration::from_secs(10);
    let holder = tc.connect_blocking().expect("connect");
    let other = tc.connect_blocking().expect("second connect");
    let conn = holder.session().connection();
    let base = unique("pike-breaks");

    // --- oplock: the waiter blocks before the break comes.
    let a = holder
        .create(open_for_break(
            &format!("{base}-o"),
            oplock_level::BATCH,
            None,
        ))
        .expect("batch open");
    assert_eq!(a.create_response().oplock_level, oplock_level::BATCH);
    let waiter = {
        let conn = conn.clone();
        let id = a.id();
        std::thread::spawn(move || conn.wait_oplock_break(id, PROMPT))
    };
    let b = other
        .create(open_for_break(
            &format!("{base}-o"),
            oplock_level::NONE,
            None,
        ))
        .expect("second open");
    let broken = waiter.join().expect("waiter thread").expect("oplock break");
    let BreakKind::Oplock { file_id, new_level } = broken.kind else {
        panic!("{broken:?}");
    };
    assert_eq!(file_id, a.id());
    assert!(new_level <= oplock_level::II, "{broken:?}");
    // The default policy answered it, or the second open would have waited 30 s.
    assert_eq!(broken.acked, Some(u32::from(new_level)));
    b.close().expect("close");
    a.close().expect("close");

    // --- nothing pending: each waiter gives up after its timeout.
    let started = Instant::now();
    let e = conn.next_break(Duration::from_millis(200)).unwrap_err();
    assert!(matches!(e, Error::Timeout(_)), "{e}");
    assert!(started.elapsed() >= Duration::from_millis(200));

    // --- lease: the break arrives first and is kept for the waiter.
    let leases = holder
        .0
        .session()
        .connection()
        .negotiated()
        .expect("negotiated");
    if leases.dialect >= Dialect::Smb300 {
        let key = [0x7e; 16];
        let l = holder
            .create(open_for_break(
                &format!("{base}-l"),
                oplock_level::LEASE,
                Some(key),
            ))
            .expect("leased open");
        if l.create_response().oplock_level == oplock_level::LEASE {
            let o = other
                .create(open_for_break(
                    &format!("{base}-l"),
                    oplock_level::NONE,
                    None,
                ))
                .expect("second open");
            // Another key's wait does not take it.
            let e = conn
                .wait_lease_break([0x7f; 16], Duration::ZERO)
                .unwrap_err();
            assert!(matches!(e, Error::Timeout(_)), "{e}");
            let broken = conn.wait_lease_break(key, PROMPT).expect("lease break");
            let BreakKind::Lease {
                lease_key,
                new_state,
                ..
            } = broken.kind
            else {
                panic!("{broken:?}");
            };
            assert_eq!(lease_key.0, key);
            assert_eq!(new_state & lease_state::WRITE_CACHING, 0, "{broken:?}");
            o.close().expect("close");
            l.close().expect("close");
        } else {
            eprintln!("no lease granted: lease part skipped");
        }
        holder
            .path(&format!("{base}-l"))
            .unlink(false)
            .expect("unlink");
    }
    holder
        .path(&format!("{base}-o"))
        .unlink(false)
        .expect("unlink");
}
