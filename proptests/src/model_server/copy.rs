//! Server-side copy: FSCTL_SRV_REQUEST_RESUME_KEY and FSCTL_SRV_COPYCHUNK(_WRITE)
//! (MS-SMB2 3.3.5.15.5, 3.3.5.15.6), answering failures with an IOCTL body like Windows.

use pike_core::CopyChunkLimits;
use pike_core::wire::{
    CopyChunk, CopyChunkResponse, IoctlRequest, IoctlResponse, ResumeKeyResponse, completion_filter,
};

use super::fs::action;
use super::*;

/// Windows' defaults (MS-SMB2 3.3.3 and <339>): 256 chunks of 1 MiB, 16 MiB in all.
pub const WINDOWS_COPYCHUNK_LIMITS: CopyChunkLimits = CopyChunkLimits {
    max_chunks: 256,
    max_chunk_size: 1 << 20,
    max_total_size: 16 << 20,
};

/// The model's Open.ResumeKey: the FileId, tagged so that a key is not just any 24 bytes.
fn resume_key(fid: FileId) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..16].copy_from_slice(&fid.to_bytes());
    key[16..].copy_from_slice(b"pikecopy");
    key
}

/// An IOCTL response carrying `output`, with `status` in the header.
fn ioctl_reply(req: &IoctlRequest, fid: FileId, status: NtStatus, output: Bytes) -> Reply {
    let mut r = Reply::ok(IoctlResponse {
        ctl_code: req.ctl_code,
        file_id: fid,
        input: Bytes::new(),
        output,
        flags: 0,
    });
    r.status = status;
    r
}

impl ModelServer {
    /// FSCTL_SRV_REQUEST_RESUME_KEY (MS-SMB2 3.3.5.15.5).
    pub(super) fn request_resume_key(&mut self, fid: FileId, req: &IoctlRequest) -> Reply {
        if let Err(s) = self.file_of(fid) {
            return Reply::err(s);
        }
        if req.max_output_response < 32 {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        }
        let out = ResumeKeyResponse {
            resume_key: resume_key(fid),
            context: Bytes::new(),
        };
        ioctl_reply(req, fid, NtStatus::SUCCESS, out.to_bytes())
    }

    /// FSCTL_SRV_COPYCHUNK(_WRITE) on the target open `fid` (MS-SMB2 3.3.5.15.6).
    pub(super) fn copy_chunk(&mut self, fid: FileId, req: &IoctlRequest) -> Reply {
        let target = match self.file_of(fid) {
            Ok(t) => t,
            Err(s) => return Reply::err(s),
        };
        let Ok(copy) = CopyChunk::decode(&req.input) else {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        };
        let Some(src_fid) = self
            .opens
            .keys()
            .copied()
            .find(|f| resume_key(*f) == copy.source_key)
        else {
            return Reply::err(NtStatus::OBJECT_NAME_NOT_FOUND);
        };
        let source = match self.file_of(src_fid) {
            Ok(s) => s,
            Err(s) => return Reply::err(s),
        };
        if req.max_output_response < 12 {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        }
        // 3.3.5.15.6.2: too much asked; answer with the limits so the client can retry.
        let l = self.config.copychunk_limits;
        let total: u64 = copy.chunks.iter().map(|c| u64::from(c.length)).sum();
        if copy.chunks.len() > l.max_chunks as usize
            || copy
                .chunks
                .iter()
                .any(|c| c.length == 0 || c.length > l.max_chunk_size)
            || total > u64::from(l.max_total_size)
        {
            let limits = CopyChunkResponse {
                chunks_written: l.max_chunks,
                chunk_bytes_written: l.max_chunk_size,
                total_bytes_written: l.max_total_size,
            };
            return ioctl_reply(req, fid, NtStatus::INVALID_PARAMETER, limits.to_bytes());
        }
        let mut done = CopyChunkResponse::default();
        for c in &copy.chunks {
            let len = u64::from(c.length);
            let src_len = self.files.get(&source).map_or(0, Vec::len) as u64;
            // Windows fails a range past the source's end with STATUS_INVALID_VIEW_SIZE.
            let failed = if c.source_offset.saturating_add(len) > src_len {
                Some(NtStatus::INVALID_VIEW_SIZE)
            } else if self.lock_conflict(&source, src_fid, c.source_offset, len, false)
                || self.lock_conflict(&target, fid, c.target_offset, len, true)
            {
                Some(NtStatus::FILE_LOCK_CONFLICT)
            } else {
                None
            };
            if let Some(status) = failed {
                // 3.3.5.15.6.1: report what was copied before the failure.
                return ioctl_reply(req, fid, status, done.to_bytes());
            }
            let (s, t) = (c.source_offset as usize, c.target_offset as usize);
            let data = self.files[&source][s..s + c.length as usize].to_vec();
            let file = self.files.entry(target.clone()).or_default();
            if file.len() < t + data.len() {
                file.resize(t + data.len(), 0);
            }
            file[t..t + data.len()].copy_from_slice(&data);
            done.chunks_written += 1;
            done.total_bytes_written += c.length;
        }
        self.touch(&target);
        self.notify_change(
            &target,
            action::MODIFIED,
            completion_filter::LAST_WRITE | completion_filter::SIZE,
        );
        ioctl_reply(req, fid, NtStatus::SUCCESS, done.to_bytes())
    }
}
