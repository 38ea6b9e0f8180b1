//! pike-wasm in headless Chromium against a real Samba behind websockify.
//!
//! The browser cannot read the environment, so the targets are baked in at build time
//! (`.ci/run` sets them): `PIKE_RELAY_URL` (relay pinned to Samba), `PIKE_SHARE`,
//! `PIKE_CREDS` (`DOMAIN\user%password`), `PIKE_RELAY_DEAD_URL` (nothing listens) and
//! `PIKE_RELAY_NOSERVER_URL` (a relay whose server port is closed) and
//! `PIKE_WS_ODDITIES_URL` (a WebSocket server that misbehaves on purpose).
#![cfg(target_arch = "wasm32")]

use js_sys::{Object, Reflect, Uint8Array};
use pike_wasm::{ConnectOptions, PikeError, Share, connect};
use sha2::{Digest, Sha256};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const RELAY: &str = match option_env!("PIKE_RELAY_URL") {
    Some(u) => u,
    None => "ws://127.0.0.1:24580/",
};
const DEAD_RELAY: &str = match option_env!("PIKE_RELAY_DEAD_URL") {
    Some(u) => u,
    None => "ws://127.0.0.1:9/",
};
const NOSERVER_RELAY: Option<&str> = option_env!("PIKE_RELAY_NOSERVER_URL");
/// A WebSocket server that misbehaves per path (`bindings/wasm/e2e/ws_oddities.py`).
const ODDITIES: Option<&str> = option_env!("PIKE_WS_ODDITIES_URL");
const SHARE: &str = match option_env!("PIKE_SHARE") {
    Some(s) => s,
    None => "share",
};
const CREDS: &str = match option_env!("PIKE_CREDS") {
    Some(c) => c,
    None => "LAB\\pike%pike-pass",
};

fn options(extra: &[(&str, JsValue)]) -> ConnectOptions {
    let creds = pike::parse_creds(CREDS);
    let o = Object::new();
    let base = [
        ("server", JsValue::from_str("pikelab")),
        ("share", SHARE.into()),
        ("user", creds.user.as_str().into()),
        ("domain", creds.domain.as_str().into()),
        ("password", creds.password.as_str().into()),
        ("timeoutMs", 20_000.into()),
    ];
    for (k, v) in base.iter().chain(extra) {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.unchecked_into()
}

async fn share(extra: &[(&str, JsValue)]) -> Share {
    match connect(RELAY.into(), options(extra)).await {
        Ok(s) => s,
        Err(e) => panic!("connect through {RELAY}: {e}"),
    }
}

/// The `code` of a rejected call, which must have been a `PikeError`.
fn code<T>(r: Result<T, PikeError>) -> String {
    let Err(e) = r else {
        panic!("expected an error")
    };
    let e: JsValue = e.into();
    assert!(
        e.is_instance_of::<js_sys::Error>(),
        "rejections are Error objects"
    );
    assert_eq!(Reflect::get(&e, &"name".into()).unwrap(), "PikeError");
    Reflect::get(&e, &"code".into())
        .unwrap()
        .as_string()
        .unwrap()
}

/// A unique directory per test (tests share one Samba; runs may repeat).
async fn scratch(s: &Share, name: &str) -> String {
    let dir = format!("wasm-{name}-{}", js_sys::Math::random().to_bits());
    s.mkdir(dir.clone(), None).await.unwrap();
    dir
}

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[wasm_bindgen_test]
async fn default_session_is_encrypted_and_lists() {
    let s = share(&[]).await;
    assert!(
        s.encrypted(),
        "the browser encrypts by default where the server can"
    );
    assert_eq!(s.dialect(), "3.1.1");
    let dir = scratch(&s, "list").await;
    for i in 0..5 {
        s.write_file(
            format!("{dir}/f{i}.txt"),
            Uint8Array::from(&b"x"[..]).unchecked_into(),
            None,
        )
        .await
        .unwrap();
    }
    s.mkdir(format!("{dir}/sub"), None).await.unwrap();
    let list = s.list(dir.clone()).await.unwrap();
    let list: js_sys::Array = list.unchecked_into();
    let mut names: Vec<String> = list
        .iter()
        .map(|e| {
            Reflect::get(&e, &"name".into())
                .unwrap()
                .as_string()
                .unwrap()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["f0.txt", "f1.txt", "f2.txt", "f3.txt", "f4.txt", "sub"]
    );
    let sub = list
        .iter()
        .find(|e| Reflect::get(e, &"name".into()).unwrap() == "sub")
        .unwrap();
    assert_eq!(Reflect::get(&sub, &"isDir".into()).unwrap(), true);
    let st = s.stat(format!("{dir}/f1.txt")).await.unwrap();
    assert_eq!(Reflect::get(&st, &"size".into()).unwrap(), 1);
    assert!(
        Reflect::get(&st, &"modified".into())
            .unwrap()
            .is_instance_of::<js_sys::Date>()
    );
}

#[wasm_bindgen_test]
async fn write_then_read_back_equal_hash_signed_only() {
    let s = share(&[("sign", true.into()), ("encrypt", false.into())]).await;
    assert!(s.signed() && !s.encrypted(), "signed, not sealed");
    let dir = scratch(&s, "rw").await;
    let data = pattern(300_000, 7);
    let path = format!("{dir}/data.bin");
    s.write_file(
        path.clone(),
        Uint8Array::from(&data[..]).unchecked_into(),
        None,
    )
    .await
    .unwrap();
    let back = s.read_file(path, None).await.unwrap().to_vec();
    assert_eq!(Sha256::digest(&back), Sha256::digest(&data));
}

#[wasm_bindgen_test]
async fn large_file_encrypted_with_progress() {
    let s = share(&[("encrypt", true.into())]).await;
    assert!(s.encrypted());
    let dir = scratch(&s, "big").await;
    let data = pattern((16 << 20) + 12_345, 11);
    let path = format!("{dir}/big.bin");
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::<(f64, f64)>::new()));
    let record = {
        let seen = seen.clone();
        Closure::<dyn FnMut(f64, f64)>::new(move |done, total| {
            seen.borrow_mut().push((done, total))
        })
    };
    let progress = || record.as_ref().clone().unchecked_into();
    s.write_file(
        path.clone(),
        Uint8Array::from(&data[..]).unchecked_into(),
        Some(progress()),
    )
    .await
    .unwrap();
    check_progress(&seen.borrow(), data.len());
    seen.borrow_mut().clear();
    let back = s.read_file(path, Some(progress())).await.unwrap().to_vec();
    check_progress(&seen.borrow(), data.len());
    assert_eq!(back.len(), data.len());
    assert_eq!(Sha256::digest(&back), Sha256::digest(&data));
}

fn check_progress(seen: &[(f64, f64)], total: usize) {
    assert!(seen.len() > 10, "a report per piece, got {}", seen.len());
    assert!(
        seen.windows(2).all(|w| w[0].0 < w[1].0),
        "progress only grows"
    );
    assert!(seen.iter().all(|&(_, t)| t == total as f64));
    assert_eq!(seen.last().unwrap().0, total as f64);
}

#[wasm_bindgen_test]
async fn streaming_handle_mkdir_rename_remove() {
    let s = share(&[]).await;
    let dir = scratch(&s, "ops").await;
    let f = s
        .open(format!("{dir}/s.bin"), Some("w+".into()))
        .await
        .unwrap();
    for i in 0..4u8 {
        f.write(Uint8Array::from(&[i; 1000][..])).await.unwrap();
    }
    f.flush().await.unwrap();
    assert_eq!(f.size().await.unwrap(), 4000.0);
    assert_eq!(
        f.read_at(1500.0, 1000).await.unwrap().to_vec(),
        [&[1u8; 500][..], &[2; 500]].concat()
    );
    assert_eq!(f.seek(3990.0).await.unwrap(), 3990.0);
    assert_eq!(f.read(100).await.unwrap().to_vec(), [3u8; 10]);
    assert_eq!(f.read(100).await.unwrap().length(), 0, "EOF reads empty");
    f.close().await.unwrap();
    assert_eq!(code(f.read(1).await), "USAGE", "a closed handle refuses");

    s.mkdir(format!("{dir}/a/b/c"), Some(true)).await.unwrap();
    s.rename(format!("{dir}/s.bin"), format!("{dir}/a/b/t.bin"), None)
        .await
        .unwrap();
    assert_eq!(
        code(s.stat(format!("{dir}/s.bin")).await),
        "STATUS_OBJECT_NAME_NOT_FOUND"
    );
    s.remove(format!("{dir}/a/b/t.bin")).await.unwrap();
    s.remove(format!("{dir}/a/b/c")).await.unwrap();
    assert_eq!(
        code(s.remove(format!("{dir}/a")).await),
        "STATUS_DIRECTORY_NOT_EMPTY"
    );
    s.close().await.unwrap();
    let after = code(s.list(dir).await);
    assert_eq!(after, "USAGE", "a closed share refuses cleanly");
}

#[wasm_bindgen_test]
async fn wrong_password_is_a_logon_failure() {
    let r = connect(
        RELAY.into(),
        options(&[("password", "not-the-password".into())]),
    )
    .await;
    assert_eq!(code(r), "STATUS_LOGON_FAILURE");
}

#[wasm_bindgen_test]
async fn unknown_share_is_bad_network_name() {
    let r = connect(RELAY.into(), options(&[("share", "no-such-share".into())])).await;
    assert_eq!(code(r), "STATUS_BAD_NETWORK_NAME");
}

#[wasm_bindgen_test]
async fn relay_down_is_a_relay_error() {
    let r = connect(DEAD_RELAY.into(), options(&[])).await;
    assert_eq!(code(r), "RELAY");
}

#[wasm_bindgen_test]
async fn relay_without_server_is_a_clean_error() {
    let Some(url) = NOSERVER_RELAY else {
        panic!("PIKE_RELAY_NOSERVER_URL is not set (.ci/run sets it)");
    };
    let r = connect(url.into(), options(&[])).await;
    let c = code(r);
    // websockify opens the socket and closes it; `pike relay` refuses the handshake.
    assert!(
        ["CONNECTION_LOST", "TRANSPORT", "RELAY"].contains(&c.as_str()),
        "got {c}"
    );
}

/// The rejection of `connect` through the oddities server at `path`: (code, message).
async fn odd(path: &str) -> (String, String) {
    let Some(base) = ODDITIES else {
        panic!("PIKE_WS_ODDITIES_URL is not set (.ci/run sets it)");
    };
    let Err(e) = connect(format!("{base}{path}"), options(&[])).await else {
        panic!("connect through {path} succeeded");
    };
    (e.code(), e.to_string())
}

#[wasm_bindgen_test]
async fn a_text_message_fails_the_connection_with_the_reason() {
    let (code, msg) = odd("/text").await;
    assert_eq!(code, "CONNECTION_LOST", "{msg}");
    assert!(msg.contains("text message"), "{msg}");
}

#[wasm_bindgen_test]
async fn a_clean_close_is_end_of_stream() {
    let (code, msg) = odd("/close").await;
    assert_eq!(code, "CONNECTION_LOST", "{msg}");
    assert!(msg.contains("server closed the connection"), "{msg}");
}

#[wasm_bindgen_test]
async fn non_smb_bytes_are_not_smb() {
    let (code, msg) = odd("/notsmb").await;
    assert_eq!(code, "NOT_SMB", "{msg}");
}

#[wasm_bindgen_test]
async fn bad_options_are_usage_errors() {
    let o = options(&[]);
    Reflect::delete_property(o.unchecked_ref::<Object>(), &"share".into()).unwrap();
    assert_eq!(code(connect(RELAY.into(), o).await), "USAGE");
    assert_eq!(
        code(connect(RELAY.into(), options(&[("timeoutMs", (-1).into())])).await),
        "USAGE"
    );
    for url in ["not a url", "http://127.0.0.1:9/", "/relay"] {
        assert_eq!(
            code(connect(url.into(), options(&[])).await),
            "USAGE",
            "{url}"
        );
    }
}
