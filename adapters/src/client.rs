//! The handle hierarchy: [`Client`] → [`Connection`] → [`Session`] → [`Tree`].
//! Handles are cheap clones; dropping the last clone of a session or tree logs off or
//! disconnects without blocking, and the connection closes once its last handle is gone
//! and what they queued has been answered.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use pike_core::auth::{Authenticator, Credentials, Spnego};
use pike_core::wire::{
    Command, DecodeError, Dialect, InfoBuffer, LogoffRequest, QueryInfoResponse, ResponseBody,
    SessionId, TreeConnectRequest, TreeConnectResponse, TreeDisconnectRequest, TreeId,
};
use pike_core::{
    ClientConfig, Compound, Hook, Instant, NegotiateInfo, Request, Response, SessionInfo,
};

use futures_io::{AsyncRead, AsyncWrite};

use crate::diag::{Diagnostics, Resolved};
use crate::hooks::{HookGuard, HookList};
use crate::runtime::{MaybeSend, Runtime, with_deadline};
use crate::{ConnectionRef, Error, ResponseFuture};

/// Converts a response to the typed body of its command.
pub(crate) fn typed<T: TryFrom<ResponseBody, Error = ResponseBody>>(
    r: Response,
) -> Result<T, Error> {
    T::try_from(r.body).map_err(|b| Error::UnexpectedResponse(b.command()))
}

/// A buffer inside a response to `command` that could not be decoded further.
pub(crate) fn decode_error(command: Command, error: DecodeError, packet: &Bytes) -> Error {
    Error::Request(pike_core::RequestError::Decode {
        command,
        error,
        packet: packet.clone(),
    })
}

/// Decodes a QUERY_INFO output as the typed class `T`.
pub(crate) fn parse_info<T: InfoBuffer>(q: QueryInfoResponse) -> Result<T, Error> {
    q.parse::<T>()
        .map_err(|e| decode_error(Command::QueryInfo, e, &q.output))
}

/// Settings shared by every connection a client opens, and hooks that run on each.
/// Clones share the hooks.
#[derive(Clone, Debug)]
pub struct Client<R: Runtime> {
    runtime: R,
    config: Arc<ClientConfig>,
    connect_timeout: Duration,
    hooks: HookList,
    diagnostics: Diagnostics,
}

impl<R: Runtime> Client<R> {
    /// Default settings (every dialect, [`default_crypto`](crate::default_crypto)) and a
    /// random ClientGuid.
    pub fn new(runtime: R) -> Self {
        Self::with_config(runtime, ClientConfig::new(crate::default_crypto())).random_client_guid()
    }

    /// Exactly `config` (its ClientGuid included).
    pub fn with_config(runtime: R, config: ClientConfig) -> Self {
        let connect_timeout = config.request_timeout;
        Self {
            runtime,
            config: Arc::new(config),
            connect_timeout,
            hooks: HookList::default(),
            diagnostics: Diagnostics::default(),
        }
    }

    /// A fresh random ClientGuid: Samba routes connections sharing a ClientGuid to one
    /// process, so independent clients must not share one.
    pub fn random_client_guid(mut self) -> Self {
        let seed = crate::random_seed();
        Arc::make_mut(&mut self.config).client_guid = seed[..16].try_into().unwrap_or([1; 16]);
        self
    }

    /// Deadline for TCP connect plus NEGOTIATE (default: the request timeout).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Adds a hook to every connection of this client, present and future, after the
    /// connection's own hooks; it runs until the guard drops. See [`Hook`] for the points.
    pub fn add_hook(&self, hook: Hook) -> HookGuard {
        self.hooks.add(hook)
    }

    /// Logs one line per PDU through `tracing` (overrides `PIKE_TRACE`).
    pub fn trace(mut self, on: bool) -> Self {
        self.diagnostics.trace = Some(on);
        self
    }

    /// Writes each connection's plaintext to a pcap file, or not (overrides `PIKE_PCAP`).
    pub fn pcap(mut self, path: Option<PathBuf>) -> Self {
        self.diagnostics.pcap = Some(path);
        self
    }

    /// Connects to `host:port` and negotiates, within the connect timeout.
    pub async fn connect(&self, host: &str, port: u16) -> Result<Connection, Error> {
        let diagnostics = self.diagnostics.resolve()?;
        let deadline = Instant::now() + self.connect_timeout;
        with_deadline(
            &self.runtime.timer(),
            deadline,
            "connect and NEGOTIATE",
            async {
                let raw = self
                    .runtime
                    .start(host, port, self.config_for(host))
                    .await?;
                self.negotiate(raw, host, diagnostics).await
            },
        )
        .await?
    }

    /// Negotiates over `stream`, an open byte stream to `server` (an in-memory pipe, a
    /// WebSocket, a tunnel); the runtime runs its driver. `server` names the server in
    /// UNC paths unless the configuration already does.
    ///
    /// ```no_run
    /// # #[cfg(feature = "tokio")]
    /// # async fn demo() -> Result<(), pike::Error> {
    /// use tokio_util::compat::TokioAsyncReadCompatExt;
    /// let tcp = tokio::net::TcpStream::connect("fileserver:445").await?;
    /// let client = pike::Client::new(pike::runtime::tokio::Tokio);
    /// let conn = client.connect_stream("fileserver", tcp.compat()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_stream<S>(&self, server: &str, stream: S) -> Result<Connection, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin + MaybeSend + 'static,
    {
        let diagnostics = self.diagnostics.resolve()?;
        let raw = self.runtime.start_stream(stream, self.config_for(server))?;
        self.negotiate(raw, server, diagnostics).await
    }

    /// The configuration for a connection to `server`.
    fn config_for(&self, server: &str) -> Arc<ClientConfig> {
        let mut config = (*self.config).clone();
        if config.server_name.is_empty() {
            config.server_name = server.to_owned();
        }
        Arc::new(config)
    }

    async fn negotiate(
        &self,
        raw: ConnectionRef,
        server: &str,
        diagnostics: Resolved,
    ) -> Result<Connection, Error> {
        let hooks = HookList::default();
        // Before NEGOTIATE: diagnostics first (they see responses before any rewrite),
        // then the connection's hooks, then the client's.
        raw.with(|c| {
            diagnostics.install(c, server);
            c.add_hook(hooks.dispatcher());
            c.add_hook(self.hooks.dispatcher());
        });
        let conn = Connection(Arc::new(ConnInner { raw, hooks }));
        // The core's request deadline bounds NEGOTIATE against a silent server.
        conn.0.raw.negotiate().await?;
        Ok(conn)
    }
}

#[derive(Debug)]
struct ConnInner {
    raw: ConnectionRef,
    hooks: HookList,
}

impl Drop for ConnInner {
    fn drop(&mut self) {
        self.raw.close_when_idle();
    }
}

/// A negotiated connection.
#[derive(Clone, Debug)]
pub struct Connection(Arc<ConnInner>);

impl Connection {
    /// The shared connection handle: build → submit → await any request yourself.
    pub fn raw(&self) -> &ConnectionRef {
        &self.0.raw
    }

    /// Adds a hook to this connection; it runs before the client's hooks, until the
    /// guard drops. See [`Hook`] for the points.
    pub fn add_hook(&self, hook: Hook) -> HookGuard {
        self.0.hooks.add(hook)
    }

    /// The negotiated dialect.
    pub fn dialect(&self) -> Dialect {
        self.0.raw.with(|c| c.dialect()).unwrap_or_default()
    }

    /// What NEGOTIATE settled.
    pub fn negotiated(&self) -> Option<NegotiateInfo> {
        self.0.raw.with(|c| c.negotiated().cloned())
    }

    /// Authenticates with any [`Authenticator`].
    pub async fn session_setup(&self, auth: Box<dyn Authenticator>) -> Result<Session, Error> {
        let id = self.0.raw.session_setup(auth).await?;
        Ok(Session(Arc::new(SessionInner {
            conn: self.clone(),
            id,
            gone: AtomicBool::new(false),
        })))
    }

    /// NTLMv2 inside SPNEGO.
    pub async fn login(&self, creds: Credentials) -> Result<Session, Error> {
        self.session_setup(Box::new(Spnego::ntlm(creds))).await
    }

    /// An anonymous (null) session.
    pub async fn login_anonymous(&self) -> Result<Session, Error> {
        self.session_setup(Box::new(Spnego::anonymous())).await
    }

    /// Closes now: outstanding requests fail with `ConnectionLost`.
    pub fn close(&self) {
        self.0.raw.close();
    }
}

#[derive(Debug)]
struct SessionInner {
    conn: Connection,
    id: SessionId,
    /// Logged off explicitly: nothing to send on drop.
    gone: AtomicBool,
}

impl Drop for SessionInner {
    fn drop(&mut self) {
        if *self.gone.get_mut() {
            return;
        }
        // MS-SMB2 3.2.4.22: LOGOFF; nobody waits for the answer.
        let req = Request::new(LogoffRequest).session(self.id);
        self.conn.0.raw.submit_detached(req);
    }
}

/// An authenticated session; logs off when the last clone (and every tree) is dropped.
#[derive(Clone, Debug)]
pub struct Session(Arc<SessionInner>);

impl Session {
    /// The SessionId.
    pub fn id(&self) -> SessionId {
        self.0.id
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        &self.0.conn
    }

    /// Signing/encryption state of the session.
    pub fn info(&self) -> Option<SessionInfo> {
        self.0.conn.raw().with(|c| c.session_info(self.0.id))
    }

    /// LOGOFF now, awaiting the answer; later requests on the session fail.
    pub async fn logoff(&self) -> Result<(), Error> {
        if self.0.gone.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let raw = self.0.conn.raw();
        raw.call(self.request(LogoffRequest)).await.map(drop)
    }

    /// A request routed through this session.
    pub fn request(&self, body: impl Into<pike_core::wire::RequestBody>) -> Request {
        Request::new(body).session(self.0.id)
    }

    /// TREE_CONNECT to `share` (a name, or a full `\\server\share` path).
    pub async fn tree_connect(&self, share: &str) -> Result<Tree, Error> {
        let raw = self.0.conn.raw();
        let path = if share.starts_with("\\\\") {
            share.to_owned()
        } else {
            let server = raw.with(|c| c.config().server_name.clone());
            format!("\\\\{server}\\{share}")
        };
        let req = TreeConnectRequest {
            path,
            ..Default::default()
        };
        let resp = raw.call(self.request(req)).await?;
        let id = resp.header.tree_id;
        let response = typed(resp)?;
        Ok(Tree(Arc::new(TreeInner {
            session: self.clone(),
            id,
            share: share.rsplit('\\').next().unwrap_or(share).to_owned(),
            response,
            gone: AtomicBool::new(false),
        })))
    }
}

#[derive(Debug)]
struct TreeInner {
    session: Session,
    id: TreeId,
    share: String,
    response: TreeConnectResponse,
    /// Disconnected explicitly: nothing to send on drop.
    gone: AtomicBool,
}

impl Drop for TreeInner {
    fn drop(&mut self) {
        if *self.gone.get_mut() {
            return;
        }
        let req = Request::new(TreeDisconnectRequest).tree(self.session.id(), self.id);
        self.session.connection().raw().submit_detached(req);
    }
}

/// A connected share; disconnects when the last clone (and every open file) is dropped.
#[derive(Clone, Debug)]
pub struct Tree(Arc<TreeInner>);

impl Tree {
    /// The TreeId.
    pub fn id(&self) -> TreeId {
        self.0.id
    }

    /// The share name.
    pub fn share(&self) -> &str {
        &self.0.share
    }

    /// The TREE_CONNECT response (share type, flags, capabilities, maximal access).
    pub fn info(&self) -> &TreeConnectResponse {
        &self.0.response
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.0.session
    }

    /// The connection handle.
    pub fn raw(&self) -> &ConnectionRef {
        self.0.session.connection().raw()
    }

    /// A request addressed to this tree (edit it freely before submitting).
    pub fn request(&self, body: impl Into<pike_core::wire::RequestBody>) -> Request {
        Request::new(body).tree(self.0.session.id(), self.0.id)
    }

    /// Header defaults for every request on this tree's connection while the guard
    /// lives (see [`ConnectionRef::with_defaults`]).
    pub fn with_defaults(&self, defaults: pike_core::HeaderDefaults) -> crate::HeaderDefaultsGuard {
        self.raw().with_defaults(defaults)
    }

    /// Submits a request; the future has the interim state (AsyncId) and the response.
    pub fn submit(&self, request: Request) -> Result<ResponseFuture, Error> {
        self.raw().submit(request)
    }

    /// Sends `body` on this tree and returns the typed response body.
    pub async fn call<T>(&self, body: impl Into<pike_core::wire::RequestBody>) -> Result<T, Error>
    where
        T: TryFrom<ResponseBody, Error = ResponseBody>,
    {
        typed(self.raw().call(self.request(body)).await?)
    }

    /// Submits a compound chain; one future per part.
    pub fn submit_compound(&self, chain: Compound) -> Result<Vec<ResponseFuture>, Error> {
        self.raw().submit_compound(chain)
    }

    /// Submits a compound chain and awaits every part's result.
    pub async fn compound(
        &self,
        chain: Compound,
    ) -> Result<Vec<Result<Response, pike_core::RequestError>>, Error> {
        let futs = self.submit_compound(chain)?;
        let mut out = Vec::with_capacity(futs.len());
        for f in futs {
            out.push(f.await);
        }
        Ok(out)
    }

    /// TREE_DISCONNECT now, awaiting the answer; later requests on the tree fail.
    pub async fn disconnect(&self) -> Result<(), Error> {
        if self.0.gone.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.raw()
            .call(self.request(TreeDisconnectRequest))
            .await
            .map(drop)
    }
}

#[cfg(all(test, feature = "tokio"))]
mod tests {
    use super::*;
    use crate::runtime::tokio::Tokio;

    #[test]
    fn every_client_gets_its_own_client_guid() {
        let a = Client::new(Tokio);
        let b = Client::new(Tokio);
        assert_ne!(a.config().client_guid, b.config().client_guid);
        assert_ne!(a.config().client_guid, [0; 16]);
        let fixed = ClientConfig {
            client_guid: [9; 16],
            ..ClientConfig::new(crate::default_crypto())
        };
        assert_eq!(
            Client::with_config(Tokio, fixed).config().client_guid,
            [9; 16]
        );
    }
}
