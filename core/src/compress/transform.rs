//! SMB2 COMPRESSION_TRANSFORM_HEADER (MS-SMB2 2.2.42), unchained and chained.
//!
//! * Unchained (2.2.42.1, Flags = `SMB2_COMPRESSION_FLAG_NONE`): a 16-byte header
//!   `{ProtocolId, OriginalCompressedSegmentSize, CompressionAlgorithm, Flags, Offset}`,
//!   then `Offset` bytes sent uncompressed, then the compressed data segment, which
//!   decompresses to `OriginalCompressedSegmentSize` bytes.
//! * Chained (2.2.42.2, Flags = `SMB2_COMPRESSION_FLAG_CHAINED`): an 8-byte header
//!   `{ProtocolId, OriginalCompressedSegmentSize}` followed by payload headers (2.2.42.2.1)
//!   `{CompressionAlgorithm, Flags, Length, [OriginalPayloadSize]}`, each followed by its
//!   payload. The first payload header's Flags field is the header's Flags field.
//!   OriginalPayloadSize is present unless the algorithm is NONE or Pattern_V1, and is
//!   counted in Length. Pattern_V1 payloads are `{Pattern, Reserved1, Reserved2,
//!   Repetitions}` (2.2.42.2.2).

use super::{CompressError, CompressionAlgorithm, DecompressError, compress, decompress, read_u32};

/// ProtocolId of a compression transform header: 0xFC 'S' 'M' 'B' (MS-SMB2 2.2.42.1).
pub const COMPRESSION_PROTOCOL_ID: [u8; 4] = [0xFC, b'S', b'M', b'B'];
/// SMB2_COMPRESSION_FLAG_NONE (MS-SMB2 2.2.42.1).
pub const SMB2_COMPRESSION_FLAG_NONE: u16 = 0x0000;
/// SMB2_COMPRESSION_FLAG_CHAINED (MS-SMB2 2.2.42.2.1).
pub const SMB2_COMPRESSION_FLAG_CHAINED: u16 = 0x0001;
/// Size of the unchained header (MS-SMB2 2.2.42.1).
pub const UNCHAINED_HEADER_LEN: usize = 16;
/// Size of the chained header before the first payload header (MS-SMB2 2.2.42.2).
pub const CHAINED_HEADER_LEN: usize = 8;
/// Size of a chained payload header without OriginalPayloadSize (MS-SMB2 2.2.42.2.1).
pub const PAYLOAD_HEADER_LEN: usize = 8;

/// Whether a chained payload header for `alg` carries OriginalPayloadSize
/// (MS-SMB2 2.2.42.2.1: present for LZNT1, LZ77, LZ77+Huffman and LZ4, i.e. not for NONE
/// or Pattern_V1).
pub const fn has_original_payload_size(alg: CompressionAlgorithm) -> bool {
    !matches!(
        alg,
        CompressionAlgorithm::None | CompressionAlgorithm::PatternV1
    )
}

/// A Pattern_V1 payload (MS-SMB2 2.2.42.2.2): `repetitions` copies of `pattern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatternV1 {
    /// The repeated byte.
    pub pattern: u8,
    /// How many times it repeats.
    pub repetitions: u32,
}

impl PatternV1 {
    /// Wire size: Pattern (1), Reserved1 (1), Reserved2 (2), Repetitions (4).
    pub const LEN: usize = 8;

    /// Parses the 8-byte payload (reserved fields are ignored).
    pub fn decode(payload: &[u8]) -> Result<Self, DecompressError> {
        if payload.len() < Self::LEN {
            return Err(DecompressError::Truncated);
        }
        if payload.len() > Self::LEN {
            return Err(DecompressError::Corrupt(
                "pattern_v1 payload longer than 8 bytes",
            ));
        }
        let repetitions = read_u32(payload, 4).ok_or(DecompressError::Truncated)?;
        Ok(Self {
            pattern: payload[0],
            repetitions,
        })
    }

    /// Appends the 8-byte payload (reserved fields zero).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.pattern, 0, 0, 0]);
        out.extend_from_slice(&self.repetitions.to_le_bytes());
    }

    /// `Some` if `data` is non-empty, one repeated byte, and fits a u32 count.
    pub fn detect(data: &[u8]) -> Option<Self> {
        let (&first, rest) = data.split_first()?;
        let repetitions = u32::try_from(data.len()).ok()?;
        rest.iter().all(|&b| b == first).then_some(Self {
            pattern: first,
            repetitions,
        })
    }
}

/// One payload of a chained transform (MS-SMB2 2.2.42.2.1), borrowing its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainedPayload<'a> {
    /// CompressionAlgorithm of this payload.
    pub algorithm: CompressionAlgorithm,
    /// Flags: `SMB2_COMPRESSION_FLAG_CHAINED` on the first payload (always written so by
    /// [`CompressionTransformHeader::encode`]), otherwise `SMB2_COMPRESSION_FLAG_NONE`
    /// (other values are preserved when decoding: some senders leave residual bits).
    pub flags: u16,
    /// OriginalPayloadSize; `Some` exactly when [`has_original_payload_size`].
    pub original_payload_size: Option<u32>,
    /// The payload bytes after the payload header (and after OriginalPayloadSize).
    pub data: &'a [u8],
}

impl<'a> ChainedPayload<'a> {
    /// A payload with flags `SMB2_COMPRESSION_FLAG_NONE`.
    pub fn new(
        algorithm: CompressionAlgorithm,
        original_payload_size: Option<u32>,
        data: &'a [u8],
    ) -> Self {
        Self {
            algorithm,
            flags: SMB2_COMPRESSION_FLAG_NONE,
            original_payload_size,
            data,
        }
    }

    /// Size of this payload once decompressed.
    pub fn uncompressed_len(&self) -> Result<usize, DecompressError> {
        match (self.algorithm, self.original_payload_size) {
            (CompressionAlgorithm::None, _) => Ok(self.data.len()),
            (CompressionAlgorithm::PatternV1, _) => {
                Ok(PatternV1::decode(self.data)?.repetitions as usize)
            }
            (_, Some(n)) => Ok(n as usize),
            (_, None) => Err(DecompressError::Corrupt(
                "chained payload without original size",
            )),
        }
    }
}

/// The segments following the transform header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransformPayload<'a> {
    /// MS-SMB2 2.2.42.1.
    Unchained {
        /// CompressionAlgorithm (MUST NOT be NONE on the wire).
        algorithm: CompressionAlgorithm,
        /// The `Offset` bytes sent uncompressed before the compressed segment.
        uncompressed: &'a [u8],
        /// The compressed data segment.
        compressed: &'a [u8],
    },
    /// MS-SMB2 2.2.42.2: the payloads in order.
    Chained(Vec<ChainedPayload<'a>>),
}

/// An SMB2 COMPRESSION_TRANSFORM_HEADER with its segments (MS-SMB2 2.2.42).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressionTransformHeader<'a> {
    /// OriginalCompressedSegmentSize: unchained, the decompressed size of the compressed
    /// segment (excluding the `Offset` prefix); chained, the size of the whole message.
    pub original_compressed_segment_size: u32,
    /// Unchained or chained segments.
    pub payload: TransformPayload<'a>,
}

impl<'a> CompressionTransformHeader<'a> {
    /// Parses a whole compressed frame (the transport message starting at ProtocolId).
    ///
    /// Every length is checked against the frame: an `Offset` or `Length` that runs past
    /// the end is [`DecompressError::Truncated`]; an unknown Flags value, a bad ProtocolId,
    /// a Length too short for OriginalPayloadSize or a malformed Pattern_V1 payload is
    /// [`DecompressError::Corrupt`].
    pub fn decode(frame: &'a [u8]) -> Result<Self, DecompressError> {
        if frame.len() < UNCHAINED_HEADER_LEN {
            return Err(DecompressError::Truncated);
        }
        if frame[..4] != COMPRESSION_PROTOCOL_ID {
            return Err(DecompressError::Corrupt(
                "not a compression transform header",
            ));
        }
        let le16 = |i: usize| u16::from_le_bytes([frame[i], frame[i + 1]]);
        let le32 =
            |i: usize| u32::from_le_bytes([frame[i], frame[i + 1], frame[i + 2], frame[i + 3]]);
        let original_compressed_segment_size = le32(4);
        // MS-SMB2 2.2.42: the Flags field selects the variant.
        let payload = match le16(10) {
            SMB2_COMPRESSION_FLAG_NONE => {
                let algorithm = CompressionAlgorithm::from_id(le16(8));
                let offset = le32(12) as usize;
                let rest = &frame[UNCHAINED_HEADER_LEN..];
                if offset > rest.len() {
                    return Err(DecompressError::Truncated);
                }
                let (uncompressed, compressed) = rest.split_at(offset);
                TransformPayload::Unchained {
                    algorithm,
                    uncompressed,
                    compressed,
                }
            }
            SMB2_COMPRESSION_FLAG_CHAINED => {
                let mut payloads = Vec::new();
                let mut pos = CHAINED_HEADER_LEN;
                while pos < frame.len() {
                    if frame.len() - pos < PAYLOAD_HEADER_LEN {
                        return Err(DecompressError::Truncated);
                    }
                    let algorithm = CompressionAlgorithm::from_id(le16(pos));
                    let flags = le16(pos + 2);
                    let length = le32(pos + 4) as usize;
                    pos += PAYLOAD_HEADER_LEN;
                    if length > frame.len() - pos {
                        return Err(DecompressError::Truncated);
                    }
                    let mut data = &frame[pos..pos + length];
                    pos += length;
                    let original_payload_size = if has_original_payload_size(algorithm) {
                        let size = read_u32(data, 0).ok_or(DecompressError::Corrupt(
                            "chained payload length shorter than OriginalPayloadSize",
                        ))?;
                        data = &data[4..];
                        Some(size)
                    } else {
                        None
                    };
                    if algorithm == CompressionAlgorithm::PatternV1 {
                        PatternV1::decode(data)?;
                    }
                    payloads.push(ChainedPayload {
                        algorithm,
                        flags,
                        original_payload_size,
                        data,
                    });
                }
                TransformPayload::Chained(payloads)
            }
            _ => {
                return Err(DecompressError::Corrupt(
                    "unknown compression transform flags",
                ));
            }
        };
        Ok(Self {
            original_compressed_segment_size,
            payload,
        })
    }

    /// Appends the encoded frame to `out`. The first chained payload is always written
    /// with `SMB2_COMPRESSION_FLAG_CHAINED`. Fails with [`CompressError::TooLarge`] if a
    /// length does not fit 32 bits, [`CompressError::NotApplicable`] if a chained payload's
    /// `original_payload_size` presence disagrees with its algorithm or the chain is empty.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), CompressError> {
        let to_u32 = |n: usize| u32::try_from(n).map_err(|_| CompressError::TooLarge);
        match &self.payload {
            TransformPayload::Unchained {
                algorithm,
                uncompressed,
                compressed,
            } => {
                let offset = to_u32(uncompressed.len())?;
                out.reserve(UNCHAINED_HEADER_LEN + uncompressed.len() + compressed.len());
                out.extend_from_slice(&COMPRESSION_PROTOCOL_ID);
                out.extend_from_slice(&self.original_compressed_segment_size.to_le_bytes());
                out.extend_from_slice(&algorithm.id().to_le_bytes());
                out.extend_from_slice(&SMB2_COMPRESSION_FLAG_NONE.to_le_bytes());
                out.extend_from_slice(&offset.to_le_bytes());
                out.extend_from_slice(uncompressed);
                out.extend_from_slice(compressed);
            }
            TransformPayload::Chained(payloads) => {
                if payloads.is_empty() {
                    return Err(CompressError::NotApplicable);
                }
                let start = out.len();
                out.extend_from_slice(&COMPRESSION_PROTOCOL_ID);
                out.extend_from_slice(&self.original_compressed_segment_size.to_le_bytes());
                for (i, p) in payloads.iter().enumerate() {
                    if has_original_payload_size(p.algorithm) != p.original_payload_size.is_some() {
                        out.truncate(start);
                        return Err(CompressError::NotApplicable);
                    }
                    let extra = if p.original_payload_size.is_some() {
                        4
                    } else {
                        0
                    };
                    let length = match to_u32(p.data.len() + extra) {
                        Ok(l) => l,
                        Err(e) => {
                            out.truncate(start);
                            return Err(e);
                        }
                    };
                    let flags = if i == 0 {
                        SMB2_COMPRESSION_FLAG_CHAINED
                    } else {
                        p.flags
                    };
                    out.extend_from_slice(&p.algorithm.id().to_le_bytes());
                    out.extend_from_slice(&flags.to_le_bytes());
                    out.extend_from_slice(&length.to_le_bytes());
                    if let Some(size) = p.original_payload_size {
                        out.extend_from_slice(&size.to_le_bytes());
                    }
                    out.extend_from_slice(p.data);
                }
            }
        }
        Ok(())
    }

    /// Size of the reassembled SMB2 message: `Offset + OriginalCompressedSegmentSize`
    /// (unchained) or the sum of the payloads' sizes (chained).
    pub fn original_size(&self) -> Result<usize, DecompressError> {
        match &self.payload {
            TransformPayload::Unchained { uncompressed, .. } => uncompressed
                .len()
                .checked_add(self.original_compressed_segment_size as usize)
                .ok_or(DecompressError::TooLarge),
            TransformPayload::Chained(payloads) => payloads.iter().try_fold(0usize, |acc, p| {
                acc.checked_add(p.uncompressed_len()?)
                    .ok_or(DecompressError::TooLarge)
            }),
        }
    }
}

/// Decodes a compressed frame and appends the original SMB2 message to `out`
/// (MS-SMB2 2.2.42).
///
/// Unchained: the `Offset` prefix is copied, the rest is decompressed with the header's
/// algorithm to `OriginalCompressedSegmentSize` bytes. Chained: each payload is
/// decompressed (NONE copied, Pattern_V1 expanded) and concatenated; the total must equal
/// `OriginalCompressedSegmentSize`. A message larger than `max_size` is rejected with
/// [`DecompressError::TooLarge`] before anything is allocated. On error `out` is restored.
pub fn decompress_transform(
    frame: &[u8],
    max_size: usize,
    out: &mut Vec<u8>,
) -> Result<(), DecompressError> {
    let header = CompressionTransformHeader::decode(frame)?;
    let total = header.original_size()?;
    if total > max_size {
        return Err(DecompressError::TooLarge);
    }
    let base = out.len();
    out.reserve(total);
    let res = match &header.payload {
        TransformPayload::Unchained {
            algorithm,
            uncompressed,
            compressed,
        } => {
            out.extend_from_slice(uncompressed);
            decompress(
                *algorithm,
                compressed,
                header.original_compressed_segment_size as usize,
                out,
            )
        }
        TransformPayload::Chained(payloads) => {
            if total != header.original_compressed_segment_size as usize {
                Err(DecompressError::Corrupt(
                    "chained payload sizes disagree with OriginalCompressedSegmentSize",
                ))
            } else {
                payloads.iter().try_for_each(|p| {
                    let n = p.uncompressed_len()?;
                    decompress(p.algorithm, p.data, n, out)
                })
            }
        }
    };
    if res.is_err() {
        out.truncate(base);
    }
    res
}

/// Builds an unchained compressed frame (MS-SMB2 2.2.42.1): the first
/// `offset_uncompressed` bytes of `message` are sent as-is, the rest is compressed with
/// `alg`. Appends the frame to `out`.
///
/// `alg` must be LZNT1, LZ77 or LZ77+Huffman (NONE and Pattern_V1 are not valid in an
/// unchained header: [`CompressError::NotApplicable`]; LZ4 is unsupported).
/// `offset_uncompressed` is clamped to the message length. The caller decides whether the
/// result is worth sending (compare `out` growth with `message.len()`).
pub fn compress_unchained(
    alg: CompressionAlgorithm,
    message: &[u8],
    offset_uncompressed: usize,
    out: &mut Vec<u8>,
) -> Result<(), CompressError> {
    if matches!(
        alg,
        CompressionAlgorithm::None | CompressionAlgorithm::PatternV1
    ) {
        return Err(CompressError::NotApplicable);
    }
    let split = offset_uncompressed.min(message.len());
    let (prefix, rest) = message.split_at(split);
    let offset = u32::try_from(split).map_err(|_| CompressError::TooLarge)?;
    let segment = u32::try_from(rest.len()).map_err(|_| CompressError::TooLarge)?;
    let start = out.len();
    out.reserve(UNCHAINED_HEADER_LEN + message.len() + message.len() / 8 + 16);
    out.extend_from_slice(&COMPRESSION_PROTOCOL_ID);
    out.extend_from_slice(&segment.to_le_bytes());
    out.extend_from_slice(&alg.id().to_le_bytes());
    out.extend_from_slice(&SMB2_COMPRESSION_FLAG_NONE.to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(prefix);
    if let Err(e) = compress(alg, rest, out) {
        out.truncate(start);
        return Err(e);
    }
    Ok(())
}
