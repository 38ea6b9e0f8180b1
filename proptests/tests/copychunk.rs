//! Server-side copy against the model server: FSCTL_SRV_REQUEST_RESUME_KEY, then
//! FSCTL_SRV_COPYCHUNK(_WRITE), whose failures carry an IOCTL body (MS-SMB2
//! 3.3.5.15.6.1, 3.3.5.15.6.2) that the client decodes into the StatusError.

mod common;

use bytes::Bytes;
use common::{SEEDS, pattern};
use pike_core::wire::{
    Chunk, CopyChunk, CopyChunkResponse, FileId, IoctlRequest, NtStatus, ResponseBody,
    ResumeKeyResponse, SessionId, TreeId, disposition, fsctl,
};
use pike_core::{CopyChunkLimits, Request, RequestError, StatusError};
use pike_proptests::{Pair, ServerConfig, WINDOWS_COPYCHUNK_LIMITS};
use proptest::prelude::*;

struct Setup {
    p: Pair,
    sid: SessionId,
    tid: TreeId,
    src: FileId,
    dst: FileId,
    key: [u8; 24],
}

/// A source file holding `data`, an empty target, and the source's resume key.
fn setup(seed: u64, server: ServerConfig, data: &[u8]) -> Setup {
    let mut p = Pair::new(Pair::client_config(), server, seed);
    let sid = p.connect();
    let tid = p.tree_connect(sid, "share").expect("tree");
    let src = p.create(sid, tid, "src", disposition::CREATE).unwrap();
    if !data.is_empty() {
        p.write(sid, tid, src, 0, data).unwrap();
    }
    let dst = p.create(sid, tid, "dst", disposition::CREATE).unwrap();
    let r = p
        .call(
            Request::new(IoctlRequest::fsctl(
                fsctl::FSCTL_SRV_REQUEST_RESUME_KEY,
                src,
                Bytes::new(),
                32,
            ))
            .tree(sid, tid),
        )
        .unwrap();
    let ResponseBody::Ioctl(i) = r.body else {
        panic!("{:?}", r.body)
    };
    let key = ResumeKeyResponse::decode(&i.output).unwrap().resume_key;
    Setup {
        p,
        sid,
        tid,
        src,
        dst,
        key,
    }
}

impl Setup {
    fn copy(
        &mut self,
        code: u32,
        key: [u8; 24],
        chunks: Vec<Chunk>,
    ) -> Result<CopyChunkResponse, RequestError> {
        let input = CopyChunk {
            source_key: key,
            chunks,
            chunk_count: None,
        }
        .to_bytes();
        let req = IoctlRequest::fsctl(code, self.dst, input, 12);
        let r = self.p.call(Request::new(req).tree(self.sid, self.tid))?;
        match r.body {
            ResponseBody::Ioctl(i) => Ok(CopyChunkResponse::decode(&i.output).unwrap()),
            other => panic!("{other:?}"),
        }
    }

    fn dst_data(&mut self) -> Bytes {
        self.p
            .read(self.sid, self.tid, self.dst, 0, 1 << 20)
            .unwrap_or_default()
    }
}

fn status_error(r: Result<CopyChunkResponse, RequestError>) -> StatusError {
    match r {
        Err(RequestError::Status(s)) => *s,
        other => panic!("expected a status error, got {other:?}"),
    }
}

fn chunk(source_offset: u64, target_offset: u64, length: u32) -> Chunk {
    Chunk {
        source_offset,
        target_offset,
        length,
    }
}

#[test]
fn copies_chunks_and_reports_the_totals() {
    for seed in SEEDS {
        let data = pattern(3000, 7);
        let mut s = setup(seed, ServerConfig::default(), &data);
        let key = s.key;
        for code in [fsctl::FSCTL_SRV_COPYCHUNK, fsctl::FSCTL_SRV_COPYCHUNK_WRITE] {
            let r = s
                .copy(code, key, vec![chunk(1000, 0, 1000), chunk(0, 1000, 2000)])
                .unwrap();
            assert_eq!(
                r,
                CopyChunkResponse {
                    chunks_written: 2,
                    chunk_bytes_written: 0,
                    total_bytes_written: 3000,
                }
            );
        }
        let got = s.dst_data();
        assert_eq!(&got[..1000], &data[1000..2000]);
        assert_eq!(&got[1000..], &data[..2000]);
        assert!(s.p.server.violations().is_empty());
        let _ = s.src;
    }
}

#[test]
fn oversized_copy_fails_with_the_server_limits() {
    let limits = WINDOWS_COPYCHUNK_LIMITS;
    let data = pattern(4096, 1);
    let mut s = setup(SEEDS[0], ServerConfig::default(), &data);
    let key = s.key;
    let too_many = vec![chunk(0, 0, 1); limits.max_chunks as usize + 1];
    let too_big = vec![chunk(0, 0, limits.max_chunk_size + 1)];
    let empty = vec![chunk(0, 0, 0)];
    let mib = limits.max_chunk_size;
    let too_much = vec![chunk(0, 0, mib); (limits.max_total_size / mib) as usize + 1];
    for chunks in [too_many, too_big, empty, too_much] {
        let e = status_error(s.copy(fsctl::FSCTL_SRV_COPYCHUNK_WRITE, key, chunks));
        assert_eq!(e.status, NtStatus::INVALID_PARAMETER);
        assert_eq!(e.copychunk_limits(), Some(limits));
        let ioctl = e.ioctl().expect("an IOCTL body, not an ERROR body");
        assert_eq!(ioctl.ctl_code, fsctl::FSCTL_SRV_COPYCHUNK_WRITE);
        assert_eq!(ioctl.output.len(), 12);
    }
    assert!(s.dst_data().is_empty(), "nothing may be copied");
}

#[test]
fn failure_part_way_reports_progress() {
    let data = pattern(100, 3);
    let mut s = setup(SEEDS[1], ServerConfig::default(), &data);
    let key = s.key;
    // The second chunk runs past the source's end.
    let e = status_error(s.copy(
        fsctl::FSCTL_SRV_COPYCHUNK_WRITE,
        key,
        vec![chunk(0, 0, 60), chunk(50, 60, 51), chunk(0, 0, 1)],
    ));
    assert_eq!(e.status, NtStatus::INVALID_VIEW_SIZE);
    assert_eq!(
        e.copychunk(),
        Some(CopyChunkResponse {
            chunks_written: 1,
            chunk_bytes_written: 0,
            total_bytes_written: 60,
        })
    );
    assert_eq!(
        e.copychunk_limits(),
        None,
        "limits only with INVALID_PARAMETER"
    );
    assert_eq!(&s.dst_data()[..], &data[..60]);
}

#[test]
fn plain_failures_keep_the_error_body() {
    let mut s = setup(SEEDS[2], ServerConfig::default(), &pattern(10, 0));
    let e = status_error(s.copy(fsctl::FSCTL_SRV_COPYCHUNK, [9; 24], vec![chunk(0, 0, 1)]));
    assert_eq!(e.status, NtStatus::OBJECT_NAME_NOT_FOUND);
    assert_eq!(e.ioctl(), None);
    assert_eq!(e.copychunk(), None);
    assert_eq!(e.copychunk_limits(), None);
}

proptest! {
    #![proptest_config(common::proptest_config("proptest-regressions/copychunk.txt"))]

    /// Whatever the server's limits and the request: over any limit, the failure carries
    /// exactly those limits and nothing is written; within them, the target holds the
    /// copied ranges.
    #[test]
    fn limits_are_reported_or_the_copy_is_exact(
        max_chunks in 1u32..6,
        max_chunk_size in 1u32..64,
        max_total_size in 1u32..200,
        chunks in prop::collection::vec((0u64..64, 0u64..64, 0u32..80), 0..8),
        seed in any::<u64>(),
    ) {
        let limits = CopyChunkLimits { max_chunks, max_chunk_size, max_total_size };
        let server = ServerConfig { copychunk_limits: limits, ..ServerConfig::default() };
        let data = pattern(160, 9);
        let mut s = setup(seed, server, &data);
        let chunks: Vec<Chunk> = chunks.into_iter().map(|(a, b, l)| chunk(a, b, l)).collect();
        let total: u64 = chunks.iter().map(|c| u64::from(c.length)).sum();
        let over = chunks.len() > max_chunks as usize
            || chunks.iter().any(|c| c.length == 0 || c.length > max_chunk_size)
            || total > u64::from(max_total_size);
        let key = s.key;
        let r = s.copy(fsctl::FSCTL_SRV_COPYCHUNK_WRITE, key, chunks.clone());
        if over {
            let e = status_error(r);
            prop_assert_eq!(e.copychunk_limits(), Some(limits));
            prop_assert!(s.dst_data().is_empty());
        } else {
            let mut want = Vec::new();
            for c in &chunks {
                let (a, b, l) = (c.source_offset as usize, c.target_offset as usize, c.length as usize);
                if want.len() < b + l {
                    want.resize(b + l, 0);
                }
                want[b..b + l].copy_from_slice(&data[a..a + l]);
            }
            let r = r.unwrap();
            prop_assert_eq!(r.chunks_written as usize, chunks.len());
            prop_assert_eq!(u64::from(r.total_bytes_written), total);
            prop_assert_eq!(&s.dst_data()[..], &want[..]);
        }
        prop_assert!(s.p.server.violations().is_empty());
    }
}
