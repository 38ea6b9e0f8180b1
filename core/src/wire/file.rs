//! CLOSE, FLUSH, READ and WRITE (MS-SMB2 2.2.15 - 2.2.22).

use bytes::{BufMut, Bytes};
use nom::bytes::complete::take;
use nom::number::complete::{le_u8, le_u16, le_u32, le_u64};

use super::session::empty_pdu;
use super::{DecodeError, FileId, body, buffer_at, expect_size, len16, len32, parse, rel};

fn file_id(b: &[u8]) -> FileId {
    FileId::from_bytes(b.try_into().unwrap_or_default())
}

/// CLOSE request (MS-SMB2 2.2.15).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CloseRequest {
    /// SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB (0x0001) asks for the attributes in the response.
    pub flags: u16,
    pub file_id: FileId,
}

impl CloseRequest {
    pub const POSTQUERY_ATTRIB: u16 = 0x0001;

    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>, _base: usize) {
        out.put_u16_le(24);
        out.put_u16_le(self.flags);
        out.put_u32_le(0);
        out.put_slice(&self.file_id.to_bytes());
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, (size, flags, _, fid)) = parse(
            "CLOSE request",
            body(msg)?,
            (le_u16, le_u16, le_u32, take(16usize)),
        )?;
        expect_size("CLOSE request", size, 24)?;
        Ok(Self {
            flags,
            file_id: file_id(fid),
        })
    }
}

/// CLOSE response (MS-SMB2 2.2.16).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CloseResponse {
    pub flags: u16,
    pub creation_time: u64,
    pub last_access_time: u64,
    pub last_write_time: u64,
    pub change_time: u64,
    pub allocation_size: u64,
    pub end_of_file: u64,
    pub file_attributes: u32,
}

impl CloseResponse {
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>, _base: usize) {
        out.put_u16_le(60);
        out.put_u16_le(self.flags);
        out.put_u32_le(0);
        for v in [
            self.creation_time,
            self.last_access_time,
            self.last_write_time,
            self.change_time,
            self.allocation_size,
            self.end_of_file,
        ] {
            out.put_u64_le(v);
        }
        out.put_u32_le(self.file_attributes);
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, ((size, flags, _), (ct, at, wt, cht, alloc, eof, attrs))) = parse(
            "CLOSE response",
            body(msg)?,
            (
                (le_u16, le_u16, le_u32),
                (le_u64, le_u64, le_u64, le_u64, le_u64, le_u64, le_u32),
            ),
        )?;
        expect_size("CLOSE response", size, 60)?;
        Ok(Self {
            flags,
            creation_time: ct,
            last_access_time: at,
            last_write_time: wt,
            change_time: cht,
            allocation_size: alloc,
            end_of_file: eof,
            file_attributes: attrs,
        })
    }
}

/// FLUSH request (MS-SMB2 2.2.17).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlushRequest {
    pub file_id: FileId,
}

impl FlushRequest {
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>, _base: usize) {
        out.put_u16_le(24);
        out.put_u16_le(0);
        out.put_u32_le(0);
        out.put_slice(&self.file_id.to_bytes());
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, (size, _, _, fid)) = parse(
            "FLUSH request",
            body(msg)?,
            (le_u16, le_u16, le_u32, take(16usize)),
        )?;
        expect_size("FLUSH request", size, 24)?;
        Ok(Self {
            file_id: file_id(fid),
        })
    }
}

empty_pdu! {
    /// FLUSH response (MS-SMB2 2.2.18).
    FlushResponse, "FLUSH response";
}

/// READ request (MS-SMB2 2.2.19).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadRequest {
    /// Requested placement of the data in the response (0 = server's choice).
    pub padding: u8,
    /// SMB2_READFLAG_* (3.0.2+).
    pub flags: u8,
    pub length: u32,
    pub offset: u64,
    pub file_id: FileId,
    pub minimum_count: u32,
    pub channel: u32,
    pub remaining_bytes: u32,
    pub channel_info: Bytes,
}

impl ReadRequest {
    /// Appends the body; `base` is where the header starts in `out`.
    pub fn encode(&self, out: &mut Vec<u8>, base: usize) {
        out.put_u16_le(49);
        out.put_u8(self.padding);
        out.put_u8(self.flags);
        out.put_u32_le(self.length);
        out.put_u64_le(self.offset);
        out.put_slice(&self.file_id.to_bytes());
        out.put_u32_le(self.minimum_count);
        out.put_u32_le(self.channel);
        out.put_u32_le(self.remaining_bytes);
        let off = if self.channel_info.is_empty() {
            0
        } else {
            len16(rel(out, base) + 4)
        };
        out.put_u16_le(off);
        out.put_u16_le(len16(self.channel_info.len()));
        if self.channel_info.is_empty() {
            out.put_u8(0); // StructureSize 49 counts one buffer byte
        } else {
            out.put_slice(&self.channel_info);
        }
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, ((size, padding, flags, length, offset, fid), (min, channel, rem, ci_off, ci_len))) =
            parse(
                "READ request",
                body(msg)?,
                (
                    (le_u16, le_u8, le_u8, le_u32, le_u64, take(16usize)),
                    (le_u32, le_u32, le_u32, le_u16, le_u16),
                ),
            )?;
        expect_size("READ request", size, 49)?;
        let ci = buffer_at(msg, ci_off.into(), ci_len.into(), "READ channel info")?;
        Ok(Self {
            padding,
            flags,
            length,
            offset,
            file_id: file_id(fid),
            minimum_count: min,
            channel,
            remaining_bytes: rem,
            channel_info: Bytes::copy_from_slice(ci),
        })
    }
}

/// READ response (MS-SMB2 2.2.20).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadResponse {
    pub data_remaining: u32,
    pub flags: u32,
    pub data: Bytes,
}

impl ReadResponse {
    /// Appends the body; `base` is where the header starts in `out`.
    pub fn encode(&self, out: &mut Vec<u8>, base: usize) {
        out.put_u16_le(17);
        out.put_u8((rel(out, base) + 14) as u8);
        out.put_u8(0);
        out.put_u32_le(len32(self.data.len()));
        out.put_u32_le(self.data_remaining);
        out.put_u32_le(self.flags);
        out.put_slice(&self.data);
        if self.data.is_empty() {
            out.put_u8(0);
        }
    }

    /// Decodes the body of `msg` (header included), copying the data.
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_bytes(&Bytes::copy_from_slice(msg))
    }

    /// Decodes without copying the data: it is a slice of `msg`.
    pub fn decode_bytes(msg: &Bytes) -> Result<Self, DecodeError> {
        let (_, (size, off, _, len, rem, flags)) = parse(
            "READ response",
            body(msg)?,
            (le_u16, le_u8, le_u8, le_u32, le_u32, le_u32),
        )?;
        expect_size("READ response", size, 17)?;
        buffer_at(msg, off.into(), len as usize, "READ data")?;
        let data = if len == 0 {
            Bytes::new()
        } else {
            msg.slice(off as usize..off as usize + len as usize)
        };
        Ok(Self {
            data_remaining: rem,
            flags,
            data,
        })
    }
}

/// WRITE request (MS-SMB2 2.2.21).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteRequest {
    pub offset: u64,
    pub file_id: FileId,
    pub channel: u32,
    pub remaining_bytes: u32,
    /// SMB2_WRITEFLAG_* .
    pub flags: u32,
    pub data: Bytes,
    pub channel_info: Bytes,
    /// Computed when `None`.
    pub data_offset: Option<u16>,
    /// Computed when `None`.
    pub length: Option<u32>,
}

impl WriteRequest {
    /// Appends the body; `base` is where the header starts in `out`.
    pub fn encode(&self, out: &mut Vec<u8>, base: usize) {
        self.encode_fixed(out, base);
        out.put_slice(&self.data);
        out.put_slice(&self.channel_info);
        if self.data.is_empty() && self.channel_info.is_empty() {
            out.put_u8(0);
        }
    }

    /// Appends the fixed part of the body (all but the data and channel info, which
    /// follow it at once); `base` is where the header starts in `out`.
    pub fn encode_fixed(&self, out: &mut Vec<u8>, base: usize) {
        out.put_u16_le(49);
        let data_off = len16(rel(out, base) + 46);
        out.put_u16_le(self.data_offset.unwrap_or(data_off));
        out.put_u32_le(self.length.unwrap_or(len32(self.data.len())));
        out.put_u64_le(self.offset);
        out.put_slice(&self.file_id.to_bytes());
        out.put_u32_le(self.channel);
        out.put_u32_le(self.remaining_bytes);
        let ci_off = if self.channel_info.is_empty() {
            0
        } else {
            data_off + len16(self.data.len())
        };
        out.put_u16_le(ci_off);
        out.put_u16_le(len16(self.channel_info.len()));
        out.put_u32_le(self.flags);
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, ((size, doff, len, offset, fid), (channel, rem, ci_off, ci_len, flags))) = parse(
            "WRITE request",
            body(msg)?,
            (
                (le_u16, le_u16, le_u32, le_u64, take(16usize)),
                (le_u32, le_u32, le_u16, le_u16, le_u32),
            ),
        )?;
        expect_size("WRITE request", size, 49)?;
        let data = buffer_at(msg, doff.into(), len as usize, "WRITE data")?;
        let ci = buffer_at(msg, ci_off.into(), ci_len.into(), "WRITE channel info")?;
        Ok(Self {
            offset,
            file_id: file_id(fid),
            channel,
            remaining_bytes: rem,
            flags,
            data: Bytes::copy_from_slice(data),
            channel_info: Bytes::copy_from_slice(ci),
            data_offset: Some(doff),
            length: Some(len),
        })
    }
}

/// WRITE response (MS-SMB2 2.2.22).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteResponse {
    pub count: u32,
    pub remaining: u32,
}

impl WriteResponse {
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>, _base: usize) {
        out.put_u16_le(17);
        out.put_u16_le(0);
        out.put_u32_le(self.count);
        out.put_u32_le(self.remaining);
        out.put_u32_le(0);
        out.put_u8(0);
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, (size, _, count, remaining)) = parse(
            "WRITE response",
            body(msg)?,
            (le_u16, le_u16, le_u32, le_u32),
        )?;
        expect_size("WRITE response", size, 17)?;
        Ok(Self { count, remaining })
    }
}
