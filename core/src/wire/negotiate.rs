//! NEGOTIATE request and response with negotiate contexts (MS-SMB2 2.2.3, 2.2.4).

use bytes::{BufMut, Bytes};
use nom::bytes::complete::take;
use nom::multi::count;
use nom::number::complete::{le_u16, le_u32, le_u64};

use super::{
    DecodeError, Dialect, body, buffer_at, expect_size, len16, pad_to, parse, patch_u16, patch_u32,
    rel,
};
use crate::crypto::{CipherId, SigningAlgorithm};

/// SecurityMode bits (MS-SMB2 2.2.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SecurityMode(pub u16);

impl SecurityMode {
    pub const SIGNING_ENABLED: u16 = 0x0001;
    pub const SIGNING_REQUIRED: u16 = 0x0002;
    /// SIGNING_REQUIRED set.
    pub fn is_signing_required(self) -> bool {
        self.0 & Self::SIGNING_REQUIRED != 0
    }
}

/// Global capabilities (MS-SMB2 2.2.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Capabilities(pub u32);

impl Capabilities {
    pub const DFS: u32 = 0x01;
    pub const LEASING: u32 = 0x02;
    pub const LARGE_MTU: u32 = 0x04;
    pub const MULTI_CHANNEL: u32 = 0x08;
    pub const PERSISTENT_HANDLES: u32 = 0x10;
    pub const DIRECTORY_LEASING: u32 = 0x20;
    pub const ENCRYPTION: u32 = 0x40;
    pub const NOTIFICATIONS: u32 = 0x80;
    /// Whether all of `bits` are set.
    pub fn contains(self, bits: u32) -> bool {
        self.0 & bits == bits
    }
}

/// Hash algorithm ids of the preauth context (MS-SMB2 2.2.3.1.1).
pub const HASH_SHA512: u16 = 0x0001;

/// A negotiate context (MS-SMB2 2.2.3.1); unknown types are kept raw.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NegotiateContext {
    /// SMB2_PREAUTH_INTEGRITY_CAPABILITIES (0x0001).
    PreauthIntegrity {
        hash_algorithms: Vec<u16>,
        salt: Bytes,
    },
    /// SMB2_ENCRYPTION_CAPABILITIES (0x0002).
    Encryption { ciphers: Vec<CipherId> },
    /// SMB2_COMPRESSION_CAPABILITIES (0x0003).
    Compression { flags: u32, algorithms: Vec<u16> },
    /// SMB2_NETNAME_NEGOTIATE_CONTEXT_ID (0x0005): UTF-16LE server name.
    NetName { name: String },
    /// SMB2_TRANSPORT_CAPABILITIES (0x0006).
    Transport { flags: u32 },
    /// SMB2_RDMA_TRANSFORM_CAPABILITIES (0x0007), raw.
    RdmaTransform { data: Bytes },
    /// SMB2_SIGNING_CAPABILITIES (0x0008).
    Signing { algorithms: Vec<SigningAlgorithm> },
    /// Any other context type.
    Unknown { context_type: u16, data: Bytes },
}

impl NegotiateContext {
    /// The ContextType.
    pub fn context_type(&self) -> u16 {
        match self {
            Self::PreauthIntegrity { .. } => 1,
            Self::Encryption { .. } => 2,
            Self::Compression { .. } => 3,
            Self::NetName { .. } => 5,
            Self::Transport { .. } => 6,
            Self::RdmaTransform { .. } => 7,
            Self::Signing { .. } => 8,
            Self::Unknown { context_type, .. } => *context_type,
        }
    }

    fn encode_data(&self, out: &mut Vec<u8>) {
        match self {
            Self::PreauthIntegrity {
                hash_algorithms,
                salt,
            } => {
                out.put_u16_le(len16(hash_algorithms.len()));
                out.put_u16_le(len16(salt.len()));
                hash_algorithms.iter().for_each(|a| out.put_u16_le(*a));
                out.put_slice(salt);
            }
            Self::Encryption { ciphers } => {
                out.put_u16_le(len16(ciphers.len()));
                ciphers.iter().for_each(|c| out.put_u16_le(c.id()));
            }
            Self::Compression { flags, algorithms } => {
                out.put_u16_le(len16(algorithms.len()));
                out.put_u16_le(0);
                out.put_u32_le(*flags);
                algorithms.iter().for_each(|a| out.put_u16_le(*a));
            }
            Self::NetName { name } => out.put_slice(&super::utf16le(name)),
            Self::Transport { flags } => out.put_u32_le(*flags),
            Self::RdmaTransform { data } | Self::Unknown { data, .. } => out.put_slice(data),
            Self::Signing { algorithms } => {
                out.put_u16_le(len16(algorithms.len()));
                algorithms.iter().for_each(|a| out.put_u16_le(a.id()));
            }
        }
    }

    fn decode(context_type: u16, data: &[u8]) -> Result<Self, DecodeError> {
        let u16s = |what, i| parse(what, i, nom::multi::length_count(le_u16, le_u16));
        Ok(match context_type {
            1 => {
                let (rest, (n, salt_len)) = parse("preauth context", data, (le_u16, le_u16))?;
                let (rest, algs) = parse("preauth context", rest, count(le_u16, n.into()))?;
                let (_, salt) = parse("preauth salt", rest, take(salt_len))?;
                Self::PreauthIntegrity {
                    hash_algorithms: algs,
                    salt: Bytes::copy_from_slice(salt),
                }
            }
            2 => {
                let (_, ids) = u16s("encryption context", data)?;
                Self::Encryption {
                    ciphers: ids.into_iter().map(CipherId::from_id).collect(),
                }
            }
            3 => {
                let (rest, (n, _pad, flags)) =
                    parse("compression context", data, (le_u16, le_u16, le_u32))?;
                let (_, algorithms) = parse("compression context", rest, count(le_u16, n.into()))?;
                Self::Compression { flags, algorithms }
            }
            5 => Self::NetName {
                name: super::from_utf16le(data),
            },
            6 => Self::Transport {
                flags: parse("transport context", data, le_u32)?.1,
            },
            7 => Self::RdmaTransform {
                data: Bytes::copy_from_slice(data),
            },
            8 => {
                let (_, ids) = u16s("signing context", data)?;
                Self::Signing {
                    algorithms: ids.into_iter().map(SigningAlgorithm::from_id).collect(),
                }
            }
            t => Self::Unknown {
                context_type: t,
                data: Bytes::copy_from_slice(data),
            },
        })
    }
}

/// Appends a context list, each context 8-byte aligned relative to `base`.
fn encode_contexts(out: &mut Vec<u8>, base: usize, contexts: &[NegotiateContext]) {
    for (i, c) in contexts.iter().enumerate() {
        if i > 0 {
            pad_to(out, base, 8);
        }
        out.put_u16_le(c.context_type());
        let len_at = out.len();
        out.put_u16_le(0);
        out.put_u32_le(0);
        let start = out.len();
        c.encode_data(out);
        let n = len16(out.len() - start);
        patch_u16(out, len_at, n);
    }
}

fn decode_contexts(
    msg: &[u8],
    offset: usize,
    n: u16,
) -> Result<Vec<NegotiateContext>, DecodeError> {
    let mut out = Vec::new();
    let mut at = offset;
    for _ in 0..n {
        let hdr = buffer_at(msg, at, 8, "negotiate context")?;
        let ty = u16::from_le_bytes([hdr[0], hdr[1]]);
        let len = usize::from(u16::from_le_bytes([hdr[2], hdr[3]]));
        let data = buffer_at(msg, at + 8, len, "negotiate context data")?;
        out.push(NegotiateContext::decode(ty, data)?);
        at = (at + 8 + len).next_multiple_of(8);
    }
    Ok(out)
}

/// NEGOTIATE request (MS-SMB2 2.2.3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NegotiateRequest {
    pub security_mode: SecurityMode,
    pub capabilities: Capabilities,
    pub client_guid: [u8; 16],
    pub dialects: Vec<Dialect>,
    /// Only sent when 3.1.1 is offered (MS-SMB2 2.2.3.1).
    pub contexts: Vec<NegotiateContext>,
    /// Computed when `None`.
    pub dialect_count: Option<u16>,
    /// Computed when `None`.
    pub context_offset: Option<u32>,
    /// Computed when `None`.
    pub context_count: Option<u16>,
}

impl NegotiateRequest {
    /// Appends the body; `base` is where the header starts in `out`.
    pub fn encode(&self, out: &mut Vec<u8>, base: usize) {
        out.put_u16_le(36);
        out.put_u16_le(self.dialect_count.unwrap_or(len16(self.dialects.len())));
        out.put_u16_le(self.security_mode.0);
        out.put_u16_le(0);
        out.put_u32_le(self.capabilities.0);
        out.put_slice(&self.client_guid);
        let ctx_off_at = out.len();
        out.put_u32_le(0);
        out.put_u16_le(self.context_count.unwrap_or(len16(self.contexts.len())));
        out.put_u16_le(0);
        self.dialects
            .iter()
            .for_each(|d| out.put_u16_le(d.revision()));
        let off = if self.contexts.is_empty() {
            0
        } else {
            pad_to(out, base, 8);
            let off = rel(out, base) as u32;
            encode_contexts(out, base, &self.contexts);
            off
        };
        patch_u32(out, ctx_off_at, self.context_offset.unwrap_or(off));
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (rest, (size, n, sm, _, caps, guid, ctx_off, ctx_n, _)) = parse(
            "NEGOTIATE request",
            body(msg)?,
            (
                le_u16,
                le_u16,
                le_u16,
                le_u16,
                le_u32,
                take(16usize),
                le_u32,
                le_u16,
                le_u16,
            ),
        )?;
        expect_size("NEGOTIATE request", size, 36)?;
        let (_, dialects) = parse("dialects", rest, count(le_u16, n.into()))?;
        let dialects: Vec<Dialect> = dialects.into_iter().map(Dialect::from_revision).collect();
        let contexts = if dialects.contains(&Dialect::Smb311) {
            decode_contexts(msg, ctx_off as usize, ctx_n)?
        } else {
            Vec::new()
        };
        Ok(Self {
            security_mode: SecurityMode(sm),
            capabilities: Capabilities(caps),
            client_guid: guid.try_into().unwrap_or_default(),
            dialects,
            contexts,
            dialect_count: Some(n),
            context_offset: Some(ctx_off),
            context_count: Some(ctx_n),
        })
    }
}

/// NEGOTIATE response (MS-SMB2 2.2.4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NegotiateResponse {
    pub security_mode: SecurityMode,
    pub dialect: Dialect,
    pub server_guid: [u8; 16],
    pub capabilities: Capabilities,
    pub max_transact_size: u32,
    pub max_read_size: u32,
    pub max_write_size: u32,
    pub system_time: u64,
    pub server_start_time: u64,
    pub security_buffer: Bytes,
    pub contexts: Vec<NegotiateContext>,
}

impl NegotiateResponse {
    /// Appends the body; `base` is where the header starts in `out`.
    pub fn encode(&self, out: &mut Vec<u8>, base: usize) {
        out.put_u16_le(65);
        out.put_u16_le(self.security_mode.0);
        out.put_u16_le(self.dialect.revision());
        out.put_u16_le(len16(self.contexts.len()));
        out.put_slice(&self.server_guid);
        out.put_u32_le(self.capabilities.0);
        out.put_u32_le(self.max_transact_size);
        out.put_u32_le(self.max_read_size);
        out.put_u32_le(self.max_write_size);
        out.put_u64_le(self.system_time);
        out.put_u64_le(self.server_start_time);
        out.put_u16_le(128);
        out.put_u16_le(len16(self.security_buffer.len()));
        let ctx_off_at = out.len();
        out.put_u32_le(0);
        out.put_slice(&self.security_buffer);
        if !self.contexts.is_empty() {
            pad_to(out, base, 8);
            let off = rel(out, base) as u32;
            patch_u32(out, ctx_off_at, off);
            encode_contexts(out, base, &self.contexts);
        }
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, f) = parse(
            "NEGOTIATE response",
            body(msg)?,
            (
                (le_u16, le_u16, le_u16, le_u16, take(16usize)),
                (le_u32, le_u32, le_u32, le_u32, le_u64, le_u64),
                (le_u16, le_u16, le_u32),
            ),
        )?;
        let (
            (size, sm, dialect, ctx_n, guid),
            (caps, mt, mr, mw, st, sst),
            (sb_off, sb_len, ctx_off),
        ) = f;
        expect_size("NEGOTIATE response", size, 65)?;
        let dialect = Dialect::from_revision(dialect);
        let security_buffer = buffer_at(
            msg,
            sb_off.into(),
            sb_len.into(),
            "NEGOTIATE security buffer",
        )?;
        let contexts = if dialect == Dialect::Smb311 {
            decode_contexts(msg, ctx_off as usize, ctx_n)?
        } else {
            Vec::new()
        };
        Ok(Self {
            security_mode: SecurityMode(sm),
            dialect,
            server_guid: guid.try_into().unwrap_or_default(),
            capabilities: Capabilities(caps),
            max_transact_size: mt,
            max_read_size: mr,
            max_write_size: mw,
            system_time: st,
            server_start_time: sst,
            security_buffer: Bytes::copy_from_slice(security_buffer),
            contexts,
        })
    }
}
