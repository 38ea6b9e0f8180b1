//! Hooks against a real Samba, on the runtime `PIKE_TEST_RUNTIME` names: what a hook
//! sees (multi-credit CreditCharge), what a rewrite does to the server (still signed or
//! sealed), connection-before-client order, and guards that unregister on drop.

mod common;

use std::sync::{Arc, Mutex};

use common::{pattern, unique};
use pike::pike_core::wire::{Command, Dialect, EchoRequest, Header, RequestBody, utf16le};
use pike::pike_core::{Hook, Request};

/// Replaces every occurrence of `from` with `to` (same length).
fn replace_all(buf: &mut [u8], from: &[u8], to: &[u8]) {
    let mut at = 0;
    while let Some(i) = buf[at..].windows(from.len()).position(|w| w == from) {
        buf[at + i..at + i + to.len()].copy_from_slice(to);
        at += i + from.len();
    }
}

/// The messages of a compound chain, following NextCommand (MS-SMB2 2.2.1.2).
fn messages(chain: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = chain;
    loop {
        let next = u32::from_le_bytes(rest[20..24].try_into().unwrap()) as usize;
        if next == 0 {
            out.push(rest);
            return out;
        }
        out.push(&rest[..next]);
        rest = &rest[next..];
    }
}

/// MS-SMB2 3.2.4.1.5: a READ or WRITE of `len` bytes is charged ceil(len / 64 KiB)
/// credits (at least 1) with multi-credit, and CreditCharge is 0 at 2.0.2.
fn expected_charge(dialect: Dialect, len: usize) -> u16 {
    if dialect == Dialect::Smb202 {
        0
    } else {
        len.div_ceil(65536).max(1) as u16
    }
}

#[test]
fn hook_sees_multi_credit_charge_of_1mib_transfers() {
    let Some(tc) = common::target("hook_sees_multi_credit_charge_of_1mib_transfers") else {
        return;
    };
    on_runtime!(|rt| async move {
        let client = tc.client(rt).unwrap();
        // (command, CreditCharge, READ Length or WRITE data length) from the bytes.
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let guard = client.add_hook(Hook::after_encode(move |chain| {
            for msg in messages(chain) {
                let h = Header::decode(msg).unwrap();
                let len = match RequestBody::decode(&h, msg) {
                    Ok(RequestBody::Read(r)) => r.length as usize,
                    Ok(RequestBody::Write(w)) => w.data.len(),
                    _ => continue,
                };
                s.lock().unwrap().push((h.command, h.credit_charge, len));
            }
        }));
        let tree = tc.connect_with(&client).await.unwrap();
        let dialect = tree.session().connection().dialect();
        let path = tree.path(&unique("pike-hook-credits"));
        let data = pattern(1 << 20, 7);
        path.write_bytes(&data).await.unwrap();
        assert_eq!(path.read_bytes().await.unwrap(), data);
        path.unlink(false).await.unwrap();
        drop(guard);
        let seen = seen.lock().unwrap();
        for command in [Command::Write, Command::Read] {
            let ops: Vec<_> = seen.iter().filter(|(c, _, _)| *c == command).collect();
            let total: usize = ops.iter().map(|(_, _, len)| len).sum();
            assert!(total >= 1 << 20, "{command:?}: {total} bytes in {ops:?}");
            for (_, charge, len) in &ops {
                assert_eq!(
                    *charge,
                    expected_charge(dialect, *len),
                    "{command:?} of {len}"
                );
            }
            if dialect != Dialect::Smb202 {
                assert!(
                    ops.iter().any(|(_, charge, _)| *charge > 1),
                    "{command:?}: no multi-credit request in {ops:?}"
                );
            }
        }
    });
}

#[test]
fn rewritten_request_bytes_are_signed_and_reach_the_server() {
    let Some(tc) = common::target("rewritten_request_bytes_are_signed_and_reach_the_server") else {
        return;
    };
    on_runtime!(|rt| async move {
        let tree = tc.connect(rt).await.unwrap();
        let conn = tree.session().connection().clone();
        let dir = tree.path(&unique("pike-hook-rw"));
        dir.mkdir(false, false).await.unwrap();
        let (asked, sent) = (dir.join("aaaa.txt"), dir.join("bbbb.txt"));
        let guard = conn.add_hook(Hook::after_encode(|chain| {
            replace_all(chain, &utf16le("aaaa.txt"), &utf16le("bbbb.txt"));
        }));
        // Signed or sealed after the rewrite: the server accepts it and acts on the
        // name it got.
        asked.write_text("rewritten").await.unwrap();
        assert!(asked.exists().await.unwrap(), "the hook answers for bbbb");
        drop(guard);
        assert!(!asked.exists().await.unwrap());
        assert_eq!(sent.read_text().await.unwrap(), "rewritten");
        sent.unlink(false).await.unwrap();
        dir.rmdir().await.unwrap();
        assert!(conn.raw().lost().is_none());
    });
}

#[test]
fn rewritten_request_changes_the_servers_answer() {
    let Some(tc) = common::target("rewritten_request_changes_the_servers_answer") else {
        return;
    };
    on_runtime!(|rt| async move {
        let tree = tc.connect(rt).await.unwrap();
        let conn = tree.session().connection().clone();
        let guard = conn.add_hook(Hook::before_encode(|r| {
            if let RequestBody::Create(c) = &mut r.body {
                c.name = "no\\such\\dir\\at\\all.txt".into();
            }
        }));
        let e = tree.root().stat().await.unwrap_err();
        assert!(e.is_not_found(), "{e}");
        drop(guard);
        assert!(tree.root().stat().await.unwrap().is_dir());
    });
}

#[test]
fn connection_hooks_run_before_client_hooks_until_dropped() {
    let Some(tc) = common::target("connection_hooks_run_before_client_hooks_until_dropped") else {
        return;
    };
    on_runtime!(|rt| async move {
        let order = Arc::new(Mutex::new(Vec::new()));
        let client = tc.client(rt).unwrap();
        let o = order.clone();
        let client_guard = client.add_hook(Hook::after_send(move |_, _| {
            o.lock().unwrap().push("client");
        }));
        let tree = tc.connect_with(&client).await.unwrap();
        // NEGOTIATE, SESSION_SETUP x2, TREE_CONNECT: the client hook saw them all.
        assert!(order.lock().unwrap().len() >= 4);
        order.lock().unwrap().clear();
        let conn = tree.session().connection().clone();
        let o = order.clone();
        let conn_guard = conn.add_hook(Hook::after_send(move |_, _| {
            o.lock().unwrap().push("connection");
        }));
        let echo = || conn.raw().call(Request::new(EchoRequest));
        echo().await.unwrap();
        assert_eq!(*order.lock().unwrap(), ["connection", "client"]);
        drop(conn_guard);
        echo().await.unwrap();
        assert_eq!(*order.lock().unwrap(), ["connection", "client", "client"]);
        drop(client_guard);
        echo().await.unwrap();
        assert_eq!(order.lock().unwrap().len(), 3);
    });
}
