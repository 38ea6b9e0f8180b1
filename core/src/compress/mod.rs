//! MS-XCA compression algorithms used by SMB 3.1.1 compression (MS-SMB2 2.2.42).
//!
//! * [`lz77`]: Plain LZ77 (MS-XCA 2.3 compression, 2.4 decompression).
//! * [`lz77_huffman`]: LZ77+Huffman (MS-XCA 2.1 compression, 2.2 decompression).
//! * [`lznt1`]: LZNT1 (MS-XCA 2.5).
//! * [`transform`]: the SMB2 COMPRESSION_TRANSFORM_HEADER (MS-SMB2 2.2.42).
//!
//! Every decompressor appends to the caller's `Vec<u8>`, reserves the expected size once,
//! never writes more than the expected number of bytes, never reads outside its input and
//! always terminates (each decoded symbol produces at least one output byte or consumes
//! input). On error the output vector is truncated back to its length at entry.

use core::fmt;

pub mod lz77;
pub mod lz77_huffman;
pub mod lznt1;
pub mod transform;

/// A compression algorithm identifier (MS-SMB2 2.2.3.1.3, CompressionAlgorithms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CompressionAlgorithm {
    /// `NONE` (0x0000): no compression.
    None,
    /// `LZNT1` (0x0001), MS-XCA 2.5.
    Lznt1,
    /// `LZ77` (0x0002), Plain LZ77, MS-XCA 2.3/2.4.
    Lz77,
    /// `LZ77+Huffman` (0x0003), MS-XCA 2.1/2.2.
    Lz77Huffman,
    /// `Pattern_V1` (0x0004), MS-SMB2 2.2.42.2.2 (chained compression only).
    PatternV1,
    /// `LZ4` (0x0005). Recognised but not implemented.
    Lz4,
    /// Any other identifier.
    Unknown(u16),
}

impl CompressionAlgorithm {
    /// The wire identifier (MS-SMB2 2.2.3.1.3).
    pub const fn id(self) -> u16 {
        match self {
            Self::None => 0x0000,
            Self::Lznt1 => 0x0001,
            Self::Lz77 => 0x0002,
            Self::Lz77Huffman => 0x0003,
            Self::PatternV1 => 0x0004,
            Self::Lz4 => 0x0005,
            Self::Unknown(id) => id,
        }
    }

    /// Maps a wire identifier to an algorithm (unknown values map to [`Self::Unknown`]).
    pub const fn from_id(id: u16) -> Self {
        match id {
            0x0000 => Self::None,
            0x0001 => Self::Lznt1,
            0x0002 => Self::Lz77,
            0x0003 => Self::Lz77Huffman,
            0x0004 => Self::PatternV1,
            0x0005 => Self::Lz4,
            other => Self::Unknown(other),
        }
    }
}

/// Why decompression (or transform-header parsing) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecompressError {
    /// The input ended before the announced output was produced.
    Truncated,
    /// The input is malformed.
    Corrupt(&'static str),
    /// The input would produce more than the allowed number of bytes.
    TooLarge,
    /// The algorithm is not supported (LZ4, unknown identifiers).
    Unsupported,
}

impl fmt::Display for DecompressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("compressed data truncated"),
            Self::Corrupt(why) => write!(f, "compressed data corrupt: {why}"),
            Self::TooLarge => f.write_str("decompressed data exceeds the allowed size"),
            Self::Unsupported => f.write_str("unsupported compression algorithm"),
        }
    }
}

impl std::error::Error for DecompressError {}

/// Why compression failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompressError {
    /// The algorithm is not supported (LZ4, unknown identifiers).
    Unsupported,
    /// The algorithm cannot represent this input (Pattern_V1 on non-uniform data).
    NotApplicable,
    /// The input (or an offset) does not fit the 32-bit size fields.
    TooLarge,
}

impl fmt::Display for CompressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsupported => f.write_str("unsupported compression algorithm"),
            Self::NotApplicable => f.write_str("algorithm cannot represent this input"),
            Self::TooLarge => f.write_str("input too large to compress"),
        }
    }
}

impl std::error::Error for CompressError {}

/// Decompresses `input` with `alg`, appending exactly `uncompressed_len` bytes to `out`.
///
/// The output is bounded: a stream that would produce more than `uncompressed_len` bytes
/// fails with [`DecompressError::TooLarge`] (or `Corrupt`), one that produces fewer fails
/// with [`DecompressError::Truncated`]/`Corrupt`. Back-references cannot reach before the
/// bytes appended by this call. On error `out` is restored to its length at entry.
///
/// For [`CompressionAlgorithm::None`] the input is copied (its length must equal
/// `uncompressed_len`); for [`CompressionAlgorithm::PatternV1`] `input` is the 8-byte
/// Pattern_V1 payload (MS-SMB2 2.2.42.2.2).
pub fn decompress(
    alg: CompressionAlgorithm,
    input: &[u8],
    uncompressed_len: usize,
    out: &mut Vec<u8>,
) -> Result<(), DecompressError> {
    match alg {
        CompressionAlgorithm::None => bounded(out, uncompressed_len, input.len(), |out, _, end| {
            if input.len() > end - out.len() {
                return Err(DecompressError::TooLarge);
            }
            out.extend_from_slice(input);
            Ok(())
        }),
        CompressionAlgorithm::Lznt1 => lznt1::decompress(input, uncompressed_len, out),
        CompressionAlgorithm::Lz77 => lz77::decompress(input, uncompressed_len, out),
        CompressionAlgorithm::Lz77Huffman => lz77_huffman::decompress(input, uncompressed_len, out),
        CompressionAlgorithm::PatternV1 => {
            let p = transform::PatternV1::decode(input)?;
            let n = p.repetitions as usize;
            if n > uncompressed_len {
                return Err(DecompressError::TooLarge);
            }
            bounded(out, uncompressed_len, 0, |out, _, _| {
                out.resize(out.len() + n, p.pattern);
                Ok(())
            })
        }
        CompressionAlgorithm::Lz4 | CompressionAlgorithm::Unknown(_) => {
            Err(DecompressError::Unsupported)
        }
    }
}

/// Runs a decoder `f(out, base, end)` that must append exactly `end - base` bytes, then
/// enforces that length and restores `out` on any error.
pub(crate) fn bounded(
    out: &mut Vec<u8>,
    uncompressed_len: usize,
    input_len: usize,
    f: impl FnOnce(&mut Vec<u8>, usize, usize) -> Result<(), DecompressError>,
) -> Result<(), DecompressError> {
    let base = out.len();
    let end = base
        .checked_add(uncompressed_len)
        .ok_or(DecompressError::TooLarge)?;
    reserve_output(out, uncompressed_len, input_len);
    let res = f(out, base, end).and_then(|()| match out.len().cmp(&end) {
        core::cmp::Ordering::Equal => Ok(()),
        core::cmp::Ordering::Less => Err(DecompressError::Truncated),
        core::cmp::Ordering::Greater => Err(DecompressError::TooLarge),
    });
    if res.is_err() {
        out.truncate(base);
    }
    res
}

/// Compresses `input` with `alg`, appending the compressed stream to `out`.
///
/// [`CompressionAlgorithm::None`] copies; [`CompressionAlgorithm::PatternV1`] emits the
/// 8-byte Pattern_V1 payload and fails with [`CompressError::NotApplicable`] unless the
/// input is one byte value repeated (and non-empty). The compressed form can be larger than
/// the input for incompressible data; callers decide whether to send it.
pub fn compress(
    alg: CompressionAlgorithm,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CompressError> {
    if u32::try_from(input.len()).is_err() {
        return Err(CompressError::TooLarge);
    }
    match alg {
        CompressionAlgorithm::None => {
            out.extend_from_slice(input);
            Ok(())
        }
        CompressionAlgorithm::Lznt1 => {
            lznt1::compress(input, out);
            Ok(())
        }
        CompressionAlgorithm::Lz77 => {
            lz77::compress(input, out);
            Ok(())
        }
        CompressionAlgorithm::Lz77Huffman => {
            lz77_huffman::compress(input, out);
            Ok(())
        }
        CompressionAlgorithm::PatternV1 => {
            let pattern =
                transform::PatternV1::detect(input).ok_or(CompressError::NotApplicable)?;
            pattern.encode(out);
            Ok(())
        }
        CompressionAlgorithm::Lz4 | CompressionAlgorithm::Unknown(_) => {
            Err(CompressError::Unsupported)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Shared helpers.
// ---------------------------------------------------------------------------------------

/// Appends `len` bytes copied from `dist` bytes back (LZ77 semantics: the source may
/// overlap the bytes being produced). The caller has checked `1 <= dist <= out.len()`.
#[inline]
pub(crate) fn copy_match(out: &mut Vec<u8>, dist: usize, len: usize) {
    let src = out.len() - dist;
    if dist == 1 {
        let b = out[src];
        out.resize(out.len() + len, b);
        return;
    }
    if dist >= len {
        out.extend_from_within(src..src + len);
        return;
    }
    // Overlapping copy: the region from `src` is periodic with period `dist`; copying
    // `out[src..]` (whose length stays a multiple of `dist`) doubles the run each step.
    let mut remaining = len;
    while remaining > 0 {
        let n = remaining.min(out.len() - src);
        out.extend_from_within(src..src + n);
        remaining -= n;
    }
}

/// Reserves room for a decompressed stream once, without trusting a (possibly lying)
/// announced size for more than a generous ratio of the input.
#[inline]
pub(crate) fn reserve_output(out: &mut Vec<u8>, uncompressed_len: usize, input_len: usize) {
    let plausible = input_len.saturating_mul(1024).saturating_add(1 << 16);
    out.reserve(uncompressed_len.min(plausible).min(1 << 26));
}

#[inline]
pub(crate) fn read_u16(input: &[u8], pos: usize) -> Option<u16> {
    match input.get(pos..pos.checked_add(2)?) {
        Some(&[a, b]) => Some(u16::from_le_bytes([a, b])),
        _ => None,
    }
}

#[inline]
pub(crate) fn read_u32(input: &[u8], pos: usize) -> Option<u32> {
    match input.get(pos..pos.checked_add(4)?) {
        Some(&[a, b, c, d]) => Some(u32::from_le_bytes([a, b, c, d])),
        _ => None,
    }
}

#[inline]
fn load_u64(data: &[u8], i: usize) -> u64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&data[i..i + 8]);
    u64::from_le_bytes(buf)
}

/// Length of the common prefix of `data[a..]` and `data[b..]`, at most `max`
/// (`a < b`, `b + max <= data.len()`).
#[inline]
fn common_len(data: &[u8], a: usize, b: usize, max: usize) -> usize {
    let mut n = 0;
    while n + 8 <= max {
        let x = load_u64(data, a + n) ^ load_u64(data, b + n);
        if x != 0 {
            return n + (x.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    while n < max && data[a + n] == data[b + n] {
        n += 1;
    }
    n
}

const HASH_BITS: u32 = 16;

/// A hash-chain match finder over 3-byte prefixes shared by the three LZ compressors.
///
/// Positions are stored as `pos + 1` (0 = empty); inputs are limited to `u32::MAX - 1`
/// bytes by [`compress`].
pub(crate) struct MatchFinder {
    head: Vec<u32>,
    prev: Vec<u32>,
    mask: usize,
    depth: u32,
}

impl MatchFinder {
    /// `window` must be a power of two larger than any distance searched.
    pub(crate) fn new(window: usize, depth: u32) -> Self {
        Self {
            head: vec![0; 1 << HASH_BITS],
            prev: vec![0; window],
            mask: window - 1,
            depth,
        }
    }

    #[inline]
    fn hash(data: &[u8], pos: usize) -> usize {
        let v = u32::from(data[pos])
            | (u32::from(data[pos + 1]) << 8)
            | (u32::from(data[pos + 2]) << 16);
        (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
    }

    /// Records `pos` without searching.
    #[inline]
    pub(crate) fn insert(&mut self, data: &[u8], pos: usize) {
        if pos + 3 <= data.len() {
            let h = Self::hash(data, pos);
            self.prev[pos & self.mask] = self.head[h];
            self.head[h] = pos as u32 + 1;
        }
    }

    /// Records `pos` and returns the longest match `(len, dist)` with `3 <= len <= max_len`,
    /// `1 <= dist <= max_dist`, source at or after `min_pos`; `(0, 0)` if none.
    #[inline]
    pub(crate) fn find(
        &mut self,
        data: &[u8],
        pos: usize,
        min_pos: usize,
        max_dist: usize,
        max_len: usize,
    ) -> (usize, usize) {
        if pos + 3 > data.len() {
            return (0, 0);
        }
        let max_len = max_len.min(data.len() - pos);
        let h = Self::hash(data, pos);
        let mut cand = self.head[h];
        self.prev[pos & self.mask] = cand;
        self.head[h] = pos as u32 + 1;
        if max_len < 3 {
            return (0, 0);
        }
        let (mut best_len, mut best_dist) = (2usize, 0usize);
        let mut steps = self.depth;
        while cand != 0 && steps > 0 {
            let c = (cand - 1) as usize;
            if c < min_pos || pos - c > max_dist {
                break;
            }
            if data[c + best_len] == data[pos + best_len] {
                let l = common_len(data, c, pos, max_len);
                if l > best_len {
                    best_len = l;
                    best_dist = pos - c;
                    if l >= max_len {
                        break;
                    }
                }
            }
            cand = self.prev[c & self.mask];
            steps -= 1;
        }
        if best_dist == 0 {
            (0, 0)
        } else {
            (best_len, best_dist)
        }
    }
}
