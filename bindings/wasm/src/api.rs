//! The JavaScript API: `connect()` → [`Share`] → [`RemoteFile`]. Every method returns a
//! Promise; failures reject with a `PikeError` (see [`crate::error`]).

use std::cell::RefCell;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};
use js_sys::{Array, Function, Object, Reflect, Uint8Array};
use pike::pike_core::auth::Credentials;
use pike::pike_core::{ClientConfig, EncryptionPolicy};
use pike::{File, Metadata, OpenOptions, Tree, TreeConnect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::{PikeError, js_error, usage};
use crate::runtime::Browser;

/// Transfer piece between progress reports; the file handle pipelines underneath.
const PIECE: usize = 1 << 20;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** How to reach and log on to the share behind the relay. */
export interface ConnectOptions {
  /** Server name used in the protocol (tree path, NETNAME); the relay picks the host. */
  server: string;
  share: string;
  user?: string;
  domain?: string;
  password?: string;
  /** Require signing (default: as the server requires). */
  sign?: boolean;
  /** true: require encryption; false: only if the server requires it;
   *  unset: encrypt whenever the server supports it (the relay sees every byte otherwise). */
  encrypt?: boolean;
  /** Deadline for connecting and for each request, in milliseconds (default 30000). */
  timeoutMs?: number;
}
/** A directory entry or a file's metadata. Times are null when the server gave none. */
export interface Entry {
  name: string;
  isDir: boolean;
  size: number;
  created: Date | null;
  modified: Date | null;
  attributes: number;
}
/** Called after each piece of a transfer with bytes done and the total. */
export type Progress = (done: number, total: number) => void;
"#;

#[wasm_bindgen]
extern "C" {
    /// `ConnectOptions` as passed from JavaScript.
    #[wasm_bindgen(typescript_type = "ConnectOptions")]
    pub type ConnectOptions;
    #[wasm_bindgen(method, getter)]
    fn server(this: &ConnectOptions) -> Option<String>;
    #[wasm_bindgen(method, getter)]
    fn share(this: &ConnectOptions) -> Option<String>;
    #[wasm_bindgen(method, getter)]
    fn user(this: &ConnectOptions) -> Option<String>;
    #[wasm_bindgen(method, getter)]
    fn domain(this: &ConnectOptions) -> Option<String>;
    #[wasm_bindgen(method, getter)]
    fn password(this: &ConnectOptions) -> Option<String>;
    #[wasm_bindgen(method, getter)]
    fn sign(this: &ConnectOptions) -> Option<bool>;
    #[wasm_bindgen(method, getter)]
    fn encrypt(this: &ConnectOptions) -> Option<bool>;
    #[wasm_bindgen(method, getter = timeoutMs)]
    fn timeout_ms(this: &ConnectOptions) -> Option<f64>;

    /// `Entry` (a plain object).
    #[wasm_bindgen(typescript_type = "Entry")]
    pub type Entry;
    /// `Entry[]`.
    #[wasm_bindgen(typescript_type = "Entry[]")]
    pub type EntryList;
    /// An optional `Progress` callback.
    #[wasm_bindgen(typescript_type = "Progress | undefined")]
    pub type Progress;
    /// Data to upload: bytes or a `Blob` (a `File` from an `<input>`), read piecewise.
    #[wasm_bindgen(typescript_type = "Uint8Array | Blob")]
    pub type UploadData;
}

/// Connects through the WebSocket relay at `relayUrl`, logs on and connects the share.
#[wasm_bindgen]
pub async fn connect(
    #[wasm_bindgen(js_name = relayUrl)] relay_url: String,
    options: ConnectOptions,
) -> Result<Share, PikeError> {
    // Browsers resolve relative and http(s) URLs too; a relay address must be explicit.
    if !(relay_url.starts_with("ws://") || relay_url.starts_with("wss://")) {
        return Err(usage("relayUrl must be a ws:// or wss:// URL"));
    }
    let server = options
        .server()
        .ok_or_else(|| usage("options.server is required"))?;
    let share = options
        .share()
        .ok_or_else(|| usage("options.share is required"))?;
    // The relay sees every byte: encrypt whenever the server can, unless told otherwise.
    let mut base = ClientConfig::new(std::sync::Arc::new(pike::pike_core::crypto::RustCrypto));
    base.encryption = match options.encrypt() {
        Some(true) => EncryptionPolicy::Required,
        Some(false) => EncryptionPolicy::IfRequired,
        None => EncryptionPolicy::Preferred,
    };
    let mut tc = TreeConnect::new()
        .server(server)
        .share(share)
        .base_config(base)
        .sign(options.sign().unwrap_or(false));
    if let Some(user) = options.user() {
        let creds = Credentials::new(
            user,
            options.domain().unwrap_or_default(),
            options.password().unwrap_or_default(),
        );
        tc = tc.creds(creds);
    }
    if let Some(ms) = options.timeout_ms() {
        if !(ms.is_finite() && ms > 0.0) {
            return Err(usage("options.timeoutMs must be a positive number"));
        }
        tc = tc.timeout(Duration::from_secs_f64(ms / 1000.0));
    }
    let tree = tc
        .connect(Browser::new(relay_url))
        .await
        .map_err(js_error)?;
    Ok(Share { tree })
}

/// A connected share.
#[wasm_bindgen]
pub struct Share {
    tree: Tree,
}

#[wasm_bindgen]
impl Share {
    /// The negotiated dialect, e.g. `"3.1.1"`.
    #[wasm_bindgen(getter)]
    pub fn dialect(&self) -> String {
        self.tree.session().connection().dialect().to_string()
    }

    /// Whether this session's traffic is encrypted.
    #[wasm_bindgen(getter)]
    pub fn encrypted(&self) -> bool {
        self.tree.session().info().is_some_and(|i| i.encrypt_data)
            || self.tree.info().share_flags.is_encrypt_data()
    }

    /// Whether this session's traffic is signed (or sealed, which implies integrity).
    #[wasm_bindgen(getter)]
    pub fn signed(&self) -> bool {
        self.tree
            .session()
            .info()
            .is_some_and(|i| i.signing_required)
            || self.encrypted()
    }

    /// The entries of directory `path` (`""` is the share root), without `.` and `..`.
    pub async fn list(&self, path: String) -> Result<EntryList, PikeError> {
        let entries = self.tree.path(&path).iterdir().await.map_err(js_error)?;
        let out = Array::new();
        for e in entries {
            out.push(&entry(&e.name, &e.metadata));
        }
        Ok(out.unchecked_into())
    }

    /// Metadata of `path`.
    pub async fn stat(&self, path: String) -> Result<Entry, PikeError> {
        let p = self.tree.path(&path);
        let m = p.stat().await.map_err(js_error)?;
        Ok(entry(p.name(), &m).unchecked_into())
    }

    /// The whole file, pipelined; `onProgress(done, total)` after each piece.
    #[wasm_bindgen(js_name = readFile)]
    pub async fn read_file(
        &self,
        path: String,
        #[wasm_bindgen(js_name = onProgress)] on_progress: Option<Progress>,
    ) -> Result<Uint8Array, PikeError> {
        let mut file = self.tree.path(&path).open("r").await.map_err(js_error)?;
        let total = file.size().await.map_err(js_error)?;
        let mut data = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        let progress = callback(on_progress);
        loop {
            let start = data.len();
            let n = if (start as u64) < total {
                // Exact pieces up to the size: the buffer never outgrows its allocation.
                let want = (total - start as u64).min(PIECE as u64) as usize;
                data.resize(start + want, 0);
                let n = read(&mut file, &mut data[start..]).await?;
                data.truncate(start + n);
                n
            } else {
                // At the size: a small probe tells EOF from a file that grew meanwhile.
                let mut probe = [0; 4096];
                let n = read(&mut file, &mut probe).await?;
                data.extend_from_slice(&probe[..n]);
                n
            };
            if n == 0 {
                break;
            }
            report(&progress, data.len() as u64, total.max(data.len() as u64));
        }
        file.close().await.map_err(js_error)?;
        Ok(Uint8Array::from(&data[..]))
    }

    /// Creates or replaces `path` with `data` (bytes or a Blob, read piecewise), pipelined;
    /// `onProgress(done, total)` after each piece is queued and once all is acknowledged.
    #[wasm_bindgen(js_name = writeFile)]
    pub async fn write_file(
        &self,
        path: String,
        data: UploadData,
        #[wasm_bindgen(js_name = onProgress)] on_progress: Option<Progress>,
    ) -> Result<(), PikeError> {
        let source = Source::new(data)?;
        let total = source.len();
        let mut file = self.tree.path(&path).open("w").await.map_err(js_error)?;
        let progress = callback(on_progress);
        let mut done = 0u64;
        while done < total {
            let end = (done + PIECE as u64).min(total);
            let piece = source.slice(done, end).await?;
            write_all(&mut file, &piece).await?;
            done = end;
            // Queued, not yet acknowledged: the last report comes after close.
            if done < total {
                report(&progress, done, total);
            }
        }
        file.close().await.map_err(js_error)?;
        report(&progress, total, total);
        Ok(())
    }

    /// Creates directory `path`; with `parents`, missing parents too (and no error if it
    /// exists).
    pub async fn mkdir(&self, path: String, parents: Option<bool>) -> Result<(), PikeError> {
        let parents = parents.unwrap_or(false);
        self.tree
            .path(&path)
            .mkdir(parents, parents)
            .await
            .map_err(js_error)
    }

    /// Removes a file or an empty directory.
    pub async fn remove(&self, path: String) -> Result<(), PikeError> {
        let p = self.tree.path(&path);
        let m = p.lstat().await.map_err(js_error)?;
        if m.is_dir() {
            p.rmdir().await
        } else {
            p.unlink(false).await
        }
        .map_err(js_error)
    }

    /// Renames `from` to `to` (share-relative); fails if `to` exists unless `replace`.
    pub async fn rename(
        &self,
        from: String,
        to: String,
        replace: Option<bool>,
    ) -> Result<(), PikeError> {
        let p = self.tree.path(&from);
        if replace.unwrap_or(false) {
            p.replace(&to).await
        } else {
            p.rename(&to).await
        }
        .map(drop)
        .map_err(js_error)
    }

    /// Opens `path` for streaming with a Python-style `mode`: `r`, `w`, `x`, `a`, each
    /// optionally with `+`.
    pub async fn open(&self, path: String, mode: Option<String>) -> Result<RemoteFile, PikeError> {
        let options = OpenOptions::from_mode(mode.as_deref().unwrap_or("r")).map_err(js_error)?;
        let file = self
            .tree
            .path(&path)
            .open_with(&options)
            .await
            .map_err(js_error)?;
        Ok(RemoteFile {
            file: RefCell::new(Some(file)),
        })
    }

    /// Disconnects the share and logs off; later calls fail. Freeing the object (or
    /// dropping every reference) does the same without waiting.
    pub async fn close(&self) -> Result<(), PikeError> {
        let session = self.tree.session().clone();
        self.tree.disconnect().await.map_err(js_error)?;
        session.logoff().await.map_err(js_error)
    }
}

/// An open file: a cursor with read-ahead and write-behind, plus positioned I/O.
#[wasm_bindgen]
pub struct RemoteFile {
    /// Taken while an operation runs, so overlapping calls fail instead of interleaving.
    file: RefCell<Option<File>>,
}

impl RemoteFile {
    fn take(&self) -> Result<File, PikeError> {
        self.file
            .borrow_mut()
            .take()
            .ok_or_else(|| usage("the file is busy (await the previous call) or closed"))
    }

    fn put(&self, file: File) {
        *self.file.borrow_mut() = Some(file);
    }
}

#[wasm_bindgen]
impl RemoteFile {
    /// The file's size on the server.
    pub async fn size(&self) -> Result<f64, PikeError> {
        let file = self.take()?;
        let r = file.size().await;
        self.put(file);
        r.map(|n| n as f64).map_err(js_error)
    }

    /// Up to `maxLen` bytes from the cursor; empty at end of file.
    pub async fn read(
        &self,
        #[wasm_bindgen(js_name = maxLen)] max_len: u32,
    ) -> Result<Uint8Array, PikeError> {
        let mut file = self.take()?;
        let mut buf = vec![0; max_len as usize];
        let r = read(&mut file, &mut buf).await;
        self.put(file);
        buf.truncate(r?);
        Ok(Uint8Array::from(&buf[..]))
    }

    /// `len` bytes at `offset` (fewer at end of file), pipelined; the cursor stays.
    #[wasm_bindgen(js_name = readAt)]
    pub async fn read_at(&self, offset: f64, len: u32) -> Result<Uint8Array, PikeError> {
        let offset = offset_arg(offset)?;
        let file = self.take()?;
        let r = file.read_at(offset, len as usize).await;
        self.put(file);
        Ok(Uint8Array::from(&r.map_err(js_error)?[..]))
    }

    /// Writes all of `data` at the cursor (buffered: errors surface by `flush`/`close`).
    pub async fn write(&self, data: Uint8Array) -> Result<(), PikeError> {
        let mut file = self.take()?;
        let r = write_all(&mut file, &data.to_vec()).await;
        self.put(file);
        r
    }

    /// Writes `data` at `offset`, pipelined, and waits for the server; the cursor stays.
    #[wasm_bindgen(js_name = writeAt)]
    pub async fn write_at(&self, offset: f64, data: Uint8Array) -> Result<(), PikeError> {
        let offset = offset_arg(offset)?;
        let file = self.take()?;
        let r = file.write_at(offset, &data.to_vec()).await;
        self.put(file);
        r.map_err(js_error)
    }

    /// Moves the cursor to `offset` from the start; returns the new position.
    pub async fn seek(&self, offset: f64) -> Result<f64, PikeError> {
        let offset = offset_arg(offset)?;
        let mut file = self.take()?;
        let r = std::future::poll_fn(|cx| {
            std::pin::Pin::new(&mut file).poll_seek(cx, std::io::SeekFrom::Start(offset))
        })
        .await;
        self.put(file);
        r.map(|n| n as f64).map_err(|e| js_error(e.into()))
    }

    /// Waits until every buffered write is acknowledged.
    pub async fn flush(&self) -> Result<(), PikeError> {
        let mut file = self.take()?;
        let r = file.flush().await;
        self.put(file);
        r.map_err(js_error)
    }

    /// Flushes and closes; later calls fail.
    pub async fn close(&self) -> Result<(), PikeError> {
        self.take()?.close().await.map_err(js_error)
    }
}

/// One `AsyncRead` call (read-ahead keeps the credit window full between calls).
async fn read(file: &mut File, buf: &mut [u8]) -> Result<usize, PikeError> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *file).poll_read(cx, buf))
        .await
        .map_err(|e| js_error(e.into()))
}

/// All of `data` through `AsyncWrite` (write-behind: returns once queued).
async fn write_all(file: &mut File, mut data: &[u8]) -> Result<(), PikeError> {
    while !data.is_empty() {
        let n = std::future::poll_fn(|cx| std::pin::Pin::new(&mut *file).poll_write(cx, data))
            .await
            .map_err(|e| js_error(e.into()))?;
        data = &data[n..];
    }
    Ok(())
}

fn offset_arg(offset: f64) -> Result<u64, PikeError> {
    if offset.is_finite() && offset >= 0.0 && offset <= (1u64 << 53) as f64 && offset.fract() == 0.0
    {
        Ok(offset as u64)
    } else {
        Err(usage("offset must be a non-negative integer"))
    }
}

fn callback(p: Option<Progress>) -> Option<Function> {
    p.and_then(|p| p.dyn_into::<Function>().ok())
}

fn report(progress: &Option<Function>, done: u64, total: u64) {
    if let Some(f) = progress {
        // A throwing callback must not break the transfer.
        let _ = f.call2(
            &JsValue::NULL,
            &(done as f64).into(),
            &(total as f64).into(),
        );
    }
}

/// An `Entry` object.
fn entry(name: &str, m: &Metadata) -> JsValue {
    let o = Object::new();
    let date = |ft: u64| -> JsValue {
        match pike::filetime_to_system(ft)
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        {
            Some(d) => js_sys::Date::new(&(d.as_millis() as f64).into()).into(),
            None => JsValue::NULL,
        }
    };
    for (k, v) in [
        ("name", JsValue::from_str(name)),
        ("isDir", m.is_dir().into()),
        ("size", (m.len() as f64).into()),
        ("created", date(m.creation_time)),
        ("modified", date(m.last_write_time)),
        ("attributes", m.file_attributes.into()),
    ] {
        let _ = Reflect::set(&o, &k.into(), &v);
    }
    o.into()
}

/// Upload data: bytes in memory or a Blob read one slice at a time.
enum Source {
    Bytes(Uint8Array),
    Blob(web_sys::Blob),
}

impl Source {
    fn new(data: UploadData) -> Result<Self, PikeError> {
        let data: JsValue = data.into();
        if let Some(b) = data.dyn_ref::<web_sys::Blob>() {
            Ok(Self::Blob(b.clone()))
        } else if let Some(u) = data.dyn_ref::<Uint8Array>() {
            Ok(Self::Bytes(u.clone()))
        } else {
            Err(usage("data must be a Uint8Array or a Blob"))
        }
    }

    fn len(&self) -> u64 {
        match self {
            Self::Bytes(u) => u64::from(u.length()),
            Self::Blob(b) => b.size() as u64,
        }
    }

    async fn slice(&self, start: u64, end: u64) -> Result<Vec<u8>, PikeError> {
        match self {
            Self::Bytes(u) => Ok(u.subarray(start as u32, end as u32).to_vec()),
            Self::Blob(b) => {
                let part = b
                    .slice_with_f64_and_f64(start as f64, end as f64)
                    .map_err(crate::error::from_js)?;
                let buf = JsFuture::from(part.array_buffer())
                    .await
                    .map_err(crate::error::from_js)?;
                Ok(Uint8Array::new(&buf).to_vec())
            }
        }
    }
}
