//! SMB 3.1.1 compression on the model server: the negotiate context (MS-SMB2
//! 3.3.5.4), decompressing requests (3.3.5.2.1.1 via 3.1.5.3) and compressing READ
//! responses (3.3.4.1.4, 3.1.4.4), unchained or chained as negotiated.

use pike_core::compress::transform::{
    ChainedPayload, CompressionTransformHeader, PatternV1, TransformPayload, UNCHAINED_HEADER_LEN,
    compress_unchained, decompress_transform,
};
use pike_core::compress::{CompressionAlgorithm, compress};

use super::*;

/// SMB2_COMPRESSION_CAPABILITIES_FLAG_CHAINED (MS-SMB2 2.2.3.1.3).
const FLAG_CHAINED: u32 = 1;
/// SMB2_READFLAG_REQUEST_COMPRESSED (MS-SMB2 2.2.19).
const READFLAG_REQUEST_COMPRESSED: u8 = 0x02;
/// The READ response before its data: header and fixed part (MS-SMB2 2.2.20).
const READ_PREFIX: usize = HEADER_LEN + 16;

/// What NEGOTIATE settled about compression.
#[derive(Clone, Debug)]
pub(super) struct ServerCompression {
    pub(super) algorithms: Vec<CompressionAlgorithm>,
    pub(super) chained: bool,
}

impl ModelServer {
    /// The answer to a client's compression context: the common algorithms in the
    /// client's order, or NONE alone when there is none (MS-SMB2 3.3.5.4).
    pub(super) fn negotiate_compression(
        &self,
        flags: u32,
        ids: &[u16],
    ) -> (NegotiateContext, Option<ServerCompression>) {
        let algorithms: Vec<CompressionAlgorithm> = ids
            .iter()
            .map(|&id| CompressionAlgorithm::from_id(id))
            .filter(|a| self.config.compression.contains(a))
            .collect();
        let chained = flags & FLAG_CHAINED != 0 && self.config.compression_chained;
        if algorithms.is_empty() {
            let none = NegotiateContext::Compression {
                flags: 0,
                algorithms: vec![CompressionAlgorithm::None.id()],
            };
            return (none, None);
        }
        let ctx = NegotiateContext::Compression {
            flags: if chained { FLAG_CHAINED } else { 0 },
            algorithms: algorithms.iter().map(|a| a.id()).collect(),
        };
        (
            ctx,
            Some(ServerCompression {
                algorithms,
                chained,
            }),
        )
    }

    fn compression(&self) -> Option<&ServerCompression> {
        self.negotiated.as_ref()?.compression.as_ref()
    }

    /// The SMB2 message inside a compressed request; `None` (and the connection dropped)
    /// for anything the client had no right to send.
    pub(super) fn decompress_request(&mut self, frame: &[u8]) -> Option<Vec<u8>> {
        let Some(c) = self.compression().cloned() else {
            self.drop_connection("compressed request without negotiated compression".into());
            return None;
        };
        let allowed = match CompressionTransformHeader::decode(frame).map(|h| h.payload) {
            Ok(TransformPayload::Unchained { algorithm, .. }) => c.algorithms.contains(&algorithm),
            Ok(TransformPayload::Chained(p)) => {
                c.chained
                    && p.iter().all(|p| {
                        p.algorithm == CompressionAlgorithm::None
                            || c.algorithms.contains(&p.algorithm)
                    })
            }
            _ => false,
        };
        if !allowed {
            self.violation("compressed request with an algorithm not negotiated".into());
            self.drop_connection("bad compressed request".into());
            return None;
        }
        let c = &self.config;
        let max =
            256 + UNCHAINED_HEADER_LEN + c.max_read.max(c.max_write).max(c.max_transact) as usize;
        let mut out = Vec::new();
        if let Err(e) = decompress_transform(frame, max, &mut out) {
            self.violation(format!("compressed request failed to decompress: {e}"));
            self.drop_connection("bad compressed request".into());
            return None;
        }
        self.compressed_requests += 1;
        Some(out)
    }

    /// Whether the READ answered next is to be compressed.
    pub(super) fn note_read(&mut self, message_id: u64, flags: u8) {
        if self.compression().is_some()
            && (flags & READFLAG_REQUEST_COMPRESSED != 0 || self.config.compress_all_reads)
        {
            self.compress_replies.insert(message_id);
        }
    }

    /// A READ response chain of one message, compressed when that was asked for and it
    /// pays off (3.1.4.4: only if smaller); otherwise `chain` unchanged.
    pub(super) fn compress_response(&mut self, chain: Vec<u8>) -> Vec<u8> {
        let Some(h) = Header::decode(&chain).ok() else {
            return chain;
        };
        if !self.compress_replies.remove(&h.message_id.0)
            || h.command != Command::Read
            || h.status != NtStatus::SUCCESS
            || h.next_command != 0
            || chain.len() <= READ_PREFIX
        {
            return chain;
        }
        let Some(c) = self.compression().cloned() else {
            return chain;
        };
        let lz = c
            .algorithms
            .iter()
            .copied()
            .find(|a| *a != CompressionAlgorithm::PatternV1);
        let mut frame = Vec::new();
        let built = if c.chained {
            chained_frame(&c, lz, &chain, &mut frame)
        } else {
            lz.is_some_and(|a| compress_unchained(a, &chain, READ_PREFIX, &mut frame).is_ok())
        };
        if built && frame.len() < chain.len() {
            self.compressed_responses += 1;
            frame
        } else {
            chain
        }
    }
}

/// A chained frame: the header and fixed part as NONE, the data as Pattern_V1 when it
/// is one repeated byte, else compressed with `lz`.
fn chained_frame(
    c: &ServerCompression,
    lz: Option<CompressionAlgorithm>,
    chain: &[u8],
    out: &mut Vec<u8>,
) -> bool {
    let (prefix, data) = chain.split_at(READ_PREFIX);
    let mut pattern = Vec::new();
    let mut packed = Vec::new();
    let second = match PatternV1::detect(data) {
        Some(p) if c.algorithms.contains(&CompressionAlgorithm::PatternV1) => {
            p.encode(&mut pattern);
            ChainedPayload::new(CompressionAlgorithm::PatternV1, None, &pattern)
        }
        _ => {
            let Some(a) = lz else { return false };
            if compress(a, data, &mut packed).is_err() {
                return false;
            }
            ChainedPayload::new(a, Some(data.len() as u32), &packed)
        }
    };
    let header = CompressionTransformHeader {
        original_compressed_segment_size: chain.len() as u32,
        payload: TransformPayload::Chained(vec![
            ChainedPayload::new(CompressionAlgorithm::None, None, prefix),
            second,
        ]),
    };
    header.encode(out).is_ok()
}
