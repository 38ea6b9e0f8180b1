//! pike's user API against the model server over the loopback stream, on every runtime
//! (tokio, smol, async-std, and the blocking API): a plain round trip, and symbolic
//! links the way a Windows server has them, which Samba cannot show.
//!
//! One body per suite runs async and blocking, written once with a `w!` macro that
//! awaits or not (as `adapters/tests/samba.rs` does).

mod common;

use pike::Error;
use pike::pike_core::auth::Credentials;
use pike::pike_core::wire::{NtStatus, SymlinkReparse};
use pike::runtime::Runtime;
use pike_proptests::ServerConfig;
use pike_proptests::loopback::{self, ModelHandle};

async fn connect<R: Runtime>(rt: R, seed: u64) -> (pike::Tree, ModelHandle) {
    let (stream, server) = loopback::connect(ServerConfig::default(), seed);
    let tree = common::model_target()
        .connect_stream(rt, stream)
        .await
        .expect("connect");
    (tree, server)
}

fn connect_blocking(seed: u64) -> (pike::blocking::Tree, ModelHandle) {
    let (stream, server) = loopback::connect(ServerConfig::default(), seed);
    let tree = common::model_target()
        .connect_stream_blocking(stream)
        .expect("connect");
    (tree, server)
}

fn assert_clean(server: &ModelHandle) {
    let v = server.with(|s| s.violations().to_vec());
    assert!(v.is_empty(), "{v:?}");
}

/// Write, read back, list, rename, remove: bytes over the runtime's driver both ways,
/// multi-MiB (pipelined) and small (compounded).
macro_rules! round_trip {
    ($w:ident, $tree:expr, $server:expr) => {{
        let (tree, server) = ($tree, $server);
        let base = tree.path("rt");
        $w!(base.mkdir(false, false)).unwrap();
        let big = common::pattern(5 << 19, 7);
        let f = base.join("big.bin");
        $w!(f.write_bytes(&big)).unwrap();
        assert!($w!(f.read_bytes()).unwrap() == big, "multi-MiB round trip");
        let small = base.join("small.txt");
        $w!(small.write_text("hello, loopback")).unwrap();
        assert_eq!($w!(small.read_text()).unwrap(), "hello, loopback");
        assert_eq!($w!(small.stat()).unwrap().len(), 15);
        let mut names: Vec<String> = $w!(base.iterdir())
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        names.sort();
        assert_eq!(names, ["big.bin", "small.txt"]);
        let moved = $w!(small.rename("rt/moved.txt")).unwrap();
        assert!(!$w!(small.exists()).unwrap());
        assert_eq!($w!(moved.read_text()).unwrap(), "hello, loopback");
        $w!(moved.unlink(false)).unwrap();
        $w!(f.unlink(false)).unwrap();
        $w!(base.rmdir()).unwrap();
        assert!(server.with(|s| s.files().is_empty()));
        assert_clean(&server);
    }};
}

/// Symbolic links: created, seen, followed (relative, absolute, chained, through a
/// directory link), bounded in loops, and removed themselves.
macro_rules! symlinks {
    ($w:ident, $tree:expr, $server:expr) => {{
        let (tree, server) = ($tree, $server);
        let links = || server.with(|s| s.symlinks().keys().cloned().collect::<Vec<_>>());
        let root = tree.path("sym");
        let dir = root.join("dir");
        $w!(dir.mkdir(true, false)).unwrap();
        let file = dir.join("f.txt");
        $w!(file.write_text("through links")).unwrap();

        // --- a file link: the link itself, and what it leads to
        let l = root.join("l");
        $w!(l.symlink_to("dir/f.txt")).unwrap();
        assert_eq!(links(), ["sym\\l"]);
        assert!($w!(l.is_symlink()).unwrap());
        assert!(!$w!(file.is_symlink()).unwrap());
        assert!(!$w!(root.join("nope").is_symlink()).unwrap());
        let lm = $w!(l.lstat()).unwrap();
        assert!(lm.is_reparse_point() && lm.len() == 0, "{lm:?}");
        let sm = $w!(l.stat()).unwrap();
        assert!(!sm.is_reparse_point() && sm.len() == 13, "{sm:?}");
        assert_eq!($w!(l.readlink()).unwrap(), SymlinkReparse::relative("dir\\f.txt"));
        assert_eq!($w!(l.resolve()).unwrap().as_str(), file.as_str());
        assert_eq!($w!(l.read_text()).unwrap(), "through links");
        assert!($w!(l.exists()).unwrap() && $w!(l.is_file()).unwrap());
        assert!($w!(l.samefile(&file)).unwrap());
        assert!(!$w!(l.samefile(&dir)).unwrap());
        let e = $w!(file.readlink()).unwrap_err();
        assert_eq!(e.status(), Some(NtStatus::NOT_A_REPARSE_POINT), "{e}");
        // A link cannot take an existing entry's place, and the entry stays.
        let e = $w!(file.symlink_to("elsewhere")).unwrap_err();
        assert_eq!(e.status(), Some(NtStatus::OBJECT_NAME_COLLISION), "{e}");
        assert_eq!($w!(file.read_text()).unwrap(), "through links");

        // --- a directory link in the middle of paths
        let dl = root.join("dl");
        $w!(dl.symlink_with(&SymlinkReparse::relative("dir"), true)).unwrap();
        assert!($w!(dl.is_symlink()).unwrap() && $w!(dl.is_dir()).unwrap());
        let via = dl.join("f.txt");
        assert_eq!($w!(via.resolve()).unwrap().as_str(), file.as_str());
        assert_eq!($w!($w!(via.resolve()).unwrap().read_text()).unwrap(), "through links");
        assert_eq!($w!(via.read_text()).unwrap(), "through links");
        let listed: Vec<String> = $w!(dl.iterdir())
            .unwrap()
            .into_iter()
            .map(|e| e.path.as_str().to_owned())
            .collect();
        assert_eq!(listed, ["sym\\dl\\f.txt"], "entries keep the path asked for");
        $w!(dl.join("new.txt").write_text("made via a link")).unwrap();
        assert!(server.with(|s| s.files().contains_key("sym\\dir\\new.txt")));
        $w!(dir.join("inner").symlink_to("f.txt")).unwrap();
        let inner = dl.join("inner");
        assert!($w!(inner.is_symlink()).unwrap());
        assert!($w!(inner.lstat()).unwrap().is_reparse_point());
        assert_eq!($w!(inner.readlink()).unwrap().substitute_name, "f.txt");
        assert_eq!($w!(inner.resolve()).unwrap().as_str(), file.as_str());

        // --- chains, absolute links, links off the share
        $w!(root.join("c1").symlink_to("l")).unwrap();
        $w!(root.join("c2").symlink_to("c1")).unwrap();
        assert_eq!($w!(root.join("c2").resolve()).unwrap().as_str(), file.as_str());
        let abs = SymlinkReparse {
            substitute_name: "\\??\\UNC\\MODEL\\share\\sym\\dir".into(),
            print_name: "\\\\model\\share\\sym\\dir".into(),
            flags: 0,
        };
        let a = root.join("abs");
        $w!(a.symlink_with(&abs, true)).unwrap();
        assert_eq!($w!(a.join("f.txt").read_text()).unwrap(), "through links");
        assert_eq!($w!(a.join("f.txt").resolve()).unwrap().as_str(), file.as_str());
        for (name, target, flags) in [
            ("local", "\\??\\C:\\elsewhere", 0),
            ("other", "\\??\\UNC\\model\\other\\x", 0),
            ("up", "..\\..\\x", pike::pike_core::wire::SYMLINK_FLAG_RELATIVE),
        ] {
            let link = SymlinkReparse {
                substitute_name: target.into(),
                print_name: target.into(),
                flags,
            };
            let p = root.join(name);
            $w!(p.symlink_with(&link, false)).unwrap();
            let e = $w!(p.resolve()).unwrap_err();
            assert!(matches!(&e, Error::LinkOutsideShare { target: t, .. } if t == target), "{e}");
            assert!(!$w!(p.exists()).unwrap());
            assert!($w!(p.is_symlink()).unwrap());
        }

        // --- exactly MAX_LINK_HOPS links resolve; one more, or a loop, is an error
        let hops = pike::MAX_LINK_HOPS;
        $w!(root.join(&format!("z{hops}")).symlink_to("dir/f.txt")).unwrap();
        for i in (0..hops).rev() {
            let next = format!("z{}", i + 1);
            $w!(root.join(&format!("z{i}")).symlink_to(&next)).unwrap();
        }
        assert_eq!($w!(root.join("z1").resolve()).unwrap().as_str(), file.as_str());
        let e = $w!(root.join("z0").resolve()).unwrap_err();
        assert!(matches!(&e, Error::TooManyLinks { path } if path == "sym\\z0"), "{e}");
        $w!(root.join("loop1").symlink_to("loop2")).unwrap();
        $w!(root.join("loop2").symlink_to("loop1")).unwrap();
        let lp = root.join("loop1");
        assert!(matches!($w!(lp.resolve()), Err(Error::TooManyLinks { .. })));
        assert!(matches!($w!(lp.read_bytes()), Err(Error::TooManyLinks { .. })));
        assert!(!$w!(lp.exists()).unwrap());
        assert!(matches!($w!(lp.join("x").is_symlink()), Err(Error::TooManyLinks { .. })));

        // --- dangling: the link is there, what it names is not
        let dangling = root.join("dangling");
        $w!(dangling.symlink_to("missing")).unwrap();
        assert!($w!(dangling.is_symlink()).unwrap());
        assert!(!$w!(dangling.exists()).unwrap());
        assert!($w!(dangling.stat()).unwrap_err().is_not_found());
        let e = $w!(dangling.mkdir(false, false)).unwrap_err();
        assert_eq!(e.status(), Some(NtStatus::OBJECT_NAME_COLLISION), "{e}");
        assert!(!$w!(root.join("missing").exists()).unwrap(), "mkdir made no target");

        // --- rename and unlink act on links, never on their targets
        let c2b = $w!(root.join("c2").rename("sym/c2b")).unwrap();
        assert_eq!($w!(c2b.readlink()).unwrap().substitute_name, "c1");
        $w!(l.unlink(false)).unwrap();
        assert!(!$w!(l.is_symlink()).unwrap() && !$w!(l.exists()).unwrap());
        assert_eq!($w!(file.read_text()).unwrap(), "through links");
        $w!(dl.unlink(false)).unwrap();
        assert!(!$w!(dl.exists()).unwrap());
        assert!($w!(dir.is_dir()).unwrap() && $w!(file.exists()).unwrap());
        $w!(a.rmdir()).unwrap();
        assert!($w!(dir.join("f.txt").exists()).unwrap());
        $w!(root.join("missing-link").unlink(true)).unwrap();
        for e in $w!(root.iterdir()).unwrap() {
            if e.name != "dir" {
                $w!(e.path.unlink(false)).unwrap();
            }
        }
        assert!(links() == ["sym\\dir\\inner"], "{:?}", links());
        assert_eq!($w!(file.read_text()).unwrap(), "through links");
        assert_clean(&server);
    }};
}

macro_rules! aw {
    ($e:expr) => {
        $e.await
    };
}

macro_rules! id {
    ($e:expr) => {
        $e
    };
}

/// The async suites on one runtime: `$run` blocks on a future there.
macro_rules! async_runtime_tests {
    ($name:ident, $rt:expr, $run:expr) => {
        mod $name {
            use super::*;

            #[test]
            fn round_trip() {
                $run(async {
                    let (tree, server) = connect($rt, 1).await;
                    round_trip!(aw, tree, server);
                });
            }

            #[test]
            fn symlinks() {
                $run(async {
                    let (tree, server) = connect($rt, 2).await;
                    symlinks!(aw, tree, server);
                });
            }
        }
    };
}

fn tokio_run(f: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f);
}

async_runtime_tests!(on_tokio, pike::runtime::tokio::Tokio, tokio_run);
async_runtime_tests!(on_smol, pike::runtime::smol::Smol, smol::block_on);
async_runtime_tests!(
    on_async_std,
    pike::runtime::async_std::AsyncStd,
    async_std::task::block_on
);

mod on_blocking {
    use super::*;

    #[test]
    fn round_trip() {
        let (tree, server) = connect_blocking(3);
        round_trip!(id, tree, server);
    }

    #[test]
    fn symlinks() {
        let (tree, server) = connect_blocking(4);
        symlinks!(id, tree, server);
    }
}

/// The lower-level entry point, on a runtime of one's own choosing.
#[test]
fn client_connect_stream_negotiates_and_names_the_server() {
    tokio_run(async {
        let (stream, server) = loopback::connect(ServerConfig::default(), 5);
        let client = pike::Client::new(pike::runtime::tokio::Tokio);
        let conn = client.connect_stream("model", stream).await.unwrap();
        assert_eq!(conn.raw().with(|c| c.config().server_name.clone()), "model");
        let c = ServerConfig::default();
        let session = conn
            .login(Credentials::new(&c.user, &c.domain, &c.password))
            .await
            .unwrap();
        let tree = session.tree_connect(&c.share).await.unwrap();
        assert!(tree.root().iterdir().await.unwrap().is_empty());
        // Following links keeps the futures Send (tokio::spawn insists).
        let p = tree.path("l");
        let task = ::tokio::spawn(async move {
            p.symlink_to("t").await?;
            assert!(p.is_symlink().await?);
            assert!(p.stat().await.unwrap_err().is_not_found());
            p.unlink(false).await
        });
        task.await.unwrap().unwrap();
        assert_eq!(
            server.with(|s| s.session_count()),
            1,
            "one session on the one connection"
        );
        assert_clean(&server);
    });
}

/// `File` as `AsyncBufRead`: READ data handed out in place, consumed in pieces that
/// straddle READ boundaries, then again after a seek.
#[test]
fn file_buf_read_hands_out_the_data_in_place() {
    use futures_lite::{AsyncBufReadExt, AsyncSeekExt};
    tokio_run(async {
        let (tree, server) = connect(pike::runtime::tokio::Tokio, 9).await;
        let data = common::pattern((3 << 20) + 123, 5);
        let p = tree.path("buf.bin");
        p.write_bytes(&data).await.unwrap();
        let mut f = p.open("r").await.unwrap();
        let mut got = Vec::new();
        loop {
            let buf = f.fill_buf().await.unwrap();
            if buf.is_empty() {
                break;
            }
            let n = buf.len().min(100_003);
            got.extend_from_slice(&buf[..n]);
            f.consume(n);
        }
        assert!(got == data, "read {} of {} bytes", got.len(), data.len());
        let at = (1 << 20) + 7;
        f.seek(std::io::SeekFrom::Start(at as u64)).await.unwrap();
        let buf = f.fill_buf().await.unwrap();
        assert!(!buf.is_empty() && buf[..16] == data[at..at + 16]);
        f.close().await.unwrap();
        assert_clean(&server);
    });
}

/// `write_owned` hands whole buffers to WRITEs (split past one WRITE), in order with
/// bytes written through `AsyncWrite` before and after, and in append mode.
#[test]
fn write_owned_keeps_order_with_buffered_writes() {
    use futures_lite::AsyncWriteExt;
    tokio_run(async {
        let (tree, server) = connect(pike::runtime::tokio::Tokio, 11).await;
        let p = tree.path("owned.bin");
        let mut f = p.open("w").await.unwrap();
        let big = common::pattern((9 << 20) + 5, 3); // more than one WRITE
        let mut want = b"head".to_vec();
        f.write_all(b"head").await.unwrap(); // still buffered when write_owned comes
        let mut buf = f.spare_buffer();
        assert!(buf.is_empty() && buf.capacity() > 0);
        buf.extend_from_slice(b"-owned-");
        want.extend_from_slice(b"-owned-");
        f.write_owned(buf).await.unwrap();
        f.write_owned(big.clone()).await.unwrap();
        want.extend_from_slice(&big);
        f.write_all(b"tail").await.unwrap();
        want.extend_from_slice(b"tail");
        assert_eq!(f.position(), want.len() as u64);
        f.close().await.unwrap();
        assert!(p.read_bytes().await.unwrap() == want, "content in order");

        let mut f = p.open("a").await.unwrap();
        f.write_owned(b"+appended".to_vec()).await.unwrap();
        f.close().await.unwrap();
        want.extend_from_slice(b"+appended");
        assert!(p.read_bytes().await.unwrap() == want, "appended at the end");
        assert_clean(&server);
    });
}

/// Large WRITEs go out with their data spliced after the encoded message (not copied
/// into it) and signed over both pieces: the model server, which checks every
/// signature, takes them with each signing algorithm, over a stream that writes only
/// one piece per call.
#[test]
fn spliced_writes_are_signed_with_every_algorithm() {
    use futures_lite::AsyncWriteExt;
    use pike::pike_core::wire::Dialect;
    for dialect in [Dialect::Smb311, Dialect::Smb300, Dialect::Smb210] {
        tokio_run(async move {
            let config = ServerConfig {
                require_signing: true,
                dialects: vec![dialect],
                ..ServerConfig::default()
            };
            let (stream, server) = loopback::connect(config, 5);
            let tree = common::model_target()
                .connect_stream(pike::runtime::tokio::Tokio, stream)
                .await
                .expect("connect");
            let p = tree.path("signed.bin");
            let owned = common::pattern((3 << 20) + 5, 1);
            let copied = common::pattern(2 << 20, 2);
            let mut f = p.open("w").await.unwrap();
            f.write_owned(owned.clone()).await.unwrap();
            f.write_all(&copied).await.unwrap();
            f.close().await.unwrap();
            let back = p.read_bytes().await.unwrap();
            assert!(back == [owned, copied].concat(), "{dialect:?}: content");
            assert_clean(&server);
        });
    }
}
