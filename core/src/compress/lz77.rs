//! Plain LZ77 (MS-XCA 2.3 compression, 2.4 decompression).
//!
//! The stream is a sequence of 32-bit little-endian flag words, each followed by the data
//! of up to 32 items. Flags are consumed most-significant bit first: `0` is a literal byte,
//! `1` is a 16-bit match token (`(distance - 1) << 3 | length_code`). Length code 7 takes
//! further length from a shared half-byte (two matches share one byte: low nibble first,
//! MS-XCA 2.3.4), then a byte, then a 16-bit and finally a 32-bit value.

use super::{DecompressError, MatchFinder, bounded, copy_match, read_u16, read_u32};

/// Largest match distance the token can express (13 bits + 1).
const MAX_DISTANCE: usize = 8192;
/// Hash-chain depth of the compressor's match finder.
const CHAIN_DEPTH: u32 = 24;

/// Decompresses a Plain LZ77 stream (MS-XCA 2.4.4), appending exactly `uncompressed_len`
/// bytes to `out`.
///
/// Decoding stops once `uncompressed_len` bytes are produced (trailing flag padding is
/// ignored); a match flag with no input left before that point is [`DecompressError::Truncated`].
pub fn decompress(
    input: &[u8],
    uncompressed_len: usize,
    out: &mut Vec<u8>,
) -> Result<(), DecompressError> {
    bounded(out, uncompressed_len, input.len(), |out, base, end| {
        decode(input, out, base, end)
    })
}

fn decode(input: &[u8], out: &mut Vec<u8>, base: usize, end: usize) -> Result<(), DecompressError> {
    let mut ip = 0usize;
    let mut flags = 0u32;
    let mut flag_count = 0u32;
    // MS-XCA 2.4.4 "LastLengthHalfByte": position of a byte whose high nibble is unused.
    let mut half_byte: Option<usize> = None;

    while out.len() < end {
        if flag_count == 0 {
            flags = read_u32(input, ip).ok_or(DecompressError::Truncated)?;
            ip += 4;
            flag_count = 32;
        }
        flag_count -= 1;
        if flags & (1 << flag_count) == 0 {
            let &b = input.get(ip).ok_or(DecompressError::Truncated)?;
            out.push(b);
            ip += 1;
            continue;
        }
        // A set flag with the input exhausted marks the end of the stream (2.4.4); here
        // the expected size has not been reached yet.
        let token = read_u16(input, ip).ok_or(DecompressError::Truncated)?;
        ip += 2;
        let dist = usize::from(token >> 3) + 1;
        let mut len = usize::from(token & 7);
        if len == 7 {
            let nibble = match half_byte {
                None => {
                    let &b = input.get(ip).ok_or(DecompressError::Truncated)?;
                    half_byte = Some(ip);
                    ip += 1;
                    b & 0x0f
                }
                Some(p) => {
                    half_byte = None;
                    input[p] >> 4
                }
            };
            len = usize::from(nibble);
            if len == 15 {
                let &b = input.get(ip).ok_or(DecompressError::Truncated)?;
                ip += 1;
                len = usize::from(b);
                if len == 255 {
                    let mut v = u32::from(read_u16(input, ip).ok_or(DecompressError::Truncated)?);
                    ip += 2;
                    if v == 0 {
                        v = read_u32(input, ip).ok_or(DecompressError::Truncated)?;
                        ip += 4;
                    }
                    let v = v as usize;
                    if v < 15 + 7 {
                        return Err(DecompressError::Corrupt("lz77 match length underflow"));
                    }
                    len = v - (15 + 7);
                }
                len += 15;
            }
            len += 7;
        }
        len += 3;
        if dist > out.len() - base {
            return Err(DecompressError::Corrupt(
                "lz77 match before start of output",
            ));
        }
        if len > end - out.len() {
            return Err(DecompressError::TooLarge);
        }
        copy_match(out, dist, len);
    }
    Ok(())
}

/// Compresses `input` as Plain LZ77 (MS-XCA 2.3.4), appending to `out`.
///
/// Greedy parsing over a hash-chain match finder (window 8 KiB, unbounded match length).
/// The final flag word is padded with `1` bits as in 2.3.4.
pub fn compress(input: &[u8], out: &mut Vec<u8>) {
    out.reserve(input.len() + input.len() / 8 + 8);
    let mut mf = MatchFinder::new(MAX_DISTANCE, CHAIN_DEPTH);
    let mut flag_pos = out.len();
    out.extend_from_slice(&[0; 4]);
    let mut flags = 0u32;
    let mut flag_count = 0u32;
    let mut half_byte: Option<usize> = None;

    let n = input.len();
    let mut i = 0usize;
    while i < n {
        let (len, dist) = mf.find(input, i, 0, MAX_DISTANCE, u32::MAX as usize);
        if len >= 3 {
            encode_match(out, &mut half_byte, len, dist);
            for j in i + 1..i + len {
                mf.insert(input, j);
            }
            i += len;
            flags = (flags << 1) | 1;
        } else {
            out.push(input[i]);
            i += 1;
            flags <<= 1;
        }
        flag_count += 1;
        if flag_count == 32 {
            out[flag_pos..flag_pos + 4].copy_from_slice(&flags.to_le_bytes());
            flag_pos = out.len();
            out.extend_from_slice(&[0; 4]);
            flags = 0;
            flag_count = 0;
        }
    }
    let last = if flag_count == 0 {
        u32::MAX
    } else {
        let pad = 32 - flag_count;
        (flags << pad) | ((1u32 << pad) - 1)
    };
    out[flag_pos..flag_pos + 4].copy_from_slice(&last.to_le_bytes());
}

/// Writes one match token plus its length extension (MS-XCA 2.3.4).
#[inline]
fn encode_match(out: &mut Vec<u8>, half_byte: &mut Option<usize>, len: usize, dist: usize) {
    let d = ((dist - 1) as u16) << 3;
    let m = len - 3;
    if m < 7 {
        out.extend_from_slice(&(d | m as u16).to_le_bytes());
        return;
    }
    out.extend_from_slice(&(d | 7).to_le_bytes());
    let m = m - 7;
    let nibble = m.min(15) as u8;
    match half_byte.take() {
        Some(p) => out[p] |= nibble << 4,
        None => {
            *half_byte = Some(out.len());
            out.push(nibble);
        }
    }
    if m < 15 {
        return;
    }
    let m = m - 15;
    if m < 255 {
        out.push(m as u8);
        return;
    }
    out.push(255);
    let total = len - 3;
    if let Ok(v @ 1..) = u16::try_from(total) {
        out.extend_from_slice(&v.to_le_bytes());
    } else {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(total as u32).to_le_bytes());
    }
}
