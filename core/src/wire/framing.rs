//! Direct TCP transport framing (MS-SMB2 2.1) and message classification.

use bytes::{Buf, BytesMut};

use std::collections::VecDeque;

use std::ops::Range;

use super::{DecodeError, HEADER_LEN, Header, PROTOCOL_ID};

/// Largest frame accepted: the 24-bit length field allows 16 MiB - 1; we cap lower
/// bounds elsewhere (negotiated sizes) but never above this.
pub const MAX_FRAME_LEN: usize = 0x00FF_FFFF;

/// The 4-byte Direct TCP header for a frame of `len` bytes (zero byte + 24-bit BE length).
pub fn frame_header(len: usize) -> [u8; 4] {
    let l = len.min(MAX_FRAME_LEN) as u32;
    [0, (l >> 16) as u8, (l >> 8) as u8, l as u8]
}

/// What a frame holds, from its first four bytes.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// 0xFE 'SMB': one SMB2 message or a compound chain.
    Smb2,
    /// 0xFD 'SMB': TRANSFORM_HEADER (encrypted), MS-SMB2 2.2.41.
    Transform,
    /// 0xFC 'SMB': COMPRESSION_TRANSFORM_HEADER, MS-SMB2 2.2.42.
    Compressed,
    /// 0xFF 'SMB': an SMB1 message (the peer does not speak SMB2 here).
    Smb1,
}

/// Classifies a frame by its ProtocolId.
pub fn classify(frame: &[u8]) -> Result<FrameKind, DecodeError> {
    match frame.get(..4) {
        Some(p) if p == PROTOCOL_ID => Ok(FrameKind::Smb2),
        Some([0xFD, b'S', b'M', b'B']) => Ok(FrameKind::Transform),
        Some([0xFC, b'S', b'M', b'B']) => Ok(FrameKind::Compressed),
        Some([0xFF, b'S', b'M', b'B']) => Ok(FrameKind::Smb1),
        Some(_) => Err(DecodeError::Invalid {
            what: "ProtocolId (not an SMB peer)",
        }),
        None => Err(DecodeError::Truncated { what: "ProtocolId" }),
    }
}

/// The messages of an SMB2 chain (one message, or a compound): each one's byte range
/// in `frame` and its header, following NextCommand (MS-SMB2 3.2.4.1.4).
///
/// A NextCommand shorter than a header or past the frame's end is
/// `DecodeError::OutOfBounds { what: "NextCommand" }`.
pub fn split_chain(frame: &[u8]) -> Result<Vec<(Range<usize>, Header)>, DecodeError> {
    let mut parts = Vec::new();
    let mut at = 0usize;
    loop {
        let header = Header::decode(&frame[at..])?;
        let next = header.next_command as usize;
        let end = if next == 0 { frame.len() } else { at + next };
        if next != 0 && (next < HEADER_LEN || end > frame.len()) {
            return Err(DecodeError::OutOfBounds {
                what: "NextCommand",
            });
        }
        parts.push((at..end, header));
        if next == 0 {
            return Ok(parts);
        }
        at = end;
    }
}

/// Splits a TCP byte stream into frames, whatever the chunking.
///
/// Rejects a non-SMB peer as soon as the bytes prove it (a non-zero first byte, or a
/// payload that does not start with an SMB ProtocolId), instead of waiting for a bogus
/// length to fill.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    /// The slab being filled; frames are split off its front.
    buf: BytesMut,
    /// Earlier slabs, oldest first, some of whose frames may still be alive: once all
    /// are dropped, the slab is filled again. Reusing memory already mapped saves the
    /// page faults a fresh buffer per large READ response costs (about a third of a
    /// bulk read's CPU on Linux).
    spare: VecDeque<BytesMut>,
    /// The largest frame seen, with its header.
    largest: usize,
    max_len: usize,
}

/// Smallest slab: small frames share one.
const MIN_SLAB: usize = 64 * 1024;
/// Earlier slabs kept for reuse: enough to cover a window of large READs answered but
/// not yet consumed.
const MAX_SPARE: usize = 16;

impl FrameDecoder {
    /// A decoder that refuses frames longer than `max_len` bytes.
    pub fn new(max_len: usize) -> Self {
        Self {
            buf: BytesMut::with_capacity(MIN_SLAB),
            spare: VecDeque::new(),
            largest: 0,
            max_len: max_len.min(MAX_FRAME_LEN),
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.make_room(bytes.len());
        self.buf.extend_from_slice(bytes);
    }

    /// Room for `additional` more bytes without growing the slab piecemeal (which would
    /// copy a large READ response several times over): the current slab if its frames
    /// are all gone, else the oldest spare whose frames are, else a new slab.
    fn make_room(&mut self, additional: usize) {
        if self.buf.capacity() - self.buf.len() >= additional || self.buf.try_reclaim(additional) {
            return;
        }
        let need = self.buf.len() + additional;
        let reusable = self.spare.iter_mut().position(|s| s.try_reclaim(need));
        let mut next = match reusable.and_then(|i| self.spare.remove(i)) {
            Some(s) => s,
            // Two of the largest frames seen: a slab's data is not copied again.
            None => BytesMut::with_capacity(need.max(self.largest).saturating_mul(2).max(MIN_SLAB)),
        };
        next.extend_from_slice(&self.buf);
        let mut old = std::mem::replace(&mut self.buf, next);
        old.clear();
        if self.spare.len() == MAX_SPARE {
            self.spare.pop_front();
        }
        self.spare.push_back(old);
    }

    /// Lets go of the earlier slabs kept for reuse: each one's memory goes once its
    /// last frame is dropped. The slab being filled stays.
    pub fn release_spare(&mut self) {
        self.spare.clear();
    }

    /// Bytes buffered but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame (without the 4-byte header), if one is buffered.
    pub fn next_frame(&mut self) -> Result<Option<BytesMut>, DecodeError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        if self.buf[0] != 0 {
            return Err(DecodeError::Invalid {
                what: "Direct TCP header (not an SMB peer)",
            });
        }
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let len = usize::from(self.buf[1]) << 16
            | usize::from(self.buf[2]) << 8
            | usize::from(self.buf[3]);
        if len > self.max_len {
            return Err(DecodeError::Invalid {
                what: "frame length (over the limit)",
            });
        }
        if len < 4 {
            return Err(DecodeError::Truncated { what: "frame" });
        }
        if self.buf.len() >= 8 {
            classify(&self.buf[4..8])?;
        }
        self.largest = self.largest.max(4 + len);
        if self.buf.len() < 4 + len {
            self.make_room(4 + len - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(4);
        Ok(Some(self.buf.split_to(len)))
    }
}
