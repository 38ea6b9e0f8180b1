//! Encoding outgoing requests: credits, header, compounding, signing, encryption, framing.

use crate::Instant;
use bytes::Bytes;

use crate::crypto::{
    PreauthHash, TRANSFORM_HEADER_LEN, TransformFields, seal_transform_fields, sign_message,
    sign_message_parts,
};
use crate::error::ConnectionError;
use crate::error::RequestError;
use crate::wire::{
    AsyncId, CancelRequest, Command, Dialect, FileId, HEADER_LEN, Header, HeaderFlags,
    MAX_FRAME_LEN, MessageId, NtStatus, RequestBody, SessionId, TreeId, WriteRequest, frame_header,
    pad_to, patch_u32,
};

use super::{
    Batch, CancelTarget, Connection, Event, HookEvent, HookPoint, Kind, Pending, Queued, Request,
    TransformOverrides, Transmit,
};

/// WRITE data from this size on is spliced into a [`Transmit`] rather than copied.
const SPLICE_MIN: usize = 64 * 1024;

/// How one frame is protected on the wire.
#[derive(Clone, Copy, Debug, Default)]
struct Protection {
    sign: bool,
    encrypt: bool,
}

/// One message of a frame, ready to encode.
struct Part<'a> {
    header: Header,
    body: &'a RequestBody,
    session: Option<usize>,
    /// The caller forced the Signature field: send it verbatim.
    sig_override: bool,
    /// The caller forced NextCommand.
    next_override: bool,
    /// TRANSFORM_HEADER fields the caller forced (the first part's count).
    transform: &'a TransformOverrides,
}

impl Connection {
    /// Appends every frame that can be sent now to `out` (Direct TCP framed, signed and
    /// encrypted as required). Returns the number of bytes appended, `None` if nothing.
    ///
    /// Requests wait here for credits: a request (or a whole compound) is sent only when
    /// the credits it is charged are available, so the server's window is never exceeded.
    pub fn poll_transmit(&mut self, now: Instant, out: &mut Vec<u8>) -> Option<usize> {
        let mut t = Transmit {
            buf: std::mem::take(out),
            spliced: Vec::new(),
        };
        let n = self.transmit(now, &mut t, false);
        *out = t.buf;
        n
    }

    /// [`poll_transmit`](Self::poll_transmit), but the data of large WRITEs is not
    /// copied: `out` holds it as the caller handed it over, between the encoded bytes
    /// (signed over both). Sealed or compressed frames, and any frame while an
    /// AfterEncode, BeforeSend or AfterSend hook is registered, are encoded whole.
    pub fn poll_transmit_vectored(&mut self, now: Instant, out: &mut Transmit) -> Option<usize> {
        self.transmit(now, out, true)
    }

    fn transmit(&mut self, now: Instant, out: &mut Transmit, splice: bool) -> Option<usize> {
        if self.closed.is_some() {
            return None;
        }
        let start = out.len();
        while let Some(c) = self.cancels.pop_front() {
            self.encode_cancel(&c, &mut out.buf);
        }
        while let Some(batch) = self.queue.front_mut() {
            if !batch.hooked {
                batch.hooked = true;
                for q in &mut batch.parts {
                    self.hooks.run(&mut HookEvent::BeforeEncode(&mut q.request));
                }
            }
            let batch = &*batch;
            let charges: Vec<u16> = batch
                .parts
                .iter()
                .map(|q| self.credits.charge_for(q.request.payload_size()))
                .collect();
            let needed: u32 = charges.iter().map(|c| u32::from(*c)).sum();
            if needed > self.credits.available && !self.config.dangerous_ignore_credit_limit {
                if self.credits.in_flight == 0 {
                    // Nothing in flight means no grant will ever come: fail, don't hang.
                    // Invariant: front() was Some.
                    let batch = self.queue.pop_front().expect("front exists");
                    let available = self.credits.available;
                    let needed = u16::try_from(needed).unwrap_or(u16::MAX);
                    for q in batch.parts {
                        let e = RequestError::InsufficientCredits { needed, available };
                        self.complete_with(q.id, q.kind, Err(e));
                    }
                    continue;
                }
                break;
            }
            // Invariant: front() was Some.
            let batch = self.queue.pop_front().expect("front exists");
            self.send_batch(now, batch, &charges, out, splice);
        }
        (out.len() > start).then(|| out.len() - start)
    }

    fn send_batch(
        &mut self,
        now: Instant,
        batch: Batch,
        charges: &[u16],
        out: &mut Transmit,
        splice: bool,
    ) {
        // One frame has one protection: the first part's session decides it.
        let prot = self.protection_for(&batch.parts[0]);
        let mut parts = Vec::with_capacity(batch.parts.len());
        for (q, &charge) in batch.parts.iter().zip(charges) {
            parts.push(self.build_header(q, charge, prot));
        }
        let spliced = splice.then(|| self.spliceable(&parts, prot)).flatten();
        let encoded = match spliced {
            Some(w) => self.encode_spliced(&parts[0], w, prot, out),
            None => self.encode_frame(&parts, prot, &mut out.buf),
        };
        let headers: Vec<(u64, TreeId)> = parts
            .iter()
            .map(|p| (p.header.message_id.0, p.header.tree_id))
            .collect();
        drop(parts);
        let closed_in_chain: Vec<bool> = (0..batch.parts.len())
            .map(|i| closed_in_chain(&batch.parts, i))
            .collect();
        for (((q, &charge), (message_id, _)), closed_in_chain) in batch
            .parts
            .into_iter()
            .zip(charges)
            .zip(headers)
            .zip(closed_in_chain)
        {
            if let Err(e) = &encoded {
                self.credits.settle(charge);
                self.complete_with(q.id, q.kind, Err(e.clone()));
                continue;
            }
            self.pending.insert(
                message_id,
                Pending {
                    id: q.id,
                    command: q.request.command(),
                    kind: q.kind,
                    session: q.session,
                    charge,
                    deadline: Some(q.deadline.max(now)),
                    async_id: None,
                    signed: prot.sign,
                    encrypted: prot.encrypt,
                    tree: q.request.tree,
                    closes: match &q.request.body {
                        RequestBody::Close(c) if c.file_id != FileId::RELATED => Some(c.file_id),
                        _ => None,
                    },
                    closed_in_chain,
                },
            );
        }
    }

    /// Spends credits and builds the header, honouring the caller's overrides.
    fn build_header<'a>(&mut self, q: &'a Queued, charge: u16, prot: Protection) -> Part<'a> {
        let credit_request = self.credits.request_for(charge, self.config.target_credits);
        let header_charge = self.credits.header_charge(charge);
        let first_id = self.credits.spend(charge);
        let o = &q.request.header;
        let mut flags = HeaderFlags::default();
        flags.set(HeaderFlags::SIGNED, prot.sign);
        flags.set(HeaderFlags::RELATED_OPERATIONS, q.related);
        let header = Header {
            credit_charge: o.credit_charge.unwrap_or(header_charge),
            status: NtStatus(o.channel_sequence.map_or(0, u32::from)),
            command: q.request.command(),
            credits: o.credit_request.unwrap_or(credit_request),
            flags: o.flags.unwrap_or(HeaderFlags(flags.0 | o.flags_or)),
            next_command: o.next_command.unwrap_or(0),
            message_id: o.message_id.unwrap_or(MessageId(first_id)),
            process_id: o.process_id.unwrap_or(0),
            tree_id: o.tree_id.unwrap_or(q.request.tree.unwrap_or(TreeId(0))),
            async_id: o.async_id.unwrap_or(AsyncId(0)),
            session_id: o
                .session_id
                .unwrap_or(q.session.map_or(SessionId(0), |i| self.sessions[i].id)),
            signature: o.signature.unwrap_or([0; 16]),
        };
        Part {
            header,
            body: &q.request.body,
            session: q.session,
            sig_override: o.signature.is_some(),
            next_override: o.next_command.is_some(),
            transform: &q.request.transform,
        }
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

    /// The WRITE whose data can go out as the caller handed it over: a lone, large
    /// WRITE in a frame that is neither sealed nor compressed, with no hook registered
    /// that sees or changes whole frames.
    fn spliceable<'a>(&self, parts: &[Part<'a>], prot: Protection) -> Option<&'a WriteRequest> {
        let [
            Part {
                body: RequestBody::Write(w),
                ..
            },
        ] = parts
        else {
            return None;
        };
        let hooked = [
            HookPoint::AfterEncode,
            HookPoint::BeforeSend,
            HookPoint::AfterSend,
        ]
        .into_iter()
        .any(|h| self.hooks.is_active(h));
        (!prot.encrypt
            && !self.compresses_writes()
            && !hooked
            && w.data.len() >= SPLICE_MIN
            && w.channel_info.is_empty())
        .then_some(w)
    }

    /// One WRITE framed as [`encode_frame`](Self::encode_frame) would, but its data is
    /// spliced into `out` after the encoded header and fixed body instead of copied
    /// (MS-SMB2 2.2.21: the data is the message's last field), and signed in place.
    fn encode_spliced(
        &mut self,
        part: &Part<'_>,
        w: &WriteRequest,
        prot: Protection,
        out: &mut Transmit,
    ) -> Result<(), RequestError> {
        let buf = &mut out.buf;
        let frame_start = buf.len();
        buf.extend_from_slice(&[0; 4]);
        let msg_start = buf.len();
        part.header.encode(buf);
        w.encode_fixed(buf, msg_start);
        if prot.sign
            && !part.sig_override
            && let Some(signer) = part
                .session
                .and_then(|s| self.sessions[s].signer.as_deref())
        {
            sign_message_parts(signer, &mut buf[msg_start..], &w.data);
        }
        let len = buf.len() - msg_start + w.data.len();
        close_frame(buf, frame_start, len)?;
        out.spliced.push((buf.len(), Bytes::clone(&w.data)));
        Ok(())
    }

    /// Frames, chains, signs and seals messages into `out` (MS-SMB2 3.2.4.1.4: each
    /// chained message starts 8-byte aligned and is signed over its padded length),
    /// running the AfterEncode, BeforeSend and AfterSend hooks on the way.
    ///
    /// Messages are encoded, signed and sealed where they will be sent: hooks that
    /// need a separate copy (AfterEncode, BeforeSend, AfterSend of a sealed frame) pay
    /// for it only when one is registered.
    fn encode_frame(
        &mut self,
        parts: &[Part<'_>],
        prot: Protection,
        out: &mut Vec<u8>,
    ) -> Result<(), RequestError> {
        let frame_start = out.len();
        out.extend_from_slice(&[0; 4]);
        if prot.encrypt {
            out.resize(out.len() + TRANSFORM_HEADER_LEN, 0);
        }
        let chain_start = out.len();
        let mut starts = encode_chain(parts, out);
        if self.hooks.is_active(HookPoint::AfterEncode) {
            let mut chain = out.split_off(chain_start);
            let encoded_len = chain.len();
            self.hooks.run(&mut HookEvent::AfterEncode(&mut chain));
            if chain.len() != encoded_len {
                starts = chain_starts(&chain)
                    .into_iter()
                    .map(|s| s + chain_start)
                    .collect();
            }
            out.extend_from_slice(&chain);
        }
        // Sign each message over its own bytes, padding included, once NextCommand is set.
        for (i, &start) in starts.iter().enumerate() {
            let end = starts.get(i + 1).copied().unwrap_or(out.len());
            // Messages a hook appended are protected like the last encoded part.
            let Some(p) = parts.get(i).or(parts.last()) else {
                break;
            };
            if prot.sign
                && !p.sig_override
                && let Some(signer) = p.session.and_then(|s| self.sessions[s].signer.as_deref())
            {
                sign_message(signer, &mut out[start..end]);
            }
        }
        // MS-SMB2 3.2.4.2.2.2 / 3.2.4.2.3: the preauth hash covers requests as sent.
        if let [p] = parts {
            let chain = &out[chain_start..];
            match p.header.command {
                Command::Negotiate => {
                    self.preauth = PreauthHash::new();
                    self.preauth.update(chain);
                }
                Command::SessionSetup => {
                    if let Some(h) = p.session.and_then(|i| self.sessions[i].preauth.as_mut()) {
                        h.update(chain);
                    }
                }
                _ => {}
            }
        }
        if let [p] = parts {
            self.compress_write(p.header.command, out, chain_start);
        }
        let mut sealed_plaintext = None;
        if prot.encrypt {
            if self.hooks.is_active(HookPoint::AfterSend) {
                sealed_plaintext = Some(out[chain_start..].to_vec());
            }
            // Invariant: protection_for only sets encrypt for a session with an encryptor.
            let s = &mut self.sessions[parts[0].session.expect("encrypt implies a session")];
            let t = parts[0].transform;
            let nonce_field = match t.nonce {
                Some(n) => n,
                None => s.next_nonce(),
            };
            let cipher = s.encryptor.as_ref().expect("encrypt implies an encryptor");
            let fields = TransformFields {
                nonce_field,
                session_id: t.session_id.unwrap_or(s.id).0,
                original_size: t.original_size,
                flags: t.flags,
            };
            let frame = &mut out[frame_start + 4..];
            if let Err(e) = seal_transform_fields(cipher.as_ref(), &fields, frame) {
                out.truncate(frame_start);
                return Err(RequestError::Crypto(e));
            }
            if let Some(sig) = &t.signature {
                frame[4..20].copy_from_slice(sig);
            }
        }
        if self.hooks.is_active(HookPoint::BeforeSend) {
            let mut frame = out.split_off(frame_start + 4);
            self.hooks.run(&mut HookEvent::BeforeSend(&mut frame));
            out.extend_from_slice(&frame);
        }
        close_frame(out, frame_start, out.len() - frame_start - 4)?;
        if self.hooks.is_active(HookPoint::AfterSend) {
            let frame = &out[frame_start + 4..];
            let plaintext = sealed_plaintext.as_deref().unwrap_or(frame);
            self.hooks
                .run(&mut HookEvent::AfterSend { frame, plaintext });
        }
        Ok(())
    }

    /// CANCEL reuses its target's MessageId and costs no credit (MS-SMB2 3.2.4.24).
    fn encode_cancel(&mut self, c: &CancelTarget, out: &mut Vec<u8>) {
        let prot = Protection {
            sign: c.signed && !c.encrypted,
            encrypt: c.encrypted,
        };
        let mut flags = HeaderFlags::default();
        flags.set(HeaderFlags::ASYNC_COMMAND, c.async_id.is_some());
        flags.set(HeaderFlags::SIGNED, prot.sign);
        let mut request = Request::new(CancelRequest);
        let o = &mut request.header;
        o.flags = Some(flags);
        o.message_id = Some(MessageId(c.message_id));
        o.async_id = Some(c.async_id.unwrap_or_default());
        o.tree_id = Some(c.tree.unwrap_or_default());
        o.session_id = Some(c.session.map_or(SessionId(0), |i| self.sessions[i].id));
        o.credit_charge = Some(0);
        o.credit_request = Some(0);
        self.hooks.run(&mut HookEvent::BeforeEncode(&mut request));
        let o = &request.header;
        let header = Header {
            command: request.command(),
            credit_charge: o.credit_charge.unwrap_or(0),
            status: NtStatus(o.channel_sequence.map_or(0, u32::from)),
            credits: o.credit_request.unwrap_or(0),
            flags: o.flags.unwrap_or(flags),
            next_command: o.next_command.unwrap_or(0),
            message_id: o.message_id.unwrap_or(MessageId(c.message_id)),
            process_id: o.process_id.unwrap_or(0),
            tree_id: o.tree_id.unwrap_or_default(),
            async_id: o.async_id.unwrap_or_default(),
            session_id: o.session_id.unwrap_or_default(),
            signature: o.signature.unwrap_or([0; 16]),
        };
        let part = Part {
            header,
            body: &request.body,
            session: c.session,
            sig_override: o.signature.is_some(),
            next_override: o.next_command.is_some(),
            transform: &request.transform,
        };
        // A failed CANCEL encode (crypto refusal) leaves the target to its deadline.
        let _ = self.encode_frame(&[part], prot, out);
    }

    /// Completes a request that failed before a response arrived.
    pub(super) fn complete_with(
        &mut self,
        id: super::RequestId,
        kind: Kind,
        result: Result<super::Response, RequestError>,
    ) {
        match kind {
            Kind::Keepalive => self.keepalive_in_flight = false,
            // Nobody waits on an automatic acknowledgment; the server's timeout is the
            // only consequence of one that never went out.
            Kind::BreakAck => {}
            Kind::SetupLeg(i) => {
                self.sessions[i].state = super::SessionState::Gone;
                self.events.push_back(Event::Completed { id, result });
            }
            Kind::User => self.events.push_back(Event::Completed { id, result }),
            // No answer to the validation: the negotiate cannot be trusted.
            Kind::Validate => self.fail(ConnectionError::NegotiateValidationFailed(
                "no VALIDATE_NEGOTIATE_INFO answer",
            )),
        }
    }
}

/// Appends the headers and bodies of one frame's messages to `out`, chained: each part
/// after the first starts 8-byte aligned and the previous part's NextCommand points at
/// it (unless overridden). Returns where each message starts in `out`.
fn encode_chain(parts: &[Part<'_>], out: &mut Vec<u8>) -> Vec<usize> {
    let mut starts: Vec<usize> = Vec::with_capacity(parts.len());
    for (i, p) in parts.iter().enumerate() {
        if let Some(&prev) = starts.last() {
            pad_to(out, prev, 8);
            if !parts[i - 1].next_override {
                let next = u32::try_from(out.len() - prev).unwrap_or(u32::MAX);
                patch_u32(out, prev + 20, next);
            }
        }
        let msg_start = out.len();
        starts.push(msg_start);
        p.header.encode(out);
        p.body.encode(out, msg_start);
    }
    starts
}

/// Fills in the Direct TCP header at `frame_start` for a frame of `len` bytes (MS-SMB2
/// 2.1), or takes the frame back out of `buf` if the 24-bit length cannot hold it.
fn close_frame(buf: &mut Vec<u8>, frame_start: usize, len: usize) -> Result<(), RequestError> {
    if len > MAX_FRAME_LEN {
        buf.truncate(frame_start);
        return Err(RequestError::FrameTooLarge { size: len });
    }
    buf[frame_start..frame_start + 4].copy_from_slice(&frame_header(len));
    Ok(())
}

/// Message starts in a chain, following NextCommand (MS-SMB2 2.2.1.2) as far as it
/// stays inside the chain.
fn chain_starts(chain: &[u8]) -> Vec<usize> {
    let mut starts = vec![0];
    let mut at = 0usize;
    while let Some(next) = chain.get(at + 20..at + 24) {
        // Invariant: the range is 4 bytes long.
        let next = u32::from_le_bytes(next.try_into().expect("4 bytes")) as usize;
        if next < HEADER_LEN || at + next >= chain.len() {
            break;
        }
        at += next;
        starts.push(at);
    }
    starts
}

/// Whether part `i` is a CREATE whose open a related CLOSE of the same compound closes
/// (MS-SMB2 3.2.4.1.4: FileId all ones names the open the chain created).
fn closed_in_chain(parts: &[Queued], i: usize) -> bool {
    matches!(parts[i].request.body, RequestBody::Create(_))
        && parts[i + 1..].iter().take_while(|q| q.related).any(
            |q| matches!(&q.request.body, RequestBody::Close(c) if c.file_id == FileId::RELATED),
        )
}
