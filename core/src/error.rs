//! Error types: fatal connection errors, per-request errors and API misuse.

use core::fmt;

use bytes::Bytes;

use crate::auth::AuthError;
use crate::compress::DecompressError;
use crate::crypto::CryptoError;
use crate::wire::{
    Command, CopyChunkResponse, DecodeError, ErrorResponse, Header, IoctlResponse, NtStatus, fsctl,
};

/// A fatal, sticky connection failure, delivered once as
/// [`Event::ConnectionLost`](crate::Event::ConnectionLost). Every outstanding request
/// completes with [`RequestError::ConnectionLost`] before it.
#[allow(missing_docs)] // variant fields are self-describing
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionError {
    /// The caller closed the connection.
    LocallyClosed,
    /// The peer closed the TCP stream.
    Eof,
    /// The transport failed; the driver's I/O error, as text (a reset, a relay that
    /// sent something other than bytes, ...).
    Transport(String),
    /// The peer is not an SMB2/3 server (bad framing or ProtocolId).
    NotSmb(DecodeError),
    /// The peer answered in SMB1 only.
    Smb1Only,
    /// A message from the server could not be decoded; `packet` is the frame or message
    /// that failed (plaintext, after decryption).
    Decode { error: DecodeError, packet: Bytes },
    /// NEGOTIATE failed with this status.
    NegotiateFailed(NtStatus),
    /// The server broke the protocol; the string says how.
    ProtocolViolation(&'static str),
    /// A response that must be signed carried a bad signature.
    SignatureMismatch { command: Command, message_id: u64 },
    /// A response that must be signed (or encrypted) arrived without it (downgrade
    /// protection, MS-SMB2 3.2.5.1.3).
    UnprotectedResponse { command: Command, message_id: u64 },
    /// An encrypted message failed authentication or named an unknown session.
    DecryptionFailed(CryptoError),
    /// The ECHO keepalive went unanswered.
    KeepaliveTimeout,
    /// The crypto provider refused the negotiated algorithms.
    Crypto(CryptoError),
    /// FSCTL_VALIDATE_NEGOTIATE_INFO did not confirm NEGOTIATE (MS-SMB2 3.2.5.14.12):
    /// someone may have tampered with it.
    NegotiateValidationFailed(&'static str),
    /// A compressed message could not be decompressed within its announced and
    /// negotiated sizes (MS-SMB2 3.2.5.1.1.2).
    Decompress(DecompressError),
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LocallyClosed => f.write_str("connection closed locally"),
            Self::Eof => f.write_str("server closed the connection"),
            Self::Transport(e) => write!(f, "transport failed: {e}"),
            Self::NotSmb(e) => write!(f, "peer is not an SMB2/3 server ({e})"),
            Self::Smb1Only => f.write_str("peer speaks only SMB1"),
            Self::Decode { error, packet } => {
                write!(f, "undecodable message from server: {error}; packet ")?;
                write_hex(f, packet)
            }
            Self::NegotiateFailed(s) => write!(f, "NEGOTIATE failed: {s}"),
            Self::ProtocolViolation(what) => write!(f, "protocol violation: {what}"),
            Self::SignatureMismatch {
                command,
                message_id,
            } => {
                write!(
                    f,
                    "bad signature on {} response (MessageId {message_id})",
                    command.name()
                )
            }
            Self::UnprotectedResponse {
                command,
                message_id,
            } => write!(
                f,
                "{} response (MessageId {message_id}) was neither signed nor encrypted as required",
                command.name()
            ),
            Self::DecryptionFailed(e) => write!(f, "decryption failed: {e}"),
            Self::KeepaliveTimeout => f.write_str("server stopped answering keepalives"),
            Self::Crypto(e) => write!(f, "crypto provider: {e}"),
            Self::Decompress(e) => write!(f, "bad compressed message: {e}"),
            Self::NegotiateValidationFailed(what) => {
                write!(
                    f,
                    "negotiate validation failed: {what} (possible downgrade)"
                )
            }
        }
    }
}

impl std::error::Error for ConnectionError {}

/// Why one request failed. The connection may still be usable (except for
/// [`ConnectionLost`](Self::ConnectionLost)).
#[allow(missing_docs)] // variant fields are self-describing
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The server answered with an error status; the whole response is kept.
    Status(Box<StatusError>),
    /// No final response before the deadline.
    Timeout { command: Command },
    /// Cancelled before it was sent.
    Cancelled { command: Command },
    /// The connection failed.
    ConnectionLost(ConnectionError),
    /// Authentication failed on the client side.
    Auth(AuthError),
    /// The server logged us on as guest and the config does not allow it.
    GuestRefused,
    /// The server gave an anonymous (null) session to a non-anonymous logon.
    AnonymousRefused,
    /// Encryption is required but the server cannot provide it.
    EncryptionUnavailable,
    /// Signing is required but the session has no signing key (guest or anonymous).
    SigningUnavailable,
    /// The request needs more credits than the server will ever grant.
    InsufficientCredits { needed: u16, available: u32 },
    /// The response (or a buffer inside it) could not be decoded; `packet` holds the
    /// bytes that failed: the whole message, header included, or the inner buffer.
    Decode {
        command: Command,
        error: DecodeError,
        packet: Bytes,
    },
    /// The encoded request exceeds the 16 MiB Direct TCP frame limit.
    FrameTooLarge { size: usize },
    /// The crypto provider refused the negotiated algorithm.
    Crypto(CryptoError),
}

/// A failed response: the status, its header and the ERROR body with its contexts.
#[allow(missing_docs)] // fields follow MS-SMB2 names
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusError {
    pub command: Command,
    pub status: NtStatus,
    pub header: Header,
    /// Empty when the server sent a command body instead (see [`Self::ioctl`]).
    pub error: ErrorResponse,
    /// A full IOCTL response body sent with the error status (MS-SMB2 3.3.5.15.6.1,
    /// 3.3.5.15.6.2): recognised by its StructureSize (49, not the ERROR body's 9).
    pub ioctl: Option<IoctlResponse>,
}

impl StatusError {
    /// The IOCTL response body, when the server sent one with the error.
    pub fn ioctl(&self) -> Option<&IoctlResponse> {
        self.ioctl.as_ref()
    }

    /// The SRV_COPYCHUNK_RESPONSE of a failed FSCTL_SRV_COPYCHUNK(_WRITE): what was
    /// copied before the failure (MS-SMB2 3.3.5.15.6.1), or for STATUS_INVALID_PARAMETER
    /// the server's limits (see [`Self::copychunk_limits`]).
    pub fn copychunk(&self) -> Option<CopyChunkResponse> {
        let i = self.ioctl.as_ref()?;
        let copy = [fsctl::FSCTL_SRV_COPYCHUNK, fsctl::FSCTL_SRV_COPYCHUNK_WRITE];
        if !copy.contains(&i.ctl_code) {
            return None;
        }
        CopyChunkResponse::decode(&i.output).ok()
    }

    /// The server's server-side copy limits, sent when a copy asked for too much
    /// (MS-SMB2 2.2.32.1, 3.3.5.15.6.2).
    pub fn copychunk_limits(&self) -> Option<CopyChunkLimits> {
        if self.status != NtStatus::INVALID_PARAMETER {
            return None;
        }
        let r = self.copychunk()?;
        Some(CopyChunkLimits {
            max_chunks: r.chunks_written,
            max_chunk_size: r.chunk_bytes_written,
            max_total_size: r.total_bytes_written,
        })
    }
}

/// A server's limits for one FSCTL_SRV_COPYCHUNK(_WRITE) request (MS-SMB2 3.3.1.5
/// ServerSideCopyMaxNumberofChunks, ServerSideCopyMaxChunkSize, ServerSideCopyMaxDataSize).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyChunkLimits {
    /// Most chunks in one request.
    pub max_chunks: u32,
    /// Most bytes in one chunk.
    pub max_chunk_size: u32,
    /// Most bytes over all chunks of one request.
    pub max_total_size: u32,
}

impl RequestError {
    /// The bytes that failed to decode, for a [`Decode`](Self::Decode) error.
    pub fn packet(&self) -> Option<&Bytes> {
        match self {
            Self::Decode { packet, .. } => Some(packet),
            Self::ConnectionLost(ConnectionError::Decode { packet, .. }) => Some(packet),
            _ => None,
        }
    }

    /// The NTSTATUS if the server answered with an error.
    pub fn status(&self) -> Option<NtStatus> {
        match self {
            Self::Status(s) => Some(s.status),
            _ => None,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(s) => write!(f, "{} failed: {}", s.command.name(), s.status),
            Self::Timeout { command } => write!(f, "{} timed out", command.name()),
            Self::Cancelled { command } => write!(f, "{} cancelled", command.name()),
            Self::ConnectionLost(e) => write!(f, "connection lost: {e}"),
            Self::Auth(e) => write!(f, "authentication failed: {e}"),
            Self::GuestRefused => {
                f.write_str("server logged us on as guest (refused; see dangerous_allow_guest)")
            }
            Self::AnonymousRefused => {
                f.write_str("server gave an anonymous session to a named logon")
            }
            Self::EncryptionUnavailable => {
                f.write_str("encryption required but not available with this server")
            }
            Self::SigningUnavailable => {
                f.write_str("signing required but the session has no signing key")
            }
            Self::InsufficientCredits { needed, available } => {
                write!(
                    f,
                    "request needs {needed} credits, server granted {available}"
                )
            }
            Self::Decode {
                command,
                error,
                packet,
            } => {
                write!(f, "bad {} response: {error}; packet ", command.name())?;
                write_hex(f, packet)
            }
            Self::FrameTooLarge { size } => {
                write!(f, "request of {size} bytes exceeds the frame limit")
            }
            Self::Crypto(e) => write!(f, "crypto: {e}"),
        }
    }
}

impl std::error::Error for RequestError {}

/// The caller used the API wrongly; nothing was sent.
#[allow(missing_docs)] // variant fields are self-describing
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsageError {
    /// The connection is closed.
    Closed,
    /// The operation needs a completed NEGOTIATE.
    NotNegotiated,
    /// NEGOTIATE was already sent.
    AlreadyNegotiated,
    /// No such session on this connection.
    UnknownSession,
    /// No such request in flight.
    UnknownRequest,
    /// The payload exceeds what the negotiated dialect and sizes allow.
    PayloadTooLarge { size: usize, max: usize },
    /// An authenticator failed before anything was sent.
    Auth(AuthError),
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("connection is closed"),
            Self::NotNegotiated => f.write_str("NEGOTIATE has not completed"),
            Self::AlreadyNegotiated => f.write_str("NEGOTIATE already sent"),
            Self::UnknownSession => f.write_str("unknown session"),
            Self::UnknownRequest => f.write_str("unknown request"),
            Self::PayloadTooLarge { size, max } => {
                write!(f, "payload of {size} bytes exceeds {max}")
            }
            Self::Auth(e) => write!(f, "authentication: {e}"),
        }
    }
}

impl std::error::Error for UsageError {}

/// Most packet bytes an error message shows; the error keeps them all.
const HEX_SHOWN: usize = 4096;

/// Lowercase hex of `packet` (one line, ready for `xxd -r -p`), cut at [`HEX_SHOWN`]
/// bytes with a note of how many more there are.
fn write_hex(f: &mut fmt::Formatter<'_>, packet: &[u8]) -> fmt::Result {
    for b in packet.iter().take(HEX_SHOWN) {
        write!(f, "{b:02x}")?;
    }
    if packet.len() > HEX_SHOWN {
        write!(f, "... ({} bytes in all)", packet.len())?;
    }
    Ok(())
}
