//! LZNT1 (MS-XCA 2.5).
//!
//! The stream is a sequence of chunks, each covering at most 4096 uncompressed bytes and
//! starting with a 16-bit little-endian header: bits 0-11 = chunk data size - 1, bits 12-14
//! = signature (3), bit 15 = compressed. A stored chunk holds its bytes verbatim. A
//! compressed chunk is a sequence of flag bytes (least-significant bit first, `1` = match)
//! each followed by up to 8 items: a literal byte or a 16-bit token whose split between
//! displacement and length depends on the position inside the chunk (4..=12 displacement
//! bits). A header of 0 (or the end of input) ends the stream.

use super::{DecompressError, MatchFinder, bounded, copy_match, read_u16};

/// Uncompressed bytes per chunk.
const CHUNK_SIZE: usize = 4096;
/// Header bit 15: chunk is compressed.
const COMPRESSED: u16 = 0x8000;
/// Header bits 12-14: signature value 3.
const SIGNATURE: u16 = 0x3000;
/// Hash-chain depth of the compressor's match finder.
const CHAIN_DEPTH: u32 = 16;

/// Displacement bit count for a token at uncompressed position `pos` (>= 1) inside the
/// chunk: the smallest width holding `pos - 1`, at least 4 and at most 12.
#[inline]
fn offset_bits(pos: usize) -> u32 {
    let w = usize::BITS - (pos - 1).leading_zeros();
    w.clamp(4, 12)
}

/// Decompresses an LZNT1 stream (MS-XCA 2.5), appending exactly `uncompressed_len` bytes
/// to `out`. Chunks are concatenated; a chunk header of 0, or the end of the input, ends
/// the stream.
pub fn decompress(
    input: &[u8],
    uncompressed_len: usize,
    out: &mut Vec<u8>,
) -> Result<(), DecompressError> {
    bounded(out, uncompressed_len, input.len(), |out, base, end| {
        decode(input, out, base, end)
    })
}

fn decode(
    input: &[u8],
    out: &mut Vec<u8>,
    _base: usize,
    end: usize,
) -> Result<(), DecompressError> {
    let mut ip = 0usize;
    while ip + 2 <= input.len() {
        let header = read_u16(input, ip).ok_or(DecompressError::Truncated)?;
        ip += 2;
        if header == 0 {
            break;
        }
        let size = usize::from(header & 0x0fff) + 1;
        let chunk = input.get(ip..ip + size).ok_or(DecompressError::Truncated)?;
        ip += size;
        if header & COMPRESSED == 0 {
            if size > end - out.len() {
                return Err(DecompressError::TooLarge);
            }
            out.extend_from_slice(chunk);
        } else {
            decode_chunk(chunk, out, end)?;
        }
    }
    Ok(())
}

fn decode_chunk(chunk: &[u8], out: &mut Vec<u8>, end: usize) -> Result<(), DecompressError> {
    let start = out.len();
    let limit = end.min(start + CHUNK_SIZE);
    let mut i = 0usize;
    while i < chunk.len() {
        let flags = chunk[i];
        i += 1;
        for bit in 0..8 {
            if i >= chunk.len() {
                break;
            }
            if flags & (1 << bit) == 0 {
                if out.len() >= limit {
                    return Err(if out.len() >= end {
                        DecompressError::TooLarge
                    } else {
                        DecompressError::Corrupt("lznt1: chunk exceeds 4096 bytes")
                    });
                }
                out.push(chunk[i]);
                i += 1;
                continue;
            }
            let token = read_u16(chunk, i).ok_or(DecompressError::Truncated)?;
            i += 2;
            let pos = out.len() - start;
            if pos == 0 {
                return Err(DecompressError::Corrupt("lznt1: match at start of chunk"));
            }
            let len_bits = 16 - offset_bits(pos);
            let dist = usize::from(token >> len_bits) + 1;
            let len = usize::from(token & ((1 << len_bits) - 1)) + 3;
            if dist > pos {
                return Err(DecompressError::Corrupt(
                    "lznt1: match before start of chunk",
                ));
            }
            if len > limit - out.len() {
                return Err(if out.len() + len > end {
                    DecompressError::TooLarge
                } else {
                    DecompressError::Corrupt("lznt1: chunk exceeds 4096 bytes")
                });
            }
            copy_match(out, dist, len);
        }
    }
    Ok(())
}

/// Compresses `input` as LZNT1 (MS-XCA 2.5), appending to `out`.
///
/// Each 4096-byte chunk is compressed with a greedy hash-chain parse; a chunk that does
/// not shrink is stored. No terminating zero header is written (the SMB2 payload length
/// delimits the stream).
pub fn compress(input: &[u8], out: &mut Vec<u8>) {
    let n = input.len();
    out.reserve(n + 2 * (n / CHUNK_SIZE + 1));
    let mut mf = MatchFinder::new(CHUNK_SIZE, CHAIN_DEPTH);
    let mut start = 0usize;
    while start < n {
        let chunk_end = (start + CHUNK_SIZE).min(n);
        let clen = chunk_end - start;
        let header_pos = out.len();
        out.extend_from_slice(&[0, 0]);
        let data_start = out.len();
        let mut i = start;
        while i < chunk_end {
            let flag_pos = out.len();
            out.push(0);
            let mut flags = 0u8;
            for bit in 0..8 {
                if i >= chunk_end {
                    break;
                }
                let pos = i - start;
                let (len, dist) = if pos == 0 {
                    mf.insert(input, i);
                    (0, 0)
                } else {
                    let ob = offset_bits(pos);
                    let max_len = ((1usize << (16 - ob)) - 1 + 3).min(chunk_end - i);
                    mf.find(input, i, start, 1 << ob, max_len)
                };
                if len >= 3 {
                    let lb = 16 - offset_bits(pos);
                    let token = (((dist - 1) as u16) << lb) | (len - 3) as u16;
                    out.extend_from_slice(&token.to_le_bytes());
                    flags |= 1 << bit;
                    for j in i + 1..i + len {
                        mf.insert(input, j);
                    }
                    i += len;
                } else {
                    out.push(input[i]);
                    i += 1;
                }
            }
            out[flag_pos] = flags;
        }
        let data_len = out.len() - data_start;
        let header = if data_len < clen {
            COMPRESSED | SIGNATURE | (data_len - 1) as u16
        } else {
            out.truncate(data_start);
            out.extend_from_slice(&input[start..chunk_end]);
            SIGNATURE | (clen - 1) as u16
        };
        out[header_pos..header_pos + 2].copy_from_slice(&header.to_le_bytes());
        start = chunk_end;
    }
}
