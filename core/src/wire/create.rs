//! CREATE request/response and create contexts (MS-SMB2 2.2.13, 2.2.14).

use bytes::{BufMut, Bytes};
use nom::bytes::complete::take;
use nom::number::complete::{le_u8, le_u16, le_u32, le_u64};

use super::{
    DecodeError, FileId, body, buffer_at, expect_size, len16, len32, pad_to, parse, patch_u16,
    patch_u32, rel,
};

/// Access mask bits (MS-SMB2 2.2.13.1).
pub mod access {
    pub const FILE_READ_DATA: u32 = 0x0000_0001;
    pub const FILE_LIST_DIRECTORY: u32 = 0x0000_0001;
    pub const FILE_WRITE_DATA: u32 = 0x0000_0002;
    pub const FILE_ADD_FILE: u32 = 0x0000_0002;
    pub const FILE_APPEND_DATA: u32 = 0x0000_0004;
    pub const FILE_ADD_SUBDIRECTORY: u32 = 0x0000_0004;
    pub const FILE_READ_EA: u32 = 0x0000_0008;
    pub const FILE_WRITE_EA: u32 = 0x0000_0010;
    pub const FILE_EXECUTE: u32 = 0x0000_0020;
    pub const FILE_TRAVERSE: u32 = 0x0000_0020;
    pub const FILE_DELETE_CHILD: u32 = 0x0000_0040;
    pub const FILE_READ_ATTRIBUTES: u32 = 0x0000_0080;
    pub const FILE_WRITE_ATTRIBUTES: u32 = 0x0000_0100;
    pub const DELETE: u32 = 0x0001_0000;
    pub const READ_CONTROL: u32 = 0x0002_0000;
    pub const WRITE_DAC: u32 = 0x0004_0000;
    pub const WRITE_OWNER: u32 = 0x0008_0000;
    pub const SYNCHRONIZE: u32 = 0x0010_0000;
    pub const ACCESS_SYSTEM_SECURITY: u32 = 0x0100_0000;
    pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
    pub const GENERIC_ALL: u32 = 0x1000_0000;
    pub const GENERIC_EXECUTE: u32 = 0x2000_0000;
    pub const GENERIC_WRITE: u32 = 0x4000_0000;
    pub const GENERIC_READ: u32 = 0x8000_0000;
}

/// ShareAccess bits (MS-SMB2 2.2.13).
pub mod share_access {
    pub const READ: u32 = 0x1;
    pub const WRITE: u32 = 0x2;
    pub const DELETE: u32 = 0x4;
    pub const ALL: u32 = 0x7;
}

/// CreateDisposition values (MS-SMB2 2.2.13).
pub mod disposition {
    pub const SUPERSEDE: u32 = 0;
    pub const OPEN: u32 = 1;
    pub const CREATE: u32 = 2;
    pub const OPEN_IF: u32 = 3;
    pub const OVERWRITE: u32 = 4;
    pub const OVERWRITE_IF: u32 = 5;
}

/// CreateOptions bits (MS-SMB2 2.2.13).
pub mod create_options {
    pub const DIRECTORY_FILE: u32 = 0x0000_0001;
    pub const WRITE_THROUGH: u32 = 0x0000_0002;
    pub const SEQUENTIAL_ONLY: u32 = 0x0000_0004;
    pub const NO_INTERMEDIATE_BUFFERING: u32 = 0x0000_0008;
    pub const NON_DIRECTORY_FILE: u32 = 0x0000_0040;
    pub const NO_EA_KNOWLEDGE: u32 = 0x0000_0200;
    pub const RANDOM_ACCESS: u32 = 0x0000_0800;
    pub const DELETE_ON_CLOSE: u32 = 0x0000_1000;
    pub const OPEN_BY_FILE_ID: u32 = 0x0000_2000;
    pub const OPEN_FOR_BACKUP_INTENT: u32 = 0x0000_4000;
    pub const OPEN_REPARSE_POINT: u32 = 0x0020_0000;
}

/// File attributes (MS-FSCC 2.6).
pub mod file_attributes {
    pub const READONLY: u32 = 0x0000_0001;
    pub const HIDDEN: u32 = 0x0000_0002;
    pub const SYSTEM: u32 = 0x0000_0004;
    pub const DIRECTORY: u32 = 0x0000_0010;
    pub const ARCHIVE: u32 = 0x0000_0020;
    pub const NORMAL: u32 = 0x0000_0080;
    pub const TEMPORARY: u32 = 0x0000_0100;
    pub const SPARSE_FILE: u32 = 0x0000_0200;
    pub const REPARSE_POINT: u32 = 0x0000_0400;
    pub const COMPRESSED: u32 = 0x0000_0800;
    pub const OFFLINE: u32 = 0x0000_1000;
    pub const NOT_CONTENT_INDEXED: u32 = 0x0000_2000;
    pub const ENCRYPTED: u32 = 0x0000_4000;
}

/// Oplock levels (MS-SMB2 2.2.13).
pub mod oplock_level {
    pub const NONE: u8 = 0x00;
    pub const II: u8 = 0x01;
    pub const EXCLUSIVE: u8 = 0x08;
    pub const BATCH: u8 = 0x09;
    pub const LEASE: u8 = 0xFF;
}

/// Impersonation levels (MS-SMB2 2.2.13).
pub mod impersonation {
    pub const ANONYMOUS: u32 = 0;
    pub const IDENTIFICATION: u32 = 1;
    pub const IMPERSONATION: u32 = 2;
    pub const DELEGATE: u32 = 3;
}

/// CreateAction values (MS-SMB2 2.2.14).
pub mod create_action {
    pub const SUPERSEDED: u32 = 0;
    pub const OPENED: u32 = 1;
    pub const CREATED: u32 = 2;
    pub const OVERWRITTEN: u32 = 3;
}

/// One create context (MS-SMB2 2.2.13.2), kept as name + raw data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateContext {
    /// Usually a 4-byte tag such as `b"MxAc"`, or a 16-byte GUID.
    pub name: Bytes,
    pub data: Bytes,
}

impl CreateContext {
    /// A context from a name and its data.
    pub fn new(name: &[u8], data: impl Into<Bytes>) -> Self {
        Self {
            name: Bytes::copy_from_slice(name),
            data: data.into(),
        }
    }
}

/// Appends a create context chain, each 8-byte aligned (relative to `base`).
pub(crate) fn encode_create_contexts(out: &mut Vec<u8>, base: usize, contexts: &[CreateContext]) {
    let mut prev_next_at: Option<(usize, usize)> = None;
    for c in contexts {
        pad_to(out, base, 8);
        let start = out.len();
        if let Some((at, prev_start)) = prev_next_at {
            patch_u32(out, at, len32(start - prev_start));
        }
        out.put_u32_le(0); // Next
        out.put_u16_le(16); // NameOffset: right after this 16-byte header
        out.put_u16_le(len16(c.name.len()));
        out.put_u16_le(0);
        let data_off_at = out.len();
        out.put_u16_le(0);
        out.put_u32_le(len32(c.data.len()));
        out.put_slice(&c.name);
        if !c.data.is_empty() {
            pad_to(out, base, 8);
            let data_off = len16(out.len() - start);
            patch_u16(out, data_off_at, data_off);
            out.put_slice(&c.data);
        }
        prev_next_at = Some((start, start));
    }
}

/// Decodes a create context chain from `buf`.
pub(crate) fn decode_create_contexts(buf: &[u8]) -> Result<Vec<CreateContext>, DecodeError> {
    let mut out = Vec::new();
    let mut at = 0usize;
    loop {
        let ctx = buf.get(at..).ok_or(DecodeError::OutOfBounds {
            what: "create context",
        })?;
        let (_, (next, name_off, name_len, _, data_off, data_len)) = parse(
            "create context",
            ctx,
            (le_u32, le_u16, le_u16, le_u16, le_u16, le_u32),
        )?;
        let name = buffer_at(ctx, name_off.into(), name_len.into(), "create context name")?;
        let data = buffer_at(
            ctx,
            data_off.into(),
            data_len as usize,
            "create context data",
        )?;
        out.push(CreateContext {
            name: Bytes::copy_from_slice(name),
            data: Bytes::copy_from_slice(data),
        });
        if next == 0 {
            return Ok(out);
        }
        // A Next that does not move forward would loop forever.
        if (next as usize) < 16 {
            return Err(DecodeError::Invalid {
                what: "create context Next",
            });
        }
        at = at
            .checked_add(next as usize)
            .ok_or(DecodeError::OutOfBounds {
                what: "create context Next",
            })?;
    }
}

/// CREATE request (MS-SMB2 2.2.13).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateRequest {
    pub security_flags: u8,
    pub requested_oplock_level: u8,
    pub impersonation_level: u32,
    pub smb_create_flags: u64,
    pub desired_access: u32,
    pub file_attributes: u32,
    pub share_access: u32,
    pub create_disposition: u32,
    pub create_options: u32,
    /// Path relative to the share, with backslashes, no leading separator.
    pub name: String,
    pub contexts: Vec<CreateContext>,
    /// Computed when `None`.
    pub name_offset: Option<u16>,
    /// Computed when `None`.
    pub name_length: Option<u16>,
    /// Computed when `None`.
    pub contexts_offset: Option<u32>,
    /// Computed when `None`.
    pub contexts_length: Option<u32>,
}

impl CreateRequest {
    /// Appends the body; `base` is where the header starts in `out`.
    pub fn encode(&self, out: &mut Vec<u8>, base: usize) {
        let name = super::utf16le(&self.name);
        out.put_u16_le(57);
        out.put_u8(self.security_flags);
        out.put_u8(self.requested_oplock_level);
        out.put_u32_le(self.impersonation_level);
        out.put_u64_le(self.smb_create_flags);
        out.put_u64_le(0);
        out.put_u32_le(self.desired_access);
        out.put_u32_le(self.file_attributes);
        out.put_u32_le(self.share_access);
        out.put_u32_le(self.create_disposition);
        out.put_u32_le(self.create_options);
        let fields_at = out.len();
        out.put_slice(&[0; 12]);
        let name_off = len16(rel(out, base));
        out.put_slice(&name);
        if name.is_empty() {
            out.put_u8(0); // StructureSize 57 counts one buffer byte
        }
        let (ctx_off, ctx_len) = if self.contexts.is_empty() {
            (0, 0)
        } else {
            pad_to(out, base, 8);
            let start = out.len();
            encode_create_contexts(out, base, &self.contexts);
            (len32(start - base), len32(out.len() - start))
        };
        patch_u16(out, fields_at, self.name_offset.unwrap_or(name_off));
        patch_u16(
            out,
            fields_at + 2,
            self.name_length.unwrap_or(len16(name.len())),
        );
        patch_u32(out, fields_at + 4, self.contexts_offset.unwrap_or(ctx_off));
        patch_u32(out, fields_at + 8, self.contexts_length.unwrap_or(ctx_len));
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, f) = parse(
            "CREATE request",
            body(msg)?,
            (
                (le_u16, le_u8, le_u8, le_u32, le_u64, le_u64),
                (le_u32, le_u32, le_u32, le_u32, le_u32),
                (le_u16, le_u16, le_u32, le_u32),
            ),
        )?;
        let ((size, sec, oplock, imp, flags, _), (da, fa, sa, cd, co), (no, nl, co_off, co_len)) =
            f;
        expect_size("CREATE request", size, 57)?;
        let name = buffer_at(msg, no.into(), nl.into(), "CREATE name")?;
        let ctx = buffer_at(msg, co_off as usize, co_len as usize, "CREATE contexts")?;
        Ok(Self {
            security_flags: sec,
            requested_oplock_level: oplock,
            impersonation_level: imp,
            smb_create_flags: flags,
            desired_access: da,
            file_attributes: fa,
            share_access: sa,
            create_disposition: cd,
            create_options: co,
            name: super::from_utf16le(name),
            contexts: if ctx.is_empty() {
                Vec::new()
            } else {
                decode_create_contexts(ctx)?
            },
            name_offset: Some(no),
            name_length: Some(nl),
            contexts_offset: Some(co_off),
            contexts_length: Some(co_len),
        })
    }
}

/// CREATE response (MS-SMB2 2.2.14).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateResponse {
    pub oplock_level: u8,
    pub flags: u8,
    pub create_action: u32,
    pub creation_time: u64,
    pub last_access_time: u64,
    pub last_write_time: u64,
    pub change_time: u64,
    pub allocation_size: u64,
    pub end_of_file: u64,
    pub file_attributes: u32,
    pub file_id: FileId,
    pub contexts: Vec<CreateContext>,
}

impl CreateResponse {
    /// Appends the body; `base` is where the header starts in `out`.
    pub fn encode(&self, out: &mut Vec<u8>, base: usize) {
        out.put_u16_le(89);
        out.put_u8(self.oplock_level);
        out.put_u8(self.flags);
        out.put_u32_le(self.create_action);
        for t in [
            self.creation_time,
            self.last_access_time,
            self.last_write_time,
            self.change_time,
        ] {
            out.put_u64_le(t);
        }
        out.put_u64_le(self.allocation_size);
        out.put_u64_le(self.end_of_file);
        out.put_u32_le(self.file_attributes);
        out.put_u32_le(0);
        out.put_slice(&self.file_id.to_bytes());
        let at = out.len();
        out.put_u64_le(0);
        if self.contexts.is_empty() {
            out.put_u8(0);
        } else {
            pad_to(out, base, 8);
            let start = out.len();
            encode_create_contexts(out, base, &self.contexts);
            patch_u32(out, at, len32(start - base));
            let len = len32(out.len() - start);
            patch_u32(out, at + 4, len);
        }
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, f) = parse(
            "CREATE response",
            body(msg)?,
            (
                (le_u16, le_u8, le_u8, le_u32),
                (le_u64, le_u64, le_u64, le_u64, le_u64, le_u64),
                (le_u32, le_u32, take(16usize), le_u32, le_u32),
            ),
        )?;
        let ((size, oplock, flags, action), (ct, at, wt, cht, alloc, eof), (attrs, _, fid, co, cl)) =
            f;
        expect_size("CREATE response", size, 89)?;
        let ctx = buffer_at(msg, co as usize, cl as usize, "CREATE response contexts")?;
        Ok(Self {
            oplock_level: oplock,
            flags,
            create_action: action,
            creation_time: ct,
            last_access_time: at,
            last_write_time: wt,
            change_time: cht,
            allocation_size: alloc,
            end_of_file: eof,
            file_attributes: attrs,
            file_id: FileId::from_bytes(fid.try_into().unwrap_or_default()),
            contexts: if ctx.is_empty() {
                Vec::new()
            } else {
                decode_create_contexts(ctx)?
            },
        })
    }
}
