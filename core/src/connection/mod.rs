//! The connection state machine.

mod breaks;
mod captured;
mod compression;
mod credits;
mod hooks;
mod recv;
mod request;
mod send;
mod session;
mod setup;
mod transmit;
mod validate;

pub use breaks::{Break, BreakAck, BreakKey, BreakKind, BreakPolicy, LeaseInfo, LeaseKey};
pub use captured::{Captured, Sender, decode_captured};
pub use credits::CreditStats;
pub use hooks::{Hook, HookEvent, HookId, HookPoint};
pub use request::{
    Compound, HeaderDefaults, HeaderOverrides, Request, RequestId, Response, TransformOverrides,
};
pub use transmit::Transmit;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;

use crate::Instant;
use crate::auth::{Authenticator, FileTime};
use crate::compress::CompressionAlgorithm;
use crate::config::ClientConfig;
use crate::crypto::{CipherId, PreauthHash, SigningAlgorithm};
use crate::error::{ConnectionError, RequestError, UsageError};
use crate::rng::Rng;
use crate::wire::{
    AsyncId, Capabilities, Command, Dialect, FileId, FrameDecoder, MAX_FRAME_LEN, RequestBody,
    SecurityMode, SessionFlags, SessionId,
};

use credits::CreditWindow;
use hooks::Hooks;
use session::{Session, SessionState};

/// What the connection reports to its driver, drained with [`Connection::poll_event`].
#[allow(missing_docs)] // variant fields are self-describing
#[non_exhaustive]
#[derive(Debug)]
pub enum Event {
    /// NEGOTIATE completed with this dialect.
    Negotiated { dialect: Dialect },
    /// The server answered STATUS_PENDING: the request went async (MS-SMB2 3.2.5.1.5).
    Interim { id: RequestId, async_id: AsyncId },
    /// A request finished, successfully or not. Each [`RequestId`] completes exactly once.
    Completed {
        id: RequestId,
        result: Result<Response, RequestError>,
    },
    /// An unsolicited OPLOCK_BREAK (oplock or lease break notification), after the
    /// connection's [`BreakPolicy`] acknowledged it or not.
    Break(Break),
    /// The connection failed; nothing follows this event.
    ConnectionLost(ConnectionError),
}

/// What NEGOTIATE settled (MS-SMB2 3.2.5.2).
#[allow(missing_docs)] // fields follow MS-SMB2 names
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiateInfo {
    pub dialect: Dialect,
    pub security_mode: SecurityMode,
    pub capabilities: Capabilities,
    pub server_guid: [u8; 16],
    pub max_transact_size: u32,
    pub max_read_size: u32,
    pub max_write_size: u32,
    /// Negotiated cipher, if the server offers encryption.
    pub cipher: Option<CipherId>,
    pub signing_algorithm: SigningAlgorithm,
    /// The server's GSS token (SPNEGO hints), for the first authenticator step.
    pub security_buffer: Bytes,
    pub system_time: u64,
    /// Compression both sides agreed to at 3.1.1, if any.
    pub compression: Option<CompressionInfo>,
}

/// Negotiated compression (MS-SMB2 3.2.5.2: Connection.CompressionIds and
/// Connection.SupportsChainedCompression).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompressionInfo {
    /// The server's choice, in its order; never empty.
    pub algorithms: Vec<CompressionAlgorithm>,
    /// Chained compression (SMB2_COMPRESSION_CAPABILITIES_FLAG_CHAINED) is in use.
    pub chained: bool,
}

/// A session's negotiated protection, for callers and tests.
#[allow(missing_docs)] // fields follow MS-SMB2 names
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: SessionId,
    pub flags: SessionFlags,
    pub signing_required: bool,
    pub encrypt_data: bool,
    pub is_ready: bool,
    /// The first 8 bytes of SHA-256 of Session.SigningKey (3.x) or Session.SessionKey
    /// (2.0.2/2.1) (MS-SMB2 3.2.5.3.1): tells two sessions' keys apart without
    /// exposing them. The encryption and decryption keys derive from the same session
    /// key, so it identifies them too. `None` until setup completes, and for guest
    /// and anonymous sessions, which have no key.
    pub key_fingerprint: Option<[u8; 8]>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    User,
    /// One leg of a SESSION_SETUP exchange of session index `.0`.
    SetupLeg(usize),
    /// Internal ECHO keepalive.
    Keepalive,
    /// Internal FSCTL_VALIDATE_NEGOTIATE_INFO holding back a TREE_CONNECT.
    Validate,
    /// Internal oplock/lease break acknowledgment sent by the [`BreakPolicy`].
    BreakAck,
}

impl Kind {
    /// Requests the connection makes on its own; their ids are never handed out.
    fn is_internal(self) -> bool {
        matches!(self, Self::Keepalive | Self::Validate | Self::BreakAck)
    }
}

/// Requests sent together in one frame: a single request or a compound chain.
#[derive(Debug)]
struct Batch {
    parts: Vec<Queued>,
    /// BeforeEncode hooks have run on the parts (once, at the head of the queue).
    hooked: bool,
}

impl Batch {
    fn new(parts: Vec<Queued>) -> Self {
        Self {
            parts,
            hooked: false,
        }
    }

    fn single(q: Queued) -> Self {
        Self::new(vec![q])
    }
}

#[derive(Debug)]
struct Queued {
    id: RequestId,
    request: Request,
    deadline: Instant,
    kind: Kind,
    session: Option<usize>,
    /// Part of a related compound (MS-SMB2 3.2.4.1.4): RELATED_OPERATIONS is set.
    related: bool,
}

#[derive(Debug)]
struct Pending {
    id: RequestId,
    command: Command,
    kind: Kind,
    session: Option<usize>,
    charge: u16,
    deadline: Option<Instant>,
    async_id: Option<AsyncId>,
    signed: bool,
    encrypted: bool,
    tree: Option<crate::wire::TreeId>,
    /// The open a CLOSE closes (its break route is forgotten on success).
    closes: Option<crate::wire::FileId>,
    /// A CREATE whose open a related CLOSE later in the same compound closes
    /// (FileId all ones, MS-SMB2 3.2.4.1.4): its open is never tracked.
    closed_in_chain: bool,
}

#[derive(Debug)]
struct CancelTarget {
    message_id: u64,
    async_id: Option<AsyncId>,
    session: Option<usize>,
    tree: Option<crate::wire::TreeId>,
    signed: bool,
    encrypted: bool,
}

/// One SMB2/3 connection to a server: sessions, trees and requests in flight.
///
/// # Method groups
///
/// - **Input**: [`handle_input`](Self::handle_input) with bytes read from the transport
///   (any chunking), [`handle_eof`](Self::handle_eof), and
///   [`handle_timeout`](Self::handle_timeout) once the instant from
///   [`poll_timeout`](Self::poll_timeout) has passed (spurious calls are harmless).
/// - **Commands**: [`negotiate`](Self::negotiate), [`session_setup`](Self::session_setup),
///   [`submit`](Self::submit), [`cancel`](Self::cancel) and [`close`](Self::close). They
///   return at once; a [`RequestId`] later completes through [`Event::Completed`].
/// - **Hooks**: [`add_hook`](Self::add_hook) and [`remove_hook`](Self::remove_hook)
///   let caller code inspect or rewrite traffic at eight points (see [`Hook`]).
/// - **Output**: after every input or command call, drain in this order:
///   [`poll_transmit`](Self::poll_transmit) until it returns `None` (write the bytes out;
///   or [`poll_transmit_vectored`](Self::poll_transmit_vectored), which leaves large
///   WRITE data uncopied for a vectored write), [`poll_event`](Self::poll_event) until
///   `None`, then wait for input or for [`poll_timeout`](Self::poll_timeout).
///
/// `now` must never go backwards. The connection never reads a clock, a socket or the
/// OS random source: time comes in as `now` and entropy as the `seed` given to
/// [`new`](Self::new), so a fixed seed and virtual time make runs reproducible.
pub struct Connection {
    config: Arc<ClientConfig>,
    rng: Rng,
    frames: FrameDecoder,
    credits: CreditWindow,
    negotiated: Option<NegotiateInfo>,
    preauth: PreauthHash,
    sessions: Vec<Session>,
    session_index: HashMap<SessionId, usize>,
    queue: VecDeque<Batch>,
    cancels: VecDeque<CancelTarget>,
    pending: HashMap<u64, Pending>,
    events: VecDeque<Event>,
    next_request: u64,
    closed: Option<ConnectionError>,
    last_rx: Instant,
    keepalive_in_flight: bool,
    /// The NEGOTIATE built by [`negotiate`](Self::negotiate), for validation.
    sent_negotiate: Option<crate::wire::NegotiateRequest>,
    /// Validation IOCTL id → the TREE_CONNECT (id, response) it holds back.
    validations: HashMap<RequestId, (RequestId, Response)>,
    hooks: Hooks,
    /// Where opens with an oplock or lease live, for acknowledging their breaks.
    break_routes: breaks::BreakRoutes,
    break_policy: BreakPolicy,
    /// Applied to every request submitted while set.
    header_defaults: Option<HeaderDefaults>,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("negotiated", &self.negotiated.as_ref().map(|n| n.dialect))
            .field("credits", &self.credits.stats())
            .field("pending", &self.pending.len())
            .field("queued", &self.queue.len())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A new connection; nothing is sent until [`negotiate`](Self::negotiate) (or a
    /// NEGOTIATE request of the caller's own through [`submit`](Self::submit)).
    pub fn new(config: Arc<ClientConfig>, now: Instant, seed: [u8; 32]) -> Self {
        Self {
            rng: Rng::from_seed(seed),
            frames: FrameDecoder::new(MAX_FRAME_LEN),
            credits: CreditWindow::new(),
            negotiated: None,
            preauth: PreauthHash::new(),
            sessions: Vec::new(),
            session_index: HashMap::new(),
            queue: VecDeque::new(),
            cancels: VecDeque::new(),
            pending: HashMap::new(),
            events: VecDeque::new(),
            next_request: 0,
            closed: None,
            last_rx: now,
            keepalive_in_flight: false,
            sent_negotiate: None,
            validations: HashMap::new(),
            hooks: Hooks::default(),
            break_routes: breaks::BreakRoutes::default(),
            break_policy: config.break_policy.clone(),
            header_defaults: None,
            config,
        }
    }

    /// Queues the NEGOTIATE request built from the config (MS-SMB2 3.2.4.2.2.2).
    pub fn negotiate(&mut self, now: Instant) -> Result<RequestId, UsageError> {
        let req = setup::negotiate_request(&self.config, &mut self.rng);
        self.sent_negotiate = Some(req.clone());
        self.submit(now, Request::new(req))
    }

    /// Starts an authenticated session; completes when the last SESSION_SETUP leg does.
    /// The successful response's header carries the new SessionId. `wall_time` is used
    /// by mechanisms that need one (NTLMv2 when the server sends no timestamp).
    pub fn session_setup(
        &mut self,
        now: Instant,
        auth: Box<dyn Authenticator>,
        wall_time: Option<FileTime>,
    ) -> Result<RequestId, UsageError> {
        self.check_open()?;
        let Some(neg) = &self.negotiated else {
            return Err(UsageError::NotNegotiated);
        };
        let preauth = (neg.dialect == Dialect::Smb311).then(|| self.preauth.clone());
        let id = self.next_id();
        let idx = self.sessions.len();
        self.sessions.push(Session {
            id: SessionId(0),
            state: SessionState::SettingUp,
            auth,
            wall_time,
            setup_request: id,
            preauth,
            flags: SessionFlags(0),
            signer: None,
            encryptor: None,
            decryptor: None,
            signing_required: false,
            encrypt_data: false,
            nonce_counter: 0,
            nonce_salt: self.rng.bytes(),
            encrypted_trees: Vec::new(),
            key_fingerprint: None,
        });
        let token = self
            .negotiated
            .as_ref()
            .map(|n| n.security_buffer.clone())
            .unwrap_or_default();
        match self.auth_step(idx, &token) {
            Ok(Some(tok)) => {
                self.queue_setup_leg(now, idx, tok);
                Ok(id)
            }
            Ok(None) => {
                self.sessions[idx].state = SessionState::Gone;
                Err(UsageError::Auth(crate::auth::AuthError::UnexpectedToken))
            }
            Err(e) => {
                self.sessions[idx].state = SessionState::Gone;
                Err(UsageError::Auth(e))
            }
        }
    }

    /// Queues a request. It is sent as soon as credits allow.
    pub fn submit(&mut self, now: Instant, request: Request) -> Result<RequestId, UsageError> {
        let ids = self.enqueue(now, vec![(request, false)])?;
        // Invariant: one part in, one id out.
        Ok(ids[0])
    }

    /// Queues a compound chain (MS-SMB2 3.2.4.1.4): all parts go out in one frame (one
    /// transform when encrypted), each with its own MessageId, signature and
    /// [`RequestId`], completing separately.
    pub fn submit_compound(
        &mut self,
        now: Instant,
        compound: Compound,
    ) -> Result<Vec<RequestId>, UsageError> {
        if compound.is_empty() {
            return Ok(Vec::new());
        }
        self.enqueue(now, compound.parts)
    }

    /// Validates every part, then queues them as one batch (all or nothing).
    fn enqueue(
        &mut self,
        now: Instant,
        parts: Vec<(Request, bool)>,
    ) -> Result<Vec<RequestId>, UsageError> {
        self.check_open()?;
        let mut checked = Vec::with_capacity(parts.len());
        for (mut request, related) in parts {
            if let Some(d) = &self.header_defaults {
                d.apply(&mut request.header);
            }
            // Only a NEGOTIATE may precede negotiation.
            if !matches!(request.body, RequestBody::Negotiate(_)) && self.negotiated.is_none() {
                return Err(UsageError::NotNegotiated);
            }
            let session = match request.session {
                // A session whose LOGOFF finished (even unanswered) is not used again.
                Some(sid) => Some(
                    *self
                        .session_index
                        .get(&sid)
                        .filter(|&&i| self.sessions[i].state != SessionState::Gone)
                        .ok_or(UsageError::UnknownSession)?,
                ),
                None => None,
            };
            self.check_payload(&request)?;
            let mut request = request;
            self.mark_compressed_read(&mut request);
            let deadline = now + request.timeout.unwrap_or(self.config.request_timeout);
            checked.push((request, related, session, deadline));
        }
        let parts: Vec<Queued> = checked
            .into_iter()
            .map(|(request, related, session, deadline)| {
                let id = self.next_id();
                Queued {
                    id,
                    request,
                    deadline,
                    kind: Kind::User,
                    session,
                    related,
                }
            })
            .collect();
        let ids = parts.iter().map(|q| q.id).collect();
        self.queue.push_back(Batch::new(parts));
        Ok(ids)
    }

    /// Cancels a request: dropped if not yet sent (completes as `Cancelled`), else an
    /// SMB2 CANCEL goes out (MS-SMB2 3.2.4.24) and the server's answer completes it.
    pub fn cancel(&mut self, _now: Instant, id: RequestId) -> Result<(), UsageError> {
        self.check_open()?;
        if let Some(pos) = self
            .queue
            .iter()
            .position(|b| b.parts.iter().any(|q| q.id == id))
        {
            // A compound leaves as a whole, so cancelling one part cancels the chain.
            // Invariant: `pos` came from `position` on the same queue.
            let batch = self.queue.remove(pos).expect("position is in range");
            for q in batch.parts {
                let command = q.request.command();
                self.complete_with(q.id, q.kind, Err(RequestError::Cancelled { command }));
            }
            return Ok(());
        }
        // A TREE_CONNECT the server has answered, held until its negotiate validation
        // completes: nothing left on the wire to cancel.
        if self.validations.values().any(|(held, _)| *held == id) {
            return Ok(());
        }
        let (&message_id, p) = self
            .pending
            .iter()
            .find(|(_, p)| p.id == id)
            .ok_or(UsageError::UnknownRequest)?;
        // Once a LOGOFF of this session is on the wire the server may already have
        // dropped the session, and an encrypted CANCEL under an unknown session makes it
        // disconnect (MS-SMB2 3.3.5.2.1.1). None is needed: LOGOFF closes the session's
        // opens, which answers whatever still waits on them (3.3.5.6).
        if p.session.is_some_and(|i| self.is_logging_off(i)) {
            return Ok(());
        }
        self.cancels.push_back(CancelTarget {
            message_id,
            async_id: p.async_id,
            session: p.session,
            tree: p.tree,
            signed: p.signed,
            encrypted: p.encrypted,
        });
        Ok(())
    }

    /// Closes the connection locally: every request fails with `ConnectionLost`.
    pub fn close(&mut self, _now: Instant) {
        self.fail(ConnectionError::LocallyClosed);
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The earliest instant at which [`handle_timeout`](Self::handle_timeout) has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed.is_some() {
            return None;
        }
        let queued = self
            .queue
            .iter()
            .flat_map(|b| b.parts.iter().map(|q| q.deadline));
        let pending = self.pending.values().filter_map(|p| p.deadline);
        let keepalive = self.keepalive_due();
        queued.chain(pending).chain(keepalive).min()
    }

    /// The configuration this connection runs with.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// Sets the header defaults for requests submitted from now on (`None` clears
    /// them); returns the previous ones, so that scopes nest. Requests the connection
    /// makes itself (keepalives, validation, break acks) do not get them.
    pub fn set_header_defaults(
        &mut self,
        defaults: Option<HeaderDefaults>,
    ) -> Option<HeaderDefaults> {
        std::mem::replace(&mut self.header_defaults, defaults)
    }

    /// Leaves the next `n` MessageIds unused (pike's `reserve_mid`): later requests
    /// leave a gap in the server's sequence window, spending `n` credits. Reuse an id
    /// with [`HeaderOverrides::message_id`]. For negative tests.
    pub fn dangerous_skip_message_ids(&mut self, n: u64) {
        self.credits.skip(n);
    }

    /// Sets what this connection does with oplock and lease breaks from now on (the
    /// config's `break_policy` until then).
    pub fn set_break_policy(&mut self, policy: BreakPolicy) {
        self.break_policy = policy;
    }

    /// The tracked state of lease `key` (granted by a CREATE on this connection, then
    /// moved by breaks and acknowledgments), while one of this connection's opens holds it.
    pub fn lease(&self, key: LeaseKey) -> Option<LeaseInfo> {
        self.break_routes.lease(key)
    }

    /// The oplock level `file_id` holds now (as granted, broken and acknowledged), if
    /// this connection opened it with an oplock or lease.
    pub fn oplock_level(&self, file_id: FileId) -> Option<u8> {
        self.break_routes.oplock_level(file_id)
    }

    /// What NEGOTIATE settled, once it completed.
    pub fn negotiated(&self) -> Option<&NegotiateInfo> {
        self.negotiated.as_ref()
    }

    /// The negotiated dialect.
    pub fn dialect(&self) -> Option<Dialect> {
        self.negotiated.as_ref().map(|n| n.dialect)
    }

    /// Credit counters.
    pub fn credits(&self) -> CreditStats {
        self.credits.stats()
    }

    /// Whether the connection has failed or been closed.
    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// Why the connection closed, if it did.
    pub fn close_reason(&self) -> Option<&ConnectionError> {
        self.closed.as_ref()
    }

    /// Protection state of a session.
    pub fn session_info(&self, id: SessionId) -> Option<SessionInfo> {
        let s = &self.sessions[*self.session_index.get(&id)?];
        Some(SessionInfo {
            id: s.id,
            flags: s.flags,
            signing_required: s.signing_required,
            encrypt_data: s.encrypt_data,
            is_ready: s.is_ready(),
            key_fingerprint: s.key_fingerprint,
        })
    }

    /// Largest READ payload to use now: the negotiated maximum, the configured cap, 64 KiB
    /// without multi-credit, and what the current credit window can carry.
    pub fn max_read_size(&self) -> usize {
        self.io_limit(self.negotiated.as_ref().map_or(0, |n| n.max_read_size))
    }

    /// Largest WRITE payload to use now (see [`max_read_size`](Self::max_read_size)).
    pub fn max_write_size(&self) -> usize {
        self.io_limit(self.negotiated.as_ref().map_or(0, |n| n.max_write_size))
    }

    /// MaxTransactSize: the cap on output buffers of QUERY_* and IOCTL.
    pub fn max_transact_size(&self) -> usize {
        self.negotiated
            .as_ref()
            .map_or(65536, |n| n.max_transact_size as usize)
    }

    /// Requests sent and awaiting a response.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Requests waiting for credits.
    pub fn queued(&self) -> usize {
        self.queue.iter().map(|b| b.parts.len()).sum()
    }

    fn io_limit(&self, negotiated: u32) -> usize {
        let mut max = (negotiated.min(self.config.max_io_size)) as usize;
        if !self.credits.multi_credit {
            max = max.min(65536);
        } else {
            let window = (self.credits.available + self.credits.in_flight).max(1) as usize;
            max = max.min(window * 65536);
        }
        max
    }

    fn check_payload(&self, request: &Request) -> Result<(), UsageError> {
        let size = request.payload_size();
        let max = match &request.body {
            RequestBody::Read(_) => self.negotiated.as_ref().map_or(0, |n| n.max_read_size),
            RequestBody::Write(_) => self.negotiated.as_ref().map_or(0, |n| n.max_write_size),
            _ => return Ok(()),
        } as usize;
        let max = if self.credits.multi_credit {
            max
        } else {
            max.min(65536)
        };
        if size > max {
            return Err(UsageError::PayloadTooLarge { size, max });
        }
        Ok(())
    }

    fn check_open(&self) -> Result<(), UsageError> {
        if self.closed.is_some() {
            Err(UsageError::Closed)
        } else {
            Ok(())
        }
    }

    /// Whether a LOGOFF of session index `i` is on the wire.
    fn is_logging_off(&self, i: usize) -> bool {
        self.pending
            .values()
            .any(|q| q.command == Command::Logoff && q.session == Some(i))
    }

    fn next_id(&mut self) -> RequestId {
        self.next_request += 1;
        RequestId(self.next_request)
    }

    fn keepalive_due(&self) -> Option<Instant> {
        let interval = self.config.echo_interval?;
        if self.negotiated.is_none() || self.keepalive_in_flight {
            return None;
        }
        Some(self.last_rx + interval)
    }

    /// Fails the connection: every request completes with `ConnectionLost`, then the
    /// `ConnectionLost` event. Idempotent.
    fn fail(&mut self, err: ConnectionError) {
        if self.closed.is_some() {
            return;
        }
        self.closed = Some(err.clone());
        let lost = || Err(RequestError::ConnectionLost(err.clone()));
        let mut ids: Vec<RequestId> = self
            .queue
            .drain(..)
            .flat_map(|b| b.parts)
            .filter(|q| !q.kind.is_internal())
            .map(|q| q.id)
            .collect();
        ids.extend(
            self.pending
                .drain()
                .filter(|(_, p)| !p.kind.is_internal())
                .map(|(_, p)| p.id),
        );
        ids.extend(self.validations.drain().map(|(_, (held, _))| held));
        ids.sort();
        ids.dedup();
        for id in ids {
            self.events
                .push_back(Event::Completed { id, result: lost() });
        }
        self.cancels.clear();
        for s in &mut self.sessions {
            s.state = SessionState::Gone;
        }
        self.events.push_back(Event::ConnectionLost(err));
    }
}
