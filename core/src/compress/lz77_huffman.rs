//! LZ77+Huffman (MS-XCA 2.1 compression, 2.2 decompression).
//!
//! The stream is a sequence of blocks, each covering (at least) 65536 output bytes. A block
//! starts with a 256-byte table of 512 4-bit code lengths (low nibble = even symbol), then a
//! bit stream read most-significant bit first from 16-bit little-endian words, with the
//! decoder always holding 32 bits (two words) ahead. Symbols 0..=255 are literals; symbol
//! `256 + (offset_bits << 4) + length_code` is a match whose length code 15 is extended by
//! raw bytes read *in between* the bit-stream words, and whose distance is
//! `(1 << offset_bits) | next offset_bits bits`. Symbol 256 is also the EOF marker
//! (only meaningful once the expected size has been produced).

use super::{DecompressError, MatchFinder, bounded, copy_match, read_u16, read_u32};

/// Output bytes covered by one block's Huffman table (MS-XCA 2.1.4.1).
const BLOCK_SIZE: usize = 65536;
/// Number of symbols (256 literals + 256 match symbols).
const SYMBOLS: usize = 512;
/// Maximum code length (4-bit lengths, MS-XCA 2.1.4.2).
const MAX_CODE_LEN: u32 = 15;
/// Largest distance a match symbol can express: offset_bits <= 15.
const MAX_DISTANCE: usize = 65535;
/// Largest match length the compressor emits (16-bit extended length field).
const MAX_MATCH: usize = 0xFFFF + 3;
/// Hash-chain depth of the compressor's match finder.
const CHAIN_DEPTH: u32 = 24;
/// Symbol marking the end of the stream (MS-XCA 2.1.4.3).
const EOF_SYMBOL: usize = 256;

/// Decompresses an LZ77+Huffman stream (MS-XCA 2.2.4), appending exactly
/// `uncompressed_len` bytes to `out`.
///
/// Decoding stops once the expected size is produced (the EOF symbol and trailing padding
/// are not required). Incomplete code tables are accepted; decoding an unassigned code,
/// an over-subscribed table, reading past the input or a match before the start of the
/// output is an error.
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
    if out.len() >= end {
        return Ok(());
    }
    // Decoding table indexed by the next 15 bits: (symbol << 4) | code length, 0 = invalid.
    let mut table = vec![0u16; 1 << MAX_CODE_LEN];
    let mut ip = 0usize;
    while out.len() < end {
        let lengths = input.get(ip..ip + 256).ok_or(DecompressError::Truncated)?;
        build_decode_table(lengths, &mut table)?;
        ip += 256;
        // MS-XCA 2.2.4: prime NextBits with two 16-bit words; ExtraBitCount = 16.
        let w0 = read_u16(input, ip).ok_or(DecompressError::Truncated)?;
        let w1 = read_u16(input, ip + 2).ok_or(DecompressError::Truncated)?;
        ip += 4;
        let mut bits = (u32::from(w0) << 16) | u32::from(w1);
        let mut extra: i32 = 16;
        let block_end = out.len().saturating_add(BLOCK_SIZE).min(end);

        while out.len() < block_end {
            let entry = table[(bits >> (32 - MAX_CODE_LEN)) as usize];
            if entry == 0 {
                return Err(DecompressError::Corrupt("lz77+huffman: unassigned code"));
            }
            let code_len = u32::from(entry & 15);
            let symbol = entry >> 4;
            bits <<= code_len;
            extra -= code_len as i32;
            if extra < 0 {
                let w = read_u16(input, ip).ok_or(DecompressError::Truncated)?;
                ip += 2;
                bits |= u32::from(w) << (-extra) as u32;
                extra += 16;
            }
            if symbol < 256 {
                out.push(symbol as u8);
                continue;
            }
            let symbol = symbol - 256;
            let offset_bits = u32::from(symbol >> 4);
            let mut len = usize::from(symbol & 15);
            if len == 15 {
                let &b = input.get(ip).ok_or(DecompressError::Truncated)?;
                ip += 1;
                if b == 255 {
                    let mut v = u32::from(read_u16(input, ip).ok_or(DecompressError::Truncated)?);
                    ip += 2;
                    if v == 0 {
                        v = read_u32(input, ip).ok_or(DecompressError::Truncated)?;
                        ip += 4;
                    }
                    if v < 15 {
                        return Err(DecompressError::Corrupt(
                            "lz77+huffman: match length underflow",
                        ));
                    }
                    len = v as usize;
                } else {
                    len = usize::from(b) + 15;
                }
            }
            len += 3;
            let dist = if offset_bits == 0 {
                1
            } else {
                ((bits >> (32 - offset_bits)) as usize) + (1usize << offset_bits)
            };
            bits <<= offset_bits;
            extra -= offset_bits as i32;
            if extra < 0 {
                let w = read_u16(input, ip).ok_or(DecompressError::Truncated)?;
                ip += 2;
                bits |= u32::from(w) << (-extra) as u32;
                extra += 16;
            }
            if dist > out.len() - base {
                return Err(DecompressError::Corrupt(
                    "lz77+huffman: match before start of output",
                ));
            }
            if len > end - out.len() {
                return Err(DecompressError::TooLarge);
            }
            copy_match(out, dist, len);
        }
    }
    Ok(())
}

/// Builds the canonical-code lookup table from the 256-byte length table (MS-XCA 2.2.4:
/// codes are assigned in order of length, then symbol value).
fn build_decode_table(lengths: &[u8], table: &mut [u16]) -> Result<(), DecompressError> {
    let len_of = |sym: usize| -> u32 {
        let b = lengths[sym >> 1];
        u32::from(if sym & 1 == 0 { b & 0x0f } else { b >> 4 })
    };
    let mut count = [0u32; 16];
    for sym in 0..SYMBOLS {
        count[len_of(sym) as usize] += 1;
    }
    let full = 1u32 << MAX_CODE_LEN;
    let mut next = [0u32; 16];
    let mut used = 0u32;
    for l in 1..=MAX_CODE_LEN as usize {
        next[l] = used;
        used += count[l] << (MAX_CODE_LEN as usize - l);
    }
    if used == 0 {
        return Err(DecompressError::Corrupt("lz77+huffman: empty code table"));
    }
    if used > full {
        return Err(DecompressError::Corrupt(
            "lz77+huffman: over-subscribed code table",
        ));
    }
    if used < full {
        table.fill(0);
    }
    for sym in 0..SYMBOLS {
        let l = len_of(sym);
        if l == 0 {
            continue;
        }
        let span = 1u32 << (MAX_CODE_LEN - l);
        let start = next[l as usize];
        next[l as usize] += span;
        table[start as usize..(start + span) as usize].fill(((sym as u16) << 4) | l as u16);
    }
    Ok(())
}

/// Bit writer mirroring the decoder's two-word look-ahead (MS-XCA 2.1.4.3): the word being
/// filled and the next word have reserved slots; raw length bytes go after both.
struct BitWriter {
    slot1: usize,
    slot2: usize,
    acc: u32,
    free: u32,
}

impl BitWriter {
    fn start(out: &mut Vec<u8>) -> Self {
        let s = out.len();
        out.extend_from_slice(&[0; 4]);
        Self {
            slot1: s,
            slot2: s + 2,
            acc: 0,
            free: 16,
        }
    }

    /// Writes the low `n` (<= 16) bits of `bits` (which has no higher bits set).
    #[inline]
    fn put(&mut self, out: &mut Vec<u8>, n: u32, bits: u32) {
        if n <= self.free {
            self.acc = (self.acc << n) | bits;
            self.free -= n;
        } else {
            let spill = n - self.free;
            let word = (self.acc << self.free) | (bits >> spill);
            out[self.slot1..self.slot1 + 2].copy_from_slice(&(word as u16).to_le_bytes());
            self.slot1 = self.slot2;
            self.slot2 = out.len();
            out.extend_from_slice(&[0, 0]);
            self.acc = bits & ((1 << spill) - 1);
            self.free = 16 - spill;
        }
    }

    fn finish(self, out: &mut [u8]) {
        let word = (self.acc << self.free) as u16;
        out[self.slot1..self.slot1 + 2].copy_from_slice(&word.to_le_bytes());
    }
}

#[inline]
fn match_symbol(len: usize, dist: usize) -> (usize, u32) {
    let offset_bits = usize::BITS - 1 - dist.leading_zeros();
    (
        256 + ((offset_bits as usize) << 4) + (len - 3).min(15),
        offset_bits,
    )
}

/// Compresses `input` as LZ77+Huffman (MS-XCA 2.1.4), appending to `out`.
///
/// Greedy hash-chain LZ77 parse (64 KiB window), one canonical Huffman table per
/// 65536-byte block with code lengths limited to 15 bits, EOF symbol in the last block.
pub fn compress(input: &[u8], out: &mut Vec<u8>) {
    let n = input.len();
    out.reserve(n + n / 8 + 260 * (n / BLOCK_SIZE + 1));
    let mut mf = MatchFinder::new(1 << 16, CHAIN_DEPTH);
    // (length, distance); length 0 = literal with the byte in `distance`.
    let mut tokens: Vec<(u32, u16)> = Vec::with_capacity(BLOCK_SIZE.min(n + 1));
    let mut pos = 0usize;
    loop {
        let block_start = pos;
        tokens.clear();
        let mut freq = [0u32; SYMBOLS];
        while pos < n && pos - block_start < BLOCK_SIZE {
            let (len, dist) = mf.find(input, pos, 0, MAX_DISTANCE, MAX_MATCH);
            if len >= 3 {
                freq[match_symbol(len, dist).0] += 1;
                tokens.push((len as u32, dist as u16));
                for j in pos + 1..pos + len {
                    mf.insert(input, j);
                }
                pos += len;
            } else {
                freq[usize::from(input[pos])] += 1;
                tokens.push((0, u16::from(input[pos])));
                pos += 1;
            }
        }
        let last = pos >= n;
        if last {
            freq[EOF_SYMBOL] += 1;
        }
        let mut lengths = [0u8; SYMBOLS];
        build_lengths(&freq, &mut lengths);
        let codes = canonical_codes(&lengths);
        for pair in lengths.chunks_exact(2) {
            out.push(pair[0] | (pair[1] << 4));
        }
        let mut bw = BitWriter::start(out);
        for &(len, dist) in &tokens {
            if len == 0 {
                let s = usize::from(dist);
                bw.put(out, u32::from(lengths[s]), u32::from(codes[s]));
                continue;
            }
            let (len, dist) = (len as usize, usize::from(dist));
            let (sym, offset_bits) = match_symbol(len, dist);
            bw.put(out, u32::from(lengths[sym]), u32::from(codes[sym]));
            let m = len - 3;
            if m >= 15 {
                if m - 15 < 255 {
                    out.push((m - 15) as u8);
                } else {
                    out.push(255);
                    out.extend_from_slice(&(m as u16).to_le_bytes());
                }
            }
            bw.put(out, offset_bits, (dist - (1 << offset_bits)) as u32);
        }
        if last {
            bw.put(
                out,
                u32::from(lengths[EOF_SYMBOL]),
                u32::from(codes[EOF_SYMBOL]),
            );
        }
        bw.finish(out);
        if last {
            break;
        }
    }
}

/// Canonical code values for the given lengths (shorter codes first, then by symbol).
fn canonical_codes(lengths: &[u8; SYMBOLS]) -> [u16; SYMBOLS] {
    let mut count = [0u32; 16];
    for &l in lengths {
        count[usize::from(l)] += 1;
    }
    count[0] = 0;
    let mut next = [0u32; 16];
    let mut code = 0u32;
    for l in 1..16 {
        code = (code + count[l - 1]) << 1;
        next[l] = code;
    }
    let mut codes = [0u16; SYMBOLS];
    for (sym, &l) in lengths.iter().enumerate() {
        if l != 0 {
            codes[sym] = next[usize::from(l)] as u16;
            next[usize::from(l)] += 1;
        }
    }
    codes
}

/// Huffman code lengths (at most 15 bits) for `freq`; at least two symbols get a code so
/// the code is complete. Over-long trees are fixed by flattening the frequencies and
/// rebuilding (converges: equal weights give depth <= 9).
fn build_lengths(freq: &[u32; SYMBOLS], lengths: &mut [u8; SYMBOLS]) {
    let mut f = *freq;
    let mut used = f.iter().filter(|&&x| x != 0).count();
    let mut filler = 0;
    while used < 2 {
        if f[filler] == 0 {
            f[filler] = 1;
            used += 1;
        }
        filler += 1;
    }
    let mut leaves = [(0u32, 0u16); SYMBOLS];
    let mut weight = [0u64; 2 * SYMBOLS];
    let mut parent = [0u16; 2 * SYMBOLS];
    let mut depth = [0u16; 2 * SYMBOLS];
    loop {
        let mut m = 0;
        for (sym, &w) in f.iter().enumerate() {
            if w != 0 {
                leaves[m] = (w, sym as u16);
                m += 1;
            }
        }
        leaves[..m].sort_unstable();
        for i in 0..m {
            weight[i] = u64::from(leaves[i].0);
        }
        // Two-queue Huffman construction: leaves[li..m] and internal nodes[ii..next] are
        // both sorted by weight.
        let (mut li, mut ii, mut next) = (0usize, m, m);
        while next < 2 * m - 1 {
            let mut pick = || {
                if li < m && (ii >= next || weight[li] <= weight[ii]) {
                    li += 1;
                    li - 1
                } else {
                    ii += 1;
                    ii - 1
                }
            };
            let a = pick();
            let b = pick();
            weight[next] = weight[a] + weight[b];
            parent[a] = next as u16;
            parent[b] = next as u16;
            next += 1;
        }
        let root = 2 * m - 2;
        depth[root] = 0;
        let mut max_depth = 0;
        for i in (0..root).rev() {
            depth[i] = depth[usize::from(parent[i])] + 1;
            if i < m {
                max_depth = max_depth.max(u32::from(depth[i]));
            }
        }
        if max_depth <= MAX_CODE_LEN {
            lengths.fill(0);
            for i in 0..m {
                lengths[usize::from(leaves[i].1)] = depth[i] as u8;
            }
            return;
        }
        for w in f.iter_mut() {
            if *w != 0 {
                *w = (*w).div_ceil(2);
            }
        }
    }
}
