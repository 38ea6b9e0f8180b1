//! ECHO, CANCEL, OPLOCK_BREAK and the ERROR response (MS-SMB2 2.2.2, 2.2.23 - 2.2.30).

use bytes::{BufMut, Bytes};
use nom::number::complete::{le_u8, le_u16, le_u32};

use super::session::empty_pdu;
use super::{DecodeError, body, buffer_at, expect_size, len32, parse};

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

/// An OPLOCK_BREAK message body (notification, acknowledgment or response), kept raw
/// until the typed forms land (MS-SMB2 2.2.23 - 2.2.26).
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
