//! TREE_CONNECT and TREE_DISCONNECT (MS-SMB2 2.2.9 - 2.2.12).

use bytes::BufMut;
use nom::number::complete::{le_u8, le_u16, le_u32};

use super::session::empty_pdu;
use super::{DecodeError, body, buffer_at, expect_size, len16, parse, rel};

/// TREE_CONNECT request (MS-SMB2 2.2.9). `path` is `\\server\share`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TreeConnectRequest {
    /// SMB2_TREE_CONNECT_FLAG_* (3.1.1), else Reserved.
    pub flags: u16,
    pub path: String,
    /// Computed when `None`.
    pub path_offset: Option<u16>,
    /// Computed when `None`.
    pub path_length: Option<u16>,
}

impl TreeConnectRequest {
    /// Appends the body; `base` is where the header starts in `out`.
    pub fn encode(&self, out: &mut Vec<u8>, base: usize) {
        let path = super::utf16le(&self.path);
        out.put_u16_le(9);
        out.put_u16_le(self.flags);
        let off = len16(rel(out, base) + 4);
        out.put_u16_le(self.path_offset.unwrap_or(off));
        out.put_u16_le(self.path_length.unwrap_or(len16(path.len())));
        out.put_slice(&path);
        if path.is_empty() {
            out.put_u8(0); // StructureSize 9 counts one buffer byte
        }
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, (size, flags, off, len)) = parse(
            "TREE_CONNECT request",
            body(msg)?,
            (le_u16, le_u16, le_u16, le_u16),
        )?;
        expect_size("TREE_CONNECT request", size, 9)?;
        let path = buffer_at(msg, off.into(), len.into(), "TREE_CONNECT path")?;
        Ok(Self {
            flags,
            path: super::from_utf16le(path),
            path_offset: Some(off),
            path_length: Some(len),
        })
    }
}

/// ShareType (MS-SMB2 2.2.10).
pub mod share_type {
    pub const DISK: u8 = 0x01;
    pub const PIPE: u8 = 0x02;
    pub const PRINT: u8 = 0x03;
}

/// ShareFlags (MS-SMB2 2.2.10).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ShareFlags(pub u32);

impl ShareFlags {
    pub const DFS: u32 = 0x0000_0001;
    pub const DFS_ROOT: u32 = 0x0000_0002;
    pub const RESTRICT_EXCLUSIVE_OPENS: u32 = 0x0000_0100;
    pub const FORCE_SHARED_DELETE: u32 = 0x0000_0200;
    pub const ALLOW_NAMESPACE_CACHING: u32 = 0x0000_0400;
    pub const ACCESS_BASED_DIRECTORY_ENUM: u32 = 0x0000_0800;
    pub const FORCE_LEVELII_OPLOCK: u32 = 0x0000_1000;
    pub const ENABLE_HASH_V1: u32 = 0x0000_2000;
    pub const ENABLE_HASH_V2: u32 = 0x0000_4000;
    pub const ENCRYPT_DATA: u32 = 0x0000_8000;
    pub const IDENTITY_REMOTING: u32 = 0x0004_0000;
    pub const COMPRESS_DATA: u32 = 0x0010_0000;
    /// The share requires encryption.
    pub fn is_encrypt_data(self) -> bool {
        self.0 & Self::ENCRYPT_DATA != 0
    }
}

/// TREE_CONNECT response (MS-SMB2 2.2.10).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TreeConnectResponse {
    pub share_type: u8,
    pub share_flags: ShareFlags,
    pub capabilities: u32,
    pub maximal_access: u32,
}

impl TreeConnectResponse {
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>, _base: usize) {
        out.put_u16_le(16);
        out.put_u8(self.share_type);
        out.put_u8(0);
        out.put_u32_le(self.share_flags.0);
        out.put_u32_le(self.capabilities);
        out.put_u32_le(self.maximal_access);
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, (size, share_type, _, flags, caps, access)) = parse(
            "TREE_CONNECT response",
            body(msg)?,
            (le_u16, le_u8, le_u8, le_u32, le_u32, le_u32),
        )?;
        expect_size("TREE_CONNECT response", size, 16)?;
        Ok(Self {
            share_type,
            share_flags: ShareFlags(flags),
            capabilities: caps,
            maximal_access: access,
        })
    }
}

empty_pdu! {
    /// TREE_DISCONNECT request (MS-SMB2 2.2.11).
    TreeDisconnectRequest, "TREE_DISCONNECT request";
    /// TREE_DISCONNECT response (MS-SMB2 2.2.12).
    TreeDisconnectResponse, "TREE_DISCONNECT response";
}
