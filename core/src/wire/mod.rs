//! SMB2/3 wire codec (MS-SMB2 section 2), both directions.
//!
//! Every PDU is a plain struct with public fields that a caller can build and edit.
//! Fields that are normally computed (lengths, offsets, counts) are `Option`s: `None`
//! means "compute it when encoding", `Some(v)` means "encode exactly `v`", which is how
//! tests produce malformed requests on purpose. Decoders never panic: any input yields a
//! value or a [`DecodeError`].
//!
//! Encoding appends to a `Vec<u8>` that already holds the 64-byte header of the message at
//! `base`; offsets in SMB2 bodies are relative to the start of that header.

// Field names follow MS-SMB2; the spec documents them.
#![allow(missing_docs)]

mod body;
mod contexts;
mod create;
mod file;
mod framing;
mod header;
mod ids;
mod info;
mod ioctl;
mod misc;
mod negotiate;
mod notify;
mod query;
mod reparse;
mod session;
mod status;
mod tree;

pub use body::{EncodeBody, RequestBody, ResponseBody};
pub use contexts::*;
pub use create::*;
pub use file::*;
pub use framing::{FrameDecoder, FrameKind, MAX_FRAME_LEN, classify, frame_header, split_chain};
pub use header::*;
pub use ids::*;
pub use info::*;
pub use ioctl::*;
pub use misc::*;
pub use negotiate::*;
pub use notify::*;
pub use query::*;
pub use reparse::*;
pub use session::*;
pub use status::NtStatus;
pub use tree::*;

use core::fmt;

use nom::IResult;

/// Why bytes could not be decoded.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended before `what` was complete.
    Truncated { what: &'static str },
    /// `what` has a value this decoder cannot accept.
    Invalid { what: &'static str },
    /// An offset/length pair points outside the message.
    OutOfBounds { what: &'static str },
    /// StructureSize differs from the one the spec fixes for this PDU.
    StructureSize {
        what: &'static str,
        expected: u16,
        got: u16,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { what } => write!(f, "truncated {what}"),
            Self::Invalid { what } => write!(f, "invalid {what}"),
            Self::OutOfBounds { what } => write!(f, "{what} points outside the message"),
            Self::StructureSize {
                what,
                expected,
                got,
            } => {
                write!(f, "{what}: StructureSize {got}, expected {expected}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Defines a response with StructureSize 9, OutputBufferOffset (2), OutputBufferLength
/// (4) and the output buffer (CHANGE_NOTIFY, QUERY_DIRECTORY and QUERY_INFO responses).
macro_rules! output_response {
    ($(#[$m:meta])* $name:ident, $what:literal) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct $name {
            pub output: ::bytes::Bytes,
        }

        impl $name {
            /// Appends the body; `base` is where the header starts in `out`.
            pub fn encode(&self, out: &mut Vec<u8>, base: usize) {
                ::bytes::BufMut::put_u16_le(out, 9);
                let off = if self.output.is_empty() {
                    0
                } else {
                    $crate::wire::len16($crate::wire::rel(out, base) + 6)
                };
                ::bytes::BufMut::put_u16_le(out, off);
                ::bytes::BufMut::put_u32_le(out, $crate::wire::len32(self.output.len()));
                ::bytes::BufMut::put_slice(out, &self.output);
                if self.output.is_empty() {
                    ::bytes::BufMut::put_u8(out, 0);
                }
            }

            /// Decodes the body of `msg` (header included), copying the output.
            pub fn decode(msg: &[u8]) -> Result<Self, $crate::wire::DecodeError> {
                Self::decode_bytes(&::bytes::Bytes::copy_from_slice(msg))
            }

            /// Decodes without copying: the output is a slice of `msg`.
            pub fn decode_bytes(msg: &::bytes::Bytes) -> Result<Self, $crate::wire::DecodeError> {
                use ::nom::number::complete::{le_u16, le_u32};
                let (_, (size, off, len)) =
                    $crate::wire::parse($what, $crate::wire::body(msg)?, (le_u16, le_u16, le_u32))?;
                $crate::wire::expect_size($what, size, 9)?;
                $crate::wire::buffer_at(msg, off.into(), len as usize, $what)?;
                let output = if len == 0 {
                    ::bytes::Bytes::new()
                } else {
                    msg.slice(usize::from(off)..usize::from(off) + len as usize)
                };
                Ok(Self { output })
            }
        }
    };
}
pub(crate) use output_response;

pub(crate) type Input<'a> = &'a [u8];
pub(crate) type NomError<'a> = nom::error::Error<Input<'a>>;

/// Runs a nom parser, mapping any failure to [`DecodeError::Truncated`].
pub(crate) fn parse<'a, O>(
    what: &'static str,
    input: Input<'a>,
    mut p: impl nom::Parser<Input<'a>, Output = O, Error = NomError<'a>>,
) -> Result<(Input<'a>, O), DecodeError> {
    let r: IResult<Input<'a>, O, NomError<'a>> = p.parse(input);
    r.map_err(|_| DecodeError::Truncated { what })
}

/// The body of a message (everything after the 64-byte header).
pub(crate) fn body(msg: &[u8]) -> Result<&[u8], DecodeError> {
    msg.get(HEADER_LEN..).ok_or(DecodeError::Truncated {
        what: "SMB2 header",
    })
}

/// A `(offset from header, length)` buffer inside `msg`; an empty length is always valid.
pub(crate) fn buffer_at<'a>(
    msg: &'a [u8],
    offset: usize,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8], DecodeError> {
    if len == 0 {
        return Ok(&[]);
    }
    offset
        .checked_add(len)
        .and_then(|end| msg.get(offset..end))
        .ok_or(DecodeError::OutOfBounds { what })
}

/// Checks the StructureSize field of a body.
pub(crate) fn expect_size(what: &'static str, got: u16, expected: u16) -> Result<(), DecodeError> {
    if got == expected {
        Ok(())
    } else {
        Err(DecodeError::StructureSize {
            what,
            expected,
            got,
        })
    }
}

/// Offset of the current end of `out` relative to the header at `base`.
pub(crate) fn rel(out: &[u8], base: usize) -> usize {
    out.len() - base
}

/// Pads `out` with zeros until the offset from `base` is a multiple of `align`.
pub(crate) fn pad_to(out: &mut Vec<u8>, base: usize, align: usize) {
    while !(out.len() - base).is_multiple_of(align) {
        out.push(0);
    }
}

/// Overwrites a little-endian u16 at `at`.
pub(crate) fn patch_u16(out: &mut [u8], at: usize, v: u16) {
    out[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

/// Overwrites a little-endian u32 at `at`.
pub(crate) fn patch_u32(out: &mut [u8], at: usize, v: u32) {
    out[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Saturating conversion for lengths that the caller did not override.
pub(crate) fn len16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// Saturating conversion for lengths that the caller did not override.
pub(crate) fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// UTF-16LE encoding of a string (names and paths on the wire).
pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Decodes UTF-16LE, replacing invalid sequences (names from a server are data, not trust).
pub fn from_utf16le(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}
