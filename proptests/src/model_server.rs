//! An offline, in-memory SMB2/3 server with the same sans-IO shape as the client.
//!
//! Bytes in through [`ModelServer::handle_input`], bytes out through
//! [`ModelServer::poll_transmit`]. Requests are decoded and responses encoded with
//! `pike_core::wire`; NTLM is verified with the `pike_core::auth::ntlm` primitives and
//! keys come from `pike_core::crypto`. Everything else (dispatch, credit accounting,
//! session and file state, protection policy) is the server's own, written from MS-SMB2
//! section 3.3, so that a client bug is not mirrored here.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use pike_core::Rng;
use pike_core::auth::der::{self, tag};
use pike_core::auth::ntlm::{
    self, AuthenticateMessage, AvPair, ChallengeMessage, MessageSecurity, Side, av, flags,
};
use pike_core::auth::spnego::{self, NegState, NegTokenResp, OID_NTLMSSP, OID_SPNEGO};
use pike_core::crypto::{
    CipherId, CryptoProvider, MessageCipher, MessageSigner, PreauthHash, RustCrypto,
    SigningAlgorithm, derive_session_keys, open_transform, seal_transform, sign_message,
    transform_session_id, verify_message,
};
use pike_core::wire::{
    Capabilities, CloseRequest, CloseResponse, Command, CreateRequest, CreateResponse, Dialect,
    EchoResponse, ErrorResponse, FileId, FlushResponse, FrameDecoder, FrameKind, HASH_SHA512,
    HEADER_LEN, Header, HeaderFlags, LogoffResponse, MAX_FRAME_LEN, NegotiateContext,
    NegotiateRequest, NegotiateResponse, NtStatus, ReadRequest, ReadResponse, RequestBody,
    ResponseBody, SecurityMode, SessionFlags, SessionId, SessionSetupRequest, SessionSetupResponse,
    ShareFlags, TreeConnectRequest, TreeConnectResponse, TreeDisconnectResponse, TreeId,
    WriteRequest, WriteResponse, classify, create_action, create_options, disposition,
    file_attributes, frame_header, share_type,
};

/// How many credits each response grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantPolicy {
    /// What the client asks for (at least one), capped by [`ServerConfig::max_credits`].
    AsRequested,
    /// Exactly this many per response (still capped by the window).
    Fixed(u16),
}

/// What the model server offers and enforces.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Dialects the server speaks; it picks the highest one the client also offers.
    pub dialects: Vec<Dialect>,
    /// SecurityMode SIGNING_REQUIRED: every session signs.
    pub require_signing: bool,
    /// Session EncryptData: every session (3.x) encrypts.
    pub encrypt_data: bool,
    /// Ciphers in preference order; empty means no encryption support.
    pub ciphers: Vec<CipherId>,
    /// Signing algorithms (3.1.1 context) in preference order.
    pub signing_algorithms: Vec<SigningAlgorithm>,
    pub max_read: u32,
    pub max_write: u32,
    pub max_transact: u32,
    /// Advertise LARGE_MTU (multi-credit) at 2.1 and above.
    pub large_mtu: bool,
    pub user: String,
    pub domain: String,
    pub password: String,
    /// The one share name (case-insensitive).
    pub share: String,
    /// Credits granted by the NEGOTIATE response.
    pub initial_credit_grant: u16,
    /// Credits granted by every other response.
    pub grant: GrantPolicy,
    /// Most credits the client may hold (granted and not yet spent).
    pub max_credits: u32,
    /// Put a SPNEGO NegTokenInit2 hint in the NEGOTIATE response (else empty).
    pub spnego_hint: bool,
    /// Seeds the server challenge, salts and GUID.
    pub seed: [u8; 32],
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            dialects: Dialect::ALL.to_vec(),
            require_signing: false,
            encrypt_data: false,
            ciphers: vec![
                CipherId::Aes128Gcm,
                CipherId::Aes256Gcm,
                CipherId::Aes128Ccm,
                CipherId::Aes256Ccm,
            ],
            signing_algorithms: vec![
                SigningAlgorithm::AesGmac,
                SigningAlgorithm::AesCmac,
                SigningAlgorithm::HmacSha256,
            ],
            max_read: 8 << 20,
            max_write: 8 << 20,
            max_transact: 1 << 20,
            large_mtu: true,
            user: "alice".into(),
            domain: "CORP".into(),
            password: "s3cret!".into(),
            share: "share".into(),
            initial_credit_grant: 1,
            grant: GrantPolicy::AsRequested,
            max_credits: 512,
            spnego_hint: true,
            seed: [0x5e; 32],
        }
    }
}

/// What NEGOTIATE settled, from the server's side.
#[derive(Clone, Debug)]
struct Negotiated {
    dialect: Dialect,
    cipher: Option<CipherId>,
    signing: SigningAlgorithm,
    multi_credit: bool,
    client_requires_signing: bool,
}

#[derive(Debug)]
enum Auth {
    /// CHALLENGE sent; waiting for AUTHENTICATE.
    Challenged {
        negotiate: Vec<u8>,
        challenge: Vec<u8>,
        mech_types_der: Vec<u8>,
    },
    Ready,
}

struct Session {
    auth: Auth,
    preauth: Option<PreauthHash>,
    signer: Option<Arc<dyn MessageSigner>>,
    /// Seals server-to-client messages.
    encryptor: Option<Arc<dyn MessageCipher>>,
    /// Opens client-to-server messages.
    decryptor: Option<Arc<dyn MessageCipher>>,
    signing_required: bool,
    encrypt_data: bool,
    trees: BTreeSet<u32>,
}

#[derive(Debug)]
struct Open {
    /// `None` for a directory open (the share root).
    name: Option<String>,
    session: u64,
    tree: u32,
    delete_on_close: bool,
}

/// Which 3.1.1 preauth hash takes a response as sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PreauthOf {
    Connection,
    Session(u64),
}

/// One message of a response chain, before signing/sealing.
struct Out {
    msg: Vec<u8>,
    signer: Option<Arc<dyn MessageSigner>>,
    preauth_of: Option<PreauthOf>,
}

/// Encryption of a chain: the session and its server-to-client cipher, captured when
/// the request was opened (a LOGOFF inside the chain must not unseal the answer).
struct Sealed {
    sid: u64,
    cipher: Arc<dyn MessageCipher>,
}

/// What a handler answers.
struct Reply {
    status: NtStatus,
    body: Option<ResponseBody>,
    session_id: Option<u64>,
    tree_id: Option<u32>,
}

impl Reply {
    fn ok(body: impl Into<ResponseBody>) -> Self {
        Self {
            status: NtStatus::SUCCESS,
            body: Some(body.into()),
            session_id: None,
            tree_id: None,
        }
    }

    fn err(status: NtStatus) -> Self {
        Self {
            status,
            body: None,
            session_id: None,
            tree_id: None,
        }
    }
}

/// The offline SMB2/3 server.
pub struct ModelServer {
    config: ServerConfig,
    crypto: RustCrypto,
    rng: Rng,
    frames: FrameDecoder,
    out: Vec<u8>,
    closed: bool,
    violations: Vec<String>,
    negotiated: Option<Negotiated>,
    preauth: PreauthHash,
    server_guid: [u8; 16],
    sessions: HashMap<u64, Session>,
    next_session: u64,
    next_tree: u32,
    next_file: u64,
    opens: HashMap<FileId, Open>,
    files: BTreeMap<String, Vec<u8>>,
    /// FILETIME handed out as MsvAvTimestamp and SystemTime.
    time: u64,
    nonce_counter: u64,
    nonce_salt: [u8; 4],
    // Credit accounting (MS-SMB2 3.3.1.1 CommandSequenceWindow).
    window_hi: u64,
    used_ids: BTreeSet<u64>,
    granted_total: u64,
    consumed: u64,
    max_outstanding_seen: u64,
    // Test hooks.
    silent: bool,
    held: Vec<Header>,
    tamper_signed: bool,
    tamper_encrypted: bool,
    forget_signing: bool,
    requests_seen: Vec<Command>,
    signed_requests: usize,
    encrypted_requests: usize,
}

impl core::fmt::Debug for ModelServer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ModelServer")
            .field("negotiated", &self.negotiated)
            .field("sessions", &self.sessions.len())
            .field("closed", &self.closed)
            .field("violations", &self.violations)
            .finish_non_exhaustive()
    }
}

fn case_key(name: &str) -> String {
    name.trim_start_matches('\\').to_lowercase()
}

impl ModelServer {
    /// A server in its initial state (waiting for NEGOTIATE).
    pub fn new(config: ServerConfig) -> Self {
        let mut rng = Rng::from_seed(config.seed);
        let server_guid = rng.bytes();
        let nonce_salt = rng.bytes();
        Self {
            config,
            crypto: RustCrypto,
            rng,
            frames: FrameDecoder::new(MAX_FRAME_LEN),
            out: Vec::new(),
            closed: false,
            violations: Vec::new(),
            negotiated: None,
            preauth: PreauthHash::new(),
            server_guid,
            sessions: HashMap::new(),
            next_session: 0x0000_1000_0000_0041,
            next_tree: 1,
            next_file: 1,
            opens: HashMap::new(),
            files: BTreeMap::new(),
            time: 0x01da_0000_0000_0000,
            nonce_counter: 1,
            nonce_salt,
            window_hi: 1,
            used_ids: BTreeSet::new(),
            granted_total: 1,
            consumed: 0,
            max_outstanding_seen: 1,
            silent: false,
            held: Vec::new(),
            tamper_signed: false,
            tamper_encrypted: false,
            forget_signing: false,
            requests_seen: Vec::new(),
            signed_requests: 0,
            encrypted_requests: 0,
        }
    }

    // ----- sans-IO surface -----

    /// Feeds bytes from the client, in any chunking.
    pub fn handle_input(&mut self, bytes: &[u8]) {
        if self.closed {
            return;
        }
        self.frames.push(bytes);
        while !self.closed {
            match self.frames.next_frame() {
                Ok(Some(frame)) => self.handle_frame(frame),
                Ok(None) => break,
                Err(e) => self.drop_connection(format!("bad framing from client: {e}")),
            }
        }
    }

    /// Appends everything queued for the client. Bytes queued before a close are still
    /// delivered (as a TCP peer would flush before FIN).
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> Option<usize> {
        if self.out.is_empty() {
            return None;
        }
        let n = self.out.len();
        out.append(&mut self.out);
        Some(n)
    }

    /// Whether the server closed the connection (after a protocol violation or [`close`]).
    ///
    /// [`close`]: Self::close
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    // ----- observation -----

    /// Client misbehaviour seen so far (credit window overruns, bad signatures, ...).
    pub fn violations(&self) -> &[String] {
        &self.violations
    }

    /// Credits granted and not yet spent, as the server counts them.
    pub fn credits_outstanding(&self) -> u64 {
        self.granted_total - self.consumed
    }

    /// The largest number of credits the client ever held at once.
    pub fn max_outstanding_seen(&self) -> u64 {
        self.max_outstanding_seen
    }

    /// Commands received, in order.
    pub fn requests_seen(&self) -> &[Command] {
        &self.requests_seen
    }

    /// Requests that arrived signed (and verified).
    pub fn signed_requests(&self) -> usize {
        self.signed_requests
    }

    /// Requests that arrived inside a TRANSFORM_HEADER.
    pub fn encrypted_requests(&self) -> usize {
        self.encrypted_requests
    }

    /// The in-memory file system (names are lower-case, without a leading `\`).
    pub fn files(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.files
    }

    /// Mutable access to the file system, to seed content.
    pub fn files_mut(&mut self) -> &mut BTreeMap<String, Vec<u8>> {
        &mut self.files
    }

    /// Open handles.
    pub fn open_count(&self) -> usize {
        self.opens.len()
    }

    /// Live (authenticated or in-progress) sessions.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    // ----- test hooks -----

    /// Sets the FILETIME used for MsvAvTimestamp and SystemTime.
    pub fn set_time(&mut self, filetime: u64) {
        self.time = filetime;
    }

    /// Changes the per-response grant policy.
    pub fn set_grant_policy(&mut self, policy: GrantPolicy) {
        self.config.grant = policy;
    }

    /// Stop answering (requests are consumed and held) or resume. Resuming answers
    /// nothing that was held; held requests only get answers to CANCEL.
    pub fn set_silent(&mut self, silent: bool) {
        self.silent = silent;
    }

    /// Closes the connection as a server would (TCP FIN after queued bytes).
    pub fn close(&mut self) {
        self.closed = true;
    }

    /// Flip one bit in the body of the next signed response, after signing it.
    pub fn tamper_next_signed_response(&mut self) {
        self.tamper_signed = true;
    }

    /// Flip one bit in the ciphertext of the next encrypted response.
    pub fn tamper_next_encrypted_response(&mut self) {
        self.tamper_encrypted = true;
    }

    /// Send the next response that should be signed without a signature.
    pub fn forget_signing_next(&mut self) {
        self.forget_signing = true;
    }

    // ----- internals -----

    fn violation(&mut self, what: String) {
        self.violations.push(what);
    }

    fn drop_connection(&mut self, why: String) {
        self.violation(why);
        self.closed = true;
    }

    fn handle_frame(&mut self, mut frame: BytesMut) {
        match classify(&frame) {
            Ok(FrameKind::Smb2) => self.handle_chain(&frame, None),
            Ok(FrameKind::Transform) => {
                let Some(sid) = transform_session_id(&frame) else {
                    return self.drop_connection("short TRANSFORM_HEADER".into());
                };
                let keys = self.sessions.get(&sid).and_then(|s| {
                    let (d, e) = (s.decryptor.clone()?, s.encryptor.clone()?);
                    Some((d, e))
                });
                let Some((cipher, sealer)) = keys else {
                    return self.drop_connection(format!("encrypted for unknown session {sid:#x}"));
                };
                match open_transform(cipher.as_ref(), &mut frame) {
                    Ok(range) => {
                        let plain = frame[range].to_vec();
                        self.handle_chain(
                            &plain,
                            Some(Sealed {
                                sid,
                                cipher: sealer,
                            }),
                        );
                    }
                    Err(e) => self.drop_connection(format!("request failed to decrypt: {e}")),
                }
            }
            Ok(k) => self.drop_connection(format!("unsupported frame kind {k:?}")),
            Err(e) => self.drop_connection(format!("not SMB2: {e}")),
        }
    }

    /// Splits a compound chain, answers each message and sends the answers as one chain.
    fn handle_chain(&mut self, buf: &[u8], sealed: Option<Sealed>) {
        let encrypted = sealed.as_ref().map(|s| s.sid);
        let mut outs = Vec::new();
        let mut at = 0usize;
        let mut related_fid: Option<FileId> = None;
        let mut related_ids: Option<(u64, u32)> = None;
        loop {
            let h = match Header::decode(&buf[at..]) {
                Ok(h) => h,
                Err(e) => return self.drop_connection(format!("bad request header: {e}")),
            };
            let next = h.next_command as usize;
            let end = if next == 0 { buf.len() } else { at + next };
            if next != 0 && (next < HEADER_LEN || end > buf.len()) {
                return self.drop_connection("NextCommand out of bounds".into());
            }
            let mut msg = buf[at..end].to_vec();
            let mut h = h;
            if let (true, Some((sid, tid))) = (h.flags.is_related(), related_ids) {
                if h.session_id.0 == u64::MAX {
                    h.session_id = SessionId(sid);
                }
                if h.tree_id.0 == u32::MAX {
                    h.tree_id = TreeId(tid);
                }
            }
            related_ids = Some((h.session_id.0, h.tree_id.0));
            if let Some(o) =
                self.handle_request(&h, &mut msg, encrypted, &mut related_fid, &mut related_ids)
            {
                outs.push(o);
            }
            if self.closed || next == 0 {
                break;
            }
            at = end;
        }
        if !outs.is_empty() {
            self.emit(outs, sealed);
        }
    }

    /// Signs, chains, seals and frames responses.
    fn emit(&mut self, mut outs: Vec<Out>, sealed: Option<Sealed>) {
        let n = outs.len();
        let mut chain = Vec::new();
        for (i, o) in outs.iter_mut().enumerate() {
            if i + 1 < n {
                while o.msg.len() % 8 != 0 {
                    o.msg.push(0);
                }
                let len = o.msg.len() as u32;
                o.msg[20..24].copy_from_slice(&len.to_le_bytes());
            }
            if let Some(signer) = &o.signer {
                if std::mem::take(&mut self.forget_signing) {
                    // Hook: answer unsigned where a signature was due.
                } else {
                    let mut flags =
                        u32::from_le_bytes([o.msg[16], o.msg[17], o.msg[18], o.msg[19]]);
                    flags |= HeaderFlags::SIGNED;
                    o.msg[16..20].copy_from_slice(&flags.to_le_bytes());
                    sign_message(signer.as_ref(), &mut o.msg);
                    if std::mem::take(&mut self.tamper_signed) {
                        let last = o.msg.len() - 1;
                        o.msg[last] ^= 0x01;
                    }
                }
            }
            match o.preauth_of {
                Some(PreauthOf::Connection) => self.preauth.update(&o.msg),
                Some(PreauthOf::Session(sid)) => {
                    if let Some(p) = self.sessions.get_mut(&sid).and_then(|s| s.preauth.as_mut()) {
                        p.update(&o.msg);
                    }
                }
                None => {}
            }
            chain.extend_from_slice(&o.msg);
        }
        let frame_start = self.out.len();
        self.out.extend_from_slice(&[0; 4]);
        match sealed {
            Some(Sealed { sid, cipher }) => {
                let mut nonce = [0u8; 16];
                nonce[..8].copy_from_slice(&self.nonce_counter.to_le_bytes());
                nonce[8..12].copy_from_slice(&self.nonce_salt);
                self.nonce_counter += 1;
                let mut frame = vec![0u8; pike_core::crypto::TRANSFORM_HEADER_LEN];
                frame.extend_from_slice(&chain);
                if let Err(e) = seal_transform(cipher.as_ref(), &nonce, sid, &mut frame) {
                    self.out.truncate(frame_start);
                    return self.violation(format!("server failed to seal: {e}"));
                }
                if std::mem::take(&mut self.tamper_encrypted) {
                    let last = frame.len() - 1;
                    frame[last] ^= 0x80;
                }
                self.out.extend_from_slice(&frame);
            }
            None => self.out.extend_from_slice(&chain),
        }
        let len = self.out.len() - frame_start - 4;
        self.out[frame_start..frame_start + 4].copy_from_slice(&frame_header(len));
    }

    /// Credits for one request: checks the window (MS-SMB2 3.3.5.2.3) and consumes.
    /// `false` means the request must not be answered (Samba drops it).
    fn consume_credits(&mut self, h: &Header, body: Option<&RequestBody>) -> bool {
        if h.command == Command::Cancel {
            return true;
        }
        let multi = self.negotiated.as_ref().is_some_and(|n| n.multi_credit);
        let charge = u64::from(h.credit_charge.max(1));
        if !multi && h.credit_charge > 1 {
            self.violation(format!(
                "{} MessageId {}: CreditCharge {} without multi-credit",
                h.command.name(),
                h.message_id.0,
                h.credit_charge
            ));
        }
        let first = h.message_id.0;
        let ids = first..first.saturating_add(charge);
        if ids.end > self.window_hi || ids.clone().any(|m| self.used_ids.contains(&m)) {
            self.violation(format!(
                "{} MessageId {first} charge {charge} outside the granted window (<{}) or reused",
                h.command.name(),
                self.window_hi
            ));
            return false;
        }
        self.used_ids.extend(ids);
        self.consumed += charge;
        if multi {
            let payload = match body {
                Some(RequestBody::Read(r)) => r.length as usize,
                Some(RequestBody::Write(w)) => w.data.len(),
                _ => 0,
            };
            let needed = if payload == 0 {
                1
            } else {
                (payload as u64 - 1) / 65536 + 1
            };
            if charge < needed {
                self.violation(format!(
                    "{} MessageId {first}: CreditCharge {charge} < {needed} for {payload} bytes",
                    h.command.name()
                ));
            }
        }
        true
    }

    fn grant(&mut self, h: &Header) -> u16 {
        let wanted = if h.command == Command::Negotiate {
            u32::from(self.config.initial_credit_grant)
        } else {
            match self.config.grant {
                GrantPolicy::AsRequested => u32::from(h.credits.max(1)),
                GrantPolicy::Fixed(n) => u32::from(n),
            }
        };
        let outstanding = self.granted_total - self.consumed;
        let room = u64::from(self.config.max_credits).saturating_sub(outstanding);
        let mut g = u64::from(wanted).min(room);
        if g == 0 && outstanding == 0 && self.config.grant == GrantPolicy::AsRequested {
            g = 1;
        }
        self.granted_total += g;
        self.window_hi += g;
        self.max_outstanding_seen = self
            .max_outstanding_seen
            .max(self.granted_total - self.consumed);
        g as u16
    }

    fn handle_request(
        &mut self,
        h: &Header,
        msg: &mut [u8],
        encrypted: Option<u64>,
        related_fid: &mut Option<FileId>,
        related_ids: &mut Option<(u64, u32)>,
    ) -> Option<Out> {
        self.requests_seen.push(h.command);
        if encrypted.is_some() {
            self.encrypted_requests += 1;
        }
        if h.flags.is_response() {
            self.drop_connection("client sent a response".into());
            return None;
        }
        let body = RequestBody::decode(h, msg);
        if !self.consume_credits(h, body.as_ref().ok()) {
            return None;
        }
        // Signature check (MS-SMB2 3.3.5.2.4).
        let (signer, ready, sess_encrypt, sess_sign) = match self.sessions.get(&h.session_id.0) {
            Some(s) => (
                s.signer.clone(),
                matches!(s.auth, Auth::Ready),
                s.encrypt_data,
                s.signing_required,
            ),
            None => (None, false, false, false),
        };
        let check = encrypted.is_none() && h.flags.is_signed();
        if let (true, Some(signer)) = (check && h.command != Command::SessionSetup, &signer) {
            if !verify_message(signer.as_ref(), msg) {
                self.drop_connection(format!(
                    "bad signature on {} MessageId {}",
                    h.command.name(),
                    h.message_id.0
                ));
                return None;
            }
            self.signed_requests += 1;
        }
        if h.command == Command::Cancel {
            self.cancel(h);
            return None;
        }
        if self.silent {
            self.held.push(h.clone());
            return None;
        }
        if self.negotiated.is_none() && h.command != Command::Negotiate {
            self.drop_connection(format!("{} before NEGOTIATE", h.command.name()));
            return None;
        }
        let needs_session = !matches!(
            h.command,
            Command::Negotiate | Command::SessionSetup | Command::Echo
        );
        let reply = if needs_session && !ready {
            Reply::err(NtStatus::USER_SESSION_DELETED)
        } else if needs_session && encrypted.is_none() && sess_encrypt {
            // MS-SMB2 3.3.5.2.9: unencrypted request on an EncryptData session.
            Reply::err(NtStatus::ACCESS_DENIED)
        } else if needs_session && encrypted.is_none() && sess_sign && !h.flags.is_signed() {
            Reply::err(NtStatus::ACCESS_DENIED)
        } else {
            match body {
                Err(e) => {
                    self.violation(format!("undecodable {}: {e}", h.command.name()));
                    Reply::err(NtStatus::INVALID_PARAMETER)
                }
                Ok(body) => self.dispatch(h, msg, body, related_fid),
            }
        };
        if self.closed {
            return None;
        }
        let grant = self.grant(h);
        let session_id = reply.session_id.unwrap_or(h.session_id.0);
        let tree_id = reply.tree_id.unwrap_or(h.tree_id.0);
        if let Some(ids) = related_ids.as_mut() {
            *ids = (session_id, tree_id);
        }
        let mut flags = HeaderFlags(HeaderFlags::SERVER_TO_REDIR);
        flags.set(HeaderFlags::RELATED_OPERATIONS, h.flags.is_related());
        let header = Header {
            credit_charge: h.credit_charge,
            status: reply.status,
            command: h.command,
            credits: grant,
            flags,
            next_command: 0,
            message_id: h.message_id,
            process_id: h.process_id,
            tree_id: TreeId(tree_id),
            async_id: Default::default(),
            session_id: SessionId(session_id),
            signature: [0; 16],
        };
        let mut out = Vec::with_capacity(HEADER_LEN + 128);
        header.encode(&mut out);
        match &reply.body {
            Some(b) => b.encode(&mut out, 0),
            None => ErrorResponse::default().encode(&mut out, 0),
        }
        // Protection of the response (MS-SMB2 3.3.4.1.1).
        let mut o = Out {
            msg: out,
            signer: None,
            preauth_of: None,
        };
        if h.command == Command::Negotiate && self.dialect() == Some(Dialect::Smb311) {
            o.preauth_of = Some(PreauthOf::Connection);
        } else if h.command == Command::SessionSetup {
            let s = self.sessions.get(&session_id);
            if reply.status == NtStatus::MORE_PROCESSING_REQUIRED {
                o.preauth_of = Some(PreauthOf::Session(session_id));
            } else if reply.status == NtStatus::SUCCESS {
                let is_311 = self.dialect() == Some(Dialect::Smb311);
                if let Some(s) = s.filter(|s| is_311 || s.signing_required) {
                    o.signer = s.signer.clone();
                }
            }
        } else if encrypted.is_none() && h.command != Command::Negotiate {
            // LOGOFF removed the session: sign with the key the request came under.
            let s = self.sessions.get(&session_id);
            let must = s.map_or(h.flags.is_signed(), |s| s.signing_required) || h.flags.is_signed();
            if must {
                o.signer = s.and_then(|s| s.signer.clone()).or(signer);
            }
        }
        Some(o)
    }

    fn dialect(&self) -> Option<Dialect> {
        self.negotiated.as_ref().map(|n| n.dialect)
    }

    fn cancel(&mut self, h: &Header) {
        // Only held requests can still be cancelled; answer them STATUS_CANCELLED.
        let Some(pos) = self.held.iter().position(|x| x.message_id == h.message_id) else {
            return;
        };
        let held = self.held.remove(pos);
        let grant = self.grant(&held);
        let header = Header {
            credit_charge: held.credit_charge,
            status: NtStatus::CANCELLED,
            command: held.command,
            credits: grant,
            flags: HeaderFlags(HeaderFlags::SERVER_TO_REDIR),
            message_id: held.message_id,
            process_id: held.process_id,
            tree_id: held.tree_id,
            session_id: held.session_id,
            ..Header::default()
        };
        let mut msg = Vec::new();
        header.encode(&mut msg);
        ErrorResponse::default().encode(&mut msg, 0);
        let s = self.sessions.get(&held.session_id.0);
        let signer = s
            .filter(|s| s.signing_required || held.flags.is_signed())
            .and_then(|s| s.signer.clone());
        let enc = s.filter(|s| s.encrypt_data).and_then(|s| {
            Some(Sealed {
                sid: held.session_id.0,
                cipher: s.encryptor.clone()?,
            })
        });
        self.emit(
            vec![Out {
                msg,
                signer: if enc.is_some() { None } else { signer },
                preauth_of: None,
            }],
            enc,
        );
    }

    fn dispatch(
        &mut self,
        h: &Header,
        msg: &[u8],
        body: RequestBody,
        related_fid: &mut Option<FileId>,
    ) -> Reply {
        let resolve = |fid: FileId, related: &Option<FileId>| {
            if h.flags.is_related() && fid == FileId::RELATED {
                related.unwrap_or(fid)
            } else {
                fid
            }
        };
        match body {
            RequestBody::Negotiate(n) => self.negotiate(msg, &n),
            RequestBody::SessionSetup(s) => self.session_setup(h, msg, &s),
            RequestBody::Logoff(_) => {
                self.sessions.remove(&h.session_id.0);
                self.opens.retain(|_, o| o.session != h.session_id.0);
                Reply::ok(LogoffResponse)
            }
            RequestBody::TreeConnect(t) => self.tree_connect(h, &t),
            RequestBody::TreeDisconnect(_) => {
                let removed = self
                    .sessions
                    .get_mut(&h.session_id.0)
                    .is_some_and(|s| s.trees.remove(&h.tree_id.0));
                if removed {
                    Reply::ok(TreeDisconnectResponse)
                } else {
                    Reply::err(NtStatus::NETWORK_NAME_DELETED)
                }
            }
            RequestBody::Echo(_) => Reply::ok(EchoResponse),
            RequestBody::Raw { .. } => Reply::err(NtStatus::NOT_SUPPORTED),
            other => {
                if !self.tree_ok(h) {
                    return Reply::err(NtStatus::NETWORK_NAME_DELETED);
                }
                match other {
                    RequestBody::Create(c) => {
                        let r = self.create(h, &c);
                        if let Some(ResponseBody::Create(c)) = &r.body {
                            *related_fid = Some(c.file_id);
                        }
                        r
                    }
                    RequestBody::Close(c) => self.close_file(resolve(c.file_id, related_fid), &c),
                    RequestBody::Flush(f) => match self.opens.get(&resolve(f.file_id, related_fid))
                    {
                        Some(_) => Reply::ok(FlushResponse),
                        None => Reply::err(NtStatus::FILE_CLOSED),
                    },
                    RequestBody::Read(r) => self.read(resolve(r.file_id, related_fid), &r),
                    RequestBody::Write(w) => self.write(resolve(w.file_id, related_fid), &w),
                    _ => Reply::err(NtStatus::NOT_SUPPORTED),
                }
            }
        }
    }

    fn tree_ok(&self, h: &Header) -> bool {
        self.sessions
            .get(&h.session_id.0)
            .is_some_and(|s| s.trees.contains(&h.tree_id.0))
    }

    // ----- NEGOTIATE (MS-SMB2 3.3.5.4) -----

    fn negotiate(&mut self, msg: &[u8], n: &NegotiateRequest) -> Reply {
        if self.negotiated.is_some() {
            self.drop_connection("second NEGOTIATE".into());
            return Reply::err(NtStatus::INVALID_PARAMETER);
        }
        let Some(dialect) = self
            .config
            .dialects
            .iter()
            .copied()
            .filter(|d| n.dialects.contains(d))
            .max()
        else {
            return Reply::err(NtStatus::NOT_SUPPORTED);
        };
        let mut contexts = Vec::new();
        let mut cipher = None;
        let mut signing = if dialect.is_smb3() {
            SigningAlgorithm::AesCmac
        } else {
            SigningAlgorithm::HmacSha256
        };
        if dialect == Dialect::Smb311 {
            let mut has_preauth = false;
            for c in &n.contexts {
                match c {
                    NegotiateContext::PreauthIntegrity {
                        hash_algorithms, ..
                    } => {
                        if !hash_algorithms.contains(&HASH_SHA512) {
                            return Reply::err(NtStatus(0xC05D_0000)); // NO_PREAUTH_INTEGRITY_HASH_OVERLAP
                        }
                        has_preauth = true;
                    }
                    NegotiateContext::Encryption { ciphers } => {
                        cipher = self
                            .config
                            .ciphers
                            .iter()
                            .copied()
                            .find(|c| ciphers.contains(c));
                    }
                    NegotiateContext::Signing { algorithms } => {
                        if let Some(a) = self
                            .config
                            .signing_algorithms
                            .iter()
                            .copied()
                            .find(|a| algorithms.contains(a))
                        {
                            signing = a;
                        }
                    }
                    _ => {}
                }
            }
            if !has_preauth {
                return Reply::err(NtStatus::INVALID_PARAMETER);
            }
            let salt: [u8; 32] = self.rng.bytes();
            contexts.push(NegotiateContext::PreauthIntegrity {
                hash_algorithms: vec![HASH_SHA512],
                salt: Bytes::copy_from_slice(&salt),
            });
            if n.contexts
                .iter()
                .any(|c| matches!(c, NegotiateContext::Encryption { .. }))
            {
                contexts.push(NegotiateContext::Encryption {
                    ciphers: vec![cipher.unwrap_or(CipherId::Unknown(0))],
                });
            }
            if n.contexts
                .iter()
                .any(|c| matches!(c, NegotiateContext::Signing { .. }))
            {
                contexts.push(NegotiateContext::Signing {
                    algorithms: vec![signing],
                });
            }
        } else if dialect.is_smb3()
            && n.capabilities.contains(Capabilities::ENCRYPTION)
            && self.config.ciphers.contains(&CipherId::Aes128Ccm)
        {
            cipher = Some(CipherId::Aes128Ccm);
        }
        let mut caps = 0;
        if self.config.large_mtu && dialect != Dialect::Smb202 {
            caps |= Capabilities::LARGE_MTU;
        }
        if dialect != Dialect::Smb311 && cipher.is_some() {
            caps |= Capabilities::ENCRYPTION;
        }
        let mut security_mode = SecurityMode::SIGNING_ENABLED;
        if self.config.require_signing {
            security_mode |= SecurityMode::SIGNING_REQUIRED;
        }
        self.negotiated = Some(Negotiated {
            dialect,
            cipher,
            signing,
            multi_credit: caps & Capabilities::LARGE_MTU != 0,
            client_requires_signing: n.security_mode.is_signing_required(),
        });
        let resp = NegotiateResponse {
            security_mode: SecurityMode(security_mode),
            dialect,
            server_guid: self.server_guid,
            capabilities: Capabilities(caps),
            max_transact_size: self.config.max_transact,
            max_read_size: self.config.max_read,
            max_write_size: self.config.max_write,
            system_time: self.time,
            server_start_time: 0,
            security_buffer: if self.config.spnego_hint {
                Bytes::from(neg_token_init2_hint())
            } else {
                Bytes::new()
            },
            contexts,
        };
        if dialect == Dialect::Smb311 {
            // MS-SMB2 3.3.5.4: the connection hash covers the request and the response.
            // The response is hashed as encoded below; `emit` does not change it.
            // The response is hashed as sent, in `emit`.
            self.preauth.update(msg);
        }
        Reply::ok(resp)
    }

    // ----- SESSION_SETUP (MS-SMB2 3.3.5.5, MS-NLMP 3.2.5, MS-SPNG) -----

    fn session_setup(&mut self, h: &Header, msg: &[u8], req: &SessionSetupRequest) -> Reply {
        // Invariant: dispatch only runs after NEGOTIATE.
        let neg = self.negotiated.clone().expect("negotiated");
        let sid = h.session_id.0;
        if sid == 0 {
            return self.setup_leg1(msg, req, &neg);
        }
        let Some(s) = self.sessions.get_mut(&sid) else {
            return Reply::err(NtStatus::USER_SESSION_DELETED);
        };
        if let Some(p) = s.preauth.as_mut() {
            p.update(msg);
        }
        let Auth::Challenged {
            negotiate,
            challenge,
            mech_types_der,
        } = std::mem::replace(&mut s.auth, Auth::Ready)
        else {
            // Re-authentication is not modelled.
            return Reply::err(NtStatus::NOT_SUPPORTED);
        };
        match self.verify_authenticate(&neg, sid, req, &negotiate, &challenge, &mech_types_der) {
            Ok(reply) => reply,
            Err(status) => {
                self.sessions.remove(&sid);
                Reply::err(status)
            }
        }
    }

    fn setup_leg1(&mut self, msg: &[u8], req: &SessionSetupRequest, neg: &Negotiated) -> Reply {
        let Ok(init) = spnego::parse_neg_token_init(&req.security_buffer) else {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        };
        if !init.mech_types.iter().any(|m| m == OID_NTLMSSP) {
            return Reply::err(NtStatus::NOT_SUPPORTED);
        }
        let Some(negotiate) = init.mech_token else {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        };
        let Ok(client_flags) = ntlm::parse_negotiate_flags(&negotiate) else {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        };
        let pairs = vec![
            AvPair::new(av::NB_DOMAIN_NAME, ntlm::utf16le(&self.config.domain)),
            AvPair::new(av::NB_COMPUTER_NAME, ntlm::utf16le("MODEL")),
            AvPair::new(av::DNS_DOMAIN_NAME, ntlm::utf16le("corp.example")),
            AvPair::new(av::DNS_COMPUTER_NAME, ntlm::utf16le("model.corp.example")),
            AvPair::new(av::TIMESTAMP, self.time.to_le_bytes()),
        ];
        let challenge = ChallengeMessage {
            flags: (client_flags & !flags::OEM) | flags::TARGET_INFO | flags::TARGET_TYPE_SERVER,
            server_challenge: self.rng.bytes(),
            reserved: [0; 8],
            target_name: ntlm::utf16le(&self.config.domain),
            target_info: ntlm::encode_av_pairs(&pairs),
            version: Some([10, 0, 0x7c, 0x4f, 0, 0, 0, 15]),
        }
        .encode();
        let sid = self.next_session;
        self.next_session += 0x1_0001;
        let mut preauth = (neg.dialect == Dialect::Smb311).then(|| self.preauth.clone());
        if let Some(p) = preauth.as_mut() {
            p.update(msg);
        }
        let signing_required = self.config.require_signing
            || neg.client_requires_signing
            || req.security_mode & (SecurityMode::SIGNING_REQUIRED as u8) != 0;
        self.sessions.insert(
            sid,
            Session {
                auth: Auth::Challenged {
                    negotiate,
                    challenge: challenge.clone(),
                    mech_types_der: init.mech_types_der,
                },
                preauth,
                signer: None,
                encryptor: None,
                decryptor: None,
                signing_required,
                encrypt_data: false,
                trees: BTreeSet::new(),
            },
        );
        let token = spnego::encode_neg_token_resp(&NegTokenResp {
            neg_state: Some(NegState::AcceptIncomplete),
            supported_mech: Some(OID_NTLMSSP.to_vec()),
            response_token: Some(challenge),
            mech_list_mic: None,
        });
        Reply {
            status: NtStatus::MORE_PROCESSING_REQUIRED,
            body: Some(
                SessionSetupResponse {
                    session_flags: SessionFlags(0),
                    security_buffer: Bytes::from(token),
                }
                .into(),
            ),
            session_id: Some(sid),
            tree_id: None,
        }
    }

    /// MS-NLMP 3.2.5.1.2 (server receives AUTHENTICATE), then keys (MS-SMB2 3.3.5.5.3).
    fn verify_authenticate(
        &mut self,
        neg: &Negotiated,
        sid: u64,
        req: &SessionSetupRequest,
        negotiate: &[u8],
        challenge: &[u8],
        mech_types_der: &[u8],
    ) -> Result<Reply, NtStatus> {
        let resp = spnego::parse_neg_token_resp(&req.security_buffer)
            .map_err(|_| NtStatus::INVALID_PARAMETER)?;
        let auth_msg = resp.response_token.ok_or(NtStatus::INVALID_PARAMETER)?;
        let a = AuthenticateMessage::parse(&auth_msg).map_err(|_| NtStatus::INVALID_PARAMETER)?;
        // Invariant: we encoded this CHALLENGE ourselves.
        let ch = ChallengeMessage::parse(challenge).expect("own CHALLENGE parses");
        let user = pike_core::wire::from_utf16le(&a.user);
        let domain = pike_core::wire::from_utf16le(&a.domain);
        if !user.eq_ignore_ascii_case(&self.config.user)
            || !domain.eq_ignore_ascii_case(&self.config.domain)
        {
            return Err(NtStatus::LOGON_FAILURE);
        }
        if a.nt_response.len() < 16 + 28 {
            return Err(NtStatus::LOGON_FAILURE);
        }
        let (proof, temp) = a.nt_response.split_at(16);
        // NTOWFv2 uses the user name as the client sent it (upper-cased inside).
        let key = ntlm::ntowfv2(&self.config.password, &user, &domain);
        let r = ntlm::ntlmv2_response(&key, &ch.server_challenge, temp);
        if r.nt_proof_str != proof {
            return Err(NtStatus::LOGON_FAILURE);
        }
        let pairs = ntlm::parse_av_pairs(&temp[28..]).map_err(|_| NtStatus::LOGON_FAILURE)?;
        let kx = ntlm::kxkey(&r.session_base_key);
        let exported = if a.flags & flags::KEY_EXCH != 0 {
            let enc: [u8; 16] = a
                .encrypted_random_session_key
                .as_slice()
                .try_into()
                .map_err(|_| NtStatus::LOGON_FAILURE)?;
            ntlm::encrypt_session_key(&kx, &enc)
        } else {
            kx
        };
        let mic_flag = pairs.iter().find(|p| p.id == av::FLAGS).is_some_and(|p| {
            p.value
                .first()
                .is_some_and(|b| u32::from(*b) & av::FLAG_MIC_PRESENT != 0)
        });
        // We always send MsvAvTimestamp, so the client must send a MIC.
        if !mic_flag {
            self.violation("AUTHENTICATE without MIC despite MsvAvTimestamp".into());
            return Err(NtStatus::LOGON_FAILURE);
        }
        let sent = a.mic.ok_or(NtStatus::LOGON_FAILURE)?;
        let mut zeroed = auth_msg.clone();
        zeroed[ntlm::MIC_OFFSET..ntlm::MIC_OFFSET + 16].fill(0);
        if ntlm::mic(&exported, negotiate, challenge, &zeroed) != sent {
            self.violation("AUTHENTICATE MIC mismatch".into());
            return Err(NtStatus::LOGON_FAILURE);
        }
        // MS-SPNG 3.2.5.1: the client's mechListMIC over its MechTypeList.
        let client_mic = resp.mech_list_mic.ok_or_else(|| {
            self.violation("no client mechListMIC after an NTLM MIC".into());
            NtStatus::LOGON_FAILURE
        })?;
        if !MessageSecurity::from_session_key(a.flags, &exported, Side::Client)
            .verify_mic(mech_types_der, &client_mic)
        {
            self.violation("client mechListMIC mismatch".into());
            return Err(NtStatus::LOGON_FAILURE);
        }
        let server_mic = MessageSecurity::from_session_key(a.flags, &exported, Side::Server)
            .get_mic(mech_types_der)
            .to_vec();

        // Keys (MS-SMB2 3.3.5.5.3).
        let s = self
            .sessions
            .get_mut(&sid)
            .ok_or(NtStatus::USER_SESSION_DELETED)?;
        let preauth = s.preauth.as_ref().map(|p| *p.value());
        let keys = derive_session_keys(
            neg.dialect.revision(),
            &exported,
            preauth.as_ref(),
            neg.cipher,
        );
        let signing_key: &[u8] = if neg.dialect.is_smb3() {
            keys.signing.as_bytes()
        } else {
            &exported
        };
        let signer = self
            .crypto
            .signer(neg.signing, signing_key)
            .map_err(|_| NtStatus::INTERNAL_ERROR)?;
        s.signer = Some(Arc::from(signer));
        if let Some(c) = neg.cipher.filter(|_| neg.dialect.is_smb3()) {
            let enc = self.crypto.cipher(c, keys.decryption.as_bytes());
            let dec = self.crypto.cipher(c, keys.encryption.as_bytes());
            if let (Ok(e), Ok(d)) = (enc, dec) {
                s.encryptor = Some(Arc::from(e));
                s.decryptor = Some(Arc::from(d));
            }
        }
        s.encrypt_data = self.config.encrypt_data && s.encryptor.is_some();
        s.auth = Auth::Ready;
        let mut session_flags = 0;
        if s.encrypt_data {
            session_flags |= SessionFlags::ENCRYPT_DATA;
        }
        let token = spnego::encode_neg_token_resp(&NegTokenResp {
            neg_state: Some(NegState::AcceptCompleted),
            supported_mech: None,
            response_token: None,
            mech_list_mic: Some(server_mic),
        });
        Ok(Reply::ok(SessionSetupResponse {
            session_flags: SessionFlags(session_flags),
            security_buffer: Bytes::from(token),
        }))
    }

    // ----- TREE_CONNECT (MS-SMB2 3.3.5.7) -----

    fn tree_connect(&mut self, h: &Header, t: &TreeConnectRequest) -> Reply {
        let share = t.path.rsplit('\\').next().unwrap_or("");
        if !share.eq_ignore_ascii_case(&self.config.share) {
            return Reply::err(NtStatus::BAD_NETWORK_NAME);
        }
        let tid = self.next_tree;
        self.next_tree += 1;
        let Some(s) = self.sessions.get_mut(&h.session_id.0) else {
            return Reply::err(NtStatus::USER_SESSION_DELETED);
        };
        s.trees.insert(tid);
        let mut r = Reply::ok(TreeConnectResponse {
            share_type: share_type::DISK,
            share_flags: ShareFlags(0),
            capabilities: 0,
            maximal_access: 0x001f_01ff,
        });
        r.tree_id = Some(tid);
        r
    }

    // ----- CREATE / CLOSE / READ / WRITE -----

    fn create(&mut self, h: &Header, c: &CreateRequest) -> Reply {
        let key = case_key(&c.name);
        let mut action = create_action::OPENED;
        let name = if key.is_empty() {
            if c.create_options & create_options::NON_DIRECTORY_FILE != 0 {
                return Reply::err(NtStatus::FILE_IS_A_DIRECTORY);
            }
            None
        } else {
            if c.create_options & create_options::DIRECTORY_FILE != 0 {
                return Reply::err(NtStatus::NOT_SUPPORTED);
            }
            let exists = self.files.contains_key(&key);
            match (c.create_disposition, exists) {
                (disposition::SUPERSEDE, true) => {
                    self.files.insert(key.clone(), Vec::new());
                    action = create_action::SUPERSEDED;
                }
                (disposition::OPEN | disposition::OPEN_IF, true) => {}
                (disposition::CREATE, true) => return Reply::err(NtStatus::OBJECT_NAME_COLLISION),
                (disposition::OVERWRITE | disposition::OVERWRITE_IF, true) => {
                    self.files.insert(key.clone(), Vec::new());
                    action = create_action::OVERWRITTEN;
                }
                (disposition::OPEN | disposition::OVERWRITE, false) => {
                    return Reply::err(NtStatus::OBJECT_NAME_NOT_FOUND);
                }
                (
                    disposition::SUPERSEDE
                    | disposition::CREATE
                    | disposition::OPEN_IF
                    | disposition::OVERWRITE_IF,
                    false,
                ) => {
                    self.files.insert(key.clone(), Vec::new());
                    action = create_action::CREATED;
                }
                _ => return Reply::err(NtStatus::INVALID_PARAMETER),
            }
            Some(key)
        };
        let n = self.next_file;
        self.next_file += 1;
        let fid = FileId {
            persistent: n,
            volatile: n ^ 0x5a5a_0000_0000_0000,
        };
        let eof = name
            .as_ref()
            .and_then(|k| self.files.get(k))
            .map_or(0, |d| d.len() as u64);
        let attrs = if name.is_none() {
            file_attributes::DIRECTORY
        } else {
            file_attributes::ARCHIVE
        };
        self.opens.insert(
            fid,
            Open {
                name,
                session: h.session_id.0,
                tree: h.tree_id.0,
                delete_on_close: c.create_options & create_options::DELETE_ON_CLOSE != 0,
            },
        );
        Reply::ok(CreateResponse {
            create_action: action,
            creation_time: self.time,
            last_access_time: self.time,
            last_write_time: self.time,
            change_time: self.time,
            allocation_size: eof.next_multiple_of(4096),
            end_of_file: eof,
            file_attributes: attrs,
            file_id: fid,
            ..CreateResponse::default()
        })
    }

    fn close_file(&mut self, fid: FileId, c: &CloseRequest) -> Reply {
        let Some(open) = self.opens.remove(&fid) else {
            return Reply::err(NtStatus::FILE_CLOSED);
        };
        let _ = open.tree;
        let eof = open
            .name
            .as_ref()
            .and_then(|k| self.files.get(k))
            .map_or(0, |d| d.len() as u64);
        if let (true, Some(k)) = (open.delete_on_close, &open.name) {
            self.files.remove(k);
        }
        let mut r = CloseResponse::default();
        if c.flags & CloseRequest::POSTQUERY_ATTRIB != 0 {
            r = CloseResponse {
                flags: CloseRequest::POSTQUERY_ATTRIB,
                creation_time: self.time,
                last_access_time: self.time,
                last_write_time: self.time,
                change_time: self.time,
                allocation_size: eof.next_multiple_of(4096),
                end_of_file: eof,
                file_attributes: file_attributes::ARCHIVE,
            };
        }
        Reply::ok(r)
    }

    fn file_of(&self, fid: FileId) -> Result<String, NtStatus> {
        match self.opens.get(&fid) {
            None => Err(NtStatus::FILE_CLOSED),
            Some(Open { name: None, .. }) => Err(NtStatus::INVALID_DEVICE_REQUEST),
            Some(Open { name: Some(n), .. }) => Ok(n.clone()),
        }
    }

    fn read(&mut self, fid: FileId, r: &ReadRequest) -> Reply {
        if r.length > self.config.max_read {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        }
        let name = match self.file_of(fid) {
            Ok(n) => n,
            Err(s) => return Reply::err(s),
        };
        let data = self.files.get(&name).map(Vec::as_slice).unwrap_or_default();
        let len = data.len() as u64;
        if r.offset >= len && r.length > 0 {
            return Reply::err(NtStatus::END_OF_FILE);
        }
        let start = r.offset.min(len) as usize;
        let end = (r.offset.saturating_add(u64::from(r.length))).min(len) as usize;
        if ((end - start) as u32) < r.minimum_count {
            return Reply::err(NtStatus::END_OF_FILE);
        }
        Reply::ok(ReadResponse {
            data_remaining: 0,
            flags: 0,
            data: Bytes::copy_from_slice(&data[start..end]),
        })
    }

    fn write(&mut self, fid: FileId, w: &WriteRequest) -> Reply {
        if w.data.len() > self.config.max_write as usize {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        }
        let name = match self.file_of(fid) {
            Ok(n) => n,
            Err(s) => return Reply::err(s),
        };
        let file = self.files.entry(name).or_default();
        let start = w.offset as usize;
        let end = start + w.data.len();
        if file.len() < end {
            file.resize(end, 0);
        }
        file[start..end].copy_from_slice(&w.data);
        Reply::ok(WriteResponse {
            count: w.data.len() as u32,
            remaining: 0,
        })
    }
}

/// A NegTokenInit2 (MS-SPNG 2.2.1) naming NTLMSSP, with the customary negHints.
fn neg_token_init2_hint() -> Vec<u8> {
    let mech_types = spnego::encode_mech_types(&[OID_NTLMSSP]);
    let hint_name = der::tlv(
        tag::context(0),
        &der::tlv(tag::GENERAL_STRING, b"not_defined_in_RFC4178@please_ignore"),
    );
    let hints = der::tlv(tag::context(3), &der::tlv(tag::SEQUENCE, &hint_name));
    let seq = der::tlv(
        tag::SEQUENCE,
        &[der::tlv(tag::context(0), &mech_types), hints].concat(),
    );
    der::tlv(
        tag::APPLICATION_0,
        &[
            der::tlv(tag::OID, OID_SPNEGO),
            der::tlv(tag::context(0), &seq),
        ]
        .concat(),
    )
}
