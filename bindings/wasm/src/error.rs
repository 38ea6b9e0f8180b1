//! Failures as JavaScript `Error`s named `PikeError`, with a stable `code` to branch on
//! (`"STATUS_LOGON_FAILURE"`, `"TIMEOUT"`, `"RELAY"`, ...) and the NTSTATUS as `status`
//! when the server sent one.

use js_sys::Reflect;
use pike::pike_core::{ConnectionError, RequestError};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_ERROR: &str = r#"
/** What every rejected pike Promise carries. */
export interface PikeError extends Error {
  name: "PikeError";
  /** "STATUS_*" for a server status, else one of: TIMEOUT, RELAY, TRANSPORT,
   *  CONNECTION_LOST, NOT_SMB, AUTH, ENCRYPTION_UNAVAILABLE, SIGNING_UNAVAILABLE,
   *  CONFIG, INVALID_ARGUMENT, USAGE, PROTOCOL. */
  code: string;
  /** The NTSTATUS as a number, when the server answered with one. */
  status?: number;
}
"#;

/// A rejected Promise's value: a JS `Error` with `name`, `code` and maybe `status`.
pub struct PikeError(js_sys::Error);

impl PikeError {
    /// The stable `code`, e.g. `"STATUS_LOGON_FAILURE"` or `"RELAY"`.
    pub fn code(&self) -> String {
        Reflect::get(&self.0, &"code".into())
            .ok()
            .and_then(|c| c.as_string())
            .unwrap_or_default()
    }

    /// The NTSTATUS, when the server answered with one.
    pub fn status(&self) -> Option<u32> {
        Reflect::get(&self.0, &"status".into())
            .ok()
            .and_then(|s| s.as_f64())
            .map(|s| s as u32)
    }
}

impl std::fmt::Display for PikeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), String::from(self.0.message()))
    }
}

impl std::fmt::Debug for PikeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PikeError({self})")
    }
}

impl std::error::Error for PikeError {}

impl From<PikeError> for JsValue {
    fn from(e: PikeError) -> Self {
        e.0.into()
    }
}

fn make(code: &str, message: &str, status: Option<u32>) -> PikeError {
    let e = js_sys::Error::new(message);
    e.set_name("PikeError");
    let _ = Reflect::set(&e, &"code".into(), &code.into());
    if let Some(s) = status {
        let _ = Reflect::set(&e, &"status".into(), &s.into());
    }
    PikeError(e)
}

/// A misuse of the API from JavaScript.
pub(crate) fn usage(message: &str) -> PikeError {
    make("USAGE", message, None)
}

/// A JS exception from a browser API (reading a Blob, ...).
pub(crate) fn from_js(e: JsValue) -> PikeError {
    make("TRANSPORT", &crate::ws::describe(&e), None)
}

/// pike's error with its code.
pub(crate) fn js_error(e: pike::Error) -> PikeError {
    let message = e.to_string();
    if let Some(status) = e.status() {
        let code = status
            .name()
            .map_or_else(|| format!("STATUS_{:#010x}", status.0), |n| n.to_string());
        return make(&code, &message, Some(status.0));
    }
    let code = match &e {
        e if e.is_timeout() => "TIMEOUT",
        pike::Error::Io(io) => match io.kind() {
            // The WebSocket to the relay could not be opened.
            std::io::ErrorKind::ConnectionRefused => "RELAY",
            _ => "TRANSPORT",
        },
        pike::Error::Config { .. } => "CONFIG",
        pike::Error::InvalidArgument(_) => "INVALID_ARGUMENT",
        pike::Error::Usage(_) => "USAGE",
        pike::Error::Request(r) => match r {
            RequestError::ConnectionLost(
                ConnectionError::NotSmb(_) | ConnectionError::Smb1Only,
            ) => "NOT_SMB",
            RequestError::ConnectionLost(_) => "CONNECTION_LOST",
            RequestError::Auth(_) | RequestError::GuestRefused | RequestError::AnonymousRefused => {
                "AUTH"
            }
            RequestError::EncryptionUnavailable => "ENCRYPTION_UNAVAILABLE",
            RequestError::SigningUnavailable => "SIGNING_UNAVAILABLE",
            _ => "PROTOCOL",
        },
        _ => "PROTOCOL",
    };
    make(code, &message, None)
}
