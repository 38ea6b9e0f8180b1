//! IOCTL request/response (MS-SMB2 2.2.31, 2.2.32) and typed FSCTL payloads.

use core::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, Bytes};
use nom::bytes::complete::take;
use nom::number::complete::{le_u16, le_u32};

use super::info::{Reader, encode_chain, walk_chain};
use super::{
    Capabilities, DecodeError, Dialect, FileId, SecurityMode, body, buffer_at, expect_size, len16,
    len32, pad_to, parse, patch_u32, rel,
};

/// FSCTL / IOCTL codes (MS-SMB2 2.2.31, MS-FSCC 2.3).
pub mod fsctl {
    pub const FSCTL_DFS_GET_REFERRALS: u32 = 0x0006_0194;
    pub const FSCTL_DFS_GET_REFERRALS_EX: u32 = 0x0006_01B0;
    pub const FSCTL_PIPE_PEEK: u32 = 0x0011_400C;
    pub const FSCTL_PIPE_WAIT: u32 = 0x0011_0018;
    pub const FSCTL_PIPE_TRANSCEIVE: u32 = 0x0011_C017;
    pub const FSCTL_SRV_COPYCHUNK: u32 = 0x0014_40F2;
    pub const FSCTL_SRV_COPYCHUNK_WRITE: u32 = 0x0014_80F2;
    pub const FSCTL_SRV_ENUMERATE_SNAPSHOTS: u32 = 0x0014_4064;
    pub const FSCTL_SRV_REQUEST_RESUME_KEY: u32 = 0x0014_0078;
    pub const FSCTL_SRV_READ_HASH: u32 = 0x0014_41BB;
    pub const FSCTL_LMR_REQUEST_RESILIENCY: u32 = 0x0014_01D4;
    pub const FSCTL_QUERY_NETWORK_INTERFACE_INFO: u32 = 0x0014_01FC;
    pub const FSCTL_VALIDATE_NEGOTIATE_INFO: u32 = 0x0014_0204;
    pub const FSCTL_SET_REPARSE_POINT: u32 = 0x0009_00A4;
    pub const FSCTL_GET_REPARSE_POINT: u32 = 0x0009_00A8;
    pub const FSCTL_DELETE_REPARSE_POINT: u32 = 0x0009_00AC;
    pub const FSCTL_GET_OBJECT_ID: u32 = 0x0009_009C;
    pub const FSCTL_CREATE_OR_GET_OBJECT_ID: u32 = 0x0009_00C0;
    pub const FSCTL_SET_SPARSE: u32 = 0x0009_00C4;
    pub const FSCTL_SET_ZERO_DATA: u32 = 0x0009_80C8;
    pub const FSCTL_QUERY_ALLOCATED_RANGES: u32 = 0x0009_40CF;
    pub const FSCTL_GET_COMPRESSION: u32 = 0x0009_003C;
    pub const FSCTL_SET_COMPRESSION: u32 = 0x0009_C040;
    pub const FSCTL_GET_INTEGRITY_INFORMATION: u32 = 0x0009_027C;
    pub const FSCTL_SET_INTEGRITY_INFORMATION: u32 = 0x0009_C280;
    pub const FSCTL_DUPLICATE_EXTENTS_TO_FILE: u32 = 0x0009_8344;
    pub const FSCTL_OFFLOAD_READ: u32 = 0x0009_4264;
    pub const FSCTL_OFFLOAD_WRITE: u32 = 0x0009_8268;
    pub const FSCTL_FILE_LEVEL_TRIM: u32 = 0x0009_8208;
    pub const FSCTL_QUERY_FILE_REGIONS: u32 = 0x0009_0284;
    pub const FSCTL_IS_PATHNAME_VALID: u32 = 0x0009_002C;
}

/// IOCTL request (MS-SMB2 2.2.31).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IoctlRequest {
    pub ctl_code: u32,
    /// The open; all ones ([`FileId::RELATED`]) for FSCTLs that target no file
    /// (VALIDATE_NEGOTIATE_INFO, QUERY_NETWORK_INTERFACE_INFO, DFS referrals).
    pub file_id: FileId,
    pub input: Bytes,
    pub max_input_response: u32,
    pub output: Bytes,
    pub max_output_response: u32,
    /// [`IoctlRequest::IS_FSCTL`] or 0 (an IOCTL).
    pub flags: u32,
    /// Computed when `None`.
    pub input_offset: Option<u32>,
    /// Computed when `None`.
    pub input_count: Option<u32>,
    /// Computed when `None`.
    pub output_offset: Option<u32>,
    /// Computed when `None`.
    pub output_count: Option<u32>,
}

impl IoctlRequest {
    /// SMB2_0_IOCTL_IS_FSCTL.
    pub const IS_FSCTL: u32 = 0x0000_0001;

    /// An FSCTL with `input`, expecting up to `max_output_response` bytes back.
    pub fn fsctl(ctl_code: u32, file_id: FileId, input: Bytes, max_output_response: u32) -> Self {
        Self {
            ctl_code,
            file_id,
            input,
            max_output_response,
            flags: Self::IS_FSCTL,
            ..Self::default()
        }
    }

    /// Payload size for credit charging (MS-SMB2 3.2.4.1.5): the larger of
    /// InputCount + OutputCount and MaxInputResponse + MaxOutputResponse.
    pub fn payload_size(&self) -> usize {
        let sent = self.input.len() + self.output.len();
        let expected = self.max_input_response as usize + self.max_output_response as usize;
        sent.max(expected)
    }

    /// Appends the body; `base` is where the header starts in `out`.
    pub fn encode(&self, out: &mut Vec<u8>, base: usize) {
        out.put_u16_le(57);
        out.put_u16_le(0);
        out.put_u32_le(self.ctl_code);
        out.put_slice(&self.file_id.to_bytes());
        let at = out.len();
        out.put_u32_le(0); // InputOffset
        out.put_u32_le(0); // InputCount
        out.put_u32_le(self.max_input_response);
        out.put_u32_le(0); // OutputOffset
        out.put_u32_le(0); // OutputCount
        out.put_u32_le(self.max_output_response);
        out.put_u32_le(self.flags);
        out.put_u32_le(0);
        let in_off = if self.input.is_empty() {
            0
        } else {
            let off = len32(rel(out, base));
            out.put_slice(&self.input);
            off
        };
        let out_off = if self.output.is_empty() {
            0
        } else {
            pad_to(out, base, 8);
            let off = len32(rel(out, base));
            out.put_slice(&self.output);
            off
        };
        if self.input.is_empty() && self.output.is_empty() {
            out.put_u8(0); // StructureSize 57 counts one buffer byte
        }
        patch_u32(out, at, self.input_offset.unwrap_or(in_off));
        patch_u32(
            out,
            at + 4,
            self.input_count.unwrap_or(len32(self.input.len())),
        );
        patch_u32(out, at + 12, self.output_offset.unwrap_or(out_off));
        patch_u32(
            out,
            at + 16,
            self.output_count.unwrap_or(len32(self.output.len())),
        );
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, ((size, _, ctl, fid), (in_off, in_len, max_in, out_off, out_len, max_out, flags))) =
            parse(
                "IOCTL request",
                body(msg)?,
                (
                    (le_u16, le_u16, le_u32, take(16usize)),
                    (le_u32, le_u32, le_u32, le_u32, le_u32, le_u32, le_u32),
                ),
            )?;
        expect_size("IOCTL request", size, 57)?;
        let input = buffer_at(msg, in_off as usize, in_len as usize, "IOCTL input")?;
        let output = buffer_at(msg, out_off as usize, out_len as usize, "IOCTL output")?;
        Ok(Self {
            ctl_code: ctl,
            file_id: FileId::from_bytes(fid.try_into().unwrap_or_default()),
            input: Bytes::copy_from_slice(input),
            max_input_response: max_in,
            output: Bytes::copy_from_slice(output),
            max_output_response: max_out,
            flags,
            input_offset: Some(in_off),
            input_count: Some(in_len),
            output_offset: Some(out_off),
            output_count: Some(out_len),
        })
    }
}

/// IOCTL response (MS-SMB2 2.2.32).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IoctlResponse {
    pub ctl_code: u32,
    pub file_id: FileId,
    pub input: Bytes,
    pub output: Bytes,
    pub flags: u32,
}

impl IoctlResponse {
    /// Appends the body; `base` is where the header starts in `out`.
    pub fn encode(&self, out: &mut Vec<u8>, base: usize) {
        out.put_u16_le(49);
        out.put_u16_le(0);
        out.put_u32_le(self.ctl_code);
        out.put_slice(&self.file_id.to_bytes());
        let at = out.len();
        out.put_bytes(0, 16);
        out.put_u32_le(self.flags);
        out.put_u32_le(0);
        // Like Windows: InputOffset points at the buffer even when InputCount is 0.
        let in_off = len32(rel(out, base));
        out.put_slice(&self.input);
        let out_off = if self.output.is_empty() {
            0
        } else {
            pad_to(out, base, 8);
            let off = len32(rel(out, base));
            out.put_slice(&self.output);
            off
        };
        if self.input.is_empty() && self.output.is_empty() {
            out.put_u8(0);
        }
        patch_u32(out, at, in_off);
        patch_u32(out, at + 4, len32(self.input.len()));
        patch_u32(out, at + 8, out_off);
        patch_u32(out, at + 12, len32(self.output.len()));
    }

    /// Decodes the body of `msg` (header included), copying the buffers.
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_bytes(&Bytes::copy_from_slice(msg))
    }

    /// Decodes without copying: the buffers are slices of `msg`.
    pub fn decode_bytes(msg: &Bytes) -> Result<Self, DecodeError> {
        let (_, ((size, _, ctl, fid), (in_off, in_len, out_off, out_len, flags))) = parse(
            "IOCTL response",
            body(msg)?,
            (
                (le_u16, le_u16, le_u32, take(16usize)),
                (le_u32, le_u32, le_u32, le_u32, le_u32),
            ),
        )?;
        expect_size("IOCTL response", size, 49)?;
        let slice = |off: u32, len: u32, what| -> Result<Bytes, DecodeError> {
            buffer_at(msg, off as usize, len as usize, what)?;
            Ok(if len == 0 {
                Bytes::new()
            } else {
                msg.slice(off as usize..off as usize + len as usize)
            })
        };
        Ok(Self {
            ctl_code: ctl,
            file_id: FileId::from_bytes(fid.try_into().unwrap_or_default()),
            input: slice(in_off, in_len, "IOCTL response input")?,
            output: slice(out_off, out_len, "IOCTL response output")?,
            flags,
        })
    }
}

// ----- typed payloads -----

/// VALIDATE_NEGOTIATE_INFO request (MS-SMB2 2.2.31.4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidateNegotiateInfoRequest {
    pub capabilities: Capabilities,
    pub guid: [u8; 16],
    pub security_mode: SecurityMode,
    pub dialects: Vec<Dialect>,
    /// Computed when `None`.
    pub dialect_count: Option<u16>,
}

impl ValidateNegotiateInfoRequest {
    /// The IOCTL input buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::with_capacity(24 + 2 * self.dialects.len());
        out.put_u32_le(self.capabilities.0);
        out.put_slice(&self.guid);
        out.put_u16_le(self.security_mode.0);
        out.put_u16_le(self.dialect_count.unwrap_or(len16(self.dialects.len())));
        for d in &self.dialects {
            out.put_u16_le(d.revision());
        }
        Bytes::from(out)
    }

    /// From an IOCTL input buffer.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf, "VALIDATE_NEGOTIATE_INFO request");
        let capabilities = Capabilities(r.u32()?);
        let guid = r.array()?;
        let security_mode = SecurityMode(r.u16()?);
        let n = r.u16()?;
        let dialects = (0..n)
            .map(|_| r.u16().map(Dialect::from_revision))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            capabilities,
            guid,
            security_mode,
            dialects,
            dialect_count: Some(n),
        })
    }
}

/// VALIDATE_NEGOTIATE_INFO response (MS-SMB2 2.2.32.6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ValidateNegotiateInfoResponse {
    pub capabilities: Capabilities,
    pub guid: [u8; 16],
    pub security_mode: SecurityMode,
    pub dialect: Dialect,
}

impl ValidateNegotiateInfoResponse {
    /// The IOCTL output buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::with_capacity(24);
        out.put_u32_le(self.capabilities.0);
        out.put_slice(&self.guid);
        out.put_u16_le(self.security_mode.0);
        out.put_u16_le(self.dialect.revision());
        Bytes::from(out)
    }

    /// From an IOCTL output buffer.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf, "VALIDATE_NEGOTIATE_INFO response");
        Ok(Self {
            capabilities: Capabilities(r.u32()?),
            guid: r.array()?,
            security_mode: SecurityMode(r.u16()?),
            dialect: Dialect::from_revision(r.u16()?),
        })
    }
}

/// One SRV_COPYCHUNK element (MS-SMB2 2.2.31.1.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Chunk {
    pub source_offset: u64,
    pub target_offset: u64,
    pub length: u32,
}

/// SRV_COPYCHUNK_COPY (MS-SMB2 2.2.31.1): input of FSCTL_SRV_COPYCHUNK(_WRITE), sent on
/// the target open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyChunk {
    /// From [`ResumeKeyResponse`] on the source open.
    pub source_key: [u8; 24],
    pub chunks: Vec<Chunk>,
    /// Computed when `None`.
    pub chunk_count: Option<u32>,
}

impl CopyChunk {
    /// The IOCTL input buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::with_capacity(32 + 24 * self.chunks.len());
        out.put_slice(&self.source_key);
        out.put_u32_le(self.chunk_count.unwrap_or(len32(self.chunks.len())));
        out.put_u32_le(0);
        for c in &self.chunks {
            out.put_u64_le(c.source_offset);
            out.put_u64_le(c.target_offset);
            out.put_u32_le(c.length);
            out.put_u32_le(0);
        }
        Bytes::from(out)
    }

    /// From an IOCTL input buffer.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf, "SRV_COPYCHUNK_COPY");
        let source_key = r.array()?;
        let n = r.u32()?;
        r.u32()?;
        if (r.rest.len() / 24) < n as usize {
            return Err(DecodeError::Truncated {
                what: "SRV_COPYCHUNK_COPY chunks",
            });
        }
        let chunks = (0..n)
            .map(|_| {
                let c = Chunk {
                    source_offset: r.u64()?,
                    target_offset: r.u64()?,
                    length: r.u32()?,
                };
                r.u32()?;
                Ok(c)
            })
            .collect::<Result<_, DecodeError>>()?;
        Ok(Self {
            source_key,
            chunks,
            chunk_count: Some(n),
        })
    }
}

/// SRV_COPYCHUNK_RESPONSE (MS-SMB2 2.2.32.1). On STATUS_INVALID_PARAMETER the fields
/// are the server's limits instead (chunk count, chunk size, total size).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CopyChunkResponse {
    pub chunks_written: u32,
    pub chunk_bytes_written: u32,
    pub total_bytes_written: u32,
}

impl CopyChunkResponse {
    /// The IOCTL output buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::with_capacity(12);
        out.put_u32_le(self.chunks_written);
        out.put_u32_le(self.chunk_bytes_written);
        out.put_u32_le(self.total_bytes_written);
        Bytes::from(out)
    }

    /// From an IOCTL output buffer.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf, "SRV_COPYCHUNK_RESPONSE");
        Ok(Self {
            chunks_written: r.u32()?,
            chunk_bytes_written: r.u32()?,
            total_bytes_written: r.u32()?,
        })
    }
}

/// SRV_REQUEST_RESUME_KEY response (MS-SMB2 2.2.32.3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResumeKeyResponse {
    pub resume_key: [u8; 24],
    /// Context (ContextLength bytes; unused by the protocol).
    pub context: Bytes,
}

impl ResumeKeyResponse {
    /// The IOCTL output buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::with_capacity(28 + self.context.len());
        out.put_slice(&self.resume_key);
        out.put_u32_le(len32(self.context.len()));
        out.put_slice(&self.context);
        Bytes::from(out)
    }

    /// From an IOCTL output buffer.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf, "SRV_REQUEST_RESUME_KEY response");
        let resume_key = r.array()?;
        let n = r.u32()? as usize;
        Ok(Self {
            resume_key,
            context: Bytes::copy_from_slice(r.take(n)?),
        })
    }
}

/// The address of a NETWORK_INTERFACE_INFO (SOCKADDR_STORAGE, MS-SMB2 2.2.32.5.1).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InterfaceAddress {
    /// Family 0x0002.
    V4(Ipv4Addr),
    /// Family 0x0017.
    V6 { address: Ipv6Addr, scope_id: u32 },
    /// Another family: the 126 bytes after Family, raw.
    Unknown { family: u16, data: Bytes },
}

impl Default for InterfaceAddress {
    fn default() -> Self {
        Self::V4(Ipv4Addr::UNSPECIFIED)
    }
}

/// One NETWORK_INTERFACE_INFO entry (MS-SMB2 2.2.32.5), 152 bytes on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkInterfaceInfo {
    pub if_index: u32,
    /// RSS_CAPABLE (0x1), RDMA_CAPABLE (0x2).
    pub capability: u32,
    /// Bits per second.
    pub link_speed: u64,
    pub address: InterfaceAddress,
}

impl NetworkInterfaceInfo {
    pub const RSS_CAPABLE: u32 = 0x1;
    pub const RDMA_CAPABLE: u32 = 0x2;
    /// Size of one entry.
    pub const SIZE: usize = 152;

    /// Encodes a list (the FSCTL_QUERY_NETWORK_INTERFACE_INFO output buffer).
    pub fn encode_list(list: &[Self]) -> Bytes {
        let mut out = Vec::with_capacity(Self::SIZE * list.len());
        encode_chain(&mut out, list, 8, |e, out| {
            out.put_u32_le(e.if_index);
            out.put_u32_le(e.capability);
            out.put_u32_le(0);
            out.put_u64_le(e.link_speed);
            let start = out.len();
            match &e.address {
                InterfaceAddress::V4(a) => {
                    out.put_u16_le(0x0002);
                    out.put_u16(0); // Port
                    out.put_slice(&a.octets());
                }
                InterfaceAddress::V6 { address, scope_id } => {
                    out.put_u16_le(0x0017);
                    out.put_u16(0); // Port
                    out.put_u32_le(0); // FlowInfo
                    out.put_slice(&address.octets());
                    out.put_u32_le(*scope_id);
                }
                InterfaceAddress::Unknown { family, data } => {
                    out.put_u16_le(*family);
                    out.put_slice(&data[..data.len().min(126)]);
                }
            }
            out.put_bytes(0, 128 - (out.len() - start));
        });
        Bytes::from(out)
    }

    /// Decodes a list, following Next.
    pub fn decode_list(buf: &[u8]) -> Result<Vec<Self>, DecodeError> {
        walk_chain(buf, Self::SIZE, "NETWORK_INTERFACE_INFO")?
            .into_iter()
            .map(|e| {
                let mut r = Reader::new(e, "NETWORK_INTERFACE_INFO");
                r.u32()?;
                let if_index = r.u32()?;
                let capability = r.u32()?;
                r.u32()?;
                let link_speed = r.u64()?;
                let family = r.u16()?;
                let data: [u8; 126] = r.array()?;
                let address = match family {
                    0x0002 => {
                        InterfaceAddress::V4(Ipv4Addr::new(data[2], data[3], data[4], data[5]))
                    }
                    0x0017 => {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(&data[6..22]);
                        InterfaceAddress::V6 {
                            address: Ipv6Addr::from(a),
                            scope_id: u32::from_le_bytes([data[22], data[23], data[24], data[25]]),
                        }
                    }
                    family => InterfaceAddress::Unknown {
                        family,
                        data: Bytes::copy_from_slice(&data),
                    },
                };
                Ok(Self {
                    if_index,
                    capability,
                    link_speed,
                    address,
                })
            })
            .collect()
    }
}

/// FILE_ALLOCATED_RANGE_BUFFER (MS-FSCC 2.3.52): input of and elements of the output of
/// FSCTL_QUERY_ALLOCATED_RANGES.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocatedRange {
    pub file_offset: u64,
    pub length: u64,
}

impl AllocatedRange {
    /// Encodes a list of ranges (one range is the request input).
    pub fn encode_list(list: &[Self]) -> Bytes {
        let mut out = Vec::with_capacity(16 * list.len());
        for r in list {
            out.put_u64_le(r.file_offset);
            out.put_u64_le(r.length);
        }
        Bytes::from(out)
    }

    /// Decodes an array of ranges; a length that is not a multiple of 16 is an error.
    pub fn decode_list(buf: &[u8]) -> Result<Vec<Self>, DecodeError> {
        if !buf.len().is_multiple_of(16) {
            return Err(DecodeError::Truncated {
                what: "FILE_ALLOCATED_RANGE_BUFFER",
            });
        }
        let mut r = Reader::new(buf, "FILE_ALLOCATED_RANGE_BUFFER");
        (0..buf.len() / 16)
            .map(|_| {
                Ok(Self {
                    file_offset: r.u64()?,
                    length: r.u64()?,
                })
            })
            .collect()
    }
}

/// FILE_ZERO_DATA_INFORMATION (MS-FSCC 2.3.85): input of FSCTL_SET_ZERO_DATA.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZeroDataInformation {
    pub file_offset: u64,
    pub beyond_final_zero: u64,
}

impl ZeroDataInformation {
    /// The IOCTL input buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::with_capacity(16);
        out.put_u64_le(self.file_offset);
        out.put_u64_le(self.beyond_final_zero);
        Bytes::from(out)
    }

    /// From an IOCTL input buffer.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf, "FILE_ZERO_DATA_INFORMATION");
        Ok(Self {
            file_offset: r.u64()?,
            beyond_final_zero: r.u64()?,
        })
    }
}

/// FILE_SET_SPARSE_BUFFER (MS-FSCC 2.3.64): optional input of FSCTL_SET_SPARSE.
pub fn set_sparse_input(sparse: bool) -> Bytes {
    Bytes::from(vec![u8::from(sparse)])
}
