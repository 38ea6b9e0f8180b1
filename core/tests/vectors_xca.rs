#![allow(clippy::disallowed_methods)]
//! MS-XCA known-answer vectors, compressor round trips, hostile-input robustness and the
//! SMB2 COMPRESSION_TRANSFORM_HEADER codec (MS-SMB2 2.2.42).

use pike_core::compress::transform::{
    ChainedPayload, CompressionTransformHeader, PatternV1, SMB2_COMPRESSION_FLAG_CHAINED,
    SMB2_COMPRESSION_FLAG_NONE, TransformPayload, compress_unchained, decompress_transform,
};
use pike_core::compress::{CompressionAlgorithm, DecompressError, compress, decompress};
use serde_json::Value;

const LZ_ALGS: [CompressionAlgorithm; 3] = [
    CompressionAlgorithm::Lz77,
    CompressionAlgorithm::Lz77Huffman,
    CompressionAlgorithm::Lznt1,
];

fn vector(name: &str) -> Value {
    let dir = std::env::var("PIKE_VECTORS_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors/").into());
    let path = std::path::Path::new(&dir).join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

fn hex_field(v: &Value, key: &str) -> Vec<u8> {
    hex::decode(v[key].as_str().unwrap_or_else(|| panic!("missing {key}"))).expect("hex")
}

fn alg_of(name: &str) -> CompressionAlgorithm {
    match name {
        "plain_lz77" => CompressionAlgorithm::Lz77,
        "lz77_huffman" => CompressionAlgorithm::Lz77Huffman,
        "lznt1" => CompressionAlgorithm::Lznt1,
        other => panic!("unknown algorithm {other}"),
    }
}

/// (algorithm, compressed, uncompressed) for every published vector.
fn published() -> Vec<(CompressionAlgorithm, Vec<u8>, Vec<u8>)> {
    let doc = vector("xca-compression.json");
    let vectors = doc["vectors"].as_array().expect("vectors array");
    vectors
        .iter()
        .map(|v| {
            let alg = alg_of(v["algorithm"].as_str().expect("algorithm"));
            let compressed = hex_field(v, "compressed");
            let uncompressed = hex_field(v, "uncompressed");
            assert_eq!(
                v["compressed_length"].as_u64(),
                Some(compressed.len() as u64)
            );
            assert_eq!(
                v["uncompressed_length"].as_u64(),
                Some(uncompressed.len() as u64)
            );
            (alg, compressed, uncompressed)
        })
        .collect()
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn text_like(n: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "the ",
        "SMB2 ",
        "server ",
        "compression ",
        "transform ",
        "header ",
        "of ",
        "a ",
        "message ",
        "READ ",
        "WRITE ",
        "response ",
        "chunk ",
        "LZ77 ",
        "Huffman ",
        "\r\n",
        "offset ",
        "length ",
        "file ",
        "share ",
    ];
    let mut rng = XorShift(0x1234_5678_9abc_def1);
    let mut out = Vec::with_capacity(n + 16);
    while out.len() < n {
        out.extend_from_slice(WORDS[(rng.next() % WORDS.len() as u64) as usize].as_bytes());
    }
    out.truncate(n);
    out
}

fn mixed(n: usize) -> Vec<u8> {
    let mut rng = XorShift(42);
    let mut out = Vec::with_capacity(n);
    let text = text_like(n);
    while out.len() < n {
        let take = (rng.next() % 20_000) as usize + 1;
        match rng.next() % 4 {
            0 => out.extend(std::iter::repeat_n(rng.next() as u8, take)),
            1 => out.extend(rng.bytes(take)),
            2 => {
                let s = (rng.next() as usize) % text.len();
                out.extend_from_slice(&text[s..(s + take).min(text.len())]);
            }
            _ => {
                // Repeat an earlier region (long-distance matches).
                if out.is_empty() {
                    continue;
                }
                let s = (rng.next() as usize) % out.len();
                let e = (s + take).min(out.len());
                out.extend_from_within(s..e);
            }
        }
    }
    out.truncate(n);
    out
}

fn roundtrip(alg: CompressionAlgorithm, data: &[u8]) -> Vec<u8> {
    let mut c = Vec::new();
    compress(alg, data, &mut c).expect("compress");
    let mut d = vec![0xAA, 0xBB]; // decompression appends; references must not reach these
    decompress(alg, &c, data.len(), &mut d)
        .unwrap_or_else(|e| panic!("{alg:?} decompress of {} bytes: {e}", data.len()));
    assert_eq!(&d[..2], &[0xAA, 0xBB]);
    assert!(
        d[2..] == *data,
        "{alg:?} round trip mismatch for {} bytes",
        data.len()
    );
    c
}

#[test]
fn published_vectors_decompress() {
    let vectors = published();
    assert_eq!(vectors.len(), 5);
    for (alg, compressed, uncompressed) in &vectors {
        let mut out = Vec::new();
        decompress(*alg, compressed, uncompressed.len(), &mut out)
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(&out, uncompressed, "{alg:?}");
        // Decoding stops at the expected size: a smaller one yields a prefix (or an error
        // when a match would cross it); a larger one is a truncated stream.
        let mut out = Vec::new();
        let short = uncompressed.len() - 1;
        match decompress(*alg, compressed, short, &mut out) {
            Ok(()) => assert_eq!(out, uncompressed[..short]),
            Err(_) => assert!(out.is_empty()),
        }
        out.clear();
        assert!(decompress(*alg, compressed, uncompressed.len() + 1, &mut out).is_err());
        assert!(out.is_empty());
    }
}

#[test]
fn published_inputs_recompress() {
    for (alg, compressed, uncompressed) in published() {
        let ours = roundtrip(alg, &uncompressed);
        // The 26-literal example cannot shrink; the others must be competitive.
        assert!(
            ours.len() <= compressed.len() + 16,
            "{alg:?}: {} vs {}",
            ours.len(),
            compressed.len()
        );
    }
    // Plain LZ77 "abc" x 100 is byte-identical to the spec's compressor output.
    let mut out = Vec::new();
    compress(CompressionAlgorithm::Lz77, &b"abc".repeat(100), &mut out).unwrap();
    assert_eq!(hex::encode(&out), "ffffff1f61626317000fff2601");
}

#[test]
fn round_trips() {
    let mut rng = XorShift(0xdead_beef_cafe_f00d);
    let random = rng.bytes(256 * 1024);
    let zeros = vec![0u8; 1 << 20];
    let text = text_like(300_000);
    let mix = mixed(1 << 20);
    for alg in LZ_ALGS {
        roundtrip(alg, &[]);
        roundtrip(alg, &[0x5a]);
        roundtrip(alg, b"ab");
        roundtrip(alg, b"aaa");
        let c = roundtrip(alg, &zeros);
        assert!(c.len() < zeros.len() / 50, "{alg:?} zeros -> {}", c.len());
        let c = roundtrip(alg, &random);
        assert!(
            c.len() < random.len() + random.len() / 8 + 1024,
            "{alg:?} random -> {}",
            c.len()
        );
        let c = roundtrip(alg, &text);
        assert!(c.len() < text.len() / 2, "{alg:?} text -> {}", c.len());
        let c = roundtrip(alg, &mix);
        assert!(c.len() < mix.len(), "{alg:?} mixed -> {}", c.len());
        for n in [4095, 4096, 4097, 8192, 65535, 65536, 65537, 131072, 131073] {
            let c = roundtrip(alg, &text[..n]);
            assert!(c.len() < n, "{alg:?} text[..{n}] -> {}", c.len());
            roundtrip(alg, &random[..n]);
            roundtrip(alg, &zeros[..n]);
            roundtrip(alg, &mix[..n]);
        }
        // Long runs crossing 64 KiB blocks, long literal runs, every length escape.
        for len in [
            3usize, 9, 10, 24, 25, 279, 280, 281, 65538, 65539, 70_000, 200_000,
        ] {
            let mut d = b"xyz".to_vec();
            d.extend(std::iter::repeat_n(b'q', len));
            d.extend_from_slice(&random[..1000]);
            roundtrip(alg, &d);
        }
    }
}

#[test]
fn pattern_and_none() {
    let data = vec![0x41u8; 5000];
    let mut c = Vec::new();
    compress(CompressionAlgorithm::PatternV1, &data, &mut c).unwrap();
    assert_eq!(c, [0x41, 0, 0, 0, 0x88, 0x13, 0, 0]);
    let mut d = Vec::new();
    decompress(CompressionAlgorithm::PatternV1, &c, 5000, &mut d).unwrap();
    assert_eq!(d, data);
    assert!(decompress(CompressionAlgorithm::PatternV1, &c, 4999, &mut Vec::new()).is_err());
    assert!(compress(CompressionAlgorithm::PatternV1, b"ab", &mut Vec::new()).is_err());
    roundtrip(CompressionAlgorithm::None, b"hello");
    assert_eq!(
        decompress(CompressionAlgorithm::Lz4, b"x", 1, &mut Vec::new()),
        Err(DecompressError::Unsupported)
    );
    for id in 0..8u16 {
        assert_eq!(CompressionAlgorithm::from_id(id).id(), id);
    }
    assert_eq!(
        CompressionAlgorithm::from_id(3),
        CompressionAlgorithm::Lz77Huffman
    );
}

/// Feeds `input` to every decompressor with a few expected sizes; never panics, never
/// produces more than asked.
fn hostile(input: &[u8], sizes: &[usize]) {
    for alg in LZ_ALGS
        .into_iter()
        .chain([CompressionAlgorithm::PatternV1, CompressionAlgorithm::None])
    {
        for &n in sizes {
            let mut out = vec![7u8; 3];
            match decompress(alg, input, n, &mut out) {
                Ok(()) => assert_eq!(out.len(), 3 + n),
                Err(_) => assert_eq!(out.len(), 3),
            }
            assert_eq!(&out[..3], &[7, 7, 7]);
        }
    }
}

#[test]
fn hostile_truncations() {
    let mut streams: Vec<(Vec<u8>, usize)> = published()
        .into_iter()
        .map(|(_, c, u)| (c, u.len()))
        .collect();
    let mix = mixed(70_000);
    for alg in LZ_ALGS {
        for data in [&mix[..], &mix[..5000], &b"abcabcabcabcabcabcabcabcabc"[..]] {
            let mut c = Vec::new();
            compress(alg, data, &mut c).unwrap();
            streams.push((c, data.len()));
        }
    }
    for (stream, n) in &streams {
        let step = (stream.len() / 400).max(1);
        for cut in (0..stream.len())
            .step_by(step)
            .chain([stream.len().saturating_sub(1)])
        {
            hostile(&stream[..cut], &[*n, n / 2, 0, 1 << 20]);
        }
        // Single-byte corruptions of our own and the published streams.
        let mut rng = XorShift(*n as u64 + 1);
        for _ in 0..64 {
            let mut s = stream.clone();
            if s.is_empty() {
                break;
            }
            let i = (rng.next() as usize) % s.len();
            s[i] ^= (rng.next() as u8) | 1;
            hostile(&s, &[*n]);
        }
    }
}

#[test]
fn hostile_random() {
    let mut rng = XorShift(0x0123_4567_89ab_cdef);
    for i in 0..3000 {
        let len = match i % 4 {
            0 => (rng.next() % 16) as usize,
            1 => (rng.next() % 300) as usize,
            2 => 256 + (rng.next() % 64) as usize,
            _ => (rng.next() % 5000) as usize,
        };
        let mut s = rng.bytes(len);
        if i % 3 == 0 && s.len() > 256 {
            // Plausible Huffman tables: small lengths.
            for b in &mut s[..256] {
                *b &= 0x33;
            }
        }
        hostile(&s, &[(rng.next() % 10_000) as usize, 100, usize::MAX]);
    }
    // All-ones flags and maximal lengths: bounded by the expected size, not by the input.
    let mut bomb = vec![0xffu8; 4];
    bomb.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    hostile(&bomb, &[10, 1 << 16]);
}

#[test]
fn transform_unchained() {
    let mut message = vec![0xFEu8, b'S', b'M', b'B'];
    message.extend(std::iter::repeat_n(0u8, 60));
    message.extend_from_slice(&text_like(20_000));
    for alg in LZ_ALGS {
        let mut frame = Vec::new();
        compress_unchained(alg, &message, 64, &mut frame).unwrap();
        assert!(frame.len() < message.len());
        let hdr = CompressionTransformHeader::decode(&frame).unwrap();
        assert_eq!(
            hdr.original_compressed_segment_size as usize,
            message.len() - 64
        );
        match &hdr.payload {
            TransformPayload::Unchained {
                algorithm,
                uncompressed,
                ..
            } => {
                assert_eq!(*algorithm, alg);
                assert_eq!(*uncompressed, &message[..64]);
            }
            other => panic!("unexpected {other:?}"),
        }
        let mut again = Vec::new();
        hdr.encode(&mut again).unwrap();
        assert_eq!(again, frame);
        let mut out = Vec::new();
        decompress_transform(&frame, 1 << 20, &mut out).unwrap();
        assert_eq!(out, message);
        assert_eq!(
            decompress_transform(&frame, message.len() - 1, &mut out),
            Err(DecompressError::TooLarge)
        );
        assert_eq!(out, message);

        // Lying Offset / OriginalCompressedSegmentSize.
        let mut bad = frame.clone();
        bad[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        assert_eq!(
            CompressionTransformHeader::decode(&bad),
            Err(DecompressError::Truncated)
        );
        let mut bad = frame.clone();
        bad[4..8].copy_from_slice(&((message.len() - 64 + 1) as u32).to_le_bytes());
        assert!(decompress_transform(&bad, 1 << 20, &mut Vec::new()).is_err());
        let mut bad = frame.clone();
        bad[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            decompress_transform(&bad, 1 << 24, &mut Vec::new()),
            Err(DecompressError::TooLarge)
        );
        for cut in 0..frame.len().min(300) {
            assert!(decompress_transform(&frame[..cut], 1 << 20, &mut Vec::new()).is_err());
        }
    }
    assert!(compress_unchained(CompressionAlgorithm::None, &message, 0, &mut Vec::new()).is_err());
    let mut bad = Vec::new();
    compress_unchained(CompressionAlgorithm::Lz77, &message, 0, &mut bad).unwrap();
    bad[0] = 0xFD;
    assert!(CompressionTransformHeader::decode(&bad).is_err());
    bad[0] = 0xFC;
    bad[10] = 2; // unknown Flags
    assert!(CompressionTransformHeader::decode(&bad).is_err());
}

#[test]
fn transform_chained() {
    let smb_header: Vec<u8> = (0..64u8).collect();
    let body = text_like(10_000);
    let mut lz = Vec::new();
    compress(CompressionAlgorithm::Lz77Huffman, &body, &mut lz).unwrap();
    let mut pattern = Vec::new();
    PatternV1 {
        pattern: 0,
        repetitions: 3000,
    }
    .encode(&mut pattern);
    let total = smb_header.len() + body.len() + 3000;
    let hdr = CompressionTransformHeader {
        original_compressed_segment_size: total as u32,
        payload: TransformPayload::Chained(vec![
            ChainedPayload {
                flags: SMB2_COMPRESSION_FLAG_CHAINED,
                ..ChainedPayload::new(CompressionAlgorithm::None, None, &smb_header)
            },
            ChainedPayload::new(
                CompressionAlgorithm::Lz77Huffman,
                Some(body.len() as u32),
                &lz,
            ),
            ChainedPayload::new(CompressionAlgorithm::PatternV1, None, &pattern),
        ]),
    };
    let mut frame = Vec::new();
    hdr.encode(&mut frame).unwrap();
    assert_eq!(&frame[8..12], &[0, 0, 1, 0]); // NONE, CHAINED
    assert_eq!(&frame[12..16], &64u32.to_le_bytes());
    let decoded = CompressionTransformHeader::decode(&frame).unwrap();
    assert_eq!(decoded, hdr);
    assert_eq!(decoded.original_size().unwrap(), total);
    if let TransformPayload::Chained(p) = &decoded.payload {
        assert_eq!(p[1].flags, SMB2_COMPRESSION_FLAG_NONE);
    }
    let mut out = Vec::new();
    decompress_transform(&frame, total, &mut out).unwrap();
    let mut expected = smb_header.clone();
    expected.extend_from_slice(&body);
    expected.extend(std::iter::repeat_n(0u8, 3000));
    assert_eq!(out, expected);
    assert_eq!(
        decompress_transform(&frame, total - 1, &mut Vec::new()),
        Err(DecompressError::TooLarge)
    );

    // Every truncation fails cleanly.
    for cut in 0..frame.len() {
        assert!(
            decompress_transform(&frame[..cut], total, &mut Vec::new()).is_err(),
            "cut {cut}"
        );
    }
    // Lying Length on the second payload header (offset 16 + 64).
    let second = 16 + 64;
    let mut bad = frame.clone();
    bad[second + 4..second + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        CompressionTransformHeader::decode(&bad),
        Err(DecompressError::Truncated)
    );
    // Length too short to hold OriginalPayloadSize.
    let mut bad = frame[..second].to_vec();
    bad.extend_from_slice(&[3, 0, 0, 0, 2, 0, 0, 0, 0, 0]);
    assert!(CompressionTransformHeader::decode(&bad).is_err());
    // Lying OriginalPayloadSize.
    let mut bad = frame.clone();
    bad[second + 8..second + 12].copy_from_slice(&(body.len() as u32 + 1).to_le_bytes());
    assert!(decompress_transform(&bad, 1 << 20, &mut Vec::new()).is_err());
    // Lying Pattern_V1 repetitions (huge) -> TooLarge before allocation.
    let mut bad = frame.clone();
    let n = bad.len();
    bad[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        decompress_transform(&bad, 1 << 24, &mut Vec::new()),
        Err(DecompressError::TooLarge)
    );
    // Segment sizes that disagree with OriginalCompressedSegmentSize.
    let mut bad = frame.clone();
    bad[4..8].copy_from_slice(&(total as u32 - 1).to_le_bytes());
    assert!(decompress_transform(&bad, 1 << 20, &mut Vec::new()).is_err());
    // Pattern_V1 payload of the wrong size.
    let mut bad = frame.clone();
    let p = bad.len() - 16;
    bad[p + 4..p + 8].copy_from_slice(&7u32.to_le_bytes());
    assert!(CompressionTransformHeader::decode(&bad).is_err());

    // Random frames never panic.
    let mut rng = XorShift(99);
    for _ in 0..2000 {
        let mut f = frame[..16].to_vec();
        let len = (rng.next() % 64) as usize;
        f.extend(rng.bytes(len));
        let _ = decompress_transform(&f, 1 << 16, &mut Vec::new());
    }
}
