//! Packet hooks: caller code that inspects or rewrites traffic at eight points.

use bytes::BytesMut;

use super::{Connection, Request, Response};

/// Handle of an added hook, for [`Connection::remove_hook`]. Never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HookId(pub u64);

/// The eight points, in the order traffic passes them.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HookPoint {
    /// A request before it is encoded.
    BeforeEncode,
    /// A frame's plaintext before signing and encryption.
    AfterEncode,
    /// A frame as it goes on the wire, still editable.
    BeforeSend,
    /// A frame handed to the transport, read-only.
    AfterSend,
    /// Bytes as the transport delivered them, read-only.
    Input,
    /// One received frame, before decryption and verification.
    Received,
    /// A received frame's plaintext, after decryption and verification.
    BeforeDecode,
    /// A decoded response, before the connection acts on it.
    AfterDecode,
}

/// What a hook sees at one point.
///
/// Byte-level frames exclude the 4-byte Direct TCP header (MS-SMB2 2.1): on send it is
/// written from the frame's final length, on receipt it has been consumed.
#[non_exhaustive]
#[derive(Debug)]
pub enum HookEvent<'a> {
    /// Every request (the connection's own SESSION_SETUP legs, ECHO keepalives and
    /// validation IOCTLs included) once, when it reaches the head of the send queue and
    /// before its credit charge is computed, so a changed READ length or WRITE payload
    /// is charged for. Routing was resolved at submit: changing `session` does not
    /// change which keys protect it (put another SessionId in `header` for that). A
    /// CANCEL arrives as a request whose `header` holds the target's ids.
    BeforeEncode(&'a mut Request),
    /// The plaintext of one frame, a single message or a compound chain (each part
    /// padded to 8 bytes, NextCommand set), before signing and encryption: rewrites are
    /// signed, sealed and hashed into the 3.1.1 preauth integrity value. Signatures are
    /// computed over the message boundaries as encoded; if a hook changes the chain's
    /// length they are re-read from NextCommand.
    AfterEncode(&'a mut Vec<u8>),
    /// The frame as it will be written: signed, or sealed in a TRANSFORM_HEADER
    /// (MS-SMB2 2.2.41). Rewrites go out as they are, unsigned and unencrypted anew.
    BeforeSend(&'a mut Vec<u8>),
    /// The frame appended to `poll_transmit`'s output, after every `BeforeSend` hook.
    AfterSend {
        /// The frame as written.
        frame: &'a [u8],
        /// The message chain: the frame itself, or the plaintext sealed inside it.
        plaintext: &'a [u8],
    },
    /// Bytes exactly as passed to `handle_input` (any chunking).
    Input(&'a [u8]),
    /// One frame as read, before decryption and signature verification: a rewrite here
    /// is what an attacker on the wire could do.
    Received(&'a mut BytesMut),
    /// A frame's plaintext (one message or a compound chain) after decryption and
    /// signature verification, before it is split and parsed. Rewrites are trusted.
    BeforeDecode(&'a mut BytesMut),
    /// A response whose body decoded (success, or a warning that carries a body; a
    /// MORE_PROCESSING_REQUIRED SESSION_SETUP leg; an oplock or lease break), before the
    /// connection acts on it. `raw` keeps the received bytes: field rewrites are not
    /// re-encoded. Interim (STATUS_PENDING) and error responses have no typed body and
    /// are seen at `BeforeDecode` and in the request's result.
    AfterDecode(&'a mut Response),
}

impl HookEvent<'_> {
    /// The point this event belongs to.
    pub fn point(&self) -> HookPoint {
        match self {
            Self::BeforeEncode(_) => HookPoint::BeforeEncode,
            Self::AfterEncode(_) => HookPoint::AfterEncode,
            Self::BeforeSend(_) => HookPoint::BeforeSend,
            Self::AfterSend { .. } => HookPoint::AfterSend,
            Self::Input(_) => HookPoint::Input,
            Self::Received(_) => HookPoint::Received,
            Self::BeforeDecode(_) => HookPoint::BeforeDecode,
            Self::AfterDecode(_) => HookPoint::AfterDecode,
        }
    }
}

type HookFn = Box<dyn FnMut(&mut HookEvent<'_>) + Send>;
type WantsFn = Box<dyn Fn(HookPoint) -> bool + Send>;

/// Caller code run at one point (or every point), built with the typed constructors
/// and added with [`Connection::add_hook`].
///
/// A request passes, in order: [`BeforeEncode`](HookEvent::BeforeEncode) (the
/// [`Request`]), [`AfterEncode`](HookEvent::AfterEncode) (its plaintext, unsigned),
/// signing and encryption, [`BeforeSend`](HookEvent::BeforeSend) (the final frame) and
/// [`AfterSend`](HookEvent::AfterSend) (read-only). A response passes
/// [`Input`](HookEvent::Input) (bytes as read), [`Received`](HookEvent::Received) (one
/// frame), decryption and signature verification,
/// [`BeforeDecode`](HookEvent::BeforeDecode) (plaintext) and
/// [`AfterDecode`](HookEvent::AfterDecode) (the typed [`Response`]).
///
/// Integrity sits between the byte points and the plaintext points in both directions:
/// rewrites at `AfterEncode` are signed (or sealed), rewrites at `BeforeSend` and
/// `Received` break the signature or the transform's tag (a tamper test), and rewrites at
/// `BeforeDecode` and `AfterDecode` act as if the server had sent them. The one exception
/// is the final SESSION_SETUP response, verified with the keys it establishes, after
/// `AfterDecode`, over the bytes `BeforeDecode` left.
///
/// Bookkeeping follows the request, not the bytes: the connection charges the credits
/// and awaits the answer under the MessageId it put in the header (after
/// [`HeaderOverrides`](super::HeaderOverrides) and `BeforeEncode`). A hook that rewrites
/// MessageId or CreditCharge in the bytes sends something the connection does not track:
/// the server's answer under the other MessageId is ignored (its credits still count)
/// and the request times out. Responses are matched to requests and their granted
/// credits counted from the header `BeforeDecode` left; `AfterDecode` rewrites change
/// only what the connection acts on next (session and tree state) and what the caller
/// gets.
///
/// Hooks at one point run in the order they were added. They run inside the connection's
/// calls (`poll_transmit`, `handle_input`), so they must not block.
pub struct Hook {
    /// `None`: every point.
    point: Option<HookPoint>,
    /// For dispatchers: whether they currently have anything at a point.
    wants: Option<WantsFn>,
    f: HookFn,
}

impl core::fmt::Debug for Hook {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Hook")
            .field("point", &self.point)
            .finish_non_exhaustive()
    }
}

impl Hook {
    /// A hook that sees every point (dispatchers, tracers); match on the event.
    pub fn new(f: impl FnMut(&mut HookEvent<'_>) + Send + 'static) -> Self {
        Self {
            point: None,
            wants: None,
            f: Box::new(f),
        }
    }

    /// A hook that forwards every point to hooks held elsewhere (the `pike` crate's
    /// client and connection layers). `wants` says whether any of them runs at a point:
    /// where none does, the connection skips the copies that point costs.
    pub fn dispatch(
        wants: impl Fn(HookPoint) -> bool + Send + 'static,
        f: impl FnMut(&mut HookEvent<'_>) + Send + 'static,
    ) -> Self {
        Self {
            point: None,
            wants: Some(Box::new(wants)),
            f: Box::new(f),
        }
    }

    /// Runs `f` on each request before it is encoded ([`HookEvent::BeforeEncode`]).
    pub fn before_encode(mut f: impl FnMut(&mut Request) + Send + 'static) -> Self {
        Self::at(HookPoint::BeforeEncode, move |e| {
            if let HookEvent::BeforeEncode(r) = e {
                f(r);
            }
        })
    }

    /// Runs `f` on each frame's plaintext before signing ([`HookEvent::AfterEncode`]).
    pub fn after_encode(mut f: impl FnMut(&mut Vec<u8>) + Send + 'static) -> Self {
        Self::at(HookPoint::AfterEncode, move |e| {
            if let HookEvent::AfterEncode(b) = e {
                f(b);
            }
        })
    }

    /// Runs `f` on each frame as it will be written ([`HookEvent::BeforeSend`]).
    pub fn before_send(mut f: impl FnMut(&mut Vec<u8>) + Send + 'static) -> Self {
        Self::at(HookPoint::BeforeSend, move |e| {
            if let HookEvent::BeforeSend(b) = e {
                f(b);
            }
        })
    }

    /// Runs `f(frame, plaintext)` on each frame written ([`HookEvent::AfterSend`]).
    pub fn after_send(mut f: impl FnMut(&[u8], &[u8]) + Send + 'static) -> Self {
        Self::at(HookPoint::AfterSend, move |e| {
            if let HookEvent::AfterSend { frame, plaintext } = e {
                f(frame, plaintext);
            }
        })
    }

    /// Runs `f` on the bytes of each `handle_input` call ([`HookEvent::Input`]).
    pub fn input(mut f: impl FnMut(&[u8]) + Send + 'static) -> Self {
        Self::at(HookPoint::Input, move |e| {
            if let HookEvent::Input(b) = e {
                f(b);
            }
        })
    }

    /// Runs `f` on each frame as read ([`HookEvent::Received`]).
    pub fn received(mut f: impl FnMut(&mut BytesMut) + Send + 'static) -> Self {
        Self::at(HookPoint::Received, move |e| {
            if let HookEvent::Received(b) = e {
                f(b);
            }
        })
    }

    /// Runs `f` on each frame's verified plaintext ([`HookEvent::BeforeDecode`]).
    pub fn before_decode(mut f: impl FnMut(&mut BytesMut) + Send + 'static) -> Self {
        Self::at(HookPoint::BeforeDecode, move |e| {
            if let HookEvent::BeforeDecode(b) = e {
                f(b);
            }
        })
    }

    /// Runs `f` on each decoded response ([`HookEvent::AfterDecode`]).
    pub fn after_decode(mut f: impl FnMut(&mut Response) + Send + 'static) -> Self {
        Self::at(HookPoint::AfterDecode, move |e| {
            if let HookEvent::AfterDecode(r) = e {
                f(r);
            }
        })
    }

    fn at(point: HookPoint, f: impl FnMut(&mut HookEvent<'_>) + Send + 'static) -> Self {
        Self {
            point: Some(point),
            wants: None,
            f: Box::new(f),
        }
    }

    /// Whether the hook runs at `point`.
    pub fn runs_at(&self, point: HookPoint) -> bool {
        self.point.is_none_or(|p| p == point) && self.wants.as_ref().is_none_or(|w| w(point))
    }

    /// Runs the hook on `event` if it belongs to its point (for dispatchers that hold
    /// hooks of their own).
    pub fn call(&mut self, event: &mut HookEvent<'_>) {
        if self.point.is_none_or(|p| p == event.point()) {
            (self.f)(event);
        }
    }
}

/// The hooks of one connection, in the order added.
#[derive(Default)]
pub(super) struct Hooks {
    list: Vec<(HookId, Hook)>,
    next: u64,
}

impl Hooks {
    /// Whether any hook runs at `point` (so the connection can skip copies for it).
    pub(super) fn is_active(&self, point: HookPoint) -> bool {
        self.list.iter().any(|(_, h)| h.runs_at(point))
    }

    pub(super) fn run(&mut self, event: &mut HookEvent<'_>) {
        for (_, h) in &mut self.list {
            h.call(event);
        }
    }
}

impl Connection {
    /// Adds a hook; it runs after the hooks already at its point. See [`Hook`]
    /// for what each point sees and what rewrites do.
    pub fn add_hook(&mut self, hook: Hook) -> HookId {
        self.hooks.next += 1;
        let id = HookId(self.hooks.next);
        self.hooks.list.push((id, hook));
        id
    }

    /// Removes a hook; `false` if it was already gone.
    pub fn remove_hook(&mut self, id: HookId) -> bool {
        let before = self.hooks.list.len();
        self.hooks.list.retain(|(h, _)| *h != id);
        self.hooks.list.len() != before
    }
}
