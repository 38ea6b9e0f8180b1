//! Processing received frames: decryption, compound splitting, verification, dispatch.

use bytes::{Bytes, BytesMut};

use crate::Instant;
use crate::crypto::{open_transform, transform_session_id, verify_message};
use crate::error::{ConnectionError, RequestError, StatusError};
use crate::wire::{
    Command, DecodeError, ErrorResponse, FrameKind, HEADER_LEN, Header, IoctlResponse, NtStatus,
    ResponseBody, SessionId, TreeId, classify,
};

use super::{Connection, Event, HookEvent, HookPoint, Kind, Pending, Request, Response};

impl Connection {
    /// Feeds bytes received from the transport, in any chunking.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        if self.closed.is_some() {
            return;
        }
        self.last_rx = now;
        self.hooks.run(&mut HookEvent::Input(bytes));
        self.frames.push(bytes);
        while self.closed.is_none() {
            match self.frames.next_frame() {
                Ok(Some(mut frame)) => {
                    self.hooks.run(&mut HookEvent::Received(&mut frame));
                    self.handle_frame(now, frame);
                }
                Ok(None) => break,
                Err(e) => self.fail(ConnectionError::NotSmb(e)),
            }
        }
        if self.pending.is_empty() {
            // Idle: the receive slabs of a bulk transfer need not outlive it.
            self.frames.release_spare();
        }
    }

    /// The transport reached end of stream.
    pub fn handle_eof(&mut self, _now: Instant) {
        self.fail(ConnectionError::Eof);
    }

    /// The transport failed with `error` (kept as text for the caller's error).
    pub fn handle_transport_error(&mut self, _now: Instant, error: impl Into<String>) {
        self.fail(ConnectionError::Transport(error.into()));
    }

    /// Fires deadlines and keepalives due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed.is_some() {
            return;
        }
        while let Some(pos) = self
            .queue
            .iter()
            .position(|b| b.parts.iter().any(|q| q.deadline <= now))
        {
            // Invariant: `pos` came from `position` on the same queue.
            let batch = self.queue.remove(pos).expect("position is in range");
            for q in batch.parts {
                let command = q.request.command();
                self.complete_with(q.id, q.kind, Err(RequestError::Timeout { command }));
            }
        }
        let expired: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline.is_some_and(|d| d <= now))
            .map(|(m, _)| *m)
            .collect();
        for m in expired {
            // Gone if an earlier expiry failed the connection (which drains `pending`).
            let Some(p) = self.pending.remove(&m) else {
                return;
            };
            self.credits.settle(p.charge);
            if p.kind == Kind::Keepalive {
                self.fail(ConnectionError::KeepaliveTimeout);
                return;
            }
            if p.command == Command::Logoff {
                self.retire_session(p.session, false);
            }
            self.complete_with(
                p.id,
                p.kind,
                Err(RequestError::Timeout { command: p.command }),
            );
        }
        if self.keepalive_due().is_some_and(|t| t <= now) {
            self.keepalive_in_flight = true;
            let id = self.next_id();
            self.queue.push_back(super::Batch::single(super::Queued {
                id,
                request: Request::new(crate::wire::EchoRequest),
                deadline: now + self.config.request_timeout,
                kind: Kind::Keepalive,
                session: None,
                related: false,
            }));
        }
    }

    fn handle_frame(&mut self, now: Instant, mut frame: BytesMut) {
        match classify(&frame) {
            Ok(FrameKind::Smb2) => self.handle_chain(now, frame, None),
            Ok(FrameKind::Transform) => {
                let Some(sid) = transform_session_id(&frame).map(SessionId) else {
                    return self.fail(ConnectionError::Decode {
                        error: DecodeError::Truncated {
                            what: "TRANSFORM_HEADER",
                        },
                        packet: frame.freeze(),
                    });
                };
                let cipher = self
                    .session_index
                    .get(&sid)
                    .and_then(|&i| self.sessions[i].decryptor.as_deref());
                let Some(cipher) = cipher else {
                    return self.fail(ConnectionError::ProtocolViolation(
                        "encrypted message for a session without keys",
                    ));
                };
                match open_transform(cipher, &mut frame) {
                    Ok(range) => {
                        let mut plain = frame.split_off(range.start);
                        plain.truncate(range.len());
                        // MS-SMB2 3.1.4.4: a message is compressed, then sealed.
                        if classify(&plain) == Ok(FrameKind::Compressed) {
                            plain = match self.decompress_message(&plain) {
                                Ok(p) => p,
                                Err(e) => return self.fail(e),
                            };
                        }
                        self.handle_chain(now, plain, Some(sid));
                    }
                    Err(e) => self.fail(ConnectionError::DecryptionFailed(e)),
                }
            }
            Ok(FrameKind::Compressed) => match self.decompress_message(&frame) {
                Ok(plain) => self.handle_chain(now, plain, None),
                Err(e) => self.fail(e),
            },
            Ok(FrameKind::Smb1) => self.fail(ConnectionError::Smb1Only),
            Err(e) => self.fail(ConnectionError::NotSmb(e)),
        }
    }

    /// Splits a (possibly compound) chain, checks each message's protection in place,
    /// runs the BeforeDecode hooks, then dispatches the messages in order (MS-SMB2
    /// 3.2.5.1.9).
    fn handle_chain(&mut self, now: Instant, mut frame: BytesMut, encrypted: Option<SessionId>) {
        let mut parts = match split_chain(&frame) {
            Ok(p) => p,
            Err(e) => return self.fail(e),
        };
        for (s, e, h) in &parts {
            if let Err(err) = self.check_protection(h, &mut frame[*s..*e], encrypted) {
                return self.fail(err);
            }
        }
        if self.hooks.is_active(HookPoint::BeforeDecode) {
            self.hooks.run(&mut HookEvent::BeforeDecode(&mut frame));
            parts = match split_chain(&frame) {
                Ok(p) => p,
                Err(e) => return self.fail(e),
            };
        }
        let frozen = frame.freeze();
        for (s, e, h) in parts {
            if self.closed.is_some() {
                return;
            }
            self.handle_message(now, h, frozen.slice(s..e), encrypted.is_some());
        }
    }

    /// MS-SMB2 3.2.5.1.3: verify what must be signed; refuse what should have been
    /// signed or encrypted and was not.
    fn check_protection(
        &self,
        h: &Header,
        msg: &mut [u8],
        encrypted: Option<SessionId>,
    ) -> Result<(), ConnectionError> {
        if !h.flags.is_response() {
            return Err(ConnectionError::ProtocolViolation("server sent a request"));
        }
        let interim = h.status == NtStatus::PENDING && h.flags.is_async();
        if h.message_id.0 == u64::MAX || interim || h.command == Command::SessionSetup {
            // Breaks and interims are unsigned; SESSION_SETUP is verified with new keys.
            return Ok(());
        }
        if let Some(sid) = encrypted {
            return if sid == h.session_id || h.session_id.0 == 0 {
                Ok(())
            } else {
                Err(ConnectionError::ProtocolViolation(
                    "encrypted message names another session",
                ))
            };
        }
        // The session the request went out on decides, not the response's SessionId: an
        // altered SessionId must not turn verification off (the signature covers it).
        let request = self.pending.get(&h.message_id.0);
        let idx = match request.and_then(|p| p.session) {
            Some(i) => i,
            None => match self.session_index.get(&h.session_id) {
                Some(&i) => i,
                None => return Ok(()),
            },
        };
        let s = &self.sessions[idx];
        let Some(signer) = s.signer.as_deref() else {
            return Ok(());
        };
        let protect = s.signing_required
            || s.encrypt_data
            || request.is_some_and(|p| p.signed || p.encrypted);
        let (command, message_id) = (h.command, h.message_id.0);
        if self.config.dangerous_skip_signature_verification {
            return Ok(());
        }
        if h.flags.is_signed() {
            // Only a session still being set up is verified later, with its new keys; a
            // logged-off one still checks answers to what it sent (they may come late).
            if s.state == super::SessionState::SettingUp || verify_message(signer, msg) {
                return Ok(());
            }
            return Err(ConnectionError::SignatureMismatch {
                command,
                message_id,
            });
        }
        if protect {
            return Err(ConnectionError::UnprotectedResponse {
                command,
                message_id,
            });
        }
        Ok(())
    }

    fn handle_message(&mut self, now: Instant, h: Header, msg: Bytes, encrypted: bool) {
        self.credits.grant(h.credits);
        if h.message_id.0 == u64::MAX {
            if h.command == Command::OplockBreak {
                match ResponseBody::decode(&h, &msg) {
                    Ok(body) => {
                        let mut r = Response {
                            header: h,
                            body,
                            raw: msg,
                        };
                        self.hooks.run(&mut HookEvent::AfterDecode(&mut r));
                        self.handle_break(now, r);
                    }
                    Err(error) => self.fail(ConnectionError::Decode { error, packet: msg }),
                }
            }
            return;
        }
        let Some(p) = self.pending.get_mut(&h.message_id.0) else {
            // A late answer to a request that timed out: credits counted, nothing else.
            return;
        };
        if h.status == NtStatus::PENDING && h.flags.is_async() {
            p.async_id = Some(h.async_id);
            p.deadline = match p.command {
                Command::ChangeNotify | Command::Lock => None,
                _ => Some(now + self.config.pending_timeout),
            };
            let (id, async_id) = (p.id, h.async_id);
            // The internal keepalive's id was never handed out.
            if !p.kind.is_internal() {
                self.events.push_back(Event::Interim { id, async_id });
            }
            return;
        }
        // Invariant: get_mut just found it.
        let p = self.pending.remove(&h.message_id.0).expect("found above");
        self.credits.settle(p.charge);
        let mut result = match p.kind {
            Kind::SetupLeg(_) => super::setup::decode_setup_result(&h, &msg),
            _ => decode_result(&h, &msg),
        };
        if let Ok(r) = &mut result {
            self.hooks.run(&mut HookEvent::AfterDecode(r));
        }
        match p.kind {
            Kind::Keepalive => self.keepalive_in_flight = false,
            Kind::SetupLeg(idx) => self.handle_setup_response(now, p, idx, &h, result, encrypted),
            Kind::User => self.handle_user_response(now, p, result),
            Kind::Validate => self.handle_validation(p, result),
            Kind::BreakAck => {
                if let Ok(Response {
                    body: ResponseBody::OplockBreak(o),
                    ..
                }) = &result
                {
                    self.break_routes.handle_ack_response(o);
                }
            }
        }
    }

    /// MS-SMB2 3.2.5.19: report the break, acknowledging it first if the policy says so.
    fn handle_break(&mut self, now: Instant, r: Response) {
        let Some(mut b) = self.break_routes.decode(r) else {
            return self.fail(ConnectionError::ProtocolViolation(
                "OPLOCK_BREAK notification is neither an oplock nor a lease break",
            ));
        };
        if let Some(level) = self.break_policy.decide(&b) {
            let session = b
                .route
                .and_then(|(sid, _)| self.session_index.get(&sid).copied());
            // A session already gone has no open left to acknowledge for.
            if session.is_some_and(|i| self.sessions[i].state != super::SessionState::Gone) {
                let id = self.next_id();
                self.queue.push_back(super::Batch::single(super::Queued {
                    id,
                    request: b.ack(level),
                    deadline: now + self.config.request_timeout,
                    kind: Kind::BreakAck,
                    session,
                    related: false,
                }));
                b.acked = Some(level);
            }
        }
        self.events.push_back(Event::Break(b));
    }

    fn handle_user_response(
        &mut self,
        now: Instant,
        p: Pending,
        result: Result<Response, RequestError>,
    ) {
        if p.command == Command::Logoff && result.is_err() {
            self.retire_session(p.session, false);
        }
        if let Ok(r) = &result {
            if let Err(e) = self.apply_state(&p, r) {
                self.events.push_back(Event::Completed { id: p.id, result });
                return self.fail(e);
            }
            if matches!(r.body, ResponseBody::TreeConnect(_)) && self.needs_validation(&p) {
                let Ok(r) = result else { return };
                return self.start_validation(now, &p, r);
            }
        } else if p.command == Command::Negotiate {
            let status = result
                .as_ref()
                .err()
                .and_then(RequestError::status)
                .unwrap_or_default();
            self.events.push_back(Event::Completed { id: p.id, result });
            return self.fail(ConnectionError::NegotiateFailed(status));
        }
        self.events.push_back(Event::Completed { id: p.id, result });
    }

    /// Connection state that successful responses change.
    fn apply_state(&mut self, p: &Pending, r: &Response) -> Result<(), ConnectionError> {
        match &r.body {
            ResponseBody::Negotiate(n) => self.handle_negotiate_response(n, &r.raw)?,
            ResponseBody::TreeConnect(t) => {
                if let Some(s) = p.session.map(|i| &mut self.sessions[i])
                    && t.share_flags.is_encrypt_data()
                    && !s.encrypted_trees.contains(&r.header.tree_id)
                {
                    s.encrypted_trees.push(r.header.tree_id);
                }
            }
            ResponseBody::TreeDisconnect(_) => {
                if let (Some(s), Some(t)) = (p.session.map(|i| &mut self.sessions[i]), p.tree) {
                    s.encrypted_trees.retain(|x| *x != t);
                    // MS-SMB2 3.3.5.8: the server closed the tree's opens.
                    let sid = s.id;
                    self.forget_opens(sid, Some(t), r);
                }
            }
            ResponseBody::Logoff(_) => {
                if let Some(i) = p.session {
                    // MS-SMB2 3.3.5.6: the server closed the session's opens.
                    self.forget_opens(self.sessions[i].id, None, r);
                }
                self.retire_session(p.session, true);
            }
            ResponseBody::Create(_) => {
                if let (Some(i), Some(tree)) = (p.session, p.tree) {
                    let sid = self.sessions[i].id;
                    self.break_routes
                        .handle_create(sid, tree, r, p.closed_in_chain);
                }
            }
            ResponseBody::Close(_) => {
                if let Some(fid) = p.closes {
                    self.break_routes.handle_close(fid);
                }
            }
            ResponseBody::OplockBreak(o) => self.break_routes.handle_ack_response(o),
            _ => {}
        }
        Ok(())
    }
}

impl Connection {
    /// The server closed the opens of `session` (or of its `tree`) when it answered `r`.
    fn forget_opens(&mut self, session: SessionId, tree: Option<TreeId>, r: &Response) {
        let oldest = self.pending.keys().min().copied();
        self.break_routes
            .forget_opens(session, tree, r.header.message_id.0, oldest);
    }

    /// Retires a session once its LOGOFF went out and finished, whatever the outcome: a
    /// failed or timed-out LOGOFF may still have ended the session on the server, and
    /// anything sealed under a session the server no longer knows makes it disconnect
    /// (MS-SMB2 3.3.5.2.1.1), so later use is refused locally. Only a successful LOGOFF
    /// `forget`s the keys; otherwise late (encrypted) answers must still be opened.
    fn retire_session(&mut self, idx: Option<usize>, forget: bool) {
        if let Some(i) = idx {
            self.sessions[i].state = super::SessionState::Gone;
            if forget {
                let id = self.sessions[i].id;
                self.session_index.remove(&id);
            }
        }
    }
}

/// A response's result: typed body on success (and on warnings that carry a body),
/// else the status with the ERROR body.
pub(super) fn decode_result(h: &Header, msg: &Bytes) -> Result<Response, RequestError> {
    let status_error = || {
        // MS-SMB2 3.2.5.1: some IOCTL failures (server-side copy limits and progress)
        // come with an IOCTL response body; the StructureSize tells which body it is.
        let ioctl = (h.command == Command::Ioctl && structure_size(msg) == Some(49))
            .then(|| IoctlResponse::decode_bytes(msg).ok())
            .flatten();
        Err(RequestError::Status(Box::new(StatusError {
            command: h.command,
            status: h.status,
            header: h.clone(),
            error: ErrorResponse::decode(msg).unwrap_or_default(),
            ioctl,
        })))
    };
    // Success and informational severities carry the command's body; of the warnings
    // only BUFFER_OVERFLOW does (truncated data). Others, such as NO_MORE_FILES, carry
    // an ERROR body that can look like a valid response (both StructureSize 9).
    let has_body = h.status.0 >> 30 <= 1 || h.status == NtStatus::BUFFER_OVERFLOW;
    if !has_body {
        return status_error();
    }
    match ResponseBody::decode(h, msg) {
        Ok(body) => Ok(Response {
            header: h.clone(),
            body,
            raw: msg.clone(),
        }),
        Err(_) if h.status != NtStatus::SUCCESS => status_error(),
        Err(error) => Err(RequestError::Decode {
            command: h.command,
            error,
            packet: msg.clone(),
        }),
    }
}

/// The body's StructureSize, if the body has one.
fn structure_size(msg: &[u8]) -> Option<u16> {
    let b = msg.get(HEADER_LEN..HEADER_LEN + 2)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

/// [`split_chain`](crate::wire::split_chain), as the connection reports its failures.
fn split_chain(frame: &[u8]) -> Result<Vec<(usize, usize, Header)>, ConnectionError> {
    match crate::wire::split_chain(frame) {
        Ok(parts) => Ok(parts
            .into_iter()
            .map(|(r, h)| (r.start, r.end, h))
            .collect()),
        Err(DecodeError::OutOfBounds { .. }) => Err(ConnectionError::ProtocolViolation(
            "NextCommand out of bounds",
        )),
        Err(error) => Err(ConnectionError::Decode {
            error,
            packet: Bytes::copy_from_slice(frame),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{CopyChunkResponse, FileId, HeaderFlags, fsctl};

    fn message(status: NtStatus, body: impl FnOnce(&mut Vec<u8>)) -> (Header, Bytes) {
        let h = Header {
            status,
            command: Command::Ioctl,
            flags: HeaderFlags(HeaderFlags::SERVER_TO_REDIR),
            ..Header::default()
        };
        let mut out = Vec::new();
        h.encode(&mut out);
        body(&mut out);
        (h, Bytes::from(out))
    }

    fn status_error(h: &Header, msg: &Bytes) -> StatusError {
        match decode_result(h, msg) {
            Err(RequestError::Status(s)) => *s,
            other => panic!("{other:?}"),
        }
    }

    fn copychunk_body(status: NtStatus, r: CopyChunkResponse) -> (Header, Bytes) {
        let body = IoctlResponse {
            ctl_code: fsctl::FSCTL_SRV_COPYCHUNK_WRITE,
            file_id: FileId::RELATED,
            output: r.to_bytes(),
            ..IoctlResponse::default()
        };
        message(status, |out| body.encode(out, 0))
    }

    #[test]
    fn ioctl_body_with_an_error_status_is_decoded() {
        let limits = CopyChunkResponse {
            chunks_written: 256,
            chunk_bytes_written: 1 << 20,
            total_bytes_written: 16 << 20,
        };
        let (h, msg) = copychunk_body(NtStatus::INVALID_PARAMETER, limits);
        let e = status_error(&h, &msg);
        assert_eq!(e.ioctl().map(|i| i.file_id), Some(FileId::RELATED));
        assert_eq!(e.copychunk(), Some(limits));
        let l = e.copychunk_limits().expect("limits");
        assert_eq!((l.max_chunks, l.max_chunk_size), (256, 1 << 20));
        assert_eq!(l.max_total_size, 16 << 20);
        assert_eq!(e.error, ErrorResponse::default());

        // Another status: progress, not limits (MS-SMB2 3.3.5.15.6.1).
        let (h, msg) = copychunk_body(NtStatus::ACCESS_DENIED, limits);
        let e = status_error(&h, &msg);
        assert_eq!(e.copychunk(), Some(limits));
        assert_eq!(e.copychunk_limits(), None);
    }

    #[test]
    fn error_body_stays_an_error_body() {
        let err = ErrorResponse {
            error_context_count: 0,
            error_data: Bytes::from_static(&[1, 2, 3, 4]),
        };
        let (h, msg) = message(NtStatus::INVALID_PARAMETER, |out| err.encode(out, 0));
        let e = status_error(&h, &msg);
        assert_eq!(e.ioctl(), None);
        assert_eq!(e.copychunk_limits(), None);
        assert_eq!(e.error, err);
    }

    #[test]
    fn lying_ioctl_bodies_are_dropped_not_trusted() {
        let (h, msg) = copychunk_body(NtStatus::INVALID_PARAMETER, CopyChunkResponse::default());
        let mut bad = msg.to_vec();
        // OutputCount far beyond the message.
        let at = HEADER_LEN + 36;
        bad[at..at + 4].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        let e = status_error(&h, &Bytes::from(bad));
        assert_eq!(e.status, NtStatus::INVALID_PARAMETER);
        assert_eq!(e.ioctl(), None);
        // A body cut short after the StructureSize.
        let short = msg.slice(..HEADER_LEN + 4);
        assert_eq!(status_error(&h, &short).ioctl(), None);
        // Not an IOCTL: a 49-sized body is not looked at.
        let mut other = h.clone();
        other.command = Command::Read;
        assert_eq!(status_error(&other, &msg).ioctl(), None);
    }

    #[test]
    fn buffer_overflow_on_ioctl_is_a_response_with_partial_output() {
        let body = IoctlResponse {
            ctl_code: fsctl::FSCTL_GET_REPARSE_POINT,
            output: Bytes::from_static(b"partial"),
            ..IoctlResponse::default()
        };
        let (h, msg) = message(NtStatus::BUFFER_OVERFLOW, |out| body.encode(out, 0));
        let r = decode_result(&h, &msg).expect("a warning, not an error");
        match r.body {
            ResponseBody::Ioctl(i) => assert_eq!(i.output, body.output),
            other => panic!("{other:?}"),
        }
    }
}
