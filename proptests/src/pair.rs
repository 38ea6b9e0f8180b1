//! A client [`Connection`] and a [`ModelServer`] joined by in-memory pipes, with
//! virtual time (after quinn-proto's `tests/util.rs` `Pair`).
//!
//! Each direction is a [`Pipe`]: bytes arrive in order and intact, but split and
//! coalesced at seeded random points, as TCP may deliver them. Time only moves when a
//! test (or [`Pair::wait`], once nothing else can happen) moves it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use pike_core::auth::{Credentials, FileTime, Spnego};
use pike_core::crypto::RustCrypto;
use pike_core::wire::{
    CloseRequest, CreateRequest, CreateResponse, Dialect, FileId, LogoffRequest, ReadRequest,
    ResponseBody, SessionId, TreeConnectRequest, TreeId, WriteRequest, access, create_options,
    file_attributes, impersonation, share_access,
};
use pike_core::{
    Break, BreakPolicy, ClientConfig, Connection, ConnectionError, Event, Instant, Request,
    RequestError, RequestId, Response,
};

use crate::model_server::{ModelServer, ServerConfig};

/// The seed every pair gives [`Connection::new`], so runs are reproducible.
pub const CLIENT_SEED: [u8; 32] = [0x11; 32];

/// Server name used in UNC paths.
pub const SERVER_NAME: &str = "model";

/// Most steps [`Pair::drive`] and [`Pair::wait`] take before declaring a hang.
pub const STEP_LIMIT: usize = 200_000;

/// xorshift64*: small, seeded, good enough to pick chunk sizes.
#[derive(Clone, Debug)]
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One direction of a byte stream: in order, lossless, randomly chunked.
#[derive(Clone, Debug)]
pub struct Pipe {
    data: Vec<u8>,
    pos: usize,
    rng: XorShift,
    /// Bytes delivered so far.
    pub delivered: u64,
    /// Chunks delivered so far.
    pub chunks: u64,
}

impl Pipe {
    /// An empty pipe whose chunking follows `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            data: Vec::new(),
            pos: 0,
            rng: XorShift::new(seed),
            delivered: 0,
            chunks: 0,
        }
    }

    /// Bytes written but not yet delivered.
    pub fn pending(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Whether every byte was delivered.
    pub fn is_empty(&self) -> bool {
        self.pending() == 0
    }

    /// Writes bytes into the pipe.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos == self.data.len() {
            self.data.clear();
            self.pos = 0;
        }
        self.data.extend_from_slice(bytes);
    }

    /// The next chunk to deliver: tiny, MTU-sized or large (which coalesces messages).
    pub fn next_chunk(&mut self) -> Option<&[u8]> {
        self.chunk(usize::MAX)
    }

    /// Delivers the next chunk, at most `buf.len()` bytes of it, into `buf` (as a
    /// socket read would); returns its length.
    pub fn read_into(&mut self, buf: &mut [u8]) -> usize {
        let chunk = self.chunk(buf.len()).unwrap_or_default();
        buf[..chunk.len()].copy_from_slice(chunk);
        chunk.len()
    }

    fn chunk(&mut self, limit: usize) -> Option<&[u8]> {
        let left = self.pending();
        if left == 0 || limit == 0 {
            return None;
        }
        let max = match self.rng.below(8) {
            0 => 1 + self.rng.below(16),
            1..=3 => 1 + self.rng.below(1500),
            4..=6 => 1 + self.rng.below(256 * 1024),
            _ => left as u64,
        } as usize;
        let n = max.min(left).min(limit);
        let start = self.pos;
        self.pos += n;
        self.delivered += n as u64;
        self.chunks += 1;
        Some(&self.data[start..start + n])
    }

    /// Whether to stop delivering for this step (so later bytes coalesce).
    fn pause(&mut self) -> bool {
        self.rng.below(4) == 0
    }
}

/// What the client reported, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// NEGOTIATE completed.
    Negotiated(Dialect),
    /// A request went async.
    Interim(RequestId),
    /// A request completed; `true` if successfully.
    Completed(RequestId, bool),
    /// An unsolicited break.
    Break,
    /// The connection failed.
    ConnectionLost(ConnectionError),
}

/// A client and a model server joined by pipes, under virtual time.
pub struct Pair {
    pub client: Connection,
    pub server: ModelServer,
    /// Virtual now: the instant of creation plus every `advance`.
    pub now: Instant,
    /// The real instant taken once at creation.
    pub epoch: Instant,
    /// Client to server.
    pub c2s: Pipe,
    /// Server to client.
    pub s2c: Pipe,
    /// Completed requests not yet taken by [`wait`](Self::wait).
    pub done: HashMap<RequestId, Result<Response, RequestError>>,
    /// Every event, in order.
    pub log: Vec<Record>,
    /// Breaks received.
    pub breaks: Vec<Break>,
    /// Why the connection was lost, if it was.
    pub lost: Option<ConnectionError>,
    eof_delivered: bool,
    buf: Vec<u8>,
}

impl core::fmt::Debug for Pair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pair")
            .field("client", &self.client)
            .field("server", &self.server)
            .field("elapsed", &(self.now - self.epoch))
            .field("lost", &self.lost)
            .finish_non_exhaustive()
    }
}

/// Wall time the virtual clock starts at (for NTLM and the server's SystemTime).
fn base_filetime() -> u64 {
    FileTime::from_unix(1_700_000_000, 0).0
}

impl Pair {
    /// A client config suited to the model server: every dialect, default policies, breaks
    /// acknowledged by hand.
    pub fn client_config() -> ClientConfig {
        let mut c = ClientConfig::new(Arc::new(RustCrypto));
        c.server_name = SERVER_NAME.into();
        c.client_guid = [0xC1; 16];
        // The tests acknowledge breaks themselves unless they opt in to a policy.
        c.break_policy = BreakPolicy::Manual;
        c
    }

    /// A pair whose pipes chunk according to `pipe_seed`.
    pub fn new(client: ClientConfig, server: ServerConfig, pipe_seed: u64) -> Self {
        // The only real clock read: virtual time is this plus durations.
        let epoch = Instant::now();
        let mut server = ModelServer::new(server);
        server.set_time(base_filetime());
        Self {
            client: Connection::new(Arc::new(client), epoch, CLIENT_SEED),
            server,
            now: epoch,
            epoch,
            c2s: Pipe::new(pipe_seed),
            s2c: Pipe::new(pipe_seed ^ 0xA5A5_5A5A),
            done: HashMap::new(),
            log: Vec::new(),
            breaks: Vec::new(),
            lost: None,
            eof_delivered: false,
            buf: Vec::new(),
        }
    }

    /// The default pair: default client and server configs.
    pub fn default_with_seed(pipe_seed: u64) -> Self {
        Self::new(Self::client_config(), ServerConfig::default(), pipe_seed)
    }

    /// Virtual wall time now, as FILETIME.
    pub fn wall_time(&self) -> FileTime {
        let d = self.now - self.epoch;
        FileTime(base_filetime() + (d.as_nanos() / 100) as u64)
    }

    /// Moves bytes both ways once and collects events. Returns whether anything happened.
    pub fn step(&mut self) -> bool {
        let mut progress = false;
        self.buf.clear();
        while self.client.poll_transmit(self.now, &mut self.buf).is_some() {}
        if !self.buf.is_empty() {
            self.c2s.push(&self.buf);
            progress = true;
        }
        while let Some(chunk) = self.c2s.next_chunk() {
            self.server.handle_input(chunk);
            progress = true;
            if self.c2s.pause() {
                break;
            }
        }
        self.buf.clear();
        if self.server.poll_transmit(&mut self.buf).is_some() {
            self.s2c.push(&self.buf);
            progress = true;
        }
        while let Some(chunk) = self.s2c.next_chunk() {
            self.client.handle_input(self.now, chunk);
            progress = true;
            if self.s2c.pause() {
                break;
            }
        }
        if self.server.is_closed() && self.s2c.is_empty() && !self.eof_delivered {
            self.eof_delivered = true;
            self.client.handle_eof(self.now);
            progress = true;
        }
        progress |= self.drain_events();
        progress || !self.c2s.is_empty() || !self.s2c.is_empty() || self.server.can_flush()
    }

    /// Steps until nothing moves without time passing (bounded by [`STEP_LIMIT`]);
    /// responses the server delays in virtual time stay held.
    pub fn drive(&mut self) {
        for _ in 0..STEP_LIMIT {
            if !self.step() {
                return;
            }
        }
        panic!("drive: no quiescence after {STEP_LIMIT} steps: {self:?}");
    }

    /// Moves virtual time forward and fires the client's timers.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        let ft = self.wall_time().0;
        self.server.set_time(ft);
        self.client.handle_timeout(self.now);
        self.drain_events();
    }

    /// Drives until `id` completes. When nothing can move, jumps virtual time to the
    /// client's next deadline (as a real driver would sleep).
    pub fn wait(&mut self, id: RequestId) -> Result<Response, RequestError> {
        for _ in 0..STEP_LIMIT {
            if let Some(r) = self.done.remove(&id) {
                return r;
            }
            if !self.step() {
                match self.next_wakeup() {
                    Some(t) => {
                        let by = t.saturating_duration_since(self.now);
                        self.advance(by);
                    }
                    None => panic!("{id:?} can never complete: {self:?}"),
                }
            }
        }
        panic!("wait({id:?}): no completion after {STEP_LIMIT} steps: {self:?}");
    }

    /// The next instant anything is due: a client deadline or a response the server
    /// delays ([`ServerPolicy::delay_ms`](crate::ServerPolicy::delay_ms)).
    pub fn next_wakeup(&self) -> Option<Instant> {
        let server = self.server.next_release().map(|ft| {
            let after = ft.saturating_sub(base_filetime());
            self.epoch + Duration::from_nanos(after.saturating_mul(100))
        });
        match (self.client.poll_timeout(), server) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Moves the client's pending events into `log`, `done`, `breaks` and `lost`.
    pub fn drain_events(&mut self) -> bool {
        let mut any = false;
        while let Some(e) = self.client.poll_event() {
            any = true;
            match e {
                Event::Completed { id, result } => {
                    self.log.push(Record::Completed(id, result.is_ok()));
                    self.done.insert(id, result);
                }
                Event::Interim { id, .. } => self.log.push(Record::Interim(id)),
                Event::Negotiated { dialect } => self.log.push(Record::Negotiated(dialect)),
                Event::Break(b) => {
                    self.log.push(Record::Break);
                    self.breaks.push(b);
                }
                Event::ConnectionLost(e) => {
                    self.log.push(Record::ConnectionLost(e.clone()));
                    self.lost = Some(e);
                }
                _ => {}
            }
        }
        any
    }

    /// `ConnectionLost` events seen so far.
    pub fn lost_count(&self) -> usize {
        self.log
            .iter()
            .filter(|r| matches!(r, Record::ConnectionLost(_)))
            .count()
    }

    // ----- helpers: one request each, submitted and waited for -----

    /// Submits a request (panics on a usage error).
    pub fn submit(&mut self, request: Request) -> RequestId {
        match self.client.submit(self.now, request) {
            Ok(id) => id,
            Err(e) => panic!("submit: {e}"),
        }
    }

    /// Submits and waits.
    pub fn call(&mut self, request: Request) -> Result<Response, RequestError> {
        let id = self.submit(request);
        self.wait(id)
    }

    /// NEGOTIATE; returns the dialect.
    pub fn negotiate(&mut self) -> Result<Dialect, RequestError> {
        let id = self.client.negotiate(self.now).expect("negotiate");
        self.wait(id)?;
        Ok(self.client.dialect().expect("negotiated"))
    }

    /// NTLMv2 inside SPNEGO, with the server's domain.
    pub fn logon(&mut self, user: &str, password: &str) -> Result<SessionId, RequestError> {
        let domain = self.server.config().domain.clone();
        let creds = Credentials::new(user, domain, password).with_workstation("PAIR");
        let wall = self.wall_time();
        let id = self
            .client
            .session_setup(self.now, Box::new(Spnego::ntlm(creds)), Some(wall))
            .expect("session_setup");
        Ok(self.wait(id)?.header.session_id)
    }

    /// NEGOTIATE then logon with the server's configured credentials.
    pub fn connect(&mut self) -> SessionId {
        self.negotiate().expect("negotiate");
        let (u, p) = {
            let c = self.server.config();
            (c.user.clone(), c.password.clone())
        };
        self.logon(&u, &p).expect("logon")
    }

    /// TREE_CONNECT to `\\model\share`.
    pub fn tree_connect(
        &mut self,
        session: SessionId,
        share: &str,
    ) -> Result<TreeId, RequestError> {
        let body = TreeConnectRequest {
            path: format!("\\\\{SERVER_NAME}\\{share}"),
            ..TreeConnectRequest::default()
        };
        Ok(self
            .call(Request::new(body).session(session))?
            .header
            .tree_id)
    }

    /// A read/write/delete CREATE of a file with the given disposition.
    pub fn create_request(name: &str, disposition: u32) -> CreateRequest {
        CreateRequest {
            impersonation_level: impersonation::IMPERSONATION,
            desired_access: access::GENERIC_READ | access::GENERIC_WRITE | access::DELETE,
            file_attributes: file_attributes::NORMAL,
            share_access: share_access::ALL,
            create_disposition: disposition,
            create_options: create_options::NON_DIRECTORY_FILE,
            name: name.into(),
            ..CreateRequest::default()
        }
    }

    /// CREATE with a full request; returns the response body.
    pub fn create_with(
        &mut self,
        session: SessionId,
        tree: TreeId,
        req: CreateRequest,
    ) -> Result<CreateResponse, RequestError> {
        let r = self.call(Request::new(req).tree(session, tree))?;
        match r.body {
            ResponseBody::Create(c) => Ok(c),
            other => panic!("CREATE answered with {other:?}"),
        }
    }

    /// CREATE; returns the FileId.
    pub fn create(
        &mut self,
        session: SessionId,
        tree: TreeId,
        name: &str,
        disposition: u32,
    ) -> Result<FileId, RequestError> {
        let req = Self::create_request(name, disposition);
        Ok(self.create_with(session, tree, req)?.file_id)
    }

    /// One WRITE; returns the count written.
    pub fn write(
        &mut self,
        session: SessionId,
        tree: TreeId,
        file: FileId,
        offset: u64,
        data: &[u8],
    ) -> Result<u32, RequestError> {
        let r = self.call(Self::write_request(session, tree, file, offset, data))?;
        match r.body {
            ResponseBody::Write(w) => Ok(w.count),
            other => panic!("WRITE answered with {other:?}"),
        }
    }

    /// A WRITE of `data` at `offset`.
    pub fn write_request(
        session: SessionId,
        tree: TreeId,
        file: FileId,
        offset: u64,
        data: &[u8],
    ) -> Request {
        let body = WriteRequest {
            offset,
            file_id: file,
            data: Bytes::copy_from_slice(data),
            ..WriteRequest::default()
        };
        Request::new(body).tree(session, tree)
    }

    /// A READ of `length` bytes at `offset`.
    pub fn read_request(
        session: SessionId,
        tree: TreeId,
        file: FileId,
        offset: u64,
        length: u32,
    ) -> Request {
        let body = ReadRequest {
            length,
            offset,
            file_id: file,
            ..ReadRequest::default()
        };
        Request::new(body).tree(session, tree)
    }

    /// One READ; returns the data.
    pub fn read(
        &mut self,
        session: SessionId,
        tree: TreeId,
        file: FileId,
        offset: u64,
        length: u32,
    ) -> Result<Bytes, RequestError> {
        let r = self.call(Self::read_request(session, tree, file, offset, length))?;
        match r.body {
            ResponseBody::Read(r) => Ok(r.data),
            other => panic!("READ answered with {other:?}"),
        }
    }

    /// Writes `data` at offset 0 in `chunk`-sized WRITEs, all submitted before any is
    /// waited for. Returns how many requests were used.
    pub fn write_pipelined(
        &mut self,
        session: SessionId,
        tree: TreeId,
        file: FileId,
        data: &[u8],
        chunk: usize,
    ) -> Result<usize, RequestError> {
        let ids: Vec<(RequestId, usize)> = data
            .chunks(chunk)
            .enumerate()
            .map(|(i, c)| {
                let req = Self::write_request(session, tree, file, (i * chunk) as u64, c);
                (self.submit(req), c.len())
            })
            .collect();
        let n = ids.len();
        for (id, len) in ids {
            let r = self.wait(id)?;
            match r.body {
                ResponseBody::Write(w) => assert_eq!(w.count as usize, len, "short write"),
                other => panic!("WRITE answered with {other:?}"),
            }
        }
        Ok(n)
    }

    /// Reads `len` bytes from offset 0 in `chunk`-sized pipelined READs.
    pub fn read_pipelined(
        &mut self,
        session: SessionId,
        tree: TreeId,
        file: FileId,
        len: usize,
        chunk: usize,
    ) -> Result<Vec<u8>, RequestError> {
        let mut ids = Vec::new();
        let mut off = 0;
        while off < len {
            let n = chunk.min(len - off);
            ids.push(self.submit(Self::read_request(
                session, tree, file, off as u64, n as u32,
            )));
            off += n;
        }
        let mut out = Vec::with_capacity(len);
        for id in ids {
            match self.wait(id)?.body {
                ResponseBody::Read(r) => out.extend_from_slice(&r.data),
                other => panic!("READ answered with {other:?}"),
            }
        }
        Ok(out)
    }

    /// CLOSE.
    pub fn close(
        &mut self,
        session: SessionId,
        tree: TreeId,
        file: FileId,
    ) -> Result<(), RequestError> {
        let body = CloseRequest {
            flags: CloseRequest::POSTQUERY_ATTRIB,
            file_id: file,
        };
        self.call(Request::new(body).tree(session, tree)).map(drop)
    }

    /// LOGOFF.
    pub fn logoff(&mut self, session: SessionId) -> Result<(), RequestError> {
        self.call(Request::new(LogoffRequest).session(session))
            .map(drop)
    }
}
