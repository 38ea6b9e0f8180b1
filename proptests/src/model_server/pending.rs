//! Asynchronous requests (CHANGE_NOTIFY, blocking LOCK), CANCEL, oplocks and leases with
//! their breaks and acknowledgments, and IOCTL.

use pike_core::wire::{
    ChangeNotifyRequest, ChangeNotifyResponse, CreateContext, IoctlRequest, IoctlResponse, Lease,
    LeaseV2, LockElement, LockResponse, OplockBreak, ResponseContext, ValidateNegotiateInfoRequest,
    ValidateNegotiateInfoResponse, fsctl, lease_state,
};

use super::fs::{lease_request, split_parent};
use super::*;

/// What a parked request waits for.
#[derive(Clone, Copy, Debug)]
pub(super) enum Waiting {
    /// A change under the directory open `fid` (MS-SMB2 3.3.5.19).
    Notify {
        fid: FileId,
        filter: u32,
        watch_tree: bool,
        max_len: u32,
    },
    /// The byte range to become free (MS-SMB2 3.3.5.14.2).
    Lock { fid: FileId, element: LockElement },
}

/// A request answered STATUS_PENDING whose final response is still due.
#[derive(Debug)]
pub(super) struct Parked {
    /// The request's header (SessionId and TreeId resolved for related parts).
    pub(super) header: Header,
    pub(super) async_id: u64,
    pub(super) signed: bool,
    /// The session whose keys sealed the request.
    pub(super) sealed: Option<u64>,
    pub(super) waiting: Waiting,
}

/// A granted lease (MS-SMB2 3.3.1.4).
#[derive(Clone, Debug)]
pub(super) struct LeaseEntry {
    pub(super) file: String,
    pub(super) state: u32,
    pub(super) epoch: u16,
    pub(super) v2: bool,
    /// The state a break is going to, until the client acknowledges it.
    pub(super) breaking_to: Option<u32>,
    pub(super) session: u64,
}

/// Only these lease states exist (MS-SMB2 2.2.13.2.8): R, RH, RW, RWH or none.
fn valid_lease_state(s: u32) -> u32 {
    if s & lease_state::READ_CACHING == 0 {
        lease_state::NONE
    } else {
        s & (lease_state::READ_CACHING | lease_state::HANDLE_CACHING | lease_state::WRITE_CACHING)
    }
}

/// FILE_NOTIFY_INFORMATION entries (MS-FSCC 2.7.1), 4-byte aligned.
fn notify_entries(entries: &[(u32, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prev: Option<usize> = None;
    for (action, name) in entries {
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        let here = out.len();
        if let Some(p) = prev {
            let next = (here - p) as u32;
            out[p..p + 4].copy_from_slice(&next.to_le_bytes());
        }
        let name = pike_core::wire::utf16le(name);
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&action.to_le_bytes());
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&name);
        prev = Some(here);
    }
    out
}

impl ModelServer {
    // ----- parking and completing (MS-SMB2 3.3.4.2, 3.3.4.4) -----

    /// Parks a request; returns the interim response to send in its place.
    pub(super) fn park(
        &mut self,
        h: &Header,
        waiting: Waiting,
        signed: bool,
        sealed: Option<u64>,
    ) -> Out {
        let async_id = self.next_async;
        self.next_async += 1;
        let interim = self.interim_for(h, async_id);
        self.parked.push(Parked {
            header: h.clone(),
            async_id,
            signed,
            sealed,
            waiting,
        });
        interim
    }

    /// An unsigned STATUS_PENDING interim (MS-SMB2 3.3.4.2: SHOULD NOT be signed).
    pub(super) fn interim_for(&mut self, h: &Header, async_id: u64) -> Out {
        let g = self.grant(h);
        let interim = Header {
            credit_charge: h.credit_charge,
            status: NtStatus::PENDING,
            command: h.command,
            credits: g,
            flags: HeaderFlags(HeaderFlags::SERVER_TO_REDIR | HeaderFlags::ASYNC_COMMAND),
            message_id: h.message_id,
            async_id: pike_core::wire::AsyncId(async_id),
            session_id: h.session_id,
            ..Header::default()
        };
        let mut m = Vec::with_capacity(HEADER_LEN + 9);
        interim.encode(&mut m);
        ErrorResponse::default().encode(&mut m, 0);
        self.interims_sent += 1;
        self.chain_interims.push(async_id);
        Out {
            msg: m,
            signer: None,
            preauth_of: None,
        }
    }

    /// Sends the final response of parked request `idx`, protected as its request was.
    fn complete_parked(&mut self, idx: usize, status: NtStatus, body: Option<ResponseBody>) {
        let p = self.parked.remove(idx);
        let grant = self.grant(&p.header);
        let h = &p.header;
        let header = Header {
            credit_charge: h.credit_charge,
            status,
            command: h.command,
            credits: grant,
            flags: HeaderFlags(HeaderFlags::SERVER_TO_REDIR | HeaderFlags::ASYNC_COMMAND),
            message_id: h.message_id,
            async_id: pike_core::wire::AsyncId(p.async_id),
            session_id: h.session_id,
            ..Header::default()
        };
        let mut msg = Vec::with_capacity(HEADER_LEN + 64);
        header.encode(&mut msg);
        match &body {
            Some(b) => b.encode(&mut msg, 0),
            None => ErrorResponse::default().encode(&mut msg, 0),
        }
        let s = self.sessions.get(&h.session_id.0);
        let sealed = p.sealed.and_then(|sid| {
            let cipher = self.sessions.get(&sid)?.encryptor.clone()?;
            Some(Sealed { sid, cipher })
        });
        let signer = s
            .filter(|s| sealed.is_none() && (s.signing_required || p.signed))
            .and_then(|s| s.signer.clone());
        self.emit_final(
            p.async_id,
            Out {
                msg,
                signer,
                preauth_of: None,
            },
            sealed,
        );
    }

    /// Sends a final response after its interim: in the same unit when the interim has
    /// not left yet, so no policy can put the final first.
    pub(super) fn emit_final(&mut self, async_id: u64, out: Out, sealed: Option<Sealed>) {
        if self.chain_interims.contains(&async_id) {
            self.chain_finals.push((vec![out], sealed));
            return;
        }
        if let Some(u) = self
            .deferred
            .iter_mut()
            .find(|u| u.interims.contains(&async_id))
        {
            u.frames.push((vec![out], sealed));
            return;
        }
        self.emit(vec![out], sealed);
    }

    /// CANCEL (MS-SMB2 3.3.5.16): by AsyncId when the header is async, else by MessageId.
    pub(super) fn cancel(&mut self, h: &Header) {
        let found = self.parked.iter().position(|p| {
            p.header.session_id == h.session_id
                && if h.flags.is_async() {
                    p.async_id == h.async_id.0
                } else {
                    p.header.message_id == h.message_id
                }
        });
        if let Some(i) = found {
            return self.complete_parked(i, NtStatus::CANCELLED, None);
        }
        // Held requests (silent mode) answer STATUS_CANCELLED synchronously.
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

    /// Completes what waits on a closing open: CHANGE_NOTIFY with STATUS_NOTIFY_CLEANUP
    /// (MS-SMB2 3.3.5.10), blocked LOCKs with STATUS_CANCELLED.
    pub(super) fn cleanup_parked(&mut self, fid: FileId) {
        while let Some(i) = self.parked.iter().position(|p| match p.waiting {
            Waiting::Notify { fid: f, .. } | Waiting::Lock { fid: f, .. } => f == fid,
        }) {
            match self.parked[i].waiting {
                Waiting::Notify { .. } => self.complete_parked(
                    i,
                    NtStatus::NOTIFY_CLEANUP,
                    Some(ChangeNotifyResponse::default().into()),
                ),
                Waiting::Lock { .. } => self.complete_parked(i, NtStatus::CANCELLED, None),
            }
        }
    }

    /// Requests parked and not yet answered.
    pub fn parked_count(&self) -> usize {
        self.parked.len()
    }

    // ----- CHANGE_NOTIFY (MS-SMB2 3.3.5.19) -----

    pub(super) fn change_notify(&mut self, fid: FileId, n: &ChangeNotifyRequest) -> Reply {
        if n.output_buffer_length > self.config.max_transact {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        }
        match self.opens.get(&fid) {
            None => Reply::err(NtStatus::FILE_CLOSED),
            Some(o) if !o.is_dir => Reply::err(NtStatus::INVALID_PARAMETER),
            Some(_) => {
                let mut r = Reply::err(NtStatus::PENDING);
                r.park = Some(Waiting::Notify {
                    fid,
                    filter: n.completion_filter,
                    watch_tree: n.flags & ChangeNotifyRequest::WATCH_TREE != 0,
                    max_len: n.output_buffer_length,
                });
                r
            }
        }
    }

    /// Reports one change to the CHANGE_NOTIFYs watching it.
    pub(super) fn notify_change(&mut self, path: &str, action: u32, filter: u32) {
        self.notify_changes(&[(path.to_owned(), action)], filter);
    }

    /// Reports changes (e.g. the two halves of a rename) to every CHANGE_NOTIFY whose
    /// directory holds them (or an ancestor, with WATCH_TREE) and whose filter matches.
    /// Changes nobody waits for are not buffered.
    pub(super) fn notify_changes(&mut self, changes: &[(String, u32)], filter: u32) {
        let mut i = 0;
        while i < self.parked.len() {
            let Waiting::Notify {
                fid,
                filter: f,
                watch_tree,
                max_len,
            } = self.parked[i].waiting
            else {
                i += 1;
                continue;
            };
            let dir = self
                .opens
                .get(&fid)
                .map(|o| o.name.clone().unwrap_or_default());
            let entries: Vec<(u32, String)> = match dir {
                Some(dir) if f & filter != 0 => changes
                    .iter()
                    .filter_map(|(path, action)| {
                        let rel = if dir.is_empty() {
                            path.as_str()
                        } else {
                            path.strip_prefix(&format!("{dir}\\"))?
                        };
                        let direct = split_parent(path).0 == dir;
                        (direct || watch_tree).then(|| (*action, rel.to_owned()))
                    })
                    .collect(),
                _ => Vec::new(),
            };
            if entries.is_empty() {
                i += 1;
                continue;
            }
            let out = notify_entries(&entries);
            if out.len() > max_len as usize {
                // The changes do not fit: the client must enumerate (MS-SMB2 3.3.5.19).
                self.complete_parked(
                    i,
                    NtStatus::NOTIFY_ENUM_DIR,
                    Some(ChangeNotifyResponse::default().into()),
                );
            } else {
                self.complete_parked(
                    i,
                    NtStatus::SUCCESS,
                    Some(
                        ChangeNotifyResponse {
                            output: Bytes::from(out),
                        }
                        .into(),
                    ),
                );
            }
        }
    }

    // ----- blocking LOCK -----

    /// Grants blocked locks on `key` that no longer conflict, oldest first.
    pub(super) fn retry_blocked_locks(&mut self, key: &str) {
        let mut i = 0;
        while i < self.parked.len() {
            let Waiting::Lock { fid, element } = self.parked[i].waiting else {
                i += 1;
                continue;
            };
            let on_key = self
                .opens
                .get(&fid)
                .is_some_and(|o| o.name.as_deref() == Some(key));
            if on_key && self.try_grant(fid, &element) {
                self.complete_parked(i, NtStatus::SUCCESS, Some(LockResponse.into()));
            } else {
                i += 1;
            }
        }
    }

    // ----- oplocks and leases (MS-SMB2 3.3.5.9.8, 3.3.5.9.11, 3.3.4.6, 3.3.4.7) -----

    /// Oplock level, lease key and response contexts for a new open of `key`; breaks what
    /// other opens cache that the new open conflicts with.
    pub(super) fn grant_caching(
        &mut self,
        key: &str,
        c: &CreateRequest,
        sid: u64,
    ) -> (u8, Option<[u8; 16]>, Vec<CreateContext>) {
        let lease = (c.requested_oplock_level == oplock_level::LEASE
            && self.dialect().is_some_and(|d| d != Dialect::Smb202))
        .then(|| lease_request(&c.contexts))
        .flatten();
        let own_key = lease.map(|(l, _)| l.lease_key);
        // Other opens of the file lose write (and handle) caching.
        let others: Vec<FileId> = self
            .opens
            .iter()
            .filter(|(_, o)| {
                o.name.as_deref() == Some(key) && (own_key.is_none() || o.lease != own_key)
            })
            .map(|(f, _)| *f)
            .collect();
        let shared = !others.is_empty();
        for f in &others {
            let (lk, level) = match self.opens.get(f) {
                Some(o) => (o.lease, o.oplock),
                None => continue,
            };
            match lk {
                Some(lk) => {
                    self.break_lease(lk, lease_state::READ_CACHING);
                }
                None if level == oplock_level::EXCLUSIVE || level == oplock_level::BATCH => {
                    self.break_oplock(*f, oplock_level::II);
                }
                None => {}
            }
        }
        if let Some((l, v2)) = lease {
            let wanted = valid_lease_state(l.lease_state);
            let entry = self.leases.entry(l.lease_key).or_insert(LeaseEntry {
                file: key.to_owned(),
                state: lease_state::NONE,
                epoch: 0,
                v2,
                breaking_to: None,
                session: sid,
            });
            if entry.file != key {
                // A lease key names one file (MS-SMB2 3.3.5.9.8): no lease for another.
                return (oplock_level::NONE, None, Vec::new());
            }
            if entry.breaking_to.is_none() {
                let granted = if shared {
                    wanted & lease_state::READ_CACHING
                } else {
                    wanted
                };
                let new = valid_lease_state(entry.state | granted);
                if new != entry.state {
                    entry.state = new;
                    entry.epoch = entry.epoch.wrapping_add(1);
                }
            }
            let ctx = if entry.v2 {
                ResponseContext::LeaseV2(LeaseV2 {
                    lease_key: l.lease_key,
                    lease_state: entry.state,
                    epoch: entry.epoch,
                    ..LeaseV2::default()
                })
            } else {
                ResponseContext::Lease(Lease {
                    lease_key: l.lease_key,
                    lease_state: entry.state,
                    ..Lease::default()
                })
            };
            return (
                oplock_level::LEASE,
                Some(l.lease_key),
                vec![ctx.to_context()],
            );
        }
        let level = match c.requested_oplock_level {
            oplock_level::II | oplock_level::EXCLUSIVE | oplock_level::BATCH if shared => {
                oplock_level::II
            }
            l @ (oplock_level::II | oplock_level::EXCLUSIVE | oplock_level::BATCH) => l,
            _ => oplock_level::NONE,
        };
        (level, None, Vec::new())
    }

    /// Sends an oplock break notification for `fid` (MS-SMB2 2.2.23.1); the open keeps
    /// its level until acknowledged.
    pub fn break_oplock(&mut self, fid: FileId, to: u8) -> bool {
        let Some(o) = self.opens.get_mut(&fid) else {
            return false;
        };
        if o.oplock_breaking.is_some() || o.oplock <= to || o.lease.is_some() {
            return false;
        }
        o.oplock_breaking = Some(to);
        let sid = o.session;
        let mut body = Vec::with_capacity(24);
        OplockBreak::oplock_ack(to, fid).encode(&mut body, 0);
        self.send_notification(sid, body);
        true
    }

    /// Breaks lease `key` down to `to` (MS-SMB2 2.2.23.2). An acknowledgment is required
    /// when write or handle caching is lost; otherwise the state changes at once.
    pub fn break_lease(&mut self, key: [u8; 16], to: u32) -> bool {
        let Some(l) = self.leases.get_mut(&key) else {
            return false;
        };
        let to = valid_lease_state(l.state & to);
        if l.breaking_to.is_some() || l.state == to {
            return false;
        }
        let current = l.state;
        let ack = current & (lease_state::WRITE_CACHING | lease_state::HANDLE_CACHING) != 0;
        if l.v2 {
            l.epoch = l.epoch.wrapping_add(1);
        }
        if ack {
            l.breaking_to = Some(to);
        } else {
            l.state = to;
        }
        let (epoch, sid) = (if l.v2 { l.epoch } else { 0 }, l.session);
        let body = lease_break_body(epoch, ack, key, current, to);
        self.send_notification(sid, body);
        true
    }

    /// Breaks every lease to `to` and every exclusive/batch oplock to level II. Returns
    /// how many breaks were sent.
    pub fn break_all(&mut self, to: u32) -> usize {
        let keys: Vec<[u8; 16]> = self.leases.keys().copied().collect();
        let fids: Vec<FileId> = self.opens.keys().copied().collect();
        let leases = keys
            .into_iter()
            .filter(|k| self.break_lease(*k, to))
            .count();
        leases
            + fids
                .into_iter()
                .filter(|f| self.break_oplock(*f, oplock_level::II))
                .count()
    }

    /// The state of lease `key` and the state a break is taking it to, if any.
    pub fn lease_state(&self, key: [u8; 16]) -> Option<(u32, Option<u32>)> {
        self.leases.get(&key).map(|l| (l.state, l.breaking_to))
    }

    /// The oplock level of an open and the level a break is taking it to, if any.
    pub fn oplock_of(&self, fid: FileId) -> Option<(u8, Option<u8>)> {
        self.opens.get(&fid).map(|o| (o.oplock, o.oplock_breaking))
    }

    /// An unsolicited OPLOCK_BREAK (MessageId all ones, unsigned), sealed when the
    /// session encrypts (MS-SMB2 3.3.4.6, 3.3.4.7), sent as the policy says.
    fn send_notification(&mut self, sid: u64, body: Vec<u8>) {
        let (outs, sealed) = self.notification(sid, &body);
        self.emit(outs, sealed);
    }

    /// The frame parts of a break notification with `body` for session `sid`.
    pub(super) fn notification(&mut self, sid: u64, body: &[u8]) -> (Vec<Out>, Option<Sealed>) {
        let sealed = self.sessions.get(&sid).and_then(|s| {
            s.encrypt_data.then_some(())?;
            Some(Sealed {
                sid,
                cipher: s.encryptor.clone()?,
            })
        });
        let header = Header {
            command: Command::OplockBreak,
            flags: HeaderFlags(HeaderFlags::SERVER_TO_REDIR),
            message_id: pike_core::wire::MessageId(u64::MAX),
            ..Header::default()
        };
        let mut msg = Vec::with_capacity(HEADER_LEN + body.len());
        header.encode(&mut msg);
        msg.extend_from_slice(body);
        self.breaks_sent += 1;
        let out = Out {
            msg,
            signer: None,
            preauth_of: None,
        };
        (vec![out], sealed)
    }

    /// OPLOCK_BREAK acknowledgment (MS-SMB2 3.3.5.22).
    pub(super) fn break_ack(&mut self, b: &OplockBreak, related: Option<FileId>) -> Reply {
        match b.structure_size {
            24 => {
                let Some(info) = b.oplock() else {
                    return Reply::err(NtStatus::INVALID_PARAMETER);
                };
                let fid = match (info.file_id, related) {
                    (FileId::RELATED, Some(r)) => r,
                    (f, _) => f,
                };
                let Some(o) = self.opens.get_mut(&fid) else {
                    return Reply::err(NtStatus::FILE_CLOSED);
                };
                // 3.3.5.22.1: only a break in progress can be acknowledged, and only
                // down to (at most) the level broken to.
                match o.oplock_breaking {
                    Some(to) if info.oplock_level <= to => {
                        o.oplock = info.oplock_level;
                        o.oplock_breaking = None;
                        Reply::ok(OplockBreak::oplock_ack(info.oplock_level, fid))
                    }
                    _ => Reply::err(NtStatus::INVALID_OPLOCK_PROTOCOL),
                }
            }
            36 if b.body.len() >= 28 => {
                // Invariant: the length was checked above.
                let key: [u8; 16] = b.body[8..24].try_into().expect("16 bytes");
                let state = u32::from_le_bytes(b.body[24..28].try_into().expect("4 bytes"));
                let Some(l) = self.leases.get_mut(&key) else {
                    return Reply::err(NtStatus::OBJECT_NAME_NOT_FOUND);
                };
                // 3.3.5.22.2: no break in progress, or more than the break left.
                match l.breaking_to {
                    None => Reply::err(NtStatus::UNSUCCESSFUL),
                    Some(to) if state & !to != 0 => Reply::err(NtStatus::REQUEST_NOT_ACCEPTED),
                    Some(_) => {
                        l.state = state;
                        l.breaking_to = None;
                        Reply::ok(OplockBreak::lease_ack(key, state))
                    }
                }
            }
            _ => Reply::err(NtStatus::INVALID_PARAMETER),
        }
    }

    // ----- IOCTL (MS-SMB2 3.3.5.15) -----

    pub(super) fn ioctl(&mut self, fid: FileId, req: &IoctlRequest, protected: bool) -> Reply {
        if req.flags != IoctlRequest::IS_FSCTL {
            return Reply::err(NtStatus::NOT_SUPPORTED);
        }
        let max = self.config.max_transact;
        if req.input.len() > max as usize
            || req.max_output_response > max
            || req.max_input_response > max
        {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        }
        match req.ctl_code {
            fsctl::FSCTL_VALIDATE_NEGOTIATE_INFO => self.validate_negotiate(req, protected),
            // Connection-level FSCTLs the model does not implement.
            fsctl::FSCTL_DFS_GET_REFERRALS | fsctl::FSCTL_DFS_GET_REFERRALS_EX => {
                Reply::err(NtStatus::FS_DRIVER_REQUIRED)
            }
            fsctl::FSCTL_QUERY_NETWORK_INTERFACE_INFO | fsctl::FSCTL_PIPE_WAIT => {
                Reply::err(NtStatus::NOT_SUPPORTED)
            }
            fsctl::FSCTL_SET_REPARSE_POINT => self.set_reparse_point(fid, req),
            fsctl::FSCTL_GET_REPARSE_POINT => self.get_reparse_point(fid, req),
            fsctl::FSCTL_SRV_REQUEST_RESUME_KEY => self.request_resume_key(fid, req),
            fsctl::FSCTL_SRV_COPYCHUNK | fsctl::FSCTL_SRV_COPYCHUNK_WRITE => {
                self.copy_chunk(fid, req)
            }
            // Everything else acts on an open first.
            _ if !self.opens.contains_key(&fid) => Reply::err(NtStatus::FILE_CLOSED),
            _ => Reply::err(NtStatus::NOT_SUPPORTED),
        }
    }

    /// MS-SMB2 3.3.5.15.12: any mismatch with what NEGOTIATE saw ends the connection.
    fn validate_negotiate(&mut self, req: &IoctlRequest, protected: bool) -> Reply {
        // Invariant: dispatch only runs after NEGOTIATE.
        let n = self.negotiated.clone().expect("negotiated");
        if !protected {
            // MS-SMB2 3.2.5.5 / 3.2.4.20: the client signs this request.
            self.violation("VALIDATE_NEGOTIATE_INFO request neither signed nor encrypted".into());
        }
        let why = if n.dialect == Dialect::Smb311 {
            Some("VALIDATE_NEGOTIATE_INFO at 3.1.1".to_owned())
        } else if req.max_output_response < 24 {
            Some("VALIDATE_NEGOTIATE_INFO MaxOutputResponse < 24".to_owned())
        } else {
            match ValidateNegotiateInfoRequest::decode(&req.input) {
                Err(e) => Some(format!("VALIDATE_NEGOTIATE_INFO input: {e}")),
                Ok(v) => {
                    let common = self
                        .config
                        .dialects
                        .iter()
                        .copied()
                        .filter(|d| v.dialects.contains(d))
                        .max();
                    let implements_311 = self.config.dialects.contains(&Dialect::Smb311);
                    if implements_311 && v.dialects != n.client_dialects {
                        Some("VALIDATE_NEGOTIATE_INFO dialects differ".to_owned())
                    } else if common != Some(n.dialect) {
                        Some("VALIDATE_NEGOTIATE_INFO picks another dialect".to_owned())
                    } else if v.guid != n.client_guid {
                        Some("VALIDATE_NEGOTIATE_INFO Guid differs".to_owned())
                    } else if v.security_mode.0 != n.client_security_mode {
                        Some("VALIDATE_NEGOTIATE_INFO SecurityMode differs".to_owned())
                    } else if v.capabilities.0 != n.client_capabilities {
                        Some("VALIDATE_NEGOTIATE_INFO Capabilities differ".to_owned())
                    } else {
                        None
                    }
                }
            }
        };
        if let Some(why) = why {
            self.drop_connection(why);
            return Reply::err(NtStatus::ACCESS_DENIED);
        }
        let out = ValidateNegotiateInfoResponse {
            capabilities: pike_core::wire::Capabilities(n.server_capabilities),
            guid: self.server_guid,
            security_mode: SecurityMode(n.server_security_mode),
            dialect: n.dialect,
        };
        Reply::ok(IoctlResponse {
            ctl_code: req.ctl_code,
            file_id: req.file_id,
            input: Bytes::new(),
            output: out.to_bytes(),
            flags: 0,
        })
    }
}

/// A lease break notification body (MS-SMB2 2.2.23.2).
pub(super) fn lease_break_body(
    epoch: u16,
    ack: bool,
    key: [u8; 16],
    current: u32,
    to: u32,
) -> Vec<u8> {
    let mut body = Vec::with_capacity(44);
    body.extend_from_slice(&44u16.to_le_bytes());
    body.extend_from_slice(&epoch.to_le_bytes());
    body.extend_from_slice(&u32::from(ack).to_le_bytes()); // ACK_REQUIRED
    body.extend_from_slice(&key);
    body.extend_from_slice(&current.to_le_bytes());
    body.extend_from_slice(&to.to_le_bytes());
    body.extend_from_slice(&[0; 12]); // BreakReason, AccessMaskHint, ShareMaskHint
    body
}
