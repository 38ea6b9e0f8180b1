//! Recorded client states that can be restored cheaply, for fuzzing.
//!
//! [`Connection`] is not `Clone` (its sessions own boxed authenticators and keys), so a
//! logged-on client cannot be copied. It is deterministic, though: the same seed, the
//! same `now`, the same calls and the same input bytes give the same state. A
//! [`Recorder`] runs a client against the [`ModelServer`] in lockstep and writes down
//! every call the client saw; [`Snapshot::restore`] replays that script against a fresh
//! client without the server. The authenticator is replaced by one that returns the
//! recorded tokens and session key, so a restore does no NTLM work: only the client's
//! own decoding, key derivation and signature checks run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pike_core::auth::{
    AuthContext, AuthError, AuthStep, Authenticator, Credentials, FileTime, Spnego,
};
use pike_core::wire::{SessionId, TreeConnectRequest};
use pike_core::{
    ClientConfig, Connection, Event, Instant, Request, RequestError, RequestId, Response,
};

use crate::model_server::{ModelServer, ServerConfig};
use crate::pair::{CLIENT_SEED, SERVER_NAME};

/// One call the client saw, in order.
#[derive(Clone, Debug)]
enum Action {
    Negotiate,
    SessionSetup,
    Submit(Box<Request>),
    /// `poll_transmit` until `None`; the bytes it produced (checked on restore).
    Transmit(Vec<u8>),
    Input(Vec<u8>),
}

/// What one authenticator step returned, and the session key after it.
#[derive(Clone, Debug)]
struct AuthRecord {
    step: Result<AuthStep, AuthError>,
    key: Option<Vec<u8>>,
}

/// Wraps a real authenticator and records its answers. The inner mechanism draws from a
/// generator forked off the connection's, so a replay consumes the connection's
/// generator exactly as much (one fork per step).
#[derive(Debug)]
struct RecordingAuth {
    inner: Box<dyn Authenticator>,
    log: Arc<Mutex<Vec<AuthRecord>>>,
}

impl Authenticator for RecordingAuth {
    fn step(
        &mut self,
        ctx: &mut AuthContext<'_>,
        server_token: &[u8],
    ) -> Result<AuthStep, AuthError> {
        let mut rng = ctx.rng.fork();
        let mut sub = AuthContext {
            rng: &mut rng,
            wall_time: ctx.wall_time,
        };
        let step = self.inner.step(&mut sub, server_token);
        let key = self.inner.session_key().map(<[u8]>::to_vec);
        // Invariant: nobody else holds the lock while a step runs.
        self.log.lock().expect("auth log").push(AuthRecord {
            step: step.clone(),
            key,
        });
        step
    }

    fn session_key(&self) -> Option<&[u8]> {
        self.inner.session_key()
    }
}

/// Plays recorded authenticator answers back, ignoring the server's tokens.
#[derive(Debug)]
struct ReplayAuth {
    steps: Vec<AuthRecord>,
    next: usize,
    key: Option<Vec<u8>>,
}

impl Authenticator for ReplayAuth {
    fn step(&mut self, ctx: &mut AuthContext<'_>, _token: &[u8]) -> Result<AuthStep, AuthError> {
        drop(ctx.rng.fork());
        let r = self
            .steps
            .get(self.next)
            .cloned()
            .ok_or(AuthError::UnexpectedToken)?;
        self.next += 1;
        self.key = r.key;
        r.step
    }

    fn session_key(&self) -> Option<&[u8]> {
        self.key.as_deref()
    }
}

/// A client and a model server in lockstep (no chunking, no virtual time), writing
/// down everything the client saw.
pub struct Recorder {
    client: Connection,
    server: ModelServer,
    config: Arc<ClientConfig>,
    now: Instant,
    wall: FileTime,
    script: Vec<Action>,
    auth_logs: Vec<Arc<Mutex<Vec<AuthRecord>>>>,
    done: HashMap<RequestId, Result<Response, RequestError>>,
}

impl core::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Recorder")
            .field("client", &self.client)
            .field("actions", &self.script.len())
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// A fresh client (seeded with [`CLIENT_SEED`]) and server.
    pub fn new(client: ClientConfig, server: ServerConfig) -> Self {
        let now = Instant::now();
        let wall = FileTime::from_unix(1_700_000_000, 0);
        let config = Arc::new(client);
        let mut server = ModelServer::new(server);
        server.set_time(wall.0);
        Self {
            client: Connection::new(config.clone(), now, CLIENT_SEED),
            server,
            config,
            now,
            wall,
            script: Vec::new(),
            auth_logs: Vec::new(),
            done: HashMap::new(),
        }
    }

    fn transmit(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while self.client.poll_transmit(self.now, &mut out).is_some() {}
        self.script.push(Action::Transmit(out.clone()));
        out
    }

    fn drain(&mut self) {
        while let Some(e) = self.client.poll_event() {
            if let Event::Completed { id, result } = e {
                self.done.insert(id, result);
            }
        }
    }

    /// Exchanges bytes until neither side has anything to say.
    fn pump(&mut self) {
        loop {
            let out = self.transmit();
            if !out.is_empty() {
                self.server.handle_input(&out);
            }
            let mut back = Vec::new();
            self.server.poll_transmit(&mut back);
            self.drain();
            if back.is_empty() && out.is_empty() {
                return;
            }
            if !back.is_empty() {
                self.client.handle_input(self.now, &back);
                self.script.push(Action::Input(back));
            }
        }
    }

    fn take(&mut self, id: RequestId) -> Result<Response, RequestError> {
        self.pump();
        self.done
            .remove(&id)
            .unwrap_or_else(|| panic!("{id:?} did not complete in lockstep: {self:?}"))
    }

    /// NEGOTIATE, then an NTLM logon with the server's credentials.
    pub fn connect(&mut self) -> SessionId {
        let id = self.client.negotiate(self.now).expect("negotiate");
        self.script.push(Action::Negotiate);
        self.take(id).expect("NEGOTIATE");
        let (user, domain, password) = {
            let c = self.server.config();
            (c.user.clone(), c.domain.clone(), c.password.clone())
        };
        let creds = Credentials::new(user, domain, password).with_workstation("SNAP");
        let log = Arc::new(Mutex::new(Vec::new()));
        self.auth_logs.push(log.clone());
        let auth = RecordingAuth {
            inner: Box::new(Spnego::ntlm(creds)),
            log,
        };
        let id = self
            .client
            .session_setup(self.now, Box::new(auth), Some(self.wall))
            .expect("session_setup");
        self.script.push(Action::SessionSetup);
        self.take(id).expect("logon").header.session_id
    }

    /// Submits a request and sends it, without delivering any answer.
    pub fn submit(&mut self, request: Request) -> RequestId {
        let id = self
            .client
            .submit(self.now, request.clone())
            .expect("submit");
        self.script.push(Action::Submit(Box::new(request)));
        let out = self.transmit();
        self.server.handle_input(&out);
        id
    }

    /// Submits a request and runs the exchange until it completes.
    pub fn call(&mut self, request: Request) -> Result<Response, RequestError> {
        let id = self
            .client
            .submit(self.now, request.clone())
            .expect("submit");
        self.script.push(Action::Submit(Box::new(request)));
        self.take(id)
    }

    /// TREE_CONNECT to `share`.
    pub fn tree_connect(&mut self, session: SessionId, share: &str) -> pike_core::wire::TreeId {
        let body = TreeConnectRequest {
            path: format!("\\\\{SERVER_NAME}\\{share}"),
            ..TreeConnectRequest::default()
        };
        self.call(Request::new(body).session(session))
            .expect("tree connect")
            .header
            .tree_id
    }

    /// The server, e.g. to seed files before a call.
    pub fn server_mut(&mut self) -> &mut ModelServer {
        &mut self.server
    }

    /// Stops recording. The client as it is now is what [`Snapshot::restore`] rebuilds.
    /// The server's answers to requests sent with [`submit`](Self::submit) are kept
    /// undelivered in the snapshot.
    pub fn finish(mut self) -> Snapshot {
        self.drain();
        let mut undelivered = Vec::new();
        while self.server.poll_transmit(&mut undelivered).is_some() {}
        let auth = self
            .auth_logs
            .iter()
            .map(|l| l.lock().expect("auth log").clone())
            .collect();
        Snapshot {
            config: self.config,
            now: self.now,
            wall: self.wall,
            script: self.script,
            auth,
            undelivered,
        }
    }
}

/// A recorded client state; see the module docs.
#[derive(Clone, Debug)]
pub struct Snapshot {
    config: Arc<ClientConfig>,
    now: Instant,
    wall: FileTime,
    script: Vec<Action>,
    auth: Vec<Vec<AuthRecord>>,
    undelivered: Vec<u8>,
}

impl Snapshot {
    /// What the server sent after the recording stopped (the answers to requests left
    /// outstanding), framed, never given to the client.
    pub fn undelivered(&self) -> &[u8] {
        &self.undelivered
    }

    /// The instant the client was created at (its virtual now).
    pub fn now(&self) -> Instant {
        self.now
    }

    /// A client in the recorded state, with its events drained. Panics if the replay
    /// diverges from the recording (the client sent different bytes).
    pub fn restore(&self) -> Connection {
        let mut c = Connection::new(self.config.clone(), self.now, CLIENT_SEED);
        let mut auth = self.auth.iter();
        for a in &self.script {
            match a {
                Action::Negotiate => drop(c.negotiate(self.now).expect("negotiate")),
                Action::SessionSetup => {
                    let steps = auth.next().expect("recorded authenticator").clone();
                    let replay = ReplayAuth {
                        steps,
                        next: 0,
                        key: None,
                    };
                    c.session_setup(self.now, Box::new(replay), Some(self.wall))
                        .expect("session_setup");
                }
                Action::Submit(r) => drop(c.submit(self.now, (**r).clone()).expect("submit")),
                Action::Transmit(expected) => {
                    let mut out = Vec::with_capacity(expected.len());
                    while c.poll_transmit(self.now, &mut out).is_some() {}
                    assert!(out == *expected, "snapshot replay diverged");
                }
                Action::Input(b) => c.handle_input(self.now, b),
            }
        }
        while c.poll_event().is_some() {}
        c
    }
}
