//! SMB 3.1.1 compression on a connection: decompressing what the server sends
//! (MS-SMB2 3.2.5.1.1.2) and compressing large WRITEs (3.2.4.1.9, 3.1.4.4).

use bytes::BytesMut;

use crate::compress::transform::{
    CompressionTransformHeader, TransformPayload, UNCHAINED_HEADER_LEN, compress_unchained,
    decompress_transform,
};
use crate::compress::{CompressionAlgorithm, DecompressError};
use crate::error::ConnectionError;
use crate::wire::{Command, FrameKind, HEADER_LEN, RequestBody, classify};

use super::{CompressionInfo, Connection, Request};

/// SMB2_READFLAG_REQUEST_COMPRESSED (MS-SMB2 2.2.19).
pub(crate) const READFLAG_REQUEST_COMPRESSED: u8 = 0x02;

/// Fixed part of a WRITE request before its data (MS-SMB2 2.2.21): left uncompressed so
/// only the payload goes through the compressor.
const WRITE_FIXED_LEN: usize = 48;

impl Connection {
    fn compression(&self) -> Option<&CompressionInfo> {
        self.negotiated.as_ref()?.compression.as_ref()
    }

    /// Largest message a compressed frame may expand to: MS-SMB2 3.2.5.1.1.2 bounds
    /// OriginalCompressedSegmentSize by 256 + the header + the largest negotiated size.
    fn max_decompressed(&self) -> usize {
        let n = self.negotiated.as_ref();
        let largest = n.map_or(0, |n| {
            n.max_read_size
                .max(n.max_write_size)
                .max(n.max_transact_size)
        });
        256 + UNCHAINED_HEADER_LEN + largest as usize
    }

    /// The SMB2 message inside a COMPRESSION_TRANSFORM_HEADER frame (after decryption
    /// if it came sealed). Everything the spec says to disconnect for is an error here.
    pub(super) fn decompress_message(&self, frame: &[u8]) -> Result<BytesMut, ConnectionError> {
        let Some(c) = self.compression() else {
            return Err(ConnectionError::ProtocolViolation(
                "compressed message without negotiated compression",
            ));
        };
        let header =
            CompressionTransformHeader::decode(frame).map_err(ConnectionError::Decompress)?;
        let allowed = |a: CompressionAlgorithm| c.algorithms.contains(&a);
        let negotiated = match &header.payload {
            TransformPayload::Unchained { algorithm, .. } => allowed(*algorithm),
            TransformPayload::Chained(payloads) => {
                c.chained
                    && payloads
                        .iter()
                        .all(|p| p.algorithm == CompressionAlgorithm::None || allowed(p.algorithm))
            }
        };
        if !negotiated {
            return Err(ConnectionError::ProtocolViolation(
                "compressed with an algorithm or form not negotiated",
            ));
        }
        let max = self.max_decompressed();
        if header.original_compressed_segment_size as usize > max {
            return Err(ConnectionError::Decompress(DecompressError::TooLarge));
        }
        let mut out = Vec::new();
        decompress_transform(frame, max, &mut out).map_err(ConnectionError::Decompress)?;
        if classify(&out) != Ok(FrameKind::Smb2) {
            return Err(ConnectionError::ProtocolViolation(
                "decompressed message is not an SMB2 message",
            ));
        }
        Ok(BytesMut::from(&out[..]))
    }

    /// Asks for compressed READ data when configured and negotiated (MS-SMB2 3.2.4.6).
    pub(super) fn mark_compressed_read(&self, request: &mut Request) {
        if !self.config.compression.request_compressed_reads || self.compression().is_none() {
            return;
        }
        if let RequestBody::Read(r) = &mut request.body {
            r.flags |= READFLAG_REQUEST_COMPRESSED;
        }
    }

    /// Replaces the plain message `out[start..]` with its unchained compressed form when
    /// it is a WRITE large enough to bother and compression makes it smaller. Runs after
    /// signing (the signature covers the message as the server will see it once
    /// decompressed) and before sealing (MS-SMB2 3.1.4.4).
    /// Whether WRITEs may go out compressed on this connection.
    pub(super) fn compresses_writes(&self) -> bool {
        self.compression().is_some() && self.config.compression.compress_writes_from.is_some()
    }

    pub(super) fn compress_write(&self, command: Command, out: &mut Vec<u8>, start: usize) {
        let (Some(c), Some(from)) = (
            self.compression(),
            self.config.compression.compress_writes_from,
        ) else {
            return;
        };
        let plain_len = out.len() - start;
        if command != Command::Write || plain_len < HEADER_LEN + WRITE_FIXED_LEN + from.max(1) {
            return;
        }
        // Pattern_V1 exists only inside chains; the first LZ algorithm is used unchained.
        let Some(&alg) = c
            .algorithms
            .iter()
            .find(|a| **a != CompressionAlgorithm::PatternV1)
        else {
            return;
        };
        let mut frame = Vec::new();
        let keep = HEADER_LEN + WRITE_FIXED_LEN;
        if compress_unchained(alg, &out[start..], keep, &mut frame).is_ok()
            && frame.len() < plain_len
        {
            out.truncate(start);
            out.extend_from_slice(&frame);
        }
    }
}
