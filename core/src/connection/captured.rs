//! Offline decoding of captured traffic (a pcap, bytes a hook saw, a bug report).
//!
//! The caller says which side sent the frame: the decoder never guesses from the
//! SERVER_TO_REDIR flag (a test may have forged it) and never looks anything up in a
//! connection. What depends on the request, such as a QUERY_INFO buffer's info class,
//! stays raw for the caller to decode with the class it knows.

use bytes::Bytes;

use super::Response;
use super::recv::decode_result;
use crate::error::RequestError;
use crate::wire::{DecodeError, FrameKind, Header, RequestBody, classify, split_chain};

/// Who sent a captured frame: the hint [`decode_captured`] needs.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    /// Client to server: requests.
    Client,
    /// Server to client: responses and notifications.
    Server,
}

/// One message of a captured frame.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub enum Captured {
    /// A request, typed where this crate knows the command (else `RequestBody::Raw`).
    Request {
        /// The message's header, as sent.
        header: Header,
        /// The body.
        body: RequestBody,
        /// The message's bytes, header included.
        raw: Bytes,
    },
    /// A response decoded as the connection would: typed, or the status error with
    /// its ERROR body and contexts, or the decode failure with the packet.
    Response(Result<Response, RequestError>),
}

/// Decodes one captured SMB2 frame (the Direct-TCP payload, without its 4-byte length),
/// a single message or a compound chain, sent by `sender`.
///
/// Encrypted (TRANSFORM_HEADER) and compressed frames are refused: decode the
/// plaintext instead, which `PIKE_PCAP` and the `BeforeDecode` hook both provide.
pub fn decode_captured(frame: &[u8], sender: Sender) -> Result<Vec<Captured>, DecodeError> {
    match classify(frame)? {
        FrameKind::Smb2 => {}
        FrameKind::Transform => {
            return Err(DecodeError::Invalid {
                what: "frame: encrypted (TRANSFORM_HEADER); decode its plaintext",
            });
        }
        _ => {
            return Err(DecodeError::Invalid {
                what: "frame: not a plain SMB2 message",
            });
        }
    }
    let frame = Bytes::copy_from_slice(frame);
    split_chain(&frame)?
        .into_iter()
        .map(|(range, header)| {
            let msg = frame.slice(range);
            Ok(match sender {
                Sender::Client => Captured::Request {
                    body: RequestBody::decode(&header, &msg)?,
                    header,
                    raw: msg,
                },
                Sender::Server => Captured::Response(decode_result(&header, &msg)),
            })
        })
        .collect()
}
