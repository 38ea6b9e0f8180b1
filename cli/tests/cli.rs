//! The `pike` binary against the Samba from `PIKE_*` (skipped without `PIKE_SERVER`,
//! failing under `CI=true` without it), plus failure paths that need no server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `//server:port/share` from `PIKE_*`, or `None` (test skipped) without `PIKE_SERVER`.
fn share(test: &str) -> Option<String> {
    let server = std::env::var("PIKE_SERVER").unwrap_or_default();
    if server.is_empty() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: CI=true but PIKE_SERVER is not set"
        );
        eprintln!("skipping {test}: set PIKE_SERVER/PIKE_PORT/PIKE_SHARE/PIKE_CREDS to run");
        return None;
    }
    let port = std::env::var("PIKE_PORT").unwrap_or_else(|_| "445".into());
    let share = std::env::var("PIKE_SHARE").expect("PIKE_SHARE");
    Some(format!("//{server}:{port}/{share}"))
}

fn pike_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pike"));
    c.args(args).stdin(Stdio::null());
    c
}

/// Runs `pike ARGS` to completion.
fn pike(args: &[&str]) -> Output {
    pike_cmd(args).output().expect("spawn pike")
}

/// Runs `pike ARGS`, which must succeed; returns stdout.
fn ok(args: &[&str]) -> Vec<u8> {
    let o = pike(args);
    assert!(
        o.status.success(),
        "pike {args:?} failed ({:?}): {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

fn ok_text(args: &[&str]) -> String {
    String::from_utf8(ok(args)).expect("UTF-8 output")
}

/// Runs `pike ARGS`, which must fail with `code`, printing exactly one stderr line
/// that contains `needle`; returns that line.
fn fails(args: &[&str], code: i32, needle: &str) -> String {
    let o = pike(args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(code), "pike {args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "one line expected: {err:?}");
    assert!(err.starts_with("pike: "), "{err}");
    assert!(
        err.contains(needle),
        "pike {args:?}: {needle:?} not in {err:?}"
    );
    err
}

fn unique(prefix: &str) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{prefix}-{}-{t}", std::process::id())
}

/// A fresh local scratch directory.
fn scratch(prefix: &str) -> PathBuf {
    let d = std::env::temp_dir().join(unique(prefix));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Deterministic pseudo-random bytes (xorshift).
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A remote scratch directory, removed (recursively) when dropped.
struct RemoteDir(String);

impl RemoteDir {
    fn new(share: &str, prefix: &str) -> Self {
        let d = format!("{share}/{}", unique(prefix));
        ok(&["mkdir", &d]);
        Self(d)
    }

    fn at(&self, rel: &str) -> String {
        format!("{}/{rel}", self.0)
    }
}

impl Drop for RemoteDir {
    fn drop(&mut self) {
        let _ = pike(&["rm", "-r", "-f", &self.0]);
    }
}

/// Every file below `root` (relative path → contents).
fn tree(root: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn put_ls_stat_cat_get_roundtrip() {
    let Some(share) = share("put_ls_stat_cat_get_roundtrip") else {
        return;
    };
    let dir = RemoteDir::new(&share, "cli-rt");
    let local = scratch("pike-cli-rt");
    let big = pattern(3 << 20 | 123, 7); // several READs/WRITEs, not chunk-aligned
    std::fs::write(local.join("big.bin"), &big).unwrap();
    std::fs::write(local.join("hello.txt"), "hello pike\n").unwrap();

    // Into a directory (trailing slash), and to an explicit name.
    ok(&[
        "put",
        local.join("hello.txt").to_str().unwrap(),
        &dir.at(""),
    ]);
    ok(&[
        "put",
        local.join("big.bin").to_str().unwrap(),
        &dir.at("big.bin"),
    ]);

    let ls = ok_text(&["ls", &dir.0]);
    let lines: Vec<&str> = ls.lines().collect();
    assert_eq!(lines.len(), 2, "{ls}");
    assert!(lines[0].starts_with("big.bin\tfile\t3145851\t"), "{ls}");
    assert!(lines[1].starts_with("hello.txt\t"), "{ls}");
    // A file alone, and a server-side wildcard.
    assert!(ok_text(&["ls", &dir.at("hello.txt")]).starts_with("hello.txt\t"));
    assert_eq!(ok_text(&["ls", &dir.at("*.bin")]).lines().count(), 1);

    let json: serde_json::Value = serde_json::from_slice(&ok(&["ls", "--json", &dir.0])).unwrap();
    assert_eq!(json[0]["name"], "big.bin");
    assert_eq!(json[0]["size"], big.len() as u64);
    assert_eq!(json[1]["type"], "file");

    let st = ok_text(&["stat", &dir.at("big.bin")]);
    assert!(st.contains(&format!("size: {}\n", big.len())), "{st}");
    assert!(st.contains("type: file\n"), "{st}");
    let st: serde_json::Value = serde_json::from_slice(&ok(&["stat", &dir.0, "--json"])).unwrap();
    assert_eq!(st["type"], "dir");
    assert_eq!(st["path"], dir.0.as_str());

    assert_eq!(ok(&["cat", &dir.at("hello.txt")]), b"hello pike\n");
    assert_eq!(ok(&["cat", &dir.at("big.bin")]), big);

    let back = scratch("pike-cli-rt-back");
    ok(&[
        "get",
        &dir.at("big.bin"),
        back.join("copy.bin").to_str().unwrap(),
    ]);
    assert!(std::fs::read(back.join("copy.bin")).unwrap() == big);
    // Into an existing local directory keeps the name; "-" is stdout.
    ok(&["get", &dir.at("hello.txt"), back.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(back.join("hello.txt")).unwrap(),
        b"hello pike\n"
    );
    assert_eq!(ok(&["get", &dir.at("hello.txt"), "-"]), b"hello pike\n");
    // An empty file.
    std::fs::write(local.join("empty"), "").unwrap();
    ok(&[
        "put",
        local.join("empty").to_str().unwrap(),
        &dir.at("empty"),
    ]);
    assert_eq!(ok(&["cat", &dir.at("empty")]), b"");
    let _ = std::fs::remove_dir_all(local);
    let _ = std::fs::remove_dir_all(back);
}

#[test]
fn recursive_put_get_rm() {
    let Some(share) = share("recursive_put_get_rm") else {
        return;
    };
    let dir = RemoteDir::new(&share, "cli-rec");
    let local = scratch("pike-cli-rec");
    std::fs::create_dir_all(local.join("sub/deeper")).unwrap();
    std::fs::create_dir_all(local.join("empty-dir")).unwrap();
    // Enough small files for put -r to open its extra connections.
    for i in 0..140 {
        std::fs::write(local.join(format!("f{i:03}.txt")), pattern(4096, i)).unwrap();
    }
    std::fs::write(local.join("sub/deeper/x.bin"), pattern(5 << 20, 99)).unwrap();
    std::fs::write(local.join("sub/y"), b"y").unwrap();

    // Options between operands; REMOTE (and its parents) created.
    let target = dir.at("a/b");
    let out = pike(&[
        "put",
        "-r",
        local.to_str().unwrap(),
        "--timeout",
        "20",
        "--connections",
        "3",
        &target,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ok_text(&["ls", &target]).lines().count(), 142);
    let sub = ok_text(&["ls", &format!("{target}/sub")]);
    assert!(sub.starts_with("deeper\tdir\t"), "{sub}");

    let back = scratch("pike-cli-rec-back").join("copy");
    ok(&["get", "-r", &target, back.to_str().unwrap()]);
    assert!(tree(&local) == tree(&back), "downloaded tree differs");
    assert!(back.join("empty-dir").is_dir());

    // 140 small files open the extra connections asked for (one NEGOTIATE each), which
    // take files as they come up.
    let out = pike_cmd(&["rm", "-r", "--connections", "3", &target])
        .env("PIKE_TRACE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace = String::from_utf8_lossy(&out.stderr);
    assert_eq!(trace.matches("C->S NEGOTIATE").count(), 3, "{trace}");
    fails(&["ls", &target], 3, "STATUS_OBJECT_NAME_NOT_FOUND");
    // The parent stays, now empty.
    assert_eq!(ok_text(&["ls", &dir.at("a")]), "");
    let _ = std::fs::remove_dir_all(local);
    let _ = std::fs::remove_dir_all(back.parent().unwrap());
}

#[test]
fn mkdir_rmdir_mv_rm() {
    let Some(share) = share("mkdir_rmdir_mv_rm") else {
        return;
    };
    let dir = RemoteDir::new(&share, "cli-mk");
    ok(&["mkdir", &dir.at("d")]);
    fails(&["mkdir", &dir.at("d")], 1, "STATUS_OBJECT_NAME_COLLISION");
    ok(&["mkdir", "-p", &dir.at("d"), &dir.at("p/q/r")]);
    assert!(ok_text(&["ls", &dir.at("p/q")]).starts_with("r\tdir\t"));

    let local = scratch("pike-cli-mk");
    std::fs::write(local.join("f"), b"data").unwrap();
    ok(&["put", local.join("f").to_str().unwrap(), &dir.at("f")]);
    // Into a directory keeps the name.
    ok(&["mv", &dir.at("f"), &dir.at("d")]);
    assert_eq!(ok(&["cat", &dir.at("d/f")]), b"data");
    // A share-relative target.
    let rel = format!("{}/g", dir.0.rsplit('/').next().unwrap());
    ok(&["mv", &dir.at("d/f"), &rel]);
    assert_eq!(ok(&["cat", &dir.at("g")]), b"data");
    // No silent replace without -f.
    ok(&["put", local.join("f").to_str().unwrap(), &dir.at("h")]);
    fails(
        &["mv", &dir.at("g"), &dir.at("h")],
        1,
        "STATUS_OBJECT_NAME_COLLISION",
    );
    ok(&["mv", "-f", &dir.at("g"), &dir.at("h")]);
    fails(&["stat", &dir.at("g")], 3, "STATUS_OBJECT_NAME_NOT_FOUND");

    fails(&["rmdir", &dir.at("p")], 1, "STATUS_DIRECTORY_NOT_EMPTY");
    ok(&["rmdir", &dir.at("p/q/r"), &dir.at("p/q")]);
    ok(&["rm", &dir.at("h")]);
    fails(&["rm", &dir.at("h")], 3, "STATUS_OBJECT_NAME_NOT_FOUND");
    ok(&["rm", "-f", &dir.at("h")]);
    fails(
        &["mv", &dir.at("p"), "//elsewhere/share/x"],
        2,
        "same share",
    );
    let _ = std::fs::remove_dir_all(local);
}

/// Lines from a child's pipe, readable with a deadline.
fn lines(r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(r).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for(rx: &mpsc::Receiver<String>, want: &str, what: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l.contains(want) => return seen,
            Ok(l) => seen.push(l),
            Err(e) => panic!("{what}: no line with {want:?} ({e}); saw {seen:?}"),
        }
    }
}

#[test]
fn watch_prints_changes() {
    let Some(share) = share("watch_prints_changes") else {
        return;
    };
    let dir = RemoteDir::new(&share, "cli-watch");
    let mut child = pike_cmd(&["watch", &dir.0])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = lines(child.stdout.take().unwrap());
    let err = lines(child.stderr.take().unwrap());
    wait_for(&err, "watching", "watch stderr");
    let local = scratch("pike-cli-watch");
    std::fs::write(local.join("new.txt"), b"x").unwrap();
    ok(&[
        "put",
        local.join("new.txt").to_str().unwrap(),
        &dir.at("new.txt"),
    ]);
    wait_for(&out, "added\tnew.txt", "watch stdout");
    // Re-armed after the first event: a later change shows too.
    ok(&["rm", &dir.at("new.txt")]);
    wait_for(&out, "removed\tnew.txt", "watch stdout");
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(local);
}

#[test]
fn bad_password_names_logon_failure() {
    let Some(share) = share("bad_password_names_logon_failure") else {
        return;
    };
    let user = std::env::var("PIKE_CREDS").unwrap_or_default();
    let account = user.split('%').next().unwrap_or("pike").to_owned();
    let creds = format!("{account}%definitely-wrong");
    fails(&["ls", "-U", &creds, &share], 4, "STATUS_LOGON_FAILURE");
    // The same through an smb:// URL's user part (which beats PIKE_CREDS).
    let (domain, user) = account.split_once('\\').unwrap_or(("", &account));
    let url = share.replacen("//", &format!("smb://{domain};{user}:wrong@"), 1);
    fails(&["ls", &url], 4, "STATUS_LOGON_FAILURE");
}

#[test]
fn missing_file_and_unknown_share() {
    let Some(share) = share("missing_file_and_unknown_share") else {
        return;
    };
    let missing = format!("{share}/{}", unique("no-such-file"));
    let local = scratch("pike-cli-missing");
    let dest = local.join("out");
    for args in [
        &["stat", missing.as_str()][..],
        &["cat", &missing],
        &["ls", &missing],
        &["get", &missing, dest.to_str().unwrap()],
        &["rm", &missing],
    ] {
        let line = fails(args, 3, "STATUS_OBJECT_NAME_NOT_FOUND");
        assert!(line.contains(&missing), "{line}");
    }
    assert!(!dest.exists(), "a failed get left a local file");
    fails(
        &["put", dest.to_str().unwrap(), &format!("{share}/x")],
        7,
        "out",
    );
    let (host, _) = share.rsplit_once('/').unwrap();
    fails(
        &["ls", &format!("{host}/{}", unique("noshare"))],
        3,
        "STATUS_BAD_NETWORK_NAME",
    );
    let _ = std::fs::remove_dir_all(local);
}

/// A local server that answers whatever it is sent with an HTTP error.
fn http_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { break };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    port
}

#[test]
fn non_smb_and_silent_servers_fail_cleanly() {
    // No Samba needed: local fake servers.
    let port = http_server();
    let t = Instant::now();
    fails(
        &[
            "ls",
            "--timeout",
            "10",
            "-U",
            "u%p",
            &format!("//127.0.0.1:{port}/share"),
        ],
        5,
        "not an SMB2/3 server",
    );
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());

    // Accepts, never answers: the deadline, not a hang.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let hold = std::thread::spawn(move || l.accept().map(|(s, _)| s));
    let t = Instant::now();
    fails(
        &[
            "ls",
            "-U",
            "u%p",
            &format!("//127.0.0.1:{port}/share"),
            "--timeout",
            "1",
        ],
        6,
        "timed out",
    );
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    drop(hold.join());

    // Nothing listening.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    fails(
        &["ls", "-U", "u%p", &format!("smb://127.0.0.1:{port}/share")],
        5,
        "refused",
    );
}

#[test]
fn usage_errors_and_missing_credentials() {
    fails(&["ls", "not-a-remote"], 2, "not a REMOTE");
    fails(&["ls", "//host-only"], 2, "no share name");
    fails(&["ls", "//h:99999/s"], 2, "host[:port]");
    // No -U, no PIKE_CREDS and stdin is no terminal: say so instead of hanging.
    let o = pike_cmd(&["ls", "//127.0.0.1:9/share"])
        .env_remove("PIKE_CREDS")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("PIKE_CREDS") && err.contains("-U"), "{err}");
    // clap's own errors use the same code.
    let o = pike(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(ok_text(&["--help"]).contains("Exit codes"));
}
