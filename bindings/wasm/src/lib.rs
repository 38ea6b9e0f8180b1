//! # pike-wasm
//!
//! pike's SMB2/3 client in the browser. A page cannot open TCP connections, so the
//! byte stream goes through a WebSocket relay that pins the server (websockify, or
//! any relay that forwards binary messages to one fixed `host:port`):
//!
//! ```text
//!  page ─► pike-wasm (pike's driver + pike-core) ─► WebSocket ─► relay ─► TCP ─► SMB server
//! ```
//!
//! The protocol runs in the same sans-IO core and driver as on native targets; this
//! crate only adds the transport ([`WsStream`]), a `setTimeout` [`JsTimer`], a
//! [`Browser`] runtime that spawns the driver with `spawn_local`, and the
//! `#[wasm_bindgen]` API:
//!
//! ```js
//! import init, { connect } from "./pkg/pike_wasm.js";
//! await init();
//! const share = await connect("ws://127.0.0.1:8090/", {
//!   server: "nas", share: "public", user: "alice", domain: "LAB", password: "…",
//! });
//! await share.writeFile("hello.txt", new TextEncoder().encode("hi"));
//! const bytes = await share.readFile("hello.txt", (done, total) => console.log(done, total));
//! for (const e of await share.list("")) console.log(e.name, e.size, e.isDir);
//! ```
//!
//! **The relay sees every byte** it forwards. Unless told otherwise (`encrypt: false`)
//! the browser client therefore encrypts every session the server can encrypt (SMB 3.x);
//! with `encrypt: true` it refuses servers that cannot. Signing alone protects
//! integrity but not confidentiality.
//!
//! Errors reject the Promise with a `PikeError` whose `code` names the failure
//! (`STATUS_LOGON_FAILURE`, `STATUS_BAD_NETWORK_NAME`, `RELAY`, `TIMEOUT`, ...).
#![cfg(target_arch = "wasm32")]

mod api;
mod error;
mod runtime;
mod timer;
mod ws;

pub use api::{ConnectOptions, RemoteFile, Share, connect};
pub use error::PikeError;
pub use runtime::Browser;
pub use timer::{JsTimer, Sleep};
pub use ws::WsStream;
