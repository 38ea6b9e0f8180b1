//! Requests as the caller builds them, and what comes back.

use std::time::Duration;

use bytes::Bytes;

use crate::wire::{
    AsyncId, Command, Header, HeaderFlags, MessageId, RequestBody, ResponseBody, SessionId, TreeId,
};

/// Opaque handle of a submitted request, assigned at submit and never reused.
/// Separate from the wire MessageId, which is assigned when credits allow sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// Header fields the caller wants encoded exactly as given; `None` means "compute".
///
/// Setting these produces deliberately odd or malformed requests: the connection still
/// tracks the request under the MessageId it actually sent.
#[allow(missing_docs)] // fields follow MS-SMB2 names
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderOverrides {
    pub credit_charge: Option<u16>,
    /// ChannelSequence (requests share the Status slot, MS-SMB2 2.2.1.2).
    pub channel_sequence: Option<u16>,
    pub credit_request: Option<u16>,
    /// Forces all the flags; [`flags_or`](Self::flags_or) only adds some.
    pub flags: Option<HeaderFlags>,
    /// Bits ORed into the computed flags (e.g. `REPLAY_OPERATION`, `DFS_OPERATIONS`);
    /// ignored when `flags` is forced.
    pub flags_or: u32,
    pub next_command: Option<u32>,
    pub message_id: Option<MessageId>,
    pub process_id: Option<u32>,
    pub tree_id: Option<TreeId>,
    pub async_id: Option<AsyncId>,
    pub session_id: Option<SessionId>,
    /// Sent verbatim instead of computing the signature.
    pub signature: Option<[u8; 16]>,
}

/// TRANSFORM_HEADER fields to force when the request is encrypted (MS-SMB2 2.2.41); in
/// a compound, the first part's apply to the frame. Nonce, OriginalMessageSize, Flags
/// and SessionId are authenticated as forced; a forced Signature replaces the tag.
#[allow(missing_docs)] // fields follow MS-SMB2 names
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransformOverrides {
    /// The whole 16-byte Nonce field, sent verbatim (reusing one is the caller's test).
    pub nonce: Option<[u8; 16]>,
    pub original_size: Option<u32>,
    pub flags: Option<u16>,
    pub session_id: Option<SessionId>,
    pub signature: Option<[u8; 16]>,
}

/// Header fields every request gets while set (pike's `let`): each applies unless the
/// request sets that field itself. See [`Connection::set_header_defaults`].
///
/// [`Connection::set_header_defaults`]: super::Connection::set_header_defaults
#[allow(missing_docs)] // fields follow HeaderOverrides
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderDefaults {
    pub credit_request: Option<u16>,
    /// ChannelSequence (MS-SMB2 2.2.1.2), e.g. for replay tests with `flags_or`.
    pub channel_sequence: Option<u16>,
    /// Flags added to every request that adds none itself.
    pub flags_or: u32,
}

impl HeaderDefaults {
    /// Fills in what `header` leaves unset.
    pub fn apply(&self, header: &mut HeaderOverrides) {
        if header.credit_request.is_none() {
            header.credit_request = self.credit_request;
        }
        if header.channel_sequence.is_none() {
            header.channel_sequence = self.channel_sequence;
        }
        if header.flags_or == 0 {
            header.flags_or = self.flags_or;
        }
    }
}

/// A request: a body plus routing and per-request policy.
#[allow(missing_docs)] // fields follow MS-SMB2 names
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub body: RequestBody,
    /// Session whose keys sign/encrypt this request and whose id goes in the header.
    pub session: Option<SessionId>,
    /// Tree whose id goes in the header (and whose EncryptData applies).
    pub tree: Option<TreeId>,
    /// Wire fields to force.
    pub header: HeaderOverrides,
    /// TRANSFORM_HEADER fields to force, when the request goes encrypted.
    pub transform: TransformOverrides,
    /// Force signing on (`Some(true)`) or off (`Some(false)`); `None` follows policy.
    pub sign: Option<bool>,
    /// Force encryption on or off; `None` follows policy.
    pub encrypt: Option<bool>,
    /// Overrides the configured request deadline.
    pub timeout: Option<Duration>,
}

impl Request {
    /// A request with default routing and policy.
    pub fn new(body: impl Into<RequestBody>) -> Self {
        Self {
            body: body.into(),
            session: None,
            tree: None,
            header: HeaderOverrides::default(),
            transform: TransformOverrides::default(),
            sign: None,
            encrypt: None,
            timeout: None,
        }
    }

    /// Routes the request through `session`.
    pub fn session(mut self, session: SessionId) -> Self {
        self.session = Some(session);
        self
    }

    /// Addresses `tree` (of the request's session).
    pub fn tree(mut self, session: SessionId, tree: TreeId) -> Self {
        self.session = Some(session);
        self.tree = Some(tree);
        self
    }

    /// The command of the body.
    pub fn command(&self) -> Command {
        self.body.command()
    }

    /// Payload size for credit charging: bytes sent or expected, whichever is larger
    /// (MS-SMB2 3.2.4.1.5).
    pub(crate) fn payload_size(&self) -> usize {
        match &self.body {
            RequestBody::Read(r) => r.length as usize,
            RequestBody::Write(w) => w.data.len(),
            RequestBody::Ioctl(r) => r.payload_size(),
            RequestBody::QueryDirectory(r) => r.payload_size(),
            RequestBody::QueryInfo(r) => r.payload_size(),
            RequestBody::SetInfo(r) => r.payload_size(),
            _ => 0,
        }
    }
}

/// A successful (or warning-status) response.
#[allow(missing_docs)] // fields follow MS-SMB2 names
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub header: Header,
    pub body: ResponseBody,
    /// The whole message as received (after decryption), header included.
    pub raw: Bytes,
}

/// A compound chain under construction (MS-SMB2 3.2.4.1.4).
///
/// Related parts act on the previous part's open: give them
/// [`FileId::RELATED`](crate::wire::FileId::RELATED) where a FileId is expected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Compound {
    pub(crate) parts: Vec<(Request, bool)>,
}

impl Compound {
    /// An empty chain.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an unrelated part.
    pub fn push(mut self, request: Request) -> Self {
        self.parts.push((request, false));
        self
    }

    /// Appends a part related to the previous one (SMB2_FLAGS_RELATED_OPERATIONS).
    pub fn related(mut self, request: Request) -> Self {
        self.parts.push((request, true));
        self
    }

    /// Number of parts.
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// Whether the chain has no parts.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
}
