//! Oplock and lease breaks (MS-SMB2 3.2.5.19): which kind arrived, whether the server
//! waits for an acknowledgment, and the acknowledgment itself.
//!
//! The connection remembers where each open with an oplock or lease lives (from the
//! CREATE it answered) so that an acknowledgment goes out on the open's session and
//! tree, which the server checks.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Request, Response};
use crate::wire::{
    FileId, OplockBreak, ResponseBody, ResponseContext, SessionId, TreeId, oplock_level,
};

/// A lease key (MS-SMB2 2.2.13.2.8): the client's name for a lease, shared by its opens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeaseKey(pub [u8; 16]);

impl From<[u8; 16]> for LeaseKey {
    fn from(k: [u8; 16]) -> Self {
        Self(k)
    }
}

/// What a break is about: an open's oplock, or a lease.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BreakKey {
    /// The oplock of this open.
    Oplock(FileId),
    /// This lease (all opens that share the key).
    Lease(LeaseKey),
}

/// The decoded notification.
#[allow(missing_docs)] // fields follow MS-SMB2 names
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakKind {
    /// Oplock break notification (MS-SMB2 2.2.23.1): the level the server breaks to.
    Oplock { file_id: FileId, new_level: u8 },
    /// Lease break notification (MS-SMB2 2.2.23.2). `new_epoch` is 0 below 3.x (v1).
    Lease {
        lease_key: LeaseKey,
        new_epoch: u16,
        current_state: u32,
        new_state: u32,
        /// SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED.
        ack_required: bool,
    },
}

/// SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED (MS-SMB2 2.2.23.2).
const ACK_REQUIRED: u32 = 0x01;

/// An unsolicited oplock or lease break, as [`Event::Break`](super::Event::Break) reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Break {
    /// Which break, decoded.
    pub kind: BreakKind,
    /// The open's session and tree, when this connection made the open.
    pub route: Option<(SessionId, TreeId)>,
    /// The level or state the connection already acknowledged with, per its
    /// [`BreakPolicy`]; `None` if it sent nothing.
    pub acked: Option<u32>,
    ack_required: bool,
    /// The notification as received.
    pub response: Response,
}

impl Break {
    /// The oplock or lease this break is about.
    pub fn key(&self) -> BreakKey {
        match self.kind {
            BreakKind::Oplock { file_id, .. } => BreakKey::Oplock(file_id),
            BreakKind::Lease { lease_key, .. } => BreakKey::Lease(lease_key),
        }
    }

    /// Whether the server waits for an acknowledgment: a lease break says so in its
    /// flags; an oplock break does unless it takes a level II oplock to none, which
    /// the server completes by itself (MS-SMB2 3.3.4.6).
    pub fn is_ack_required(&self) -> bool {
        self.ack_required
    }

    /// The oplock level or lease state the server breaks to.
    pub fn new_level(&self) -> u32 {
        match self.kind {
            BreakKind::Oplock { new_level, .. } => u32::from(new_level),
            BreakKind::Lease { new_state, .. } => new_state,
        }
    }

    /// The acknowledgment at `level` (an oplock level, or a lease state): OPLOCK_BREAK
    /// Acknowledgment (MS-SMB2 2.2.24.1) or Lease Break Acknowledgment (2.2.24.2),
    /// routed to the open's session and tree when known.
    pub fn ack(&self, level: u32) -> Request {
        let body = match self.kind {
            // Oplock levels are one byte on the wire; anything larger is the caller's
            // deliberate nonsense, truncated as the field is.
            BreakKind::Oplock { file_id, .. } => OplockBreak::oplock_ack(level as u8, file_id),
            BreakKind::Lease { lease_key, .. } => OplockBreak::lease_ack(lease_key.0, level),
        };
        let request = Request::new(body);
        match self.route {
            Some((session, tree)) => request.tree(session, tree),
            None => request,
        }
    }

    /// The acknowledgment to the level the server asks, or `None` when it asks for none.
    pub fn ack_as_asked(&self) -> Option<Request> {
        self.ack_required.then(|| self.ack(self.new_level()))
    }
}

/// A [`BreakPolicy::Custom`] callback's decision.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakAck {
    /// Acknowledge to the level the server asks, if it asks.
    AsAsked,
    /// Acknowledge with this oplock level or lease state, even if not asked (tests).
    To(u32),
    /// Send nothing; the caller acknowledges (or lets the server time out).
    Skip,
}

/// What the connection does with a break (set per connection with
/// [`Connection::set_break_policy`](super::Connection::set_break_policy)). Every break
/// is reported as an event whatever the policy.
#[non_exhaustive]
#[derive(Clone, Default)]
pub enum BreakPolicy {
    /// Acknowledge every break that needs it, to the level the server asks, so nothing
    /// stalls another client until the server's break timeout (35 s on Windows).
    #[default]
    AutoAck,
    /// Never acknowledge; the caller sends [`Break::ack`] itself.
    Manual,
    /// The callback decides per break.
    Custom(Arc<dyn Fn(&Break) -> BreakAck + Send + Sync>),
}

impl core::fmt::Debug for BreakPolicy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::AutoAck => "AutoAck",
            Self::Manual => "Manual",
            Self::Custom(_) => "Custom(..)",
        })
    }
}

impl BreakPolicy {
    /// The level to acknowledge `b` with, if any. Only breaks of opens this connection
    /// made are acknowledged automatically: anything else has no session to go to.
    pub(super) fn decide(&self, b: &Break) -> Option<u32> {
        let decision = match self {
            Self::AutoAck => BreakAck::AsAsked,
            Self::Manual => BreakAck::Skip,
            Self::Custom(f) => f(b),
        };
        match decision {
            BreakAck::AsAsked if b.ack_required => Some(b.new_level()),
            BreakAck::To(level) => Some(level),
            _ => None,
        }
        .filter(|_| b.route.is_some())
    }
}

/// What the connection knows of a lease it holds (MS-SMB2 3.2.1.x, File.LeaseState),
/// from the CREATE that granted it, the breaks since and their acknowledgments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeaseInfo {
    /// The lease state held now (`lease_state::*` bits).
    pub state: u32,
    /// The last epoch the server sent (v2 leases, 3.x); 0 for v1 leases.
    pub epoch: u16,
    /// While a break waits for its acknowledgment: the state it breaks to.
    pub breaking_to: Option<u32>,
}

#[derive(Clone, Copy, Debug)]
struct OpenRoute {
    session: SessionId,
    tree: TreeId,
    oplock: u8,
    lease: Option<LeaseKey>,
}

/// Opens holding an oplock or lease, by FileId, and the leases they share.
#[derive(Debug, Default)]
pub(super) struct BreakRoutes {
    opens: HashMap<FileId, OpenRoute>,
    leases: HashMap<LeaseKey, LeaseInfo>,
    /// Sessions (tree `None`) and trees ended by the request with this MessageId, while
    /// older requests are still in flight.
    ended: Vec<(SessionId, Option<TreeId>, u64)>,
}

impl BreakRoutes {
    /// Records a successful CREATE's oplock or lease. An open already closed (by a
    /// related CLOSE of its own compound, `closed_in_chain`, or by a TREE_DISCONNECT or
    /// LOGOFF answered first) is not kept, but its grant still updates a lease other
    /// opens hold.
    pub(super) fn handle_create(
        &mut self,
        session: SessionId,
        tree: TreeId,
        r: &Response,
        closed_in_chain: bool,
    ) {
        let message_id = r.header.message_id.0;
        let closed = closed_in_chain
            || self
                .ended
                .iter()
                .any(|&(s, t, m)| s == session && t.is_none_or(|t| t == tree) && message_id < m);
        let ResponseBody::Create(c) = &r.body else {
            return;
        };
        let granted = ResponseContext::from_contexts(&c.contexts)
            .unwrap_or_default()
            .into_iter()
            .find_map(|ctx| match ctx {
                ResponseContext::Lease(l) => Some((LeaseKey(l.lease_key), l.lease_state, 0)),
                ResponseContext::LeaseV2(l) => {
                    Some((LeaseKey(l.lease_key), l.lease_state, l.epoch))
                }
                _ => None,
            });
        if c.oplock_level == oplock_level::NONE && granted.is_none() {
            return;
        }
        let lease = granted.map(|(key, state, epoch)| {
            let info = if closed {
                self.leases.get_mut(&key)
            } else {
                Some(self.leases.entry(key).or_default())
            };
            // A v2 lease's epoch only grows (MS-SMB2 3.3.4.7); an older grant racing
            // a break must not roll the state back.
            if let Some(info) = info
                && (epoch >= info.epoch || epoch == 0)
            {
                info.state = state;
                info.epoch = epoch;
            }
            key
        });
        if closed {
            return;
        }
        self.opens.insert(
            c.file_id,
            OpenRoute {
                session,
                tree,
                oplock: c.oplock_level,
                lease,
            },
        );
    }

    /// Forgets a closed open, and its lease once no open shares it.
    pub(super) fn handle_close(&mut self, file_id: FileId) {
        if let Some(OpenRoute {
            lease: Some(key), ..
        }) = self.opens.remove(&file_id)
        {
            self.forget_unused_lease(key);
        }
    }

    /// Forgets the opens of a session (LOGOFF) or of one of its trees (TREE_DISCONNECT,
    /// sent as `message_id`), which the server closed, and the leases only they held.
    /// A CREATE sent before it whose answer comes later (answers may come in any
    /// order) is closed too; `oldest_pending` bounds what must be remembered for that.
    pub(super) fn forget_opens(
        &mut self,
        session: SessionId,
        tree: Option<TreeId>,
        message_id: u64,
        oldest_pending: Option<u64>,
    ) {
        self.ended
            .retain(|&(_, _, m)| oldest_pending.is_some_and(|o| o < m));
        if oldest_pending.is_some_and(|o| o < message_id) {
            self.ended.push((session, tree, message_id));
        }
        let mut released = Vec::new();
        self.opens.retain(|_, r| {
            let gone = r.session == session && tree.is_none_or(|t| r.tree == t);
            if gone {
                released.extend(r.lease);
            }
            !gone
        });
        for key in released {
            self.forget_unused_lease(key);
        }
    }

    fn forget_unused_lease(&mut self, key: LeaseKey) {
        if !self.opens.values().any(|r| r.lease == Some(key)) {
            self.leases.remove(&key);
        }
    }

    /// Records the server's answer to an acknowledgment (MS-SMB2 2.2.25): the oplock
    /// level or lease state now held.
    pub(super) fn handle_ack_response(&mut self, r: &OplockBreak) {
        if let Some(o) = r.oplock() {
            if let Some(open) = self.opens.get_mut(&o.file_id) {
                open.oplock = o.oplock_level;
            }
        } else if let Some((key, state)) = r.lease_ack_info()
            && let Some(info) = self.leases.get_mut(&LeaseKey(key))
        {
            info.state = state;
            info.breaking_to = None;
        }
    }

    /// The tracked state of lease `key`, while an open of this connection holds it.
    pub(super) fn lease(&self, key: LeaseKey) -> Option<LeaseInfo> {
        self.leases.get(&key).copied()
    }

    /// The oplock level an open of this connection holds, if it was granted one.
    pub(super) fn oplock_level(&self, file_id: FileId) -> Option<u8> {
        self.opens.get(&file_id).map(|r| r.oplock)
    }

    /// Decodes a notification; `None` if it is neither form.
    pub(super) fn decode(&mut self, response: Response) -> Option<Break> {
        let ResponseBody::OplockBreak(b) = &response.body else {
            return None;
        };
        let (kind, route, ack_required) = if let Some(o) = b.oplock() {
            let open = self.opens.get_mut(&o.file_id);
            // MS-SMB2 3.3.4.6: a level II oplock breaks to none without an ack.
            let ack_required = open.as_ref().is_none_or(|r| r.oplock != oplock_level::II);
            let route = open.map(|r| {
                r.oplock = o.oplock_level;
                (r.session, r.tree)
            });
            let kind = BreakKind::Oplock {
                file_id: o.file_id,
                new_level: o.oplock_level,
            };
            (kind, route, ack_required)
        } else if let Some(l) = b.lease() {
            let key = LeaseKey(l.lease_key);
            let route = self
                .opens
                .values()
                .find(|r| r.lease == Some(key))
                .map(|r| (r.session, r.tree));
            let ack_required = l.flags & ACK_REQUIRED != 0;
            if let Some(info) = self.leases.get_mut(&key) {
                info.epoch = l.new_epoch;
                // Without an ack the break is done; with one, the old state holds
                // until the server answers the ack (MS-SMB2 3.3.4.7).
                if ack_required {
                    info.breaking_to = Some(l.new_lease_state);
                } else {
                    info.state = l.new_lease_state;
                    info.breaking_to = None;
                }
            }
            let kind = BreakKind::Lease {
                lease_key: key,
                new_epoch: l.new_epoch,
                current_state: l.current_lease_state,
                new_state: l.new_lease_state,
                ack_required,
            };
            (kind, route, ack_required)
        } else {
            return None;
        };
        Some(Break {
            kind,
            route,
            acked: None,
            ack_required,
            response,
        })
    }
}
