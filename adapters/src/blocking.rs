//! The blocking client: the same handles with plain methods, and std
//! `Read`/`Write`/`Seek` on files. Each connection's driver runs on its own thread
//! (async-io's reactor); calls block the calling thread until their answer arrives,
//! bounded by the same deadlines as the async API.
//!
//! Oplock and lease breaks (MS-SMB2 2.2.23) are waited for with
//! [`Connection::wait_oplock_break`], [`Connection::wait_lease_break`] and
//! [`Connection::next_break`], each bounded by a timeout; breaks that arrive before
//! anyone waits are kept (see [`BREAK_BACKLOG`](crate::BREAK_BACKLOG)).
//!
//! ```no_run
//! # fn demo() -> Result<(), pike::Error> {
//! let tree = pike::TreeConnect::from_env()?.connect_blocking()?;
//! tree.path("hello.txt").write_bytes(b"hello")?;
//! assert_eq!(tree.path("hello.txt").read_bytes()?, b"hello");
//! # Ok(()) }
//! ```

use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::Arc;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use pike_core::auth::Credentials;
use pike_core::wire::{CreateRequest, CreateResponse, FileId, InfoBuffer, SymlinkReparse};
use pike_core::{Break, ClientConfig, Hook, LeaseKey, Request};

use crate::runtime::async_io::{AsyncIoTimer, tcp};
use crate::runtime::{BoxFuture, Runtime};
use crate::{
    BreakFuture, ConnectionRef, Error, HookGuard, Metadata, OpenOptions, ResponseFuture,
    TreeConnect,
};

/// Runs a future to completion on this thread (async-io's `block_on`).
pub fn block_on<F: Future>(f: F) -> F::Output {
    async_io::block_on(f)
}

/// The blocking "runtime": TCP through async-io, one driver thread per connection.
#[derive(Clone, Copy, Debug, Default)]
pub struct Blocking;

impl Runtime for Blocking {
    type Timer = AsyncIoTimer;

    fn timer(&self) -> AsyncIoTimer {
        AsyncIoTimer
    }

    fn spawn(&self, driver: BoxFuture<'static, ()>) -> std::io::Result<()> {
        std::thread::Builder::new()
            .name("pike-driver".into())
            .spawn(move || async_io::block_on(driver))
            .map(drop)
    }

    fn start(
        &self,
        host: &str,
        port: u16,
        config: Arc<ClientConfig>,
    ) -> BoxFuture<'static, Result<ConnectionRef, Error>> {
        let host = host.to_owned();
        Box::pin(async move {
            let stream = tcp(&host, port).await?;
            Self.start_stream(stream, config)
        })
    }
}

impl TreeConnect {
    /// [`connect`](Self::connect) for blocking code.
    pub fn connect_blocking(&self) -> Result<Tree, Error> {
        block_on(self.connect(Blocking)).map(Tree)
    }

    /// [`connect_stream`](Self::connect_stream) for blocking code.
    pub fn connect_stream_blocking<S>(&self, stream: S) -> Result<Tree, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        block_on(self.connect_stream(Blocking, stream)).map(Tree)
    }
}

/// Settings shared by every connection (see [`crate::Client`]).
#[derive(Clone, Debug)]
pub struct Client(crate::Client<Blocking>);

impl Client {
    /// Default settings and a random ClientGuid.
    pub fn new() -> Self {
        Self(crate::Client::new(Blocking))
    }

    /// Exactly `config`.
    pub fn with_config(config: ClientConfig) -> Self {
        Self(crate::Client::with_config(Blocking, config))
    }

    /// Connects to `host:port` and negotiates.
    pub fn connect(&self, host: &str, port: u16) -> Result<Connection, Error> {
        block_on(self.0.connect(host, port)).map(Connection)
    }

    /// Negotiates over an open byte stream to `server` (see
    /// [`crate::Client::connect_stream`]).
    pub fn connect_stream<S>(&self, server: &str, stream: S) -> Result<Connection, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        block_on(self.0.connect_stream(server, stream)).map(Connection)
    }

    /// Adds a hook to every connection (see [`crate::Client::add_hook`]).
    pub fn add_hook(&self, hook: Hook) -> HookGuard {
        self.0.add_hook(hook)
    }

    /// Logs one line per PDU (see [`crate::Client::trace`]).
    pub fn trace(self, on: bool) -> Self {
        Self(self.0.trace(on))
    }

    /// Writes a pcap file (see [`crate::Client::pcap`]).
    pub fn pcap(self, path: Option<std::path::PathBuf>) -> Self {
        Self(self.0.pcap(path))
    }
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

/// A negotiated connection (see [`crate::Connection`]).
#[derive(Clone, Debug)]
pub struct Connection(pub crate::Connection);

impl Connection {
    /// NTLMv2 inside SPNEGO.
    pub fn login(&self, creds: Credentials) -> Result<Session, Error> {
        block_on(self.0.login(creds)).map(Session)
    }

    /// The shared connection handle.
    pub fn raw(&self) -> &ConnectionRef {
        self.0.raw()
    }

    /// Adds a hook to this connection (see [`crate::Connection::add_hook`]).
    pub fn add_hook(&self, hook: Hook) -> HookGuard {
        self.0.add_hook(hook)
    }

    /// Waits up to `timeout` for the next oplock break of the open `file_id`
    /// (MS-SMB2 2.2.23.1), oldest first; a break that already arrived is returned at
    /// once, even with a zero `timeout`.
    ///
    /// Acknowledging is the connection's [`BreakPolicy`](crate::BreakPolicy): under
    /// the default auto-ack the returned [`Break`] was already answered (see
    /// [`Break::acked`]). Fails with [`Error::Timeout`] when none comes in time (a
    /// later one is then kept for the next waiter), or when the connection is lost.
    pub fn wait_oplock_break(&self, file_id: FileId, timeout: Duration) -> Result<Break, Error> {
        wait_break(self.raw().oplock_break(file_id), timeout, "oplock break")
    }

    /// Waits up to `timeout` for the next break of the lease `key` (MS-SMB2
    /// 2.2.23.2); otherwise as [`wait_oplock_break`](Self::wait_oplock_break).
    pub fn wait_lease_break(
        &self,
        key: impl Into<LeaseKey>,
        timeout: Duration,
    ) -> Result<Break, Error> {
        wait_break(self.raw().lease_break(key), timeout, "lease break")
    }

    /// Waits up to `timeout` for the next break of any open or lease on this
    /// connection; otherwise as [`wait_oplock_break`](Self::wait_oplock_break).
    pub fn next_break(&self, timeout: Duration) -> Result<Break, Error> {
        wait_break(self.raw().next_break(), timeout, "break")
    }
}

/// Blocks on `waiting` for at most `timeout`. The break future is polled first, so a
/// kept break wins over an expired timer; dropping it on timeout gives back nothing
/// it was not handed.
fn wait_break(waiting: BreakFuture, timeout: Duration, what: &'static str) -> Result<Break, Error> {
    block_on(futures_lite::future::or(waiting, async move {
        async_io::Timer::after(timeout).await;
        Err(Error::Timeout(what))
    }))
}

/// An authenticated session (see [`crate::Session`]).
#[derive(Clone, Debug)]
pub struct Session(pub crate::Session);

impl Session {
    /// TREE_CONNECT to `share`.
    pub fn tree_connect(&self, share: &str) -> Result<Tree, Error> {
        block_on(self.0.tree_connect(share)).map(Tree)
    }

    /// The connection this session is on.
    pub fn connection(&self) -> Connection {
        Connection(self.0.connection().clone())
    }

    /// LOGOFF now.
    pub fn logoff(&self) -> Result<(), Error> {
        block_on(self.0.logoff())
    }
}

/// A connected share (see [`crate::Tree`]).
#[derive(Clone, Debug)]
pub struct Tree(pub crate::Tree);

impl Tree {
    /// A path on this tree.
    pub fn path(&self, path: &str) -> Path {
        Path(self.0.path(path))
    }

    /// The share's root directory.
    pub fn root(&self) -> Path {
        Path(self.0.root())
    }

    /// Opens `path` with explicit options.
    pub fn open(&self, path: &str, options: &OpenOptions) -> Result<File, Error> {
        block_on(self.0.open(path, options)).map(File)
    }

    /// CREATE with a caller-built request.
    pub fn create(&self, req: CreateRequest) -> Result<File, Error> {
        block_on(self.0.create(req)).map(File)
    }

    /// A request addressed to this tree.
    pub fn request(&self, body: impl Into<pike_core::wire::RequestBody>) -> Request {
        self.0.request(body)
    }

    /// Submits a request; wait on the future with [`block_on`].
    pub fn submit(&self, request: Request) -> Result<ResponseFuture, Error> {
        self.0.submit(request)
    }

    /// TREE_DISCONNECT now.
    pub fn disconnect(&self) -> Result<(), Error> {
        block_on(self.0.disconnect())
    }

    /// The session.
    pub fn session(&self) -> Session {
        Session(self.0.session().clone())
    }
}

/// A directory entry (see [`crate::DirEntry`]).
#[derive(Clone, Debug)]
pub struct DirEntry {
    /// The entry's path.
    pub path: Path,
    /// Its name.
    pub name: String,
    /// Its metadata, from the listing.
    pub metadata: Metadata,
}

fn entries(v: Vec<crate::DirEntry>) -> Vec<DirEntry> {
    v.into_iter()
        .map(|e| DirEntry {
            path: Path(e.path),
            name: e.name,
            metadata: e.metadata,
        })
        .collect()
}

/// Blocking versions of `crate::Path` methods with the same signatures.
macro_rules! blocking_methods {
    ($($(#[$m:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {$(
        $(#[$m])*
        pub fn $name(&self, $($arg: $ty),*) -> Result<$ret, Error> {
            block_on(self.0.$name($($arg),*))
        }
    )*};
}

/// A path on a tree (see [`crate::Path`]).
#[derive(Clone, Debug)]
pub struct Path(pub crate::Path);

impl Path {
    blocking_methods! {
        /// Times, size and attributes.
        fn stat() -> Metadata;
        /// Like `stat`, about a link itself.
        fn lstat() -> Metadata;
        /// Whether the entry exists.
        fn exists() -> bool;
        /// Whether it is an existing directory.
        fn is_dir() -> bool;
        /// Whether it is an existing plain file.
        fn is_file() -> bool;
        /// Whether it is a symbolic link.
        fn is_symlink() -> bool;
        /// Creates the directory.
        fn mkdir(parents: bool, exist_ok: bool) -> ();
        /// The whole file.
        fn read_bytes() -> Vec<u8>;
        /// Replaces the file's contents.
        fn write_bytes(data: &[u8]) -> ();
        /// The file as UTF-8 text.
        fn read_text() -> String;
        /// Replaces the file's contents with text.
        fn write_text(text: &str) -> ();
        /// Removes the empty directory.
        fn rmdir() -> ();
        /// Removes the file.
        fn unlink(missing_ok: bool) -> ();
        /// Creates the file or updates its write time.
        fn touch(exist_ok: bool) -> ();
        /// Makes this a symbolic link to `target`.
        fn symlink_to(target: &str) -> ();
        /// Makes this a symbolic link with exactly `link`.
        fn symlink_with(link: &SymlinkReparse, directory: bool) -> ();
        /// The link's target.
        fn readlink() -> SymlinkReparse;
    }

    /// A typed information class.
    pub fn query_info<T: InfoBuffer>(&self) -> Result<T, Error> {
        block_on(self.0.query_info::<T>())
    }

    /// The share-relative path.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// `self / other`.
    pub fn join(&self, other: &str) -> Self {
        Self(self.0.join(other))
    }

    /// The last component.
    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// The containing directory.
    pub fn parent(&self) -> Self {
        Self(self.0.parent())
    }

    /// The directory's entries.
    pub fn iterdir(&self) -> Result<Vec<DirEntry>, Error> {
        block_on(self.0.iterdir()).map(entries)
    }

    /// Entries matching a wildcard pattern.
    pub fn glob(&self, pattern: &str) -> Result<Vec<DirEntry>, Error> {
        block_on(self.0.glob(pattern)).map(entries)
    }

    /// Opens with a Python mode string.
    pub fn open(&self, mode: &str) -> Result<File, Error> {
        block_on(self.0.open(mode)).map(File)
    }

    /// Renames to `target`; fails if it exists.
    pub fn rename(&self, target: &str) -> Result<Self, Error> {
        block_on(self.0.rename(target)).map(Self)
    }

    /// Renames to `target`, replacing it.
    pub fn replace(&self, target: &str) -> Result<Self, Error> {
        block_on(self.0.replace(target)).map(Self)
    }

    /// The path with symbolic links followed.
    pub fn resolve(&self) -> Result<Self, Error> {
        block_on(self.0.resolve()).map(Self)
    }

    /// Whether both name the same file.
    pub fn samefile(&self, other: &Self) -> Result<bool, Error> {
        block_on(self.0.samefile(&other.0))
    }
}

/// An open file with std `Read`/`Write`/`Seek` (see [`crate::File`]). Writes are
/// buffered and pipelined; [`close`](Self::close) reports their errors.
#[derive(Debug)]
pub struct File(pub crate::File);

impl File {
    /// The FileId.
    pub fn id(&self) -> FileId {
        self.0.id()
    }

    /// The CREATE response.
    pub fn create_response(&self) -> &CreateResponse {
        self.0.create_response()
    }

    /// Waits up to `timeout` for the next oplock break of this open (see
    /// [`Connection::wait_oplock_break`]).
    pub fn wait_oplock_break(&self, timeout: Duration) -> Result<Break, Error> {
        wait_break(self.0.oplock_break(), timeout, "oplock break")
    }

    /// Reads up to `len` bytes at `offset` (pipelined).
    pub fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, Error> {
        block_on(self.0.read_at(offset, len))
    }

    /// Writes all of `data` at `offset` (pipelined).
    pub fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), Error> {
        block_on(self.0.write_at(offset, data))
    }

    /// Flushes buffered writes, then SMB2 FLUSH.
    pub fn sync_all(&mut self) -> Result<(), Error> {
        block_on(self.0.sync_all())
    }

    /// The end of file, from the server.
    pub fn size(&self) -> Result<u64, Error> {
        block_on(self.0.size())
    }

    /// Truncates or extends the file.
    pub fn set_len(&mut self, size: u64) -> Result<(), Error> {
        block_on(self.0.set_len(size))
    }

    /// A typed information class.
    pub fn query_info<T: InfoBuffer>(&self) -> Result<T, Error> {
        block_on(self.0.query_info::<T>())
    }

    /// Flushes and closes, reporting any error.
    pub fn close(self) -> Result<(), Error> {
        block_on(self.0.close())
    }
}

impl Read for File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        block_on(self.0.read(buf))
    }
}

impl Write for File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        block_on(AsyncWriteExt::write(&mut self.0, buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        block_on(AsyncWriteExt::flush(&mut self.0))
    }
}

impl Seek for File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        block_on(self.0.seek(pos))
    }
}
