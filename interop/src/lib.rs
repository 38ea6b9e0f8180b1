//! Drives `pike-core` over a blocking `std::net::TcpStream` against real servers.
//!
//! The server comes from `PIKE_*` variables ([`Target::from_env`]). Tests call
//! [`target_or_skip`], which returns `None` (and prints why) when no server is
//! configured, except under `CI=true`, where a missing server is a failure.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pike_core::auth::{Credentials, FileTime, Spnego};
use pike_core::wire::{
    CloseRequest, CreateRequest, CreateResponse, Dialect, EchoRequest, FileId, ResponseBody,
    SessionId, TreeConnectRequest, TreeId, access, impersonation, share_access,
};
use pike_core::{
    ClientConfig, Connection, EncryptionPolicy, Event, Request, RequestError, RequestId, Response,
};

/// A server to test against, from the environment.
#[derive(Clone, Debug)]
pub struct Target {
    pub server: String,
    pub port: u16,
    pub share: String,
    pub domain: String,
    pub user: String,
    pub password: String,
    pub sign: bool,
    pub encrypt: bool,
    pub max_dialect: Option<Dialect>,
}

pub use pike::{parse_bool, parse_dialect};

impl Target {
    /// Reads `PIKE_SERVER`, `PIKE_PORT`, `PIKE_SHARE`, `PIKE_CREDS` (`DOMAIN\user%pass`),
    /// `PIKE_SIGN`, `PIKE_ENCRYPT`, `PIKE_MAX_DIALECT`. `None` if `PIKE_SERVER` is unset.
    pub fn from_env() -> Result<Option<Self>, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let Some(server) = var("PIKE_SERVER") else {
            return Ok(None);
        };
        let port = match var("PIKE_PORT") {
            Some(p) => p
                .parse()
                .map_err(|_| format!("PIKE_PORT={p:?} is not a port"))?,
            None => 445,
        };
        let creds = var("PIKE_CREDS").ok_or("PIKE_CREDS is not set")?;
        let (account, password) = creds
            .split_once('%')
            .ok_or("PIKE_CREDS needs user%password")?;
        let (domain, user) = account.split_once('\\').unwrap_or(("", account));
        let flag = |k: &str| match var(k) {
            Some(v) => parse_bool(&v).ok_or(format!("{k}={v:?} is not yes/no")),
            None => Ok(false),
        };
        let max_dialect = match var("PIKE_MAX_DIALECT") {
            Some(d) => Some(parse_dialect(&d).ok_or(format!("PIKE_MAX_DIALECT={d:?} unknown"))?),
            None => None,
        };
        Ok(Some(Self {
            server,
            port,
            share: var("PIKE_SHARE").ok_or("PIKE_SHARE is not set")?,
            domain: domain.into(),
            user: user.into(),
            password: password.into(),
            sign: flag("PIKE_SIGN")?,
            encrypt: flag("PIKE_ENCRYPT")?,
            max_dialect,
        }))
    }

    /// A client config matching the target's requirements.
    pub fn config(&self) -> ClientConfig {
        let mut c = ClientConfig::new(pike::default_crypto());
        // The tests acknowledge breaks themselves.
        c.break_policy = pike_core::BreakPolicy::Manual;
        if let Some(max) = self.max_dialect {
            c.dialects.retain(|d| *d <= max);
        }
        c.require_signing = self.sign;
        if self.encrypt {
            c.encryption = EncryptionPolicy::Required;
        }
        c.server_name = self.server.clone();
        c.client_guid = seed()[..16].try_into().unwrap_or_default();
        c.request_timeout = Duration::from_secs(20);
        c
    }

    /// `\\server\share`.
    pub fn unc(&self, share: &str) -> String {
        format!("\\\\{}\\{}", self.server, share)
    }

    /// NTLM credentials inside SPNEGO.
    pub fn auth(&self) -> Box<Spnego> {
        Box::new(Spnego::ntlm(Credentials::new(
            self.user.clone(),
            self.domain.clone(),
            self.password.clone(),
        )))
    }
}

/// The configured target, or `None` with a printed reason; panics under `CI=true`.
pub fn target_or_skip(test: &str) -> Option<Target> {
    match Target::from_env() {
        Ok(Some(t)) => Some(t),
        Ok(None) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: CI=true but PIKE_SERVER is not set: the Samba fixture did not start"
            );
            eprintln!("skipping {test}: set PIKE_SERVER/PIKE_PORT/PIKE_SHARE/PIKE_CREDS to run");
            None
        }
        Err(e) => panic!("{test}: bad PIKE_* environment: {e}"),
    }
}

/// 32 bytes of OS entropy for the connection seed (outside core, where IO belongs).
pub fn seed() -> [u8; 32] {
    let mut s = [0u8; 32];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom")
        && f.read_exact(&mut s).is_ok()
    {
        return s;
    }
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    s[..16].copy_from_slice(&t.to_le_bytes());
    s
}

/// Wall time as FILETIME, for NTLMv2 when the server sends no timestamp.
pub fn wall_time() -> FileTime {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    FileTime::from_unix(d.as_secs(), d.subsec_nanos())
}

/// A blocking driver: one `Connection` over one `TcpStream`.
pub struct Driver {
    pub conn: Connection,
    sock: TcpStream,
    out: Vec<u8>,
    done: HashMap<RequestId, Result<Response, RequestError>>,
    pub breaks: Vec<Response>,
    pub interims: Vec<RequestId>,
    pub lost: Option<pike_core::ConnectionError>,
}

impl Driver {
    /// Connects TCP with `TCP_NODELAY` and wraps a fresh connection.
    pub fn connect(addr: (&str, u16), config: ClientConfig) -> io::Result<Self> {
        let sock = TcpStream::connect(addr)?;
        sock.set_nodelay(true)?;
        let conn = Connection::new(Arc::new(config), Instant::now(), seed());
        Ok(Self {
            conn,
            sock,
            out: Vec::new(),
            done: HashMap::new(),
            breaks: Vec::new(),
            interims: Vec::new(),
            lost: None,
        })
    }

    /// Writes out everything the connection wants to send.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.clear();
        while self
            .conn
            .poll_transmit(Instant::now(), &mut self.out)
            .is_some()
        {}
        if !self.out.is_empty() {
            self.sock.write_all(&self.out)?;
        }
        Ok(())
    }

    fn drain_events(&mut self) {
        while let Some(e) = self.conn.poll_event() {
            match e {
                Event::Completed { id, result } => {
                    self.done.insert(id, result);
                }
                Event::Interim { id, .. } => self.interims.push(id),
                Event::Break(b) => self.breaks.push(b.response),
                Event::ConnectionLost(e) => self.lost = Some(e),
                _ => {}
            }
        }
    }

    /// Runs the loop until `id` completes (the core's deadlines bound the wait).
    pub fn wait(&mut self, id: RequestId) -> Result<Response, RequestError> {
        let mut buf = vec![0u8; 1 << 20];
        loop {
            self.drain_events();
            if let Some(r) = self.done.remove(&id) {
                return r;
            }
            if let Err(e) = self.flush() {
                panic!("socket write failed: {e}");
            }
            self.drain_events();
            if let Some(r) = self.done.remove(&id) {
                return r;
            }
            let now = Instant::now();
            let timeout = self
                .conn
                .poll_timeout()
                .map(|t| {
                    t.saturating_duration_since(now)
                        .max(Duration::from_millis(1))
                })
                .unwrap_or(Duration::from_secs(60));
            self.sock.set_read_timeout(Some(timeout)).ok();
            match self.sock.read(&mut buf) {
                Ok(0) => self.conn.handle_eof(Instant::now()),
                Ok(n) => self.conn.handle_input(Instant::now(), &buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    self.conn.handle_timeout(Instant::now());
                }
                Err(_) => self.conn.handle_eof(Instant::now()),
            }
        }
    }

    /// Submits and waits.
    pub fn call(&mut self, request: Request) -> Result<Response, RequestError> {
        let id = self.conn.submit(Instant::now(), request).expect("submit");
        self.wait(id)
    }

    /// Negotiates and authenticates with the target's credentials.
    pub fn logon(target: &Target) -> Result<(Self, SessionId), RequestError> {
        let mut d = Self::connect((&target.server, target.port), target.config()).expect("connect");
        let id = d.conn.negotiate(Instant::now()).expect("negotiate");
        d.wait(id)?;
        let id = d
            .conn
            .session_setup(Instant::now(), target.auth(), Some(wall_time()))
            .expect("session_setup");
        let r = d.wait(id)?;
        let sid = r.header.session_id;
        Ok((d, sid))
    }
}

/// A CREATE asking for read, write and delete access with full sharing.
pub fn create_request(name: &str, disposition: u32, options: u32) -> CreateRequest {
    CreateRequest {
        impersonation_level: impersonation::IMPERSONATION,
        desired_access: access::GENERIC_READ | access::GENERIC_WRITE | access::DELETE,
        share_access: share_access::ALL,
        create_disposition: disposition,
        create_options: options,
        name: name.into(),
        ..Default::default()
    }
}

/// Deterministic pseudo-random bytes (xorshift), for data that must survive a round trip.
pub fn pattern(len: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

impl Driver {
    /// TREE_CONNECT to `\\server\share`.
    pub fn tree_connect(
        &mut self,
        t: &Target,
        sid: SessionId,
        share: &str,
    ) -> Result<TreeId, RequestError> {
        let req = TreeConnectRequest {
            path: t.unc(share),
            ..Default::default()
        };
        Ok(self.call(Request::new(req).session(sid))?.header.tree_id)
    }

    /// CREATE, returning the whole CREATE response.
    pub fn create(
        &mut self,
        sid: SessionId,
        tid: TreeId,
        req: CreateRequest,
    ) -> Result<CreateResponse, RequestError> {
        match self.call(Request::new(req).tree(sid, tid))?.body {
            ResponseBody::Create(c) => Ok(c),
            other => panic!("CREATE answered with {other:?}"),
        }
    }

    /// CLOSE.
    pub fn close(
        &mut self,
        sid: SessionId,
        tid: TreeId,
        file_id: FileId,
    ) -> Result<(), RequestError> {
        self.call(
            Request::new(CloseRequest {
                file_id,
                ..Default::default()
            })
            .tree(sid, tid),
        )
        .map(drop)
    }

    /// Runs ECHO round trips until `done(self)` holds or `timeout` passes; returns `done`.
    /// Used to wait for server-initiated messages (interims, breaks) with a deadline.
    pub fn drive_until(
        &mut self,
        sid: SessionId,
        timeout: Duration,
        done: impl Fn(&Self) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        while !done(self) && Instant::now() < deadline {
            let echo = self
                .conn
                .submit(Instant::now(), Request::new(EchoRequest).session(sid))
                .expect("submit ECHO");
            self.wait(echo).expect("ECHO");
        }
        done(self)
    }
}

/// A related compound CREATE → `middle` (acting on [`FileId::RELATED`]) → CLOSE
/// (MS-SMB2 3.2.4.1.4); `middle` may be empty for a bare create+close.
pub fn open_do_close(
    sid: SessionId,
    tid: TreeId,
    create: CreateRequest,
    middle: Vec<pike_core::wire::RequestBody>,
) -> pike_core::Compound {
    let chain = pike_core::Compound::new().push(Request::new(create).tree(sid, tid));
    let chain = middle
        .into_iter()
        .fold(chain, |c, b| c.related(Request::new(b).tree(sid, tid)));
    let close = CloseRequest {
        file_id: FileId::RELATED,
        ..Default::default()
    };
    chain.related(Request::new(close).tree(sid, tid))
}
