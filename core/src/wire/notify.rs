//! CHANGE_NOTIFY and LOCK (MS-SMB2 2.2.26, 2.2.27, 2.2.35, 2.2.36).

use bytes::BufMut;
use nom::bytes::complete::take;
use nom::multi::count;
use nom::number::complete::{le_u16, le_u32, le_u64};

use super::session::empty_pdu;
use super::{DecodeError, FileId, body, buffer_at, expect_size, len16, parse};

/// CompletionFilter bits (MS-SMB2 2.2.35).
pub mod completion_filter {
    pub const FILE_NAME: u32 = 0x0001;
    pub const DIR_NAME: u32 = 0x0002;
    pub const ATTRIBUTES: u32 = 0x0004;
    pub const SIZE: u32 = 0x0008;
    pub const LAST_WRITE: u32 = 0x0010;
    pub const LAST_ACCESS: u32 = 0x0020;
    pub const CREATION: u32 = 0x0040;
    pub const EA: u32 = 0x0080;
    pub const SECURITY: u32 = 0x0100;
    pub const STREAM_NAME: u32 = 0x0200;
    pub const STREAM_SIZE: u32 = 0x0400;
    pub const STREAM_WRITE: u32 = 0x0800;
}

/// CHANGE_NOTIFY request (MS-SMB2 2.2.35).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeNotifyRequest {
    /// SMB2_WATCH_TREE (0x0001) watches the whole subtree.
    pub flags: u16,
    pub output_buffer_length: u32,
    pub file_id: FileId,
    pub completion_filter: u32,
}

impl ChangeNotifyRequest {
    pub const WATCH_TREE: u16 = 0x0001;

    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>, _base: usize) {
        out.put_u16_le(32);
        out.put_u16_le(self.flags);
        out.put_u32_le(self.output_buffer_length);
        out.put_slice(&self.file_id.to_bytes());
        out.put_u32_le(self.completion_filter);
        out.put_u32_le(0);
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, (size, flags, len, fid, filter, _)) = parse(
            "CHANGE_NOTIFY request",
            body(msg)?,
            (le_u16, le_u16, le_u32, take(16usize), le_u32, le_u32),
        )?;
        expect_size("CHANGE_NOTIFY request", size, 32)?;
        Ok(Self {
            flags,
            output_buffer_length: len,
            file_id: FileId::from_bytes(fid.try_into().unwrap_or_default()),
            completion_filter: filter,
        })
    }
}

/// One FILE_NOTIFY_INFORMATION entry (MS-FSCC 2.7.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileNotifyInformation {
    /// FILE_ACTION_ADDED (1), REMOVED (2), MODIFIED (3), RENAMED_OLD_NAME (4), NEW_NAME (5).
    pub action: u32,
    pub file_name: String,
}

super::output_response! {
    /// CHANGE_NOTIFY response (MS-SMB2 2.2.36): FILE_NOTIFY_INFORMATION entries, raw.
    ChangeNotifyResponse, "CHANGE_NOTIFY response"
}

impl ChangeNotifyResponse {
    /// Decodes the FILE_NOTIFY_INFORMATION chain (NextEntryOffset links).
    pub fn entries(&self) -> Result<Vec<FileNotifyInformation>, DecodeError> {
        let mut out = Vec::new();
        let mut at = 0usize;
        while at < self.output.len() {
            let entry = &self.output[at..];
            let (rest, (next, action, name_len)) =
                parse("FILE_NOTIFY_INFORMATION", entry, (le_u32, le_u32, le_u32))?;
            let name = buffer_at(rest, 0, name_len as usize, "FILE_NOTIFY_INFORMATION name")?;
            out.push(FileNotifyInformation {
                action,
                file_name: super::from_utf16le(name),
            });
            if next == 0 {
                break;
            }
            at = at.checked_add(next as usize).ok_or(DecodeError::Invalid {
                what: "NextEntryOffset",
            })?;
        }
        Ok(out)
    }
}

/// One SMB2_LOCK_ELEMENT (MS-SMB2 2.2.26.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LockElement {
    pub offset: u64,
    pub length: u64,
    /// SMB2_LOCKFLAG_* bits.
    pub flags: u32,
}

impl LockElement {
    pub const SHARED: u32 = 0x01;
    pub const EXCLUSIVE: u32 = 0x02;
    pub const UNLOCK: u32 = 0x04;
    pub const FAIL_IMMEDIATELY: u32 = 0x10;
}

/// LOCK request (MS-SMB2 2.2.26).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockRequest {
    /// LockSequenceNumber (low 4 bits) and LockSequenceIndex (high 28 bits).
    pub lock_sequence: u32,
    pub file_id: FileId,
    pub locks: Vec<LockElement>,
    /// Computed when `None`.
    pub lock_count: Option<u16>,
}

impl LockRequest {
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>, _base: usize) {
        out.put_u16_le(48);
        out.put_u16_le(self.lock_count.unwrap_or(len16(self.locks.len())));
        out.put_u32_le(self.lock_sequence);
        out.put_slice(&self.file_id.to_bytes());
        for l in &self.locks {
            out.put_u64_le(l.offset);
            out.put_u64_le(l.length);
            out.put_u32_le(l.flags);
            out.put_u32_le(0);
        }
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (rest, (size, n, seq, fid)) = parse(
            "LOCK request",
            body(msg)?,
            (le_u16, le_u16, le_u32, take(16usize)),
        )?;
        expect_size("LOCK request", size, 48)?;
        let (_, locks) = parse(
            "LOCK elements",
            rest,
            count((le_u64, le_u64, le_u32, le_u32), n.into()),
        )?;
        Ok(Self {
            lock_sequence: seq,
            file_id: FileId::from_bytes(fid.try_into().unwrap_or_default()),
            locks: locks
                .into_iter()
                .map(|(offset, length, flags, _)| LockElement {
                    offset,
                    length,
                    flags,
                })
                .collect(),
            lock_count: Some(n),
        })
    }
}

empty_pdu! {
    /// LOCK response (MS-SMB2 2.2.27).
    LockResponse, "LOCK response";
}
