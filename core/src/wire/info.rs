//! File and file-system information classes (MS-FSCC 2.4, 2.5), directory entries
//! (MS-FSCC 2.4.10 ff.) and the shared helpers for NextEntryOffset chains.
//!
//! Every structure here is a plain buffer (no SMB2 header), as carried in the Buffer of
//! QUERY_INFO, SET_INFO, QUERY_DIRECTORY and create contexts. Decoders take the whole
//! buffer, accept trailing bytes, and fail with [`DecodeError`] on short or lying input.

use bytes::{BufMut, Bytes};
use nom::bytes::complete::take;
use nom::number::complete::{le_u8, le_u16, le_u32, le_u64};

use super::query::InfoType;
use super::{DecodeError, from_utf16le, len32, parse, utf16le};

/// Defines a `#[non_exhaustive]` code enum with an `Unknown` variant and conversions.
macro_rules! code_enum {
    (
        $(#[$m:meta])* $name:ident($t:ty), default $def:ident {
            $($(#[$vm:meta])* $var:ident = $val:literal,)*
        }
    ) => {
        $(#[$m])*
        #[non_exhaustive]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $var,)*
            /// A value this crate does not know; kept so new server values never fail.
            Unknown($t),
        }

        impl Default for $name {
            fn default() -> Self {
                Self::$def
            }
        }

        impl $name {
            /// Wire value.
            pub const fn code(self) -> $t {
                match self {
                    $(Self::$var => $val,)*
                    Self::Unknown(v) => v,
                }
            }

            /// From the wire value.
            pub const fn from_code(v: $t) -> Self {
                match v {
                    $($val => Self::$var,)*
                    v => Self::Unknown(v),
                }
            }
        }

        impl From<$t> for $name {
            fn from(v: $t) -> Self {
                Self::from_code(v)
            }
        }

        impl From<$name> for $t {
            fn from(v: $name) -> Self {
                v.code()
            }
        }
    };
}
pub(crate) use code_enum;

code_enum! {
    /// FileInformationClass values (MS-FSCC 2.4).
    FileInfoClass(u8), default IdBothDirectory {
        Directory = 1,
        FullDirectory = 2,
        BothDirectory = 3,
        Basic = 4,
        Standard = 5,
        Internal = 6,
        Ea = 7,
        Access = 8,
        Name = 9,
        Rename = 10,
        Link = 11,
        Names = 12,
        Disposition = 13,
        Position = 14,
        FullEa = 15,
        Mode = 16,
        Alignment = 17,
        All = 18,
        Allocation = 19,
        EndOfFile = 20,
        AlternateName = 21,
        Stream = 22,
        Pipe = 23,
        PipeLocal = 24,
        PipeRemote = 25,
        Compression = 28,
        ObjectId = 29,
        Quota = 32,
        ReparsePoint = 33,
        NetworkOpen = 34,
        AttributeTag = 35,
        IdBothDirectory = 37,
        IdFullDirectory = 38,
        ValidDataLength = 39,
        ShortName = 40,
        NormalizedName = 48,
        Id = 59,
        IdExtdDirectory = 60,
        DispositionEx = 64,
        RenameEx = 65,
    }
}

code_enum! {
    /// FsInformationClass values (MS-FSCC 2.5).
    FsInfoClass(u8), default Volume {
        Volume = 1,
        Label = 2,
        Size = 3,
        Device = 4,
        Attribute = 5,
        Control = 6,
        FullSize = 7,
        ObjectId = 8,
        DriverPath = 9,
        VolumeFlags = 10,
        SectorSize = 11,
    }
}

// ----- readers and chains -----

/// Sequential little-endian reader; every short read is [`DecodeError::Truncated`].
pub(crate) struct Reader<'a> {
    pub(crate) rest: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Self { rest: buf, what }
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let (r, v) = parse(self.what, self.rest, le_u8)?;
        self.rest = r;
        Ok(v)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        let (r, v) = parse(self.what, self.rest, le_u16)?;
        self.rest = r;
        Ok(v)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        let (r, v) = parse(self.what, self.rest, le_u32)?;
        self.rest = r;
        Ok(v)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        let (r, v) = parse(self.what, self.rest, le_u64)?;
        self.rest = r;
        Ok(v)
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let (r, v) = parse(self.what, self.rest, take(n))?;
        self.rest = r;
        Ok(v)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let b = self.take(N)?;
        Ok(b.try_into().unwrap_or([0; N]))
    }

    pub(crate) fn utf16(&mut self, n: usize) -> Result<String, DecodeError> {
        Ok(from_utf16le(self.take(n)?))
    }
}

/// Fixed-size little-endian fields of the info structures.
pub(crate) trait Wire: Sized {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

macro_rules! wire_int {
    ($($t:ty, $put:ident, $get:ident;)*) => {$(
        impl Wire for $t {
            const SIZE: usize = core::mem::size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.$put(self);
            }
            fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                r.$get()
            }
        }
    )*};
}
wire_int! {
    u8, put_u8, u8;
    u16, put_u16_le, u16;
    u32, put_u32_le, u32;
    u64, put_u64_le, u64;
}

/// One-byte BOOLEAN: any non-zero byte is true.
impl Wire for bool {
    const SIZE: usize = 1;
    fn put(self, out: &mut Vec<u8>) {
        out.put_u8(self.into());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(r.u8()? != 0)
    }
}

impl Wire for [u8; 16] {
    const SIZE: usize = 16;
    fn put(self, out: &mut Vec<u8>) {
        out.put_slice(&self);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array()
    }
}

/// Walks a NextEntryOffset chain (the offset is the first u32 of each entry). Returns
/// each entry's bytes: up to the next entry, or to the end of `buf` for the last one.
/// A NextEntryOffset shorter than `min` (which would overlap or loop) or pointing past
/// the end is an error. An empty `buf` is an empty list.
pub(crate) fn walk_chain<'a>(
    buf: &'a [u8],
    min: usize,
    what: &'static str,
) -> Result<Vec<&'a [u8]>, DecodeError> {
    let mut out = Vec::new();
    let mut at = 0usize;
    if buf.is_empty() {
        return Ok(out);
    }
    let min = min.max(4);
    loop {
        let rest = buf.get(at..).ok_or(DecodeError::OutOfBounds { what })?;
        if rest.len() < min {
            return Err(DecodeError::Truncated { what });
        }
        let (_, next) = parse(what, rest, le_u32)?;
        if next == 0 {
            out.push(rest);
            return Ok(out);
        }
        let next = next as usize;
        if next < min {
            return Err(DecodeError::Invalid {
                what: "NextEntryOffset",
            });
        }
        out.push(rest.get(..next).ok_or(DecodeError::OutOfBounds {
            what: "NextEntryOffset",
        })?);
        at += next;
    }
}

/// Appends `entries` as a NextEntryOffset chain, each entry starting `align`-aligned
/// relative to `start`; `put` writes one entry after its 4-byte NextEntryOffset.
pub(crate) fn encode_chain<T>(
    out: &mut Vec<u8>,
    entries: &[T],
    align: usize,
    mut put: impl FnMut(&T, &mut Vec<u8>),
) {
    let start = out.len();
    let mut prev: Option<usize> = None;
    for e in entries {
        while !(out.len() - start).is_multiple_of(align) {
            out.push(0);
        }
        let here = out.len();
        if let Some(p) = prev {
            let next = len32(here - p);
            out[p..p + 4].copy_from_slice(&next.to_le_bytes());
        }
        out.put_u32_le(0);
        put(e, out);
        prev = Some(here);
    }
}

// ----- the InfoBuffer trait -----

/// A typed information-class buffer (QUERY_INFO output / SET_INFO input).
pub trait InfoBuffer: Sized {
    /// The InfoType this class belongs to.
    const INFO_TYPE: InfoType;
    /// The FileInfoClass / FsInfoClass code.
    const CLASS: u8;
    /// Appends the buffer.
    fn encode(&self, out: &mut Vec<u8>);
    /// Decodes from a buffer (trailing bytes are ignored).
    fn decode(buf: &[u8]) -> Result<Self, DecodeError>;
    /// The encoded buffer.
    fn to_bytes(&self) -> Bytes {
        let mut v = Vec::new();
        self.encode(&mut v);
        Bytes::from(v)
    }
}

/// A fixed-size info structure: fields in wire order, then `reserved` zero bytes.
macro_rules! fixed_info {
    (
        $(#[$m:meta])* $name:ident: $itype:ident $class:expr, reserved $res:literal {
            $($(#[$fm:meta])* $f:ident: $ft:ty),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name {
            $($(#[$fm])* pub $f: $ft,)*
        }

        impl $name {
            /// Size on the wire.
            pub const SIZE: usize = 0 $(+ <$ft as Wire>::SIZE)* + $res;
        }

        impl InfoBuffer for $name {
            const INFO_TYPE: InfoType = InfoType::$itype;
            const CLASS: u8 = $class.code();
            fn encode(&self, out: &mut Vec<u8>) {
                $(Wire::put(self.$f, out);)*
                out.put_bytes(0, $res);
            }
            fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
                let mut r = Reader::new(buf, stringify!($name));
                $(let $f = <$ft as Wire>::get(&mut r)?;)*
                r.take($res)?;
                Ok(Self { $($f,)* })
            }
        }
    };
}

// ----- file information (MS-FSCC 2.4) -----

fixed_info! {
    /// FILE_BASIC_INFORMATION (MS-FSCC 2.4.7). For SET_INFO, a time of 0 leaves it
    /// unchanged and -1 (u64::MAX) stops automatic updates.
    FileBasicInformation: File FileInfoClass::Basic, reserved 4 {
        creation_time: u64,
        last_access_time: u64,
        last_write_time: u64,
        change_time: u64,
        file_attributes: u32,
    }
}

fixed_info! {
    /// FILE_STANDARD_INFORMATION (MS-FSCC 2.4.47).
    FileStandardInformation: File FileInfoClass::Standard, reserved 2 {
        allocation_size: u64,
        end_of_file: u64,
        number_of_links: u32,
        delete_pending: bool,
        directory: bool,
    }
}

fixed_info! {
    /// FILE_INTERNAL_INFORMATION (MS-FSCC 2.4.26).
    FileInternalInformation: File FileInfoClass::Internal, reserved 0 {
        index_number: u64,
    }
}

fixed_info! {
    /// FILE_EA_INFORMATION (MS-FSCC 2.4.13).
    FileEaInformation: File FileInfoClass::Ea, reserved 0 {
        ea_size: u32,
    }
}

fixed_info! {
    /// FILE_ACCESS_INFORMATION (MS-FSCC 2.4.1).
    FileAccessInformation: File FileInfoClass::Access, reserved 0 {
        access_flags: u32,
    }
}

fixed_info! {
    /// FILE_POSITION_INFORMATION (MS-FSCC 2.4.40).
    FilePositionInformation: File FileInfoClass::Position, reserved 0 {
        current_byte_offset: u64,
    }
}

fixed_info! {
    /// FILE_MODE_INFORMATION (MS-FSCC 2.4.31).
    FileModeInformation: File FileInfoClass::Mode, reserved 0 {
        mode: u32,
    }
}

fixed_info! {
    /// FILE_ALIGNMENT_INFORMATION (MS-FSCC 2.4.3).
    FileAlignmentInformation: File FileInfoClass::Alignment, reserved 0 {
        alignment_requirement: u32,
    }
}

fixed_info! {
    /// FILE_NETWORK_OPEN_INFORMATION (MS-FSCC 2.4.34).
    FileNetworkOpenInformation: File FileInfoClass::NetworkOpen, reserved 4 {
        creation_time: u64,
        last_access_time: u64,
        last_write_time: u64,
        change_time: u64,
        allocation_size: u64,
        end_of_file: u64,
        file_attributes: u32,
    }
}

fixed_info! {
    /// FILE_ATTRIBUTE_TAG_INFORMATION (MS-FSCC 2.4.6).
    FileAttributeTagInformation: File FileInfoClass::AttributeTag, reserved 0 {
        file_attributes: u32,
        reparse_tag: u32,
    }
}

fixed_info! {
    /// FILE_COMPRESSION_INFORMATION (MS-FSCC 2.4.9).
    FileCompressionInformation: File FileInfoClass::Compression, reserved 3 {
        compressed_file_size: u64,
        compression_format: u16,
        compression_unit_shift: u8,
        chunk_shift: u8,
        cluster_shift: u8,
    }
}

fixed_info! {
    /// FILE_DISPOSITION_INFORMATION (MS-FSCC 2.4.11), set side.
    FileDispositionInformation: File FileInfoClass::Disposition, reserved 0 {
        delete_pending: bool,
    }
}

fixed_info! {
    /// FILE_END_OF_FILE_INFORMATION (MS-FSCC 2.4.14), set side.
    FileEndOfFileInformation: File FileInfoClass::EndOfFile, reserved 0 {
        end_of_file: u64,
    }
}

fixed_info! {
    /// FILE_ALLOCATION_INFORMATION (MS-FSCC 2.4.4), set side.
    FileAllocationInformation: File FileInfoClass::Allocation, reserved 0 {
        allocation_size: u64,
    }
}

/// FILE_NAME_INFORMATION (MS-FSCC 2.4.28): FileNameLength (4) + FileName.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileNameInformation {
    pub file_name: String,
}

impl InfoBuffer for FileNameInformation {
    const INFO_TYPE: InfoType = InfoType::File;
    const CLASS: u8 = FileInfoClass::Name.code();
    fn encode(&self, out: &mut Vec<u8>) {
        let name = utf16le(&self.file_name);
        out.put_u32_le(len32(name.len()));
        out.put_slice(&name);
    }
    fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf, "FILE_NAME_INFORMATION");
        let n = r.u32()? as usize;
        Ok(Self {
            file_name: r.utf16(n)?,
        })
    }
}

/// FILE_ALL_INFORMATION (MS-FSCC 2.4.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileAllInformation {
    pub basic: FileBasicInformation,
    pub standard: FileStandardInformation,
    pub internal: FileInternalInformation,
    pub ea: FileEaInformation,
    pub access: FileAccessInformation,
    pub position: FilePositionInformation,
    pub mode: FileModeInformation,
    pub alignment: FileAlignmentInformation,
    pub name: FileNameInformation,
}

/// Decodes a fixed-size part of a composite structure and advances past it.
fn part<T: InfoBuffer>(buf: &mut &[u8], size: usize) -> Result<T, DecodeError> {
    let v = T::decode(buf)?;
    *buf = buf.get(size..).ok_or(DecodeError::Truncated {
        what: "FILE_ALL_INFORMATION",
    })?;
    Ok(v)
}

impl InfoBuffer for FileAllInformation {
    const INFO_TYPE: InfoType = InfoType::File;
    const CLASS: u8 = FileInfoClass::All.code();
    fn encode(&self, out: &mut Vec<u8>) {
        self.basic.encode(out);
        self.standard.encode(out);
        self.internal.encode(out);
        self.ea.encode(out);
        self.access.encode(out);
        self.position.encode(out);
        self.mode.encode(out);
        self.alignment.encode(out);
        self.name.encode(out);
    }
    fn decode(mut buf: &[u8]) -> Result<Self, DecodeError> {
        let b = &mut buf;
        Ok(Self {
            basic: part(b, FileBasicInformation::SIZE)?,
            standard: part(b, FileStandardInformation::SIZE)?,
            internal: part(b, FileInternalInformation::SIZE)?,
            ea: part(b, FileEaInformation::SIZE)?,
            access: part(b, FileAccessInformation::SIZE)?,
            position: part(b, FilePositionInformation::SIZE)?,
            mode: part(b, FileModeInformation::SIZE)?,
            alignment: part(b, FileAlignmentInformation::SIZE)?,
            name: FileNameInformation::decode(b)?,
        })
    }
}

/// One FILE_STREAM_INFORMATION entry (MS-FSCC 2.4.49).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamEntry {
    /// E.g. `::$DATA` or `:name:$DATA`.
    pub stream_name: String,
    pub stream_size: u64,
    pub stream_allocation_size: u64,
}

/// FILE_STREAM_INFORMATION list (MS-FSCC 2.4.49), entries 8-byte aligned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileStreamInformation {
    pub entries: Vec<StreamEntry>,
}

impl InfoBuffer for FileStreamInformation {
    const INFO_TYPE: InfoType = InfoType::File;
    const CLASS: u8 = FileInfoClass::Stream.code();
    fn encode(&self, out: &mut Vec<u8>) {
        encode_chain(out, &self.entries, 8, |e, out| {
            let name = utf16le(&e.stream_name);
            out.put_u32_le(len32(name.len()));
            out.put_u64_le(e.stream_size);
            out.put_u64_le(e.stream_allocation_size);
            out.put_slice(&name);
        });
    }
    fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let entries = walk_chain(buf, 24, "FILE_STREAM_INFORMATION")?
            .into_iter()
            .map(|e| {
                let mut r = Reader::new(e, "FILE_STREAM_INFORMATION");
                r.u32()?;
                let n = r.u32()? as usize;
                let stream_size = r.u64()?;
                let stream_allocation_size = r.u64()?;
                Ok(StreamEntry {
                    stream_name: r.utf16(n)?,
                    stream_size,
                    stream_allocation_size,
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        Ok(Self { entries })
    }
}

/// One FILE_FULL_EA_INFORMATION entry (MS-FSCC 2.4.15).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EaEntry {
    /// FILE_NEED_EA (0x80).
    pub flags: u8,
    /// 8-bit name without the terminating NUL (at most 255 bytes are sent).
    pub name: Bytes,
    pub value: Bytes,
}

/// FILE_FULL_EA_INFORMATION list (MS-FSCC 2.4.15), entries 4-byte aligned. Used by
/// QUERY_INFO/SET_INFO (class 15) and the ExtA create context.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileFullEaInformation {
    pub entries: Vec<EaEntry>,
}

impl FileFullEaInformation {
    pub(crate) fn encode_entries(entries: &[EaEntry], out: &mut Vec<u8>) {
        encode_chain(out, entries, 4, |e, out| {
            let name = &e.name[..e.name.len().min(255)];
            let value = &e.value[..e.value.len().min(usize::from(u16::MAX))];
            out.put_u8(e.flags);
            out.put_u8(name.len() as u8);
            out.put_u16_le(value.len() as u16);
            out.put_slice(name);
            out.put_u8(0);
            out.put_slice(value);
        });
    }

    pub(crate) fn decode_entries(buf: &[u8]) -> Result<Vec<EaEntry>, DecodeError> {
        walk_chain(buf, 9, "FILE_FULL_EA_INFORMATION")?
            .into_iter()
            .map(|e| {
                let mut r = Reader::new(e, "FILE_FULL_EA_INFORMATION");
                r.u32()?;
                let flags = r.u8()?;
                let nl = r.u8()?;
                let vl = r.u16()?;
                let name = Bytes::copy_from_slice(r.take(nl.into())?);
                r.u8()?; // the NUL after the name
                let value = Bytes::copy_from_slice(r.take(vl.into())?);
                Ok(EaEntry { flags, name, value })
            })
            .collect()
    }
}

impl InfoBuffer for FileFullEaInformation {
    const INFO_TYPE: InfoType = InfoType::File;
    const CLASS: u8 = FileInfoClass::FullEa.code();
    fn encode(&self, out: &mut Vec<u8>) {
        Self::encode_entries(&self.entries, out);
    }
    fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        Ok(Self {
            entries: Self::decode_entries(buf)?,
        })
    }
}

/// Defines the SMB2 (TYPE_2) form of FILE_RENAME_INFORMATION / FILE_LINK_INFORMATION:
/// ReplaceIfExists (1), Reserved (7), RootDirectory (8), FileNameLength (4), FileName.
macro_rules! rename_like {
    ($(#[$m:meta])* $name:ident, $class:expr, $what:literal) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct $name {
            pub replace_if_exists: bool,
            /// 0 for SMB2 (names are share-relative).
            pub root_directory: u64,
            /// Target path relative to the share root.
            pub file_name: String,
        }

        impl InfoBuffer for $name {
            const INFO_TYPE: InfoType = InfoType::File;
            const CLASS: u8 = $class.code();
            fn encode(&self, out: &mut Vec<u8>) {
                let start = out.len();
                let name = utf16le(&self.file_name);
                out.put_u8(self.replace_if_exists.into());
                out.put_bytes(0, 7);
                out.put_u64_le(self.root_directory);
                out.put_u32_le(len32(name.len()));
                out.put_slice(&name);
                // Servers expect at least the 24-byte C structure size.
                while out.len() - start < 24 {
                    out.push(0);
                }
            }
            fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
                let mut r = Reader::new(buf, $what);
                let replace_if_exists = r.u8()? != 0;
                r.take(7)?;
                let root_directory = r.u64()?;
                let n = r.u32()? as usize;
                Ok(Self {
                    replace_if_exists,
                    root_directory,
                    file_name: r.utf16(n)?,
                })
            }
        }
    };
}

rename_like! {
    /// FILE_RENAME_INFORMATION_TYPE_2 (MS-FSCC 2.4.37.2), set side.
    FileRenameInformation, FileInfoClass::Rename, "FILE_RENAME_INFORMATION"
}

rename_like! {
    /// FILE_LINK_INFORMATION_TYPE_2 (MS-FSCC 2.4.27.2), set side.
    FileLinkInformation, FileInfoClass::Link, "FILE_LINK_INFORMATION"
}

// ----- file system information (MS-FSCC 2.5) -----

/// FILE_FS_VOLUME_INFORMATION (MS-FSCC 2.5.9).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileFsVolumeInformation {
    pub volume_creation_time: u64,
    pub volume_serial_number: u32,
    pub supports_objects: bool,
    pub volume_label: String,
}

impl InfoBuffer for FileFsVolumeInformation {
    const INFO_TYPE: InfoType = InfoType::FileSystem;
    const CLASS: u8 = FsInfoClass::Volume.code();
    fn encode(&self, out: &mut Vec<u8>) {
        let label = utf16le(&self.volume_label);
        out.put_u64_le(self.volume_creation_time);
        out.put_u32_le(self.volume_serial_number);
        out.put_u32_le(len32(label.len()));
        out.put_u8(self.supports_objects.into());
        out.put_u8(0);
        out.put_slice(&label);
    }
    fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf, "FILE_FS_VOLUME_INFORMATION");
        let volume_creation_time = r.u64()?;
        let volume_serial_number = r.u32()?;
        let n = r.u32()? as usize;
        let supports_objects = r.u8()? != 0;
        r.u8()?;
        Ok(Self {
            volume_creation_time,
            volume_serial_number,
            supports_objects,
            volume_label: r.utf16(n)?,
        })
    }
}

fixed_info! {
    /// FILE_FS_SIZE_INFORMATION (MS-FSCC 2.5.8).
    FileFsSizeInformation: FileSystem FsInfoClass::Size, reserved 0 {
        total_allocation_units: u64,
        available_allocation_units: u64,
        sectors_per_allocation_unit: u32,
        bytes_per_sector: u32,
    }
}

fixed_info! {
    /// FILE_FS_FULL_SIZE_INFORMATION (MS-FSCC 2.5.4).
    FileFsFullSizeInformation: FileSystem FsInfoClass::FullSize, reserved 0 {
        total_allocation_units: u64,
        caller_available_allocation_units: u64,
        actual_available_allocation_units: u64,
        sectors_per_allocation_unit: u32,
        bytes_per_sector: u32,
    }
}

fixed_info! {
    /// FILE_FS_DEVICE_INFORMATION (MS-FSCC 2.5.10).
    FileFsDeviceInformation: FileSystem FsInfoClass::Device, reserved 0 {
        device_type: u32,
        characteristics: u32,
    }
}

fixed_info! {
    /// FILE_FS_SECTOR_SIZE_INFORMATION (MS-FSCC 2.5.7).
    FileFsSectorSizeInformation: FileSystem FsInfoClass::SectorSize, reserved 0 {
        logical_bytes_per_sector: u32,
        physical_bytes_per_sector_for_atomicity: u32,
        physical_bytes_per_sector_for_performance: u32,
        file_system_effective_physical_bytes_per_sector_for_atomicity: u32,
        flags: u32,
        byte_offset_for_sector_alignment: u32,
        byte_offset_for_partition_alignment: u32,
    }
}

/// FILE_FS_ATTRIBUTE_INFORMATION (MS-FSCC 2.5.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileFsAttributeInformation {
    /// FILE_CASE_SENSITIVE_SEARCH (0x1), FILE_SUPPORTS_SPARSE_FILES (0x40), ...
    pub file_system_attributes: u32,
    pub maximum_component_name_length: u32,
    /// E.g. "NTFS".
    pub file_system_name: String,
}

impl InfoBuffer for FileFsAttributeInformation {
    const INFO_TYPE: InfoType = InfoType::FileSystem;
    const CLASS: u8 = FsInfoClass::Attribute.code();
    fn encode(&self, out: &mut Vec<u8>) {
        let name = utf16le(&self.file_system_name);
        out.put_u32_le(self.file_system_attributes);
        out.put_u32_le(self.maximum_component_name_length);
        out.put_u32_le(len32(name.len()));
        out.put_slice(&name);
    }
    fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf, "FILE_FS_ATTRIBUTE_INFORMATION");
        let file_system_attributes = r.u32()?;
        let maximum_component_name_length = r.u32()?;
        let n = r.u32()? as usize;
        Ok(Self {
            file_system_attributes,
            maximum_component_name_length,
            file_system_name: r.utf16(n)?,
        })
    }
}

/// FILE_FS_OBJECTID_INFORMATION (MS-FSCC 2.5.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileFsObjectIdInformation {
    pub object_id: [u8; 16],
    pub extended_info: [u8; 48],
}

impl Default for FileFsObjectIdInformation {
    fn default() -> Self {
        Self {
            object_id: [0; 16],
            extended_info: [0; 48],
        }
    }
}

impl InfoBuffer for FileFsObjectIdInformation {
    const INFO_TYPE: InfoType = InfoType::FileSystem;
    const CLASS: u8 = FsInfoClass::ObjectId.code();
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_slice(&self.object_id);
        out.put_slice(&self.extended_info);
    }
    fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf, "FILE_FS_OBJECTID_INFORMATION");
        Ok(Self {
            object_id: r.array()?,
            extended_info: r.array()?,
        })
    }
}

// ----- dynamic dispatch by class -----

/// Defines an enum over typed info structures with decode-by-class and a raw fallback.
macro_rules! info_enum {
    ($(#[$m:meta])* $name:ident($class:ident) { $($var:ident($ty:ty)),* $(,)? }) => {
        $(#[$m])*
        #[non_exhaustive]
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum $name {
            $($var($ty),)*
            /// A class this crate does not type: the buffer, raw.
            Unknown { class: $class, data: Bytes },
        }

        impl $name {
            /// Decodes `buf` as information class `class`; classes without a typed form
            /// stay raw.
            pub fn decode(class: $class, buf: &[u8]) -> Result<Self, DecodeError> {
                Ok(match class.code() {
                    $(c if c == <$ty as InfoBuffer>::CLASS => Self::$var(<$ty>::decode(buf)?),)*
                    _ => Self::Unknown {
                        class,
                        data: Bytes::copy_from_slice(buf),
                    },
                })
            }

            /// The information class.
            pub fn class(&self) -> $class {
                match self {
                    $(Self::$var(_) => $class::from_code(<$ty as InfoBuffer>::CLASS),)*
                    Self::Unknown { class, .. } => *class,
                }
            }

            /// Appends the buffer.
            pub fn encode(&self, out: &mut Vec<u8>) {
                match self {
                    $(Self::$var(v) => v.encode(out),)*
                    Self::Unknown { data, .. } => out.put_slice(data),
                }
            }
        }
    };
}

info_enum! {
    /// Any file information buffer (InfoType FILE).
    FileInfo(FileInfoClass) {
        Basic(FileBasicInformation),
        Standard(FileStandardInformation),
        Internal(FileInternalInformation),
        Ea(FileEaInformation),
        Access(FileAccessInformation),
        Name(FileNameInformation),
        Rename(FileRenameInformation),
        Link(FileLinkInformation),
        Disposition(FileDispositionInformation),
        Position(FilePositionInformation),
        FullEa(FileFullEaInformation),
        Mode(FileModeInformation),
        Alignment(FileAlignmentInformation),
        All(FileAllInformation),
        Allocation(FileAllocationInformation),
        EndOfFile(FileEndOfFileInformation),
        Stream(FileStreamInformation),
        Compression(FileCompressionInformation),
        NetworkOpen(FileNetworkOpenInformation),
        AttributeTag(FileAttributeTagInformation),
    }
}

info_enum! {
    /// Any file system information buffer (InfoType FILESYSTEM).
    FsInfo(FsInfoClass) {
        Volume(FileFsVolumeInformation),
        Size(FileFsSizeInformation),
        Device(FileFsDeviceInformation),
        Attribute(FileFsAttributeInformation),
        FullSize(FileFsFullSizeInformation),
        ObjectId(FileFsObjectIdInformation),
        SectorSize(FileFsSectorSizeInformation),
    }
}

// ----- directory entries (MS-FSCC 2.4.10, 2.4.14, 2.4.17, 2.4.18, 2.4.33) -----

/// One directory entry of any directory information class. Fields a class does not
/// carry are zero/empty (e.g. `short_name` outside the *Both* classes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectoryEntry {
    pub file_index: u32,
    pub creation_time: u64,
    pub last_access_time: u64,
    pub last_write_time: u64,
    pub change_time: u64,
    pub end_of_file: u64,
    pub allocation_size: u64,
    pub file_attributes: u32,
    /// EaSize, or the reparse tag when the entry has FILE_ATTRIBUTE_REPARSE_POINT
    /// (Full, Both, IdFull, IdBoth classes).
    pub ea_size: u32,
    /// 8.3 name (Both, IdBoth; at most 12 characters).
    pub short_name: String,
    /// FileId (IdFull, IdBoth).
    pub file_id: u64,
    pub file_name: String,
}

/// Size of the fixed part of an entry of `class`, if it is a directory class this crate
/// types.
pub fn directory_entry_size(class: FileInfoClass) -> Option<usize> {
    Some(match class {
        FileInfoClass::Directory => 64,
        FileInfoClass::FullDirectory => 68,
        FileInfoClass::IdFullDirectory => 80,
        FileInfoClass::BothDirectory => 94,
        FileInfoClass::IdBothDirectory => 104,
        FileInfoClass::Names => 12,
        _ => return None,
    })
}

/// Decodes a QUERY_DIRECTORY output buffer of `class`, following NextEntryOffset.
/// Lying offsets and lengths are errors; an empty buffer is an empty list.
pub fn parse_directory(
    class: FileInfoClass,
    buf: &[u8],
) -> Result<Vec<DirectoryEntry>, DecodeError> {
    let fixed = directory_entry_size(class).ok_or(DecodeError::Invalid {
        what: "directory information class",
    })?;
    walk_chain(buf, fixed, "directory entry")?
        .into_iter()
        .map(|e| decode_entry(class, e))
        .collect()
}

fn decode_entry(class: FileInfoClass, e: &[u8]) -> Result<DirectoryEntry, DecodeError> {
    let mut r = Reader::new(e, "directory entry");
    let mut d = DirectoryEntry::default();
    r.u32()?; // NextEntryOffset
    d.file_index = r.u32()?;
    if class == FileInfoClass::Names {
        let n = r.u32()? as usize;
        d.file_name = r.utf16(n)?;
        return Ok(d);
    }
    d.creation_time = r.u64()?;
    d.last_access_time = r.u64()?;
    d.last_write_time = r.u64()?;
    d.change_time = r.u64()?;
    d.end_of_file = r.u64()?;
    d.allocation_size = r.u64()?;
    d.file_attributes = r.u32()?;
    let name_len = r.u32()? as usize;
    match class {
        FileInfoClass::FullDirectory => d.ea_size = r.u32()?,
        FileInfoClass::IdFullDirectory => {
            d.ea_size = r.u32()?;
            r.u32()?;
            d.file_id = r.u64()?;
        }
        FileInfoClass::BothDirectory | FileInfoClass::IdBothDirectory => {
            d.ea_size = r.u32()?;
            let sl = r.u8()?;
            r.u8()?;
            let short: [u8; 24] = r.array()?;
            let short = short.get(..sl.into()).ok_or(DecodeError::Invalid {
                what: "ShortNameLength",
            })?;
            d.short_name = from_utf16le(short);
            if class == FileInfoClass::IdBothDirectory {
                r.u16()?;
                d.file_id = r.u64()?;
            }
        }
        _ => {}
    }
    d.file_name = r.utf16(name_len)?;
    Ok(d)
}

/// Encodes directory entries of `class` (8-byte aligned, NextEntryOffset linked), the
/// way a server fills a QUERY_DIRECTORY response. `None` for a non-directory class.
pub fn encode_directory(class: FileInfoClass, entries: &[DirectoryEntry]) -> Option<Vec<u8>> {
    directory_entry_size(class)?;
    let mut out = Vec::new();
    encode_chain(&mut out, entries, 8, |d, out| {
        let name = utf16le(&d.file_name);
        out.put_u32_le(d.file_index);
        if class == FileInfoClass::Names {
            out.put_u32_le(len32(name.len()));
            out.put_slice(&name);
            return;
        }
        for t in [
            d.creation_time,
            d.last_access_time,
            d.last_write_time,
            d.change_time,
            d.end_of_file,
            d.allocation_size,
        ] {
            out.put_u64_le(t);
        }
        out.put_u32_le(d.file_attributes);
        out.put_u32_le(len32(name.len()));
        match class {
            FileInfoClass::FullDirectory => out.put_u32_le(d.ea_size),
            FileInfoClass::IdFullDirectory => {
                out.put_u32_le(d.ea_size);
                out.put_u32_le(0);
                out.put_u64_le(d.file_id);
            }
            FileInfoClass::BothDirectory | FileInfoClass::IdBothDirectory => {
                let mut short = utf16le(&d.short_name);
                short.truncate(24);
                out.put_u32_le(d.ea_size);
                out.put_u8(short.len() as u8);
                out.put_u8(0);
                out.put_slice(&short);
                out.put_bytes(0, 24 - short.len());
                if class == FileInfoClass::IdBothDirectory {
                    out.put_u16_le(0);
                    out.put_u64_le(d.file_id);
                }
            }
            _ => {}
        }
        out.put_slice(&name);
    });
    Some(out)
}
