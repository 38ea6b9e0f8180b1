//! Encoding outgoing requests: credits, header, signing, encryption, framing.

use crate::Instant;
use crate::crypto::{TRANSFORM_HEADER_LEN, seal_transform, sign_message};
use crate::error::RequestError;
use crate::wire::{
    AsyncId, CancelRequest, Command, Dialect, HEADER_LEN, Header, HeaderFlags, MAX_FRAME_LEN,
    MessageId, NtStatus, RequestBody, SessionId, TreeId, frame_header,
};

use super::{CancelTarget, Connection, Event, Kind, Pending, Queued};

/// How one message is protected on the wire.
#[derive(Clone, Copy, Debug, Default)]
struct Protection {
    sign: bool,
    encrypt: bool,
}

impl Connection {
    /// Appends every frame that can be sent now to `out` (Direct TCP framed, signed and
    /// encrypted as required). Returns the number of bytes appended, `None` if nothing.
    ///
    /// Requests wait here for credits: a request is sent only when the credits it is
    /// charged are available, so the server's window is never exceeded.
    pub fn poll_transmit(&mut self, now: Instant, out: &mut Vec<u8>) -> Option<usize> {
        if self.closed.is_some() {
            return None;
        }
        let start = out.len();
        while let Some(c) = self.cancels.pop_front() {
            self.encode_cancel(&c, out);
        }
        while let Some(q) = self.queue.front() {
            let charge = self.credits.charge_for(q.request.payload_size());
            if u32::from(charge) > self.credits.available {
                if self.credits.in_flight == 0 {
                    // Nothing in flight means no grant will ever come: fail, don't hang.
                    // Invariant: front() was Some.
                    let q = self.queue.pop_front().expect("front exists");
                    let available = self.credits.available;
                    self.events.push_back(Event::Completed {
                        id: q.id,
                        result: Err(RequestError::InsufficientCredits {
                            needed: charge,
                            available,
                        }),
                    });
                    continue;
                }
                break;
            }
            // Invariant: front() was Some.
            let q = self.queue.pop_front().expect("front exists");
            self.send_queued(now, q, charge, out);
        }
        (out.len() > start).then(|| out.len() - start)
    }

    fn send_queued(&mut self, now: Instant, q: Queued, charge: u16, out: &mut Vec<u8>) {
        let command = q.request.command();
        let prot = self.protection_for(&q);
        let credit_request = self.credits.request_for(charge, self.config.target_credits);
        let header_charge = self.credits.header_charge(charge);
        let first_id = self.credits.spend(charge);
        let o = &q.request.header;
        let session_id = q.session.map_or(SessionId(0), |i| self.sessions[i].id);
        let mut flags = HeaderFlags::default();
        flags.set(HeaderFlags::SIGNED, prot.sign);
        let header = Header {
            credit_charge: o.credit_charge.unwrap_or(header_charge),
            status: NtStatus(o.channel_sequence.map_or(0, u32::from)),
            command,
            credits: o.credit_request.unwrap_or(credit_request),
            flags: o.flags.unwrap_or(flags),
            next_command: o.next_command.unwrap_or(0),
            message_id: o.message_id.unwrap_or(MessageId(first_id)),
            process_id: o.process_id.unwrap_or(0),
            tree_id: o.tree_id.unwrap_or(q.request.tree.unwrap_or(TreeId(0))),
            async_id: o.async_id.unwrap_or(AsyncId(0)),
            session_id: o.session_id.unwrap_or(session_id),
            signature: o.signature.unwrap_or([0; 16]),
        };
        let message_id = header.message_id.0;
        let sig_override = o.signature.is_some();
        let result =
            self.encode_message(&header, &q.request.body, q.session, prot, sig_override, out);
        if let Err(e) = result {
            self.credits.settle(charge);
            self.complete_with(q.id, q.kind, Err(e));
            return;
        }
        let deadline = Some(q.deadline.max(now));
        self.pending.insert(
            message_id,
            Pending {
                id: q.id,
                command,
                kind: q.kind,
                session: q.session,
                charge,
                deadline,
                async_id: None,
                signed: prot.sign,
                encrypted: prot.encrypt,
                tree: q.request.tree,
            },
        );
    }

    /// MS-SMB2 3.2.4.1.1 (signing) and 3.2.4.1.8 (encryption) for one request.
    fn protection_for(&self, q: &Queued) -> Protection {
        let Some(s) = q.session.map(|i| &self.sessions[i]) else {
            return Protection::default();
        };
        let command = q.request.command();
        if !s.is_ready() || matches!(command, Command::Negotiate | Command::SessionSetup) {
            return Protection::default();
        }
        let tree_encrypted = q
            .request
            .tree
            .is_some_and(|t| s.encrypted_trees.contains(&t));
        let encrypt = q
            .request
            .encrypt
            .unwrap_or(s.encrypt_data || tree_encrypted)
            && s.encryptor.is_some();
        // 3.1.1 signs TREE_CONNECT for every non-anonymous, non-guest session.
        let is_311 = self
            .negotiated
            .as_ref()
            .is_some_and(|n| n.dialect == Dialect::Smb311);
        let policy_sign = s.signing_required || (is_311 && command == Command::TreeConnect);
        let sign = !encrypt && q.request.sign.unwrap_or(policy_sign) && s.signer.is_some();
        Protection { sign, encrypt }
    }

    /// Frames, signs and seals one message into `out`.
    fn encode_message(
        &mut self,
        header: &Header,
        body: &RequestBody,
        session: Option<usize>,
        prot: Protection,
        sig_override: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), RequestError> {
        let frame_start = out.len();
        out.extend_from_slice(&[0; 4]);
        if prot.encrypt {
            out.resize(out.len() + TRANSFORM_HEADER_LEN, 0);
        }
        let msg_start = out.len();
        out.reserve(HEADER_LEN + 64);
        header.encode(out);
        body.encode(out, msg_start);
        if prot.sign
            && !sig_override
            && let Some(signer) = session.and_then(|i| self.sessions[i].signer.as_deref())
        {
            sign_message(signer, &mut out[msg_start..]);
        }
        // MS-SMB2 3.2.4.2.2.2 / 3.2.4.2.3: the preauth hash covers requests as sent.
        match header.command {
            Command::Negotiate => {
                self.preauth = crate::crypto::PreauthHash::new();
                self.preauth.update(&out[msg_start..]);
            }
            Command::SessionSetup => {
                if let Some(p) = session.and_then(|i| self.sessions[i].preauth.as_mut()) {
                    p.update(&out[msg_start..]);
                }
            }
            _ => {}
        }
        if prot.encrypt {
            // Invariant: protection_for only sets encrypt when a session with an
            // encryptor is given.
            let s = &mut self.sessions[session.expect("encrypt implies a session")];
            let nonce = s.next_nonce();
            let cipher = s.encryptor.as_ref().expect("encrypt implies an encryptor");
            let sealed =
                seal_transform(cipher.as_ref(), &nonce, s.id.0, &mut out[frame_start + 4..]);
            if let Err(e) = sealed {
                out.truncate(frame_start);
                return Err(RequestError::Crypto(e));
            }
        }
        let len = out.len() - frame_start - 4;
        if len > MAX_FRAME_LEN {
            out.truncate(frame_start);
            return Err(RequestError::FrameTooLarge { size: len });
        }
        out[frame_start..frame_start + 4].copy_from_slice(&frame_header(len));
        Ok(())
    }

    /// CANCEL reuses its target's MessageId and costs no credit (MS-SMB2 3.2.4.24).
    fn encode_cancel(&mut self, c: &CancelTarget, out: &mut Vec<u8>) {
        let mut flags = HeaderFlags::default();
        flags.set(HeaderFlags::ASYNC_COMMAND, c.async_id.is_some());
        flags.set(HeaderFlags::SIGNED, c.signed && !c.encrypted);
        let header = Header {
            command: Command::Cancel,
            flags,
            message_id: MessageId(c.message_id),
            async_id: c.async_id.unwrap_or_default(),
            tree_id: c.tree.unwrap_or_default(),
            session_id: c.session.map_or(SessionId(0), |i| self.sessions[i].id),
            ..Header::default()
        };
        let prot = Protection {
            sign: c.signed && !c.encrypted,
            encrypt: c.encrypted,
        };
        // A failed CANCEL encode (crypto refusal) leaves the target to its deadline.
        let _ = self.encode_message(
            &header,
            &RequestBody::Cancel(CancelRequest),
            c.session,
            prot,
            false,
            out,
        );
    }

    /// Completes a request that failed before it was sent.
    pub(super) fn complete_with(
        &mut self,
        id: super::RequestId,
        kind: Kind,
        result: Result<super::Response, RequestError>,
    ) {
        match kind {
            Kind::Keepalive => self.keepalive_in_flight = false,
            Kind::SetupLeg(i) => {
                self.sessions[i].state = super::SessionState::Gone;
                self.events.push_back(Event::Completed { id, result });
            }
            Kind::User => self.events.push_back(Event::Completed { id, result }),
        }
    }
}
