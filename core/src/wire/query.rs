//! QUERY_DIRECTORY, QUERY_INFO and SET_INFO (MS-SMB2 2.2.33, 2.2.34, 2.2.37 - 2.2.40).

use bytes::{BufMut, Bytes};
use nom::bytes::complete::take;
use nom::number::complete::{le_u8, le_u16, le_u32};

use super::info::{
    DirectoryEntry, FileInfo, FileInfoClass, FsInfo, FsInfoClass, InfoBuffer, code_enum,
    parse_directory,
};
use super::{
    DecodeError, FileId, body, buffer_at, expect_size, len16, len32, parse, patch_u16, patch_u32,
    rel,
};

code_enum! {
    /// InfoType of QUERY_INFO / SET_INFO (MS-SMB2 2.2.37).
    InfoType(u8), default File {
        /// SMB2_0_INFO_FILE
        File = 1,
        /// SMB2_0_INFO_FILESYSTEM
        FileSystem = 2,
        /// SMB2_0_INFO_SECURITY
        Security = 3,
        /// SMB2_0_INFO_QUOTA
        Quota = 4,
    }
}

/// AdditionalInformation bits for security queries and sets (MS-SMB2 2.2.37).
pub mod security_information {
    pub const OWNER: u32 = 0x0000_0001;
    pub const GROUP: u32 = 0x0000_0002;
    pub const DACL: u32 = 0x0000_0004;
    pub const SACL: u32 = 0x0000_0008;
    pub const LABEL: u32 = 0x0000_0010;
    pub const ATTRIBUTE: u32 = 0x0000_0020;
    pub const SCOPE: u32 = 0x0000_0040;
    pub const BACKUP: u32 = 0x0001_0000;
}

fn file_id(b: &[u8]) -> FileId {
    FileId::from_bytes(b.try_into().unwrap_or_default())
}

/// QUERY_DIRECTORY request (MS-SMB2 2.2.33).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryDirectoryRequest {
    pub info_class: FileInfoClass,
    /// RESTART_SCANS, RETURN_SINGLE_ENTRY, INDEX_SPECIFIED, REOPEN.
    pub flags: u8,
    pub file_index: u32,
    pub file_id: FileId,
    /// Search pattern, e.g. `*`.
    pub file_name: String,
    pub output_buffer_length: u32,
    /// Computed when `None`.
    pub file_name_offset: Option<u16>,
    /// Computed when `None`.
    pub file_name_length: Option<u16>,
}

impl QueryDirectoryRequest {
    pub const RESTART_SCANS: u8 = 0x01;
    pub const RETURN_SINGLE_ENTRY: u8 = 0x02;
    pub const INDEX_SPECIFIED: u8 = 0x04;
    pub const REOPEN: u8 = 0x10;

    /// Payload size for credit charging (MS-SMB2 3.2.4.1.5): the larger of the bytes
    /// sent and OutputBufferLength.
    pub fn payload_size(&self) -> usize {
        (self.file_name.encode_utf16().count() * 2).max(self.output_buffer_length as usize)
    }

    /// Appends the body; `base` is where the header starts in `out`.
    pub fn encode(&self, out: &mut Vec<u8>, base: usize) {
        let name = super::utf16le(&self.file_name);
        out.put_u16_le(33);
        out.put_u8(self.info_class.code());
        out.put_u8(self.flags);
        out.put_u32_le(self.file_index);
        out.put_slice(&self.file_id.to_bytes());
        let at = out.len();
        out.put_u32_le(0);
        out.put_u32_le(self.output_buffer_length);
        let off = if name.is_empty() {
            out.put_u8(0); // StructureSize 33 counts one buffer byte
            0
        } else {
            let off = len16(rel(out, base));
            out.put_slice(&name);
            off
        };
        patch_u16(out, at, self.file_name_offset.unwrap_or(off));
        patch_u16(
            out,
            at + 2,
            self.file_name_length.unwrap_or(len16(name.len())),
        );
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, (size, class, flags, index, fid, off, len, out_len)) = parse(
            "QUERY_DIRECTORY request",
            body(msg)?,
            (
                le_u16,
                le_u8,
                le_u8,
                le_u32,
                take(16usize),
                le_u16,
                le_u16,
                le_u32,
            ),
        )?;
        expect_size("QUERY_DIRECTORY request", size, 33)?;
        let name = buffer_at(msg, off.into(), len.into(), "QUERY_DIRECTORY FileName")?;
        Ok(Self {
            info_class: FileInfoClass::from_code(class),
            flags,
            file_index: index,
            file_id: file_id(fid),
            file_name: super::from_utf16le(name),
            output_buffer_length: out_len,
            file_name_offset: Some(off),
            file_name_length: Some(len),
        })
    }
}

super::output_response! {
    /// QUERY_DIRECTORY response (MS-SMB2 2.2.34): directory entries, raw.
    QueryDirectoryResponse, "QUERY_DIRECTORY response"
}

super::output_response! {
    /// QUERY_INFO response (MS-SMB2 2.2.38): the information buffer, raw.
    QueryInfoResponse, "QUERY_INFO response"
}

impl QueryDirectoryResponse {
    /// The entries, decoded as `class` (the class of the request).
    pub fn entries(&self, class: FileInfoClass) -> Result<Vec<DirectoryEntry>, DecodeError> {
        parse_directory(class, &self.output)
    }
}

impl QueryInfoResponse {
    /// The output as a typed information structure.
    pub fn parse<T: InfoBuffer>(&self) -> Result<T, DecodeError> {
        T::decode(&self.output)
    }

    /// The output as file information of `class` (raw for untyped classes).
    pub fn file_info(&self, class: FileInfoClass) -> Result<FileInfo, DecodeError> {
        FileInfo::decode(class, &self.output)
    }

    /// The output as file system information of `class` (raw for untyped classes).
    pub fn fs_info(&self, class: FsInfoClass) -> Result<FsInfo, DecodeError> {
        FsInfo::decode(class, &self.output)
    }
}

/// QUERY_INFO request (MS-SMB2 2.2.37).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryInfoRequest {
    pub info_type: InfoType,
    /// A [`FileInfoClass`] or [`FsInfoClass`] code; 0 for security, quota class 32.
    pub file_info_class: u8,
    pub output_buffer_length: u32,
    /// E.g. a SMB2_QUERY_QUOTA_INFO or a FILE_GET_EA_INFORMATION list.
    pub input: Bytes,
    /// Security: [`security_information`] bits; EA: the EA index.
    pub additional_information: u32,
    /// SL_RESTART_SCAN (1), SL_RETURN_SINGLE_ENTRY (2), SL_INDEX_SPECIFIED (4).
    pub flags: u32,
    pub file_id: FileId,
    /// Computed when `None`.
    pub input_buffer_offset: Option<u16>,
    /// Computed when `None`.
    pub input_buffer_length: Option<u32>,
}

impl QueryInfoRequest {
    pub const RESTART_SCAN: u32 = 0x01;
    pub const RETURN_SINGLE_ENTRY: u32 = 0x02;
    pub const INDEX_SPECIFIED: u32 = 0x04;

    /// A query for the typed class `T`.
    pub fn for_class<T: InfoBuffer>(file_id: FileId, output_buffer_length: u32) -> Self {
        Self {
            info_type: T::INFO_TYPE,
            file_info_class: T::CLASS,
            output_buffer_length,
            file_id,
            ..Self::default()
        }
    }

    /// A security descriptor query for the parts in `additional_information`.
    pub fn security(file_id: FileId, additional_information: u32, output_len: u32) -> Self {
        Self {
            info_type: InfoType::Security,
            output_buffer_length: output_len,
            additional_information,
            file_id,
            ..Self::default()
        }
    }

    /// Payload size for credit charging (MS-SMB2 3.2.4.1.5): the larger of the input
    /// sent and OutputBufferLength.
    pub fn payload_size(&self) -> usize {
        self.input.len().max(self.output_buffer_length as usize)
    }

    /// Appends the body; `base` is where the header starts in `out`.
    pub fn encode(&self, out: &mut Vec<u8>, base: usize) {
        out.put_u16_le(41);
        out.put_u8(self.info_type.code());
        out.put_u8(self.file_info_class);
        out.put_u32_le(self.output_buffer_length);
        let at = out.len();
        out.put_u16_le(0);
        out.put_u16_le(0);
        out.put_u32_le(0);
        out.put_u32_le(self.additional_information);
        out.put_u32_le(self.flags);
        out.put_slice(&self.file_id.to_bytes());
        let off = if self.input.is_empty() {
            out.put_u8(0);
            0
        } else {
            let off = len16(rel(out, base));
            out.put_slice(&self.input);
            off
        };
        patch_u16(out, at, self.input_buffer_offset.unwrap_or(off));
        patch_u32(
            out,
            at + 4,
            self.input_buffer_length.unwrap_or(len32(self.input.len())),
        );
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, ((size, it, class, out_len, off, _), (len, add, flags, fid))) = parse(
            "QUERY_INFO request",
            body(msg)?,
            (
                (le_u16, le_u8, le_u8, le_u32, le_u16, le_u16),
                (le_u32, le_u32, le_u32, take(16usize)),
            ),
        )?;
        expect_size("QUERY_INFO request", size, 41)?;
        let input = buffer_at(msg, off.into(), len as usize, "QUERY_INFO input")?;
        Ok(Self {
            info_type: InfoType::from_code(it),
            file_info_class: class,
            output_buffer_length: out_len,
            input: Bytes::copy_from_slice(input),
            additional_information: add,
            flags,
            file_id: file_id(fid),
            input_buffer_offset: Some(off),
            input_buffer_length: Some(len),
        })
    }
}

/// SET_INFO request (MS-SMB2 2.2.39).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetInfoRequest {
    pub info_type: InfoType,
    pub file_info_class: u8,
    pub buffer: Bytes,
    pub additional_information: u32,
    pub file_id: FileId,
    /// Computed when `None`.
    pub buffer_offset: Option<u16>,
    /// Computed when `None`.
    pub buffer_length: Option<u32>,
}

impl SetInfoRequest {
    /// A set of the typed structure `info`.
    pub fn new<T: InfoBuffer>(file_id: FileId, info: &T) -> Self {
        Self {
            info_type: T::INFO_TYPE,
            file_info_class: T::CLASS,
            buffer: info.to_bytes(),
            file_id,
            ..Self::default()
        }
    }

    /// Payload size for credit charging (MS-SMB2 3.2.4.1.5): the buffer sent.
    pub fn payload_size(&self) -> usize {
        self.buffer.len()
    }

    /// Appends the body; `base` is where the header starts in `out`.
    pub fn encode(&self, out: &mut Vec<u8>, base: usize) {
        out.put_u16_le(33);
        out.put_u8(self.info_type.code());
        out.put_u8(self.file_info_class);
        let at = out.len();
        out.put_u32_le(0);
        out.put_u16_le(0);
        out.put_u16_le(0);
        out.put_u32_le(self.additional_information);
        out.put_slice(&self.file_id.to_bytes());
        let off = len16(rel(out, base));
        out.put_slice(&self.buffer);
        if self.buffer.is_empty() {
            out.put_u8(0);
        }
        patch_u32(
            out,
            at,
            self.buffer_length.unwrap_or(len32(self.buffer.len())),
        );
        patch_u16(out, at + 4, self.buffer_offset.unwrap_or(off));
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, (size, it, class, len, off, _, add, fid)) = parse(
            "SET_INFO request",
            body(msg)?,
            (
                le_u16,
                le_u8,
                le_u8,
                le_u32,
                le_u16,
                le_u16,
                le_u32,
                take(16usize),
            ),
        )?;
        expect_size("SET_INFO request", size, 33)?;
        let buf = buffer_at(msg, off.into(), len as usize, "SET_INFO buffer")?;
        Ok(Self {
            info_type: InfoType::from_code(it),
            file_info_class: class,
            buffer: Bytes::copy_from_slice(buf),
            additional_information: add,
            file_id: file_id(fid),
            buffer_offset: Some(off),
            buffer_length: Some(len),
        })
    }
}

/// SET_INFO response (MS-SMB2 2.2.40): StructureSize 2 and nothing else.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetInfoResponse;

impl SetInfoResponse {
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>, _base: usize) {
        out.put_u16_le(2);
    }

    /// Decodes the body of `msg` (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, size) = parse("SET_INFO response", body(msg)?, le_u16)?;
        expect_size("SET_INFO response", size, 2)?;
        Ok(Self)
    }
}
