//! ECHO, CANCEL, OPLOCK_BREAK and the ERROR response (MS-SMB2 2.2.2, 2.2.23 - 2.2.30).

use bytes::{BufMut, Bytes};
use nom::number::complete::{le_u8, le_u16, le_u32};

use super::session::empty_pdu;
use super::{DecodeError, FileId, body, buffer_at, expect_size, len32, parse};

empty_pdu! {
    /// ECHO request (MS-SMB2 2.2.28).
    EchoRequest, "ECHO request";
    /// ECHO response (MS-SMB2 2.2.29).
    EchoResponse, "ECHO response";
    /// CANCEL request (MS-SMB2 2.2.30).
    CancelRequest, "CANCEL request";
}

/// One SMB 3.1.1 error context (MS-SMB2 2.2.2.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorContext {
    pub error_id: u32,
    pub data: Bytes,
}

/// SMB2 ERROR response (MS-SMB2 2.2.2): the body of any failed response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorResponse {
    pub error_context_count: u8,
    /// ErrorData: error contexts at 3.1.1 when `error_context_count > 0`, else raw
    /// (e.g. a symbolic link error or the required buffer size).
    pub error_data: Bytes,
}

impl ErrorResponse {
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>, _base: usize) {
        out.put_u16_le(9);
        out.put_u8(self.error_context_count);
        out.put_u8(0);
        out.put_u32_le(len32(self.error_data.len()));
        out.put_slice(&self.error_data);
        if self.error_data.is_empty() {
            out.put_u8(0);
        }
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, (size, n, _, len)) =
            parse("ERROR response", body(msg)?, (le_u16, le_u8, le_u8, le_u32))?;
        expect_size("ERROR response", size, 9)?;
        let data = buffer_at(msg, 72, len as usize, "ERROR data")?;
        Ok(Self {
            error_context_count: n,
            error_data: Bytes::copy_from_slice(data),
        })
    }

    /// The 3.1.1 error contexts (MS-SMB2 2.2.2.1), each 8-byte aligned.
    pub fn contexts(&self) -> Result<Vec<ErrorContext>, DecodeError> {
        let mut out = Vec::new();
        let mut rest: &[u8] = &self.error_data;
        for _ in 0..self.error_context_count {
            let (r, (len, id)) = parse("error context", rest, (le_u32, le_u32))?;
            let data = buffer_at(r, 0, len as usize, "error context data")?;
            out.push(ErrorContext {
                error_id: id,
                data: Bytes::copy_from_slice(data),
            });
            let adv = (len as usize).next_multiple_of(8).min(r.len());
            rest = &r[adv..];
        }
        Ok(out)
    }
}

/// An OPLOCK_BREAK message body (notification, acknowledgment or response), MS-SMB2
/// 2.2.23 - 2.2.26. The body is kept whole; [`oplock`](Self::oplock) and
/// [`lease`](Self::lease) read the typed forms, and the constructors build acks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OplockBreak {
    pub structure_size: u16,
    pub body: Bytes,
}

impl OplockBreak {
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>, _base: usize) {
        out.put_slice(&self.body);
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let b = body(msg)?;
        let (_, structure_size) = parse("OPLOCK_BREAK", b, le_u16)?;
        Ok(Self {
            structure_size,
            body: Bytes::copy_from_slice(b),
        })
    }
}

/// The oplock form of OPLOCK_BREAK (MS-SMB2 2.2.23.1, 2.2.24.1, 2.2.25.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OplockBreakInfo {
    pub oplock_level: u8,
    pub file_id: FileId,
}

/// The lease break notification (MS-SMB2 2.2.23.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeaseBreakNotification {
    pub new_epoch: u16,
    /// SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED (0x01).
    pub flags: u32,
    pub lease_key: [u8; 16],
    pub current_lease_state: u32,
    pub new_lease_state: u32,
}

impl OplockBreak {
    /// The oplock form (StructureSize 24), if this is one.
    pub fn oplock(&self) -> Option<OplockBreakInfo> {
        let b = &self.body;
        if self.structure_size != 24 || b.len() < 24 {
            return None;
        }
        let fid: [u8; 16] = b[8..24].try_into().ok()?;
        Some(OplockBreakInfo {
            oplock_level: b[2],
            file_id: FileId::from_bytes(fid),
        })
    }

    /// The lease break notification (StructureSize 44), if this is one.
    pub fn lease(&self) -> Option<LeaseBreakNotification> {
        let b = &self.body;
        if self.structure_size != 44 || b.len() < 36 {
            return None;
        }
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Some(LeaseBreakNotification {
            new_epoch: u16::from_le_bytes([b[2], b[3]]),
            flags: u32_at(4),
            lease_key: b[8..24].try_into().ok()?,
            current_lease_state: u32_at(24),
            new_lease_state: u32_at(28),
        })
    }

    /// The lease break acknowledgment or response form (StructureSize 36, MS-SMB2
    /// 2.2.24.2, 2.2.25.2): the lease key and the state acknowledged or now held.
    pub fn lease_ack_info(&self) -> Option<([u8; 16], u32)> {
        let b = &self.body;
        if self.structure_size != 36 || b.len() < 28 {
            return None;
        }
        Some((
            b[8..24].try_into().ok()?,
            u32::from_le_bytes([b[24], b[25], b[26], b[27]]),
        ))
    }

    /// An oplock break acknowledgment (MS-SMB2 2.2.24.1).
    pub fn oplock_ack(oplock_level: u8, file_id: FileId) -> Self {
        let mut body = Vec::with_capacity(24);
        body.put_u16_le(24);
        body.put_u8(oplock_level);
        body.put_u8(0);
        body.put_u32_le(0);
        body.put_slice(&file_id.to_bytes());
        Self {
            structure_size: 24,
            body: Bytes::from(body),
        }
    }

    /// A lease break acknowledgment (MS-SMB2 2.2.24.2).
    pub fn lease_ack(lease_key: [u8; 16], lease_state: u32) -> Self {
        let mut body = Vec::with_capacity(36);
        body.put_u16_le(36);
        body.put_u16_le(0);
        body.put_u32_le(0);
        body.put_slice(&lease_key);
        body.put_u32_le(lease_state);
        body.put_u64_le(0);
        Self {
            structure_size: 36,
            body: Bytes::from(body),
        }
    }
}
