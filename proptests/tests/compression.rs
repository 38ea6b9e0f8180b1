//! SMB 3.1.1 compression between pike and the model server: negotiation (off by
//! default), compressed READ responses unchained and chained (Pattern_V1 and LZ
//! payloads), compressed WRITEs, inside encryption too, and frames that lie about
//! their sizes.

mod common;

use std::sync::{Arc, Mutex};

use common::{SEEDS, pattern};
use pike_core::compress::CompressionAlgorithm;
use pike_core::compress::transform::COMPRESSION_PROTOCOL_ID;
use pike_core::wire::{Dialect, NegotiateContext, ResponseBody, SessionId, TreeId, disposition};
use pike_core::{ClientConfig, CompressionConfig, ConnectionError, Hook};
use pike_proptests::{Pair, ServerConfig};
use proptest::prelude::*;

const LZ: [CompressionAlgorithm; 3] = [
    CompressionAlgorithm::Lznt1,
    CompressionAlgorithm::Lz77,
    CompressionAlgorithm::Lz77Huffman,
];

fn client(compression: CompressionConfig) -> ClientConfig {
    let mut c = Pair::client_config();
    c.dialects = vec![Dialect::Smb311];
    c.compression = compression;
    c
}

fn server(encrypt: bool) -> ServerConfig {
    ServerConfig {
        compression: vec![
            CompressionAlgorithm::Lz77,
            CompressionAlgorithm::Lz77Huffman,
            CompressionAlgorithm::Lznt1,
            CompressionAlgorithm::PatternV1,
        ],
        encrypt_data: encrypt,
        ..ServerConfig::default()
    }
}

fn reads(alg: CompressionAlgorithm, chained: bool) -> CompressionConfig {
    CompressionConfig {
        algorithms: vec![alg, CompressionAlgorithm::PatternV1],
        chained,
        compress_writes_from: None,
        request_compressed_reads: true,
    }
}

/// Text-like data that compresses well but is not one repeated byte.
fn compressible(len: usize) -> Vec<u8> {
    b"pike compresses this line; "
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

fn open(p: &mut Pair) -> (SessionId, TreeId, pike_core::wire::FileId) {
    let sid = p.connect();
    let tid = p.tree_connect(sid, "share").expect("tree");
    let fid = p.create(sid, tid, "f", disposition::OVERWRITE_IF).unwrap();
    (sid, tid, fid)
}

/// Writes `data` (uncompressed) and reads it back; returns what came back.
fn round_trip(p: &mut Pair, data: &[u8]) -> Vec<u8> {
    let (sid, tid, fid) = open(p);
    p.write(sid, tid, fid, 0, data).unwrap();
    p.read(sid, tid, fid, 0, data.len() as u32)
        .unwrap()
        .to_vec()
}

#[test]
fn off_by_default_and_nothing_is_compressed() {
    for seed in SEEDS {
        let mut s = server(false);
        s.compress_all_reads = true;
        let mut p = Pair::new(client(CompressionConfig::default()), s, seed);
        // The request carries no compression context.
        let offered = Arc::new(Mutex::new(None));
        let seen = offered.clone();
        p.client.add_hook(Hook::before_encode(move |r| {
            if let pike_core::wire::RequestBody::Negotiate(n) = &r.body {
                *seen.lock().unwrap() = Some(
                    n.contexts
                        .iter()
                        .any(|c| matches!(c, NegotiateContext::Compression { .. })),
                );
            }
        }));
        let data = compressible(64 * 1024);
        assert_eq!(round_trip(&mut p, &data), data);
        assert_eq!(*offered.lock().unwrap(), Some(false));
        assert_eq!(p.client.negotiated().unwrap().compression, None);
        assert_eq!(p.server.compressed_counts(), (0, 0));
    }
}

#[test]
fn server_without_compression_answers_none() {
    let mut p = Pair::new(
        client(reads(CompressionAlgorithm::Lz77, true)),
        ServerConfig::default(),
        SEEDS[0],
    );
    let data = compressible(8192);
    assert_eq!(round_trip(&mut p, &data), data);
    assert_eq!(p.client.negotiated().unwrap().compression, None);
    assert_eq!(p.server.compressed_counts(), (0, 0));
}

#[test]
fn negotiation_records_the_servers_choice() {
    let mut p = Pair::new(
        client(reads(CompressionAlgorithm::Lz77Huffman, true)),
        server(false),
        SEEDS[1],
    );
    p.connect();
    let c = p.client.negotiated().unwrap().compression.clone().unwrap();
    assert_eq!(
        c.algorithms,
        vec![
            CompressionAlgorithm::Lz77Huffman,
            CompressionAlgorithm::PatternV1
        ]
    );
    assert!(c.chained);
}

#[test]
fn compressed_reads_unchained_and_chained() {
    for (i, alg) in LZ.into_iter().enumerate() {
        for chained in [false, true] {
            for encrypt in [false, true] {
                let seed = SEEDS[i];
                let mut p = Pair::new(client(reads(alg, chained)), server(encrypt), seed);
                let data = compressible(100_000);
                assert_eq!(round_trip(&mut p, &data), data, "{alg:?} chained {chained}");
                let (_, sent) = p.server.compressed_counts();
                assert_eq!(sent, 1, "{alg:?} chained {chained} encrypt {encrypt}");
                assert!(p.server.violations().is_empty());
            }
        }
    }
}

#[test]
fn chained_pattern_v1_read() {
    let mut p = Pair::new(
        client(reads(CompressionAlgorithm::Lznt1, true)),
        server(false),
        SEEDS[2],
    );
    let data = vec![0xAB; 300_000];
    let (sid, tid, fid) = open(&mut p);
    p.write(sid, tid, fid, 0, &data).unwrap();
    // Watch the frame arrive: a chained header whose data payload is Pattern_V1.
    let frames = Arc::new(Mutex::new(Vec::new()));
    let log = frames.clone();
    p.client.add_hook(Hook::received(move |f| {
        if f.starts_with(&COMPRESSION_PROTOCOL_ID) {
            log.lock().unwrap().push(f.to_vec());
        }
    }));
    let got = p.read(sid, tid, fid, 0, data.len() as u32).unwrap();
    assert_eq!(&got[..], &data[..]);
    let frames = frames.lock().unwrap();
    assert_eq!(frames.len(), 1);
    // 8-byte chained header, NONE payload of header + READ fixed part, then Pattern_V1.
    let f = &frames[0];
    let second = 8 + 8 + 80;
    assert_eq!(&f[second..second + 2], &4u16.to_le_bytes());
    assert!(f.len() < 200, "Pattern_V1 is 8 bytes, not {}", f.len());
}

#[test]
fn large_writes_are_compressed_and_small_ones_not() {
    for alg in LZ {
        let cfg = CompressionConfig {
            algorithms: vec![alg],
            chained: false,
            compress_writes_from: Some(4096),
            request_compressed_reads: false,
        };
        let mut p = Pair::new(client(cfg), server(false), SEEDS[0]);
        let (sid, tid, fid) = open(&mut p);
        p.write(sid, tid, fid, 0, &compressible(1000)).unwrap();
        assert_eq!(p.server.compressed_counts(), (0, 0), "below the threshold");
        // Incompressible data goes out plain even when large.
        p.write(sid, tid, fid, 0, &pattern(64 * 1024, 5)).unwrap();
        assert_eq!(p.server.compressed_counts(), (0, 0), "not worth it");
        let data = compressible(200_000);
        p.write(sid, tid, fid, 0, &data).unwrap();
        assert_eq!(p.server.compressed_counts(), (1, 0));
        let got = p.read(sid, tid, fid, 0, data.len() as u32).unwrap();
        assert_eq!(&got[..], &data[..], "{alg:?}");
        assert!(
            p.server.violations().is_empty(),
            "{:?}",
            p.server.violations()
        );
    }
}

#[test]
fn server_choosing_what_was_not_offered_is_a_violation() {
    let mut p = Pair::new(
        client(reads(CompressionAlgorithm::Lz77, false)),
        server(false),
        SEEDS[0],
    );
    p.client.add_hook(Hook::after_decode(|r| {
        if let ResponseBody::Negotiate(n) = &mut r.body {
            for c in &mut n.contexts {
                if let NegotiateContext::Compression { algorithms, .. } = c {
                    *algorithms = vec![CompressionAlgorithm::Lznt1.id()];
                }
            }
        }
    }));
    let id = p.client.negotiate(p.now).unwrap();
    let _ = p.wait(id);
    assert_eq!(p.client.negotiated(), None);
    assert!(
        matches!(p.lost, Some(ConnectionError::ProtocolViolation(_))),
        "{:?}",
        p.lost
    );
}

/// Runs a compressed READ whose frame `tamper` rewrites on arrival; returns why the
/// connection was lost (if it was) and whether the READ still succeeded. Sessions sign:
/// compression has no integrity of its own, the signature over the decompressed
/// message is what catches a change that still decompresses.
fn tampered_read(
    chained: bool,
    seed: u64,
    tamper: impl FnMut(&mut Vec<u8>) + Send + 'static,
) -> (Option<ConnectionError>, Option<bool>) {
    let s = ServerConfig {
        require_signing: true,
        ..server(false)
    };
    let mut p = Pair::new(client(reads(CompressionAlgorithm::Lz77, chained)), s, seed);
    let data = compressible(50_000);
    let (sid, tid, fid) = open(&mut p);
    p.write(sid, tid, fid, 0, &data).unwrap();
    let tamper = Arc::new(Mutex::new(tamper));
    p.client.add_hook(Hook::received(move |f| {
        if f.starts_with(&COMPRESSION_PROTOCOL_ID) {
            let mut v = f.to_vec();
            (tamper.lock().unwrap())(&mut v);
            f.clear();
            f.extend_from_slice(&v);
        }
    }));
    // Some(true): the right data; Some(false): wrong data; None: the READ failed.
    let ok = p
        .read(sid, tid, fid, 0, data.len() as u32)
        .ok()
        .map(|d| d[..] == data[..]);
    (p.lost.clone(), ok)
}

#[test]
fn lying_sizes_fail_with_typed_errors() {
    use pike_core::compress::DecompressError;
    // OriginalCompressedSegmentSize far beyond any negotiated size: refused up front.
    let (lost, ok) = tampered_read(false, SEEDS[0], |f| {
        f[4..8].copy_from_slice(&u32::MAX.to_le_bytes())
    });
    assert_ne!(ok, Some(true));
    assert_eq!(
        lost,
        Some(ConnectionError::Decompress(DecompressError::TooLarge))
    );
    // One byte more or less than the stream really holds.
    for delta in [1i64, -1] {
        let (lost, ok) = tampered_read(false, SEEDS[1], move |f| {
            let n = u32::from_le_bytes(f[4..8].try_into().unwrap()) as i64 + delta;
            f[4..8].copy_from_slice(&(n as u32).to_le_bytes());
        });
        assert_ne!(ok, Some(true));
        assert!(
            matches!(lost, Some(ConnectionError::Decompress(_))),
            "{lost:?}"
        );
    }
    // An Offset past the end of the frame.
    let (lost, _) = tampered_read(false, SEEDS[2], |f| {
        f[12..16].copy_from_slice(&u32::MAX.to_le_bytes())
    });
    assert_eq!(
        lost,
        Some(ConnectionError::Decompress(DecompressError::Truncated))
    );
    // An algorithm that was not negotiated.
    let (lost, _) = tampered_read(false, SEEDS[0], |f| {
        f[8..10].copy_from_slice(&1u16.to_le_bytes())
    });
    assert!(
        matches!(lost, Some(ConnectionError::ProtocolViolation(_))),
        "{lost:?}"
    );
    // Chained: a payload Length that runs past the frame.
    let (lost, _) = tampered_read(true, SEEDS[1], |f| {
        f[12..16].copy_from_slice(&0x00FF_FFFFu32.to_le_bytes())
    });
    assert!(
        matches!(lost, Some(ConnectionError::Decompress(_))),
        "{lost:?}"
    );
}

proptest! {
    #![proptest_config(common::proptest_config("proptest-regressions/compression.txt"))]

    /// Any corruption of a compressed frame is either harmless (the data still comes
    /// back right) or loses the connection with a typed error; never a panic and never
    /// wrong data handed to the caller.
    #[test]
    fn corrupted_frames_never_yield_wrong_data(
        chained in any::<bool>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        truncate in prop::option::of(any::<prop::sample::Index>()),
        seed in any::<u64>(),
    ) {
        let (lost, ok) = tampered_read(chained, seed, move |f| {
            for (at, b) in &edits {
                let i = at.index(f.len());
                f[i] = *b;
            }
            if let Some(t) = truncate {
                let n = t.index(f.len());
                f.truncate(n.max(4));
            }
        });
        // A corrupted header may also just fail the READ (e.g. its MessageId no longer
        // matches, so it times out): an error either way, never wrong bytes.
        prop_assert_ne!(ok, Some(false), "wrong data handed to the caller (lost: {:?})", lost);
    }
}
