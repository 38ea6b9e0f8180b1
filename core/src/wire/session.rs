//! SESSION_SETUP and LOGOFF (MS-SMB2 2.2.5 - 2.2.8).

use bytes::{BufMut, Bytes};
use nom::number::complete::{le_u8, le_u16, le_u32, le_u64};

use super::{DecodeError, SessionId, body, buffer_at, expect_size, len16, parse, patch_u16, rel};

/// SESSION_SETUP request (MS-SMB2 2.2.5).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionSetupRequest {
    /// SMB2_SESSION_FLAG_BINDING (0x01) for channel binding.
    pub flags: u8,
    pub security_mode: u8,
    pub capabilities: u32,
    pub channel: u32,
    pub previous_session_id: SessionId,
    pub security_buffer: Bytes,
    /// Computed when `None`.
    pub security_buffer_offset: Option<u16>,
    /// Computed when `None`.
    pub security_buffer_length: Option<u16>,
}

impl SessionSetupRequest {
    /// Appends the body; `base` is where the header starts in `out`.
    pub fn encode(&self, out: &mut Vec<u8>, base: usize) {
        out.put_u16_le(25);
        out.put_u8(self.flags);
        out.put_u8(self.security_mode);
        out.put_u32_le(self.capabilities);
        out.put_u32_le(self.channel);
        let off_at = out.len();
        out.put_u16_le(0);
        out.put_u16_le(
            self.security_buffer_length
                .unwrap_or(len16(self.security_buffer.len())),
        );
        out.put_u64_le(self.previous_session_id.0);
        let off = len16(rel(out, base));
        patch_u16(out, off_at, self.security_buffer_offset.unwrap_or(off));
        out.put_slice(&self.security_buffer);
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, (size, flags, sm, caps, channel, off, len, prev)) = parse(
            "SESSION_SETUP request",
            body(msg)?,
            (le_u16, le_u8, le_u8, le_u32, le_u32, le_u16, le_u16, le_u64),
        )?;
        expect_size("SESSION_SETUP request", size, 25)?;
        let buf = buffer_at(msg, off.into(), len.into(), "SESSION_SETUP security buffer")?;
        Ok(Self {
            flags,
            security_mode: sm,
            capabilities: caps,
            channel,
            previous_session_id: SessionId(prev),
            security_buffer: Bytes::copy_from_slice(buf),
            security_buffer_offset: Some(off),
            security_buffer_length: Some(len),
        })
    }
}

/// SessionFlags of a SESSION_SETUP response (MS-SMB2 2.2.6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SessionFlags(pub u16);

impl SessionFlags {
    pub const IS_GUEST: u16 = 0x0001;
    pub const IS_NULL: u16 = 0x0002;
    pub const ENCRYPT_DATA: u16 = 0x0004;
    /// Logged on as guest.
    pub fn is_guest(self) -> bool {
        self.0 & Self::IS_GUEST != 0
    }
    /// Anonymous (null) session.
    pub fn is_null(self) -> bool {
        self.0 & Self::IS_NULL != 0
    }
    /// The server requires encryption of this session.
    pub fn is_encrypt_data(self) -> bool {
        self.0 & Self::ENCRYPT_DATA != 0
    }
}

/// SESSION_SETUP response (MS-SMB2 2.2.6).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionSetupResponse {
    pub session_flags: SessionFlags,
    pub security_buffer: Bytes,
}

impl SessionSetupResponse {
    /// Appends the body; `base` is where the header starts in `out`.
    pub fn encode(&self, out: &mut Vec<u8>, base: usize) {
        out.put_u16_le(9);
        out.put_u16_le(self.session_flags.0);
        out.put_u16_le(len16(rel(out, base) + 4));
        out.put_u16_le(len16(self.security_buffer.len()));
        out.put_slice(&self.security_buffer);
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, (size, flags, off, len)) = parse(
            "SESSION_SETUP response",
            body(msg)?,
            (le_u16, le_u16, le_u16, le_u16),
        )?;
        expect_size("SESSION_SETUP response", size, 9)?;
        let buf = buffer_at(msg, off.into(), len.into(), "SESSION_SETUP security buffer")?;
        Ok(Self {
            session_flags: SessionFlags(flags),
            security_buffer: Bytes::copy_from_slice(buf),
        })
    }
}

/// Defines a PDU whose body is StructureSize 4 + Reserved(2).
macro_rules! empty_pdu {
    ($(#[$doc:meta] $name:ident, $what:literal;)*) => {$(
        #[$doc]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name;

        impl $name {
            /// Appends the body.
            pub fn encode(&self, out: &mut Vec<u8>, _base: usize) {
                out.put_u16_le(4);
                out.put_u16_le(0);
            }

            /// Decodes the body of `msg` (header included).
            pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
                let (_, (size, _)) = parse($what, body(msg)?, (le_u16, le_u16))?;
                expect_size($what, size, 4)?;
                Ok(Self)
            }
        }
    )*};
}
pub(crate) use empty_pdu;

empty_pdu! {
    /// LOGOFF request (MS-SMB2 2.2.7).
    LogoffRequest, "LOGOFF request";
    /// LOGOFF response (MS-SMB2 2.2.8).
    LogoffResponse, "LOGOFF response";
}
