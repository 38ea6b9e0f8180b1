//! Milestone 3 codec: IOCTL, QUERY_DIRECTORY, QUERY_INFO, SET_INFO, information classes
//! and typed create contexts. Round trips, known bytes from the spec layouts, every
//! truncation, lying offsets/lengths/NextEntryOffset, and random bytes: a typed error
//! (or a value), never a panic.

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::Bytes;
use pike_core::wire::*;

fn message(header: &Header, encode: impl Fn(&mut Vec<u8>, usize)) -> Vec<u8> {
    let mut out = vec![0xAA; 4]; // a non-zero base proves offsets are header-relative
    let base = out.len();
    header.encode(&mut out);
    encode(&mut out, base);
    out.split_off(base)
}

fn header(command: Command, response: bool) -> Header {
    let mut flags = HeaderFlags::default();
    flags.set(HeaderFlags::SERVER_TO_REDIR, response);
    Header {
        credit_charge: 1,
        status: NtStatus::SUCCESS,
        command,
        credits: 1,
        flags,
        next_command: 0,
        message_id: MessageId(5),
        process_id: 0xFEFF,
        tree_id: TreeId(1),
        async_id: AsyncId(0),
        session_id: SessionId(9),
        signature: [0; 16],
    }
}

/// Round trip + every truncation of the message must decode to `Err`, never panic.
fn check<T: PartialEq + std::fmt::Debug>(
    value: &T,
    command: Command,
    response: bool,
    encode: impl Fn(&T, &mut Vec<u8>, usize),
    decode: impl Fn(&[u8]) -> Result<T, DecodeError>,
) -> Vec<u8> {
    let h = header(command, response);
    let msg = message(&h, |out, base| encode(value, out, base));
    let back = decode(&msg).unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert_eq!(&back, value, "{command:?} round trip");
    for cut in 0..msg.len() {
        if let Ok(v) = decode(&msg[..cut]) {
            assert!(
                cut >= HEADER_LEN,
                "{command:?} decoded from {cut} bytes: {v:?}"
            );
        }
    }
    // The body dispatch types it too.
    let hb = Header::decode(&msg).expect("header");
    if response {
        let b = ResponseBody::decode(&hb, &Bytes::from(msg.clone())).expect("dispatch");
        assert!(!matches!(b, ResponseBody::Raw { .. }), "{command:?} typed");
    } else {
        let b = RequestBody::decode(&hb, &msg).expect("dispatch");
        assert!(!matches!(b, RequestBody::Raw { .. }), "{command:?} typed");
    }
    msg
}

/// Round trip of a plain buffer; every prefix shorter than `min` must fail.
fn check_buf<T: PartialEq + std::fmt::Debug>(
    value: &T,
    bytes: &[u8],
    min: usize,
    decode: impl Fn(&[u8]) -> Result<T, DecodeError>,
) {
    assert_eq!(&decode(bytes).expect("decode"), value);
    for cut in 0..min.min(bytes.len()) {
        assert!(
            decode(&bytes[..cut]).is_err(),
            "{value:?} decoded from {cut} of {} bytes",
            bytes.len()
        );
    }
}

fn check_info<T: InfoBuffer + PartialEq + std::fmt::Debug>(value: &T, min: usize) -> Bytes {
    let b = value.to_bytes();
    check_buf(value, &b, min, T::decode);
    b
}

fn u16s(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn u32s(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn u64s(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}

const FID: FileId = FileId {
    persistent: 0x1111,
    volatile: 0x2222,
};

// ----- PDUs -----

#[test]
fn ioctl_round_trip() {
    let strip = |mut r: IoctlRequest| {
        r.input_offset = None;
        r.input_count = None;
        r.output_offset = None;
        r.output_count = None;
        r
    };
    let req = IoctlRequest {
        ctl_code: fsctl::FSCTL_PIPE_TRANSCEIVE,
        file_id: FID,
        input: Bytes::from_static(b"dcerpc request bytes"),
        max_input_response: 0,
        output: Bytes::from_static(b"out"),
        max_output_response: 4280,
        flags: IoctlRequest::IS_FSCTL,
        ..Default::default()
    };
    let msg = check(&req, Command::Ioctl, false, IoctlRequest::encode, |m| {
        IoctlRequest::decode(m).map(strip)
    });
    // InputOffset right after the 56 fixed bytes; OutputOffset 8-aligned after it.
    let d = IoctlRequest::decode(&msg).unwrap();
    assert_eq!(d.input_offset, Some(120));
    assert_eq!(d.output_offset, Some(144));
    assert_eq!(req.payload_size(), 4280);
    let empty = IoctlRequest::fsctl(
        fsctl::FSCTL_QUERY_NETWORK_INTERFACE_INFO,
        FileId::RELATED,
        Bytes::new(),
        65536,
    );
    check(&empty, Command::Ioctl, false, IoctlRequest::encode, |m| {
        IoctlRequest::decode(m).map(strip)
    });
    assert_eq!(empty.payload_size(), 65536);

    let resp = IoctlResponse {
        ctl_code: fsctl::FSCTL_SRV_REQUEST_RESUME_KEY,
        file_id: FID,
        input: Bytes::from_static(b"in"),
        output: Bytes::from(vec![7; 28]),
        flags: 0,
    };
    check(
        &resp,
        Command::Ioctl,
        true,
        IoctlResponse::encode,
        IoctlResponse::decode,
    );
    check(
        &IoctlResponse::default(),
        Command::Ioctl,
        true,
        IoctlResponse::encode,
        IoctlResponse::decode,
    );
}

#[test]
fn ioctl_known_bytes() {
    // MS-SMB2 2.2.32: an IOCTL response carrying a 24-byte VALIDATE_NEGOTIATE_INFO
    // output at offset 112 (0x70), InputCount 0.
    let mut msg = Vec::new();
    header(Command::Ioctl, true).encode(&mut msg);
    u16s(&mut msg, 49);
    u16s(&mut msg, 0);
    u32s(&mut msg, fsctl::FSCTL_VALIDATE_NEGOTIATE_INFO);
    msg.extend_from_slice(&[0xFF; 16]);
    u32s(&mut msg, 0x70); // InputOffset
    u32s(&mut msg, 0); // InputCount
    u32s(&mut msg, 0x70); // OutputOffset
    u32s(&mut msg, 24); // OutputCount
    u32s(&mut msg, 0); // Flags
    u32s(&mut msg, 0); // Reserved2
    assert_eq!(msg.len(), 0x70);
    u32s(&mut msg, 0x2F); // Capabilities
    msg.extend_from_slice(&[0x42; 16]); // Guid
    u16s(&mut msg, 1); // SecurityMode
    u16s(&mut msg, 0x0311); // Dialect
    let r = IoctlResponse::decode(&msg).expect("decode");
    assert_eq!(r.file_id, FileId::RELATED);
    assert!(r.input.is_empty());
    let v = ValidateNegotiateInfoResponse::decode(&r.output).expect("validate");
    assert_eq!(
        v,
        ValidateNegotiateInfoResponse {
            capabilities: Capabilities(0x2F),
            guid: [0x42; 16],
            security_mode: SecurityMode(1),
            dialect: Dialect::Smb311,
        }
    );
    // Output past the end is an error.
    let mut bad = msg.clone();
    bad[64 + 36..64 + 40].copy_from_slice(&25u32.to_le_bytes());
    assert!(matches!(
        IoctlResponse::decode(&bad),
        Err(DecodeError::OutOfBounds { .. })
    ));
    let mut bad = msg.clone();
    bad[64 + 32..64 + 36].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(IoctlResponse::decode(&bad).is_err());
    let mut bad = msg;
    bad[64] = 48;
    assert!(matches!(
        IoctlResponse::decode(&bad),
        Err(DecodeError::StructureSize { expected: 49, .. })
    ));
}

#[test]
fn query_directory_round_trip() {
    let strip = |mut r: QueryDirectoryRequest| {
        r.file_name_offset = None;
        r.file_name_length = None;
        r
    };
    let req = QueryDirectoryRequest {
        info_class: FileInfoClass::IdBothDirectory,
        flags: QueryDirectoryRequest::RESTART_SCANS,
        file_index: 0,
        file_id: FID,
        file_name: "*.txt".into(),
        output_buffer_length: 65536,
        ..Default::default()
    };
    let msg = check(
        &req,
        Command::QueryDirectory,
        false,
        QueryDirectoryRequest::encode,
        |m| QueryDirectoryRequest::decode(m).map(strip),
    );
    // MS-SMB2 2.2.33: FileNameOffset 96, FileNameLength 10, OutputBufferLength 65536.
    assert_eq!(&msg[64..68], &[33, 0, 37, 1]);
    assert_eq!(&msg[64 + 24..64 + 32], &[96, 0, 10, 0, 0, 0, 1, 0]);
    assert_eq!(req.payload_size(), 65536);
    let empty = QueryDirectoryRequest {
        file_name: String::new(),
        ..req.clone()
    };
    check(
        &empty,
        Command::QueryDirectory,
        false,
        QueryDirectoryRequest::encode,
        |m| QueryDirectoryRequest::decode(m).map(strip),
    );
    // Lying name length.
    let mut bad = msg;
    bad[64 + 26] = 200;
    assert!(QueryDirectoryRequest::decode(&bad).is_err());

    let entries = vec![DirectoryEntry {
        file_name: "a.txt".into(),
        file_id: 5,
        short_name: "A.TXT".into(),
        ..Default::default()
    }];
    let resp = QueryDirectoryResponse {
        output: Bytes::from(encode_directory(FileInfoClass::IdBothDirectory, &entries).unwrap()),
    };
    check(
        &resp,
        Command::QueryDirectory,
        true,
        QueryDirectoryResponse::encode,
        QueryDirectoryResponse::decode,
    );
    assert_eq!(
        resp.entries(FileInfoClass::IdBothDirectory).unwrap(),
        entries
    );
    check(
        &QueryDirectoryResponse::default(),
        Command::QueryDirectory,
        true,
        QueryDirectoryResponse::encode,
        QueryDirectoryResponse::decode,
    );
}

#[test]
fn query_and_set_info_round_trip() {
    let strip = |mut r: QueryInfoRequest| {
        r.input_buffer_offset = None;
        r.input_buffer_length = None;
        r
    };
    let req = QueryInfoRequest::for_class::<FileAllInformation>(FID, 4096);
    assert_eq!(req.info_type, InfoType::File);
    assert_eq!(req.file_info_class, 18);
    let msg = check(
        &req,
        Command::QueryInfo,
        false,
        QueryInfoRequest::encode,
        |m| QueryInfoRequest::decode(m).map(strip),
    );
    assert_eq!(&msg[64..68], &[41, 0, 1, 18]);
    let sec = QueryInfoRequest {
        input: Bytes::from_static(b"FILE_GET_EA_INFORMATION"),
        flags: QueryInfoRequest::RESTART_SCAN,
        ..QueryInfoRequest::security(
            FID,
            security_information::OWNER | security_information::DACL,
            1024,
        )
    };
    let msg = check(
        &sec,
        Command::QueryInfo,
        false,
        QueryInfoRequest::encode,
        |m| QueryInfoRequest::decode(m).map(strip),
    );
    assert_eq!(
        QueryInfoRequest::decode(&msg).unwrap().input_buffer_offset,
        Some(104)
    );
    assert_eq!(sec.payload_size(), 1024);
    let unknown = QueryInfoRequest {
        info_type: InfoType::Unknown(9),
        file_info_class: 0xEE,
        ..req.clone()
    };
    check(
        &unknown,
        Command::QueryInfo,
        false,
        QueryInfoRequest::encode,
        |m| QueryInfoRequest::decode(m).map(strip),
    );

    let basic = FileBasicInformation {
        creation_time: 1,
        last_access_time: 2,
        last_write_time: 3,
        change_time: 4,
        file_attributes: file_attributes::ARCHIVE,
    };
    let resp = QueryInfoResponse {
        output: basic.to_bytes(),
    };
    check(
        &resp,
        Command::QueryInfo,
        true,
        QueryInfoResponse::encode,
        QueryInfoResponse::decode,
    );
    assert_eq!(resp.parse::<FileBasicInformation>().unwrap(), basic);
    assert_eq!(
        resp.file_info(FileInfoClass::Basic).unwrap(),
        FileInfo::Basic(basic)
    );
    assert!(matches!(
        resp.file_info(FileInfoClass::Unknown(200)).unwrap(),
        FileInfo::Unknown { .. }
    ));

    let strip = |mut r: SetInfoRequest| {
        r.buffer_offset = None;
        r.buffer_length = None;
        r
    };
    let set = SetInfoRequest::new(
        FID,
        &FileRenameInformation {
            replace_if_exists: true,
            root_directory: 0,
            file_name: "dir\\new name.txt".into(),
        },
    );
    assert_eq!(set.file_info_class, 10);
    let msg = check(&set, Command::SetInfo, false, SetInfoRequest::encode, |m| {
        SetInfoRequest::decode(m).map(strip)
    });
    // MS-SMB2 2.2.39: BufferLength at 4, BufferOffset 96 at 8.
    assert_eq!(&msg[64 + 8..64 + 10], &[96, 0]);
    assert_eq!(set.payload_size(), set.buffer.len());
    let empty = SetInfoRequest {
        buffer: Bytes::new(),
        ..set
    };
    check(
        &empty,
        Command::SetInfo,
        false,
        SetInfoRequest::encode,
        |m| SetInfoRequest::decode(m).map(strip),
    );
    check(
        &SetInfoResponse,
        Command::SetInfo,
        true,
        SetInfoResponse::encode,
        SetInfoResponse::decode,
    );
}

// ----- information classes -----

#[test]
fn file_info_round_trips() {
    let basic = FileBasicInformation {
        creation_time: 0x01D0_0000_0000_0001,
        last_access_time: 2,
        last_write_time: 3,
        change_time: 4,
        file_attributes: 0x20,
    };
    assert_eq!(check_info(&basic, 40).len(), 40);
    let standard = FileStandardInformation {
        allocation_size: 4096,
        end_of_file: 10,
        number_of_links: 1,
        delete_pending: false,
        directory: true,
    };
    assert_eq!(check_info(&standard, 24).len(), 24);
    check_info(&FileInternalInformation { index_number: 77 }, 8);
    check_info(&FileEaInformation { ea_size: 3 }, 4);
    check_info(
        &FileAccessInformation {
            access_flags: 0x1F01FF,
        },
        4,
    );
    check_info(
        &FilePositionInformation {
            current_byte_offset: 9,
        },
        8,
    );
    check_info(&FileModeInformation { mode: 0x10 }, 4);
    check_info(
        &FileAlignmentInformation {
            alignment_requirement: 1,
        },
        4,
    );
    let name = FileNameInformation {
        file_name: "\\dir\\f.txt".into(),
    };
    check_info(&name, 24);
    let all = FileAllInformation {
        basic,
        standard,
        internal: FileInternalInformation { index_number: 1 },
        ea: FileEaInformation { ea_size: 0 },
        access: FileAccessInformation { access_flags: 1 },
        position: FilePositionInformation {
            current_byte_offset: 0,
        },
        mode: FileModeInformation { mode: 0 },
        alignment: FileAlignmentInformation {
            alignment_requirement: 0,
        },
        name: name.clone(),
    };
    let b = check_info(&all, 100 + 20);
    assert_eq!(b.len(), 120);
    let no = FileNetworkOpenInformation {
        creation_time: 1,
        last_access_time: 2,
        last_write_time: 3,
        change_time: 4,
        allocation_size: 5,
        end_of_file: 6,
        file_attributes: 7,
    };
    assert_eq!(check_info(&no, 56).len(), 56);
    check_info(
        &FileAttributeTagInformation {
            file_attributes: 0x400,
            reparse_tag: 0xA000_000C,
        },
        8,
    );
    let comp = FileCompressionInformation {
        compressed_file_size: 100,
        compression_format: 2,
        compression_unit_shift: 16,
        chunk_shift: 12,
        cluster_shift: 12,
    };
    assert_eq!(check_info(&comp, 16).len(), 16);
    let streams = FileStreamInformation {
        entries: vec![
            StreamEntry {
                stream_name: "::$DATA".into(),
                stream_size: 10,
                stream_allocation_size: 4096,
            },
            StreamEntry {
                stream_name: ":zone:$DATA".into(),
                stream_size: 26,
                stream_allocation_size: 32,
            },
        ],
    };
    let b = check_info(&streams, 0);
    // First entry: 24 + 14 = 38, padded to 40.
    assert_eq!(&b[..4], &40u32.to_le_bytes());
    for cut in 1..b.len() - 1 {
        assert!(FileStreamInformation::decode(&b[..cut]).is_err(), "{cut}");
    }
    check_info(&FileStreamInformation::default(), 0);
    let eas = FileFullEaInformation {
        entries: vec![
            EaEntry {
                flags: 0,
                name: Bytes::from_static(b"user.a"),
                value: Bytes::from_static(b"1"),
            },
            EaEntry {
                flags: 0x80,
                name: Bytes::from_static(b"B"),
                value: Bytes::new(),
            },
        ],
    };
    let b = check_info(&eas, 0);
    // 8 + 6 + 1 + 1 = 16 (already 4-aligned).
    assert_eq!(&b[..4], &16u32.to_le_bytes());
    for cut in 1..b.len() {
        assert!(FileFullEaInformation::decode(&b[..cut]).is_err(), "{cut}");
    }
    let rename = FileRenameInformation {
        replace_if_exists: true,
        root_directory: 0,
        file_name: "x".into(),
    };
    let b = check_info(&rename, 22);
    assert_eq!(b.len(), 24, "padded to the 24-byte structure");
    assert_eq!(
        &b[..],
        &[
            1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, b'x', 0, 0, 0
        ]
    );
    check_info(
        &FileLinkInformation {
            replace_if_exists: false,
            root_directory: 0,
            file_name: "hard link".into(),
        },
        38,
    );
    assert_eq!(
        check_info(
            &FileDispositionInformation {
                delete_pending: true
            },
            1
        )
        .as_ref(),
        &[1]
    );
    check_info(
        &FileEndOfFileInformation {
            end_of_file: 1 << 33,
        },
        8,
    );
    check_info(
        &FileAllocationInformation {
            allocation_size: 8192,
        },
        8,
    );
    // Dynamic dispatch matches the typed decoders.
    for (class, bytes) in [
        (FileInfoClass::All, all.to_bytes()),
        (FileInfoClass::Stream, streams.to_bytes()),
        (FileInfoClass::NetworkOpen, no.to_bytes()),
    ] {
        let v = FileInfo::decode(class, &bytes).unwrap();
        assert_eq!(v.class(), class);
        let mut out = Vec::new();
        v.encode(&mut out);
        assert_eq!(out, bytes);
    }
    // Lying FileNameLength.
    let mut b = name.to_bytes().to_vec();
    b[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(FileNameInformation::decode(&b).is_err());
}

#[test]
fn fs_info_round_trips() {
    let vol = FileFsVolumeInformation {
        volume_creation_time: 5,
        volume_serial_number: 0xABCD,
        supports_objects: false,
        volume_label: "DATA".into(),
    };
    assert_eq!(check_info(&vol, 26).len(), 26);
    check_info(
        &FileFsSizeInformation {
            total_allocation_units: 100,
            available_allocation_units: 50,
            sectors_per_allocation_unit: 8,
            bytes_per_sector: 512,
        },
        24,
    );
    check_info(
        &FileFsFullSizeInformation {
            total_allocation_units: 100,
            caller_available_allocation_units: 40,
            actual_available_allocation_units: 50,
            sectors_per_allocation_unit: 8,
            bytes_per_sector: 512,
        },
        32,
    );
    check_info(
        &FileFsDeviceInformation {
            device_type: 7,
            characteristics: 0x20,
        },
        8,
    );
    let attr = FileFsAttributeInformation {
        file_system_attributes: 0x0000_00FF,
        maximum_component_name_length: 255,
        file_system_name: "NTFS".into(),
    };
    let b = check_info(&attr, 20);
    // MS-FSCC 2.5.1 layout by hand.
    let mut want = Vec::new();
    u32s(&mut want, 0xFF);
    u32s(&mut want, 255);
    u32s(&mut want, 8);
    want.extend_from_slice(&[b'N', 0, b'T', 0, b'F', 0, b'S', 0]);
    assert_eq!(&b[..], &want[..]);
    assert_eq!(
        check_info(
            &FileFsSectorSizeInformation {
                logical_bytes_per_sector: 512,
                physical_bytes_per_sector_for_atomicity: 4096,
                physical_bytes_per_sector_for_performance: 4096,
                file_system_effective_physical_bytes_per_sector_for_atomicity: 4096,
                flags: 3,
                byte_offset_for_sector_alignment: 0,
                byte_offset_for_partition_alignment: 0,
            },
            28
        )
        .len(),
        28
    );
    let oid = FileFsObjectIdInformation {
        object_id: [3; 16],
        extended_info: [4; 48],
    };
    assert_eq!(check_info(&oid, 64).len(), 64);
    assert_eq!(
        FsInfo::decode(FsInfoClass::Attribute, &b).unwrap(),
        FsInfo::Attribute(attr)
    );
    assert_eq!(
        FsInfo::decode(FsInfoClass::Control, b"raw").unwrap(),
        FsInfo::Unknown {
            class: FsInfoClass::Control,
            data: Bytes::from_static(b"raw")
        }
    );
    assert_eq!(FsInfoClass::from_code(11), FsInfoClass::SectorSize);
    assert_eq!(FsInfoClass::from_code(200), FsInfoClass::Unknown(200));
    assert_eq!(FileInfoClass::from_code(37).code(), 37);
}

// ----- directory entries -----

const DIR_CLASSES: [FileInfoClass; 6] = [
    FileInfoClass::Directory,
    FileInfoClass::FullDirectory,
    FileInfoClass::BothDirectory,
    FileInfoClass::IdBothDirectory,
    FileInfoClass::IdFullDirectory,
    FileInfoClass::Names,
];

fn sample_entries(class: FileInfoClass) -> Vec<DirectoryEntry> {
    let names = [".", "..", "a file with a long name.txt"];
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let i = i as u64;
            let mut e = DirectoryEntry {
                file_index: i as u32,
                file_name: (*n).into(),
                ..Default::default()
            };
            if class != FileInfoClass::Names {
                e.creation_time = 100 + i;
                e.last_access_time = 200 + i;
                e.last_write_time = 300 + i;
                e.change_time = 400 + i;
                e.end_of_file = 10 * i;
                e.allocation_size = 4096 * i;
                e.file_attributes = if i < 2 { 0x10 } else { 0x20 };
            }
            if matches!(
                class,
                FileInfoClass::FullDirectory
                    | FileInfoClass::BothDirectory
                    | FileInfoClass::IdBothDirectory
                    | FileInfoClass::IdFullDirectory
            ) {
                e.ea_size = i as u32;
            }
            if matches!(
                class,
                FileInfoClass::BothDirectory | FileInfoClass::IdBothDirectory
            ) && i == 2
            {
                e.short_name = "AFILEW~1.TXT".into();
            }
            if matches!(
                class,
                FileInfoClass::IdBothDirectory | FileInfoClass::IdFullDirectory
            ) {
                e.file_id = 0x1000 + i;
            }
            e
        })
        .collect()
}

#[test]
fn directory_round_trips_and_truncations() {
    for class in DIR_CLASSES {
        let entries = sample_entries(class);
        let buf = encode_directory(class, &entries).unwrap();
        assert_eq!(parse_directory(class, &buf).unwrap(), entries, "{class:?}");
        for cut in 1..buf.len() {
            // The last entry's name ends the buffer: any cut loses part of it.
            assert!(
                parse_directory(class, &buf[..cut]).is_err(),
                "{class:?} cut {cut}"
            );
        }
        // Entries are 8-byte aligned.
        let next = u32::from_le_bytes(buf[..4].try_into().unwrap());
        assert_eq!(next % 8, 0);
    }
    assert!(parse_directory(FileInfoClass::Basic, &[0; 64]).is_err());
    assert!(encode_directory(FileInfoClass::Basic, &[]).is_none());
    assert_eq!(
        parse_directory(FileInfoClass::Directory, &[]).unwrap(),
        vec![]
    );
}

#[test]
fn both_directory_known_bytes() {
    // One FILE_BOTH_DIR_INFORMATION entry laid out by hand from MS-FSCC 2.4.17.
    let mut b = Vec::new();
    u32s(&mut b, 0); // NextEntryOffset
    u32s(&mut b, 7); // FileIndex
    u64s(&mut b, 0x01D9_0000_0000_0001); // CreationTime
    u64s(&mut b, 2); // LastAccessTime
    u64s(&mut b, 3); // LastWriteTime
    u64s(&mut b, 4); // ChangeTime
    u64s(&mut b, 1234); // EndOfFile
    u64s(&mut b, 4096); // AllocationSize
    u32s(&mut b, 0x20); // FileAttributes
    u32s(&mut b, 16); // FileNameLength
    u32s(&mut b, 0); // EaSize
    b.push(10); // ShortNameLength
    b.push(0); // Reserved
    let mut short = utf16le("LONGNA~1").to_vec();
    short.truncate(10); // "LONGN"
    short.resize(24, 0);
    b.extend_from_slice(&short);
    assert_eq!(b.len(), 94);
    b.extend_from_slice(&utf16le("longname"));
    let e = parse_directory(FileInfoClass::BothDirectory, &b).unwrap();
    assert_eq!(
        e,
        vec![DirectoryEntry {
            file_index: 7,
            creation_time: 0x01D9_0000_0000_0001,
            last_access_time: 2,
            last_write_time: 3,
            change_time: 4,
            end_of_file: 1234,
            allocation_size: 4096,
            file_attributes: 0x20,
            ea_size: 0,
            short_name: "LONGN".into(),
            file_id: 0,
            file_name: "longname".into(),
        }]
    );
    // Our encoder produces the same bytes.
    assert_eq!(
        encode_directory(FileInfoClass::BothDirectory, &e).unwrap(),
        b
    );
    // ShortNameLength beyond the 24-byte field.
    let mut bad = b.clone();
    bad[68] = 25;
    assert!(parse_directory(FileInfoClass::BothDirectory, &bad).is_err());
    // FileNameLength past the end.
    let mut bad = b.clone();
    bad[60..64].copy_from_slice(&18u32.to_le_bytes());
    assert!(parse_directory(FileInfoClass::BothDirectory, &bad).is_err());
}

#[test]
fn lying_next_entry_offsets() {
    let class = FileInfoClass::Directory;
    let buf = encode_directory(class, &sample_entries(class)).unwrap();
    for next in [1u32, 4, 8, 63, u32::MAX, buf.len() as u32, 0x1000_0000] {
        let mut bad = buf.clone();
        bad[..4].copy_from_slice(&next.to_le_bytes());
        assert!(parse_directory(class, &bad).is_err(), "next {next}");
    }
    // The name of an entry must not spill into the next one.
    let mut bad = buf.clone();
    bad[60..64].copy_from_slice(&10u32.to_le_bytes()); // "." is 2 bytes, entry is 72
    assert!(parse_directory(class, &bad).is_err());
    // A chain whose last Next points exactly at the end is a lie.
    let one = encode_directory(class, &sample_entries(class)[..1]).unwrap();
    let mut bad = one.clone();
    bad[..4].copy_from_slice(&(one.len() as u32).to_le_bytes());
    assert!(parse_directory(class, &bad).is_err());
    // Streams and EAs use the same guard.
    let mut s = FileStreamInformation {
        entries: vec![StreamEntry::default(); 2],
    }
    .to_bytes()
    .to_vec();
    s[..4].copy_from_slice(&8u32.to_le_bytes());
    assert!(FileStreamInformation::decode(&s).is_err());
}

// ----- typed IOCTL payloads -----

#[test]
fn ioctl_payloads() {
    let vreq = ValidateNegotiateInfoRequest {
        capabilities: Capabilities(Capabilities::LARGE_MTU),
        guid: [1; 16],
        security_mode: SecurityMode(SecurityMode::SIGNING_ENABLED),
        dialects: Dialect::ALL.to_vec(),
        dialect_count: Some(5),
    };
    let b = vreq.to_bytes();
    assert_eq!(b.len(), 24 + 10);
    assert_eq!(&b[22..26], &[5, 0, 0x02, 0x02]);
    check_buf(&vreq, &b, b.len(), ValidateNegotiateInfoRequest::decode);
    let mut lying = b.to_vec();
    lying[22] = 200;
    assert!(ValidateNegotiateInfoRequest::decode(&lying).is_err());
    let vresp = ValidateNegotiateInfoResponse {
        capabilities: Capabilities(0x7F),
        guid: [2; 16],
        security_mode: SecurityMode(3),
        dialect: Dialect::Smb302,
    };
    let b = vresp.to_bytes();
    check_buf(&vresp, &b, 24, ValidateNegotiateInfoResponse::decode);

    let cc = CopyChunk {
        source_key: [9; 24],
        chunks: vec![
            Chunk {
                source_offset: 0,
                target_offset: 1 << 20,
                length: 1 << 20,
            },
            Chunk {
                source_offset: 1 << 20,
                target_offset: 0,
                length: 17,
            },
        ],
        chunk_count: Some(2),
    };
    let b = cc.to_bytes();
    // MS-SMB2 2.2.31.1: SourceKey 24, ChunkCount, Reserved, 24-byte chunks.
    assert_eq!(b.len(), 32 + 48);
    assert_eq!(&b[24..28], &2u32.to_le_bytes());
    assert_eq!(&b[32 + 16..32 + 20], &(1u32 << 20).to_le_bytes());
    check_buf(&cc, &b, b.len(), CopyChunk::decode);
    let mut lying = b.to_vec();
    lying[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(CopyChunk::decode(&lying).is_err());
    let ccr = CopyChunkResponse {
        chunks_written: 2,
        chunk_bytes_written: 0,
        total_bytes_written: (1 << 20) + 17,
    };
    check_buf(&ccr, &ccr.to_bytes(), 12, CopyChunkResponse::decode);
    let rk = ResumeKeyResponse {
        resume_key: [0x5A; 24],
        context: Bytes::new(),
    };
    let b = rk.to_bytes();
    assert_eq!(b.len(), 28);
    check_buf(&rk, &b, 28, ResumeKeyResponse::decode);
    let mut lying = b.to_vec();
    lying[24] = 1;
    assert!(ResumeKeyResponse::decode(&lying).is_err());

    let ranges = vec![
        AllocatedRange {
            file_offset: 0,
            length: 65536,
        },
        AllocatedRange {
            file_offset: 1 << 30,
            length: 4096,
        },
    ];
    let b = AllocatedRange::encode_list(&ranges);
    check_buf(&ranges, &b, 0, AllocatedRange::decode_list);
    for cut in 0..b.len() {
        if cut % 16 != 0 {
            assert!(AllocatedRange::decode_list(&b[..cut]).is_err());
        }
    }
    let z = ZeroDataInformation {
        file_offset: 10,
        beyond_final_zero: 20,
    };
    check_buf(&z, &z.to_bytes(), 16, ZeroDataInformation::decode);
    assert_eq!(&set_sparse_input(true)[..], &[1]);
}

#[test]
fn network_interfaces() {
    let list = vec![
        NetworkInterfaceInfo {
            if_index: 2,
            capability: NetworkInterfaceInfo::RSS_CAPABLE,
            link_speed: 10_000_000_000,
            address: InterfaceAddress::V4(Ipv4Addr::new(192, 168, 1, 20)),
        },
        NetworkInterfaceInfo {
            if_index: 3,
            capability: 0,
            link_speed: 1_000_000_000,
            address: InterfaceAddress::V6 {
                address: Ipv6Addr::new(0xfe80, 0, 0, 0, 1, 2, 3, 4),
                scope_id: 3,
            },
        },
        NetworkInterfaceInfo {
            if_index: 4,
            capability: NetworkInterfaceInfo::RDMA_CAPABLE,
            link_speed: 1,
            address: InterfaceAddress::Unknown {
                family: 0x99,
                data: Bytes::from(vec![0xAB; 126]),
            },
        },
    ];
    let b = NetworkInterfaceInfo::encode_list(&list);
    assert_eq!(b.len(), 3 * 152);
    assert_eq!(NetworkInterfaceInfo::decode_list(&b).unwrap(), list);
    for cut in 1..b.len() {
        assert!(
            NetworkInterfaceInfo::decode_list(&b[..cut]).is_err(),
            "{cut}"
        );
    }

    // MS-SMB2 2.2.32.5 by hand: one IPv4 entry.
    let mut e = Vec::new();
    u32s(&mut e, 0); // Next
    u32s(&mut e, 12); // IfIndex
    u32s(&mut e, 1); // Capability
    u32s(&mut e, 0); // Reserved
    u64s(&mut e, 1_000_000_000); // LinkSpeed
    u16s(&mut e, 0x0002); // Family
    e.extend_from_slice(&[0, 0]); // Port
    e.extend_from_slice(&[10, 0, 0, 7]); // IPv4Address
    e.resize(152, 0);
    assert_eq!(
        NetworkInterfaceInfo::decode_list(&e).unwrap(),
        vec![NetworkInterfaceInfo {
            if_index: 12,
            capability: 1,
            link_speed: 1_000_000_000,
            address: InterfaceAddress::V4(Ipv4Addr::new(10, 0, 0, 7)),
        }]
    );
    // Next that loops or overlaps.
    for next in [1u32, 151, 152 * 3, u32::MAX] {
        let mut bad = b.to_vec();
        bad[..4].copy_from_slice(&next.to_le_bytes());
        assert!(
            NetworkInterfaceInfo::decode_list(&bad).is_err(),
            "next {next}"
        );
    }
}

// ----- create contexts -----

fn request_contexts() -> Vec<RequestContext> {
    vec![
        RequestContext::MaximalAccess { timestamp: None },
        RequestContext::MaximalAccess {
            timestamp: Some(0x01D9_1234_5678_9ABC),
        },
        RequestContext::QueryOnDiskId,
        RequestContext::Lease(Lease {
            lease_key: [1; 16],
            lease_state: lease_state::READ_CACHING | lease_state::HANDLE_CACHING,
            lease_flags: 0,
            lease_duration: 0,
        }),
        RequestContext::LeaseV2(LeaseV2 {
            lease_key: [2; 16],
            lease_state: lease_state::READ_CACHING | lease_state::WRITE_CACHING,
            lease_flags: lease_flags::PARENT_LEASE_KEY_SET,
            lease_duration: 0,
            parent_lease_key: [3; 16],
            epoch: 1,
        }),
        RequestContext::DurableHandle,
        RequestContext::DurableReconnect { file_id: FID },
        RequestContext::DurableHandleV2 {
            timeout: 60_000,
            flags: durable_flags::PERSISTENT,
            create_guid: [4; 16],
        },
        RequestContext::DurableReconnectV2 {
            file_id: FID,
            create_guid: [5; 16],
            flags: 0,
        },
        RequestContext::AllocationSize(1 << 20),
        RequestContext::ExtendedAttributes(vec![
            EaEntry {
                flags: 0,
                name: Bytes::from_static(b"user.x"),
                value: Bytes::from_static(b"value"),
            },
            EaEntry {
                flags: 0,
                name: Bytes::from_static(b"Y"),
                value: Bytes::from_static(b"zz"),
            },
        ]),
        RequestContext::SecurityDescriptor(Bytes::from_static(&[1, 0, 4, 0x80, 0, 0, 0, 0])),
        RequestContext::Timewarp(0x01D9_0000_0000_0000),
        RequestContext::AppInstanceId([6; 16]),
        RequestContext::Unknown(CreateContext::new(b"AAPL", Bytes::from_static(b"mac"))),
    ]
}

fn response_contexts() -> Vec<ResponseContext> {
    vec![
        ResponseContext::MaximalAccess {
            query_status: NtStatus::SUCCESS,
            maximal_access: 0x001F_01FF,
        },
        ResponseContext::QueryOnDiskId {
            disk_file_id: 0x1234,
            volume_id: 0x5678,
            reserved: Bytes::from(vec![0; 16]),
        },
        ResponseContext::Lease(Lease {
            lease_key: [1; 16],
            lease_state: lease_state::READ_CACHING,
            lease_flags: lease_flags::BREAK_IN_PROGRESS,
            lease_duration: 0,
        }),
        ResponseContext::LeaseV2(LeaseV2 {
            lease_key: [2; 16],
            lease_state: 7,
            lease_flags: 0,
            lease_duration: 0,
            parent_lease_key: [0; 16],
            epoch: 3,
        }),
        ResponseContext::DurableHandle,
        ResponseContext::DurableHandleV2 {
            timeout: 120_000,
            flags: 0,
        },
        ResponseContext::Unknown(CreateContext::new(
            &[0x93; 16],
            Bytes::from_static(b"posix"),
        )),
    ]
}

#[test]
fn request_contexts_round_trip() {
    let typed = request_contexts();
    for t in &typed {
        let raw = t.to_context();
        assert_eq!(&RequestContext::from_context(&raw).unwrap(), t);
        // Known names with short data are errors (except the ones with no or raw data).
        for cut in 0..raw.data.len() {
            let short = CreateContext {
                name: raw.name.clone(),
                data: raw.data.slice(..cut),
            };
            let r = RequestContext::from_context(&short);
            match t {
                RequestContext::MaximalAccess { .. } if cut == 0 => assert!(r.is_ok()),
                RequestContext::Lease(_) | RequestContext::LeaseV2(_) if cut >= 32 => {
                    assert!(matches!(r, Ok(RequestContext::Lease(_))))
                }
                RequestContext::DurableHandle
                | RequestContext::SecurityDescriptor(_)
                | RequestContext::Unknown(_) => assert!(r.is_ok()),
                RequestContext::ExtendedAttributes(_) if cut == 0 => assert!(r.is_ok()),
                _ => assert!(r.is_err(), "{t:?} from {cut} bytes: {r:?}"),
            }
        }
    }
    // Through a CREATE request on the wire.
    let req = CreateRequest {
        name: "f".into(),
        contexts: RequestContext::to_contexts(&typed),
        ..Default::default()
    };
    let msg = message(&header(Command::Create, false), |o, b| req.encode(o, b));
    let back = CreateRequest::decode(&msg).unwrap();
    let back: Vec<_> = back
        .contexts
        .iter()
        .map(|c| RequestContext::from_context(c).unwrap())
        .collect();
    assert_eq!(back, typed);
}

#[test]
fn context_known_bytes() {
    // MS-SMB2 2.2.13.2.8: RqLs v1 is LeaseKey, LeaseState, LeaseFlags, LeaseDuration.
    let c = RequestContext::Lease(Lease {
        lease_key: [0xAA; 16],
        lease_state: 7,
        lease_flags: 0,
        lease_duration: 0,
    })
    .to_context();
    assert_eq!(&c.name[..], b"RqLs");
    let mut want = vec![0xAA; 16];
    u32s(&mut want, 7);
    u32s(&mut want, 0);
    u64s(&mut want, 0);
    assert_eq!(&c.data[..], &want[..]);
    // v2 adds ParentLeaseKey, Epoch and 2 reserved bytes: 52 bytes.
    let c2 = RequestContext::LeaseV2(LeaseV2::default()).to_context();
    assert_eq!(c2.data.len(), 52);
    // SMB2_CREATE_APP_INSTANCE_ID: GUID name, StructureSize 20.
    let a = RequestContext::AppInstanceId([0x11; 16]).to_context();
    assert_eq!(
        &a.name[..],
        &[
            0x45, 0xBC, 0xA6, 0x6A, 0xEF, 0xA7, 0xF7, 0x4A, 0x90, 0x08, 0xFA, 0x46, 0x2E, 0x14,
            0x4D, 0x74
        ]
    );
    assert_eq!(&a.data[..4], &[20, 0, 0, 0]);
    let mut bad = a.clone();
    let mut d = bad.data.to_vec();
    d[0] = 24;
    bad.data = Bytes::from(d);
    assert!(RequestContext::from_context(&bad).is_err());
    // DH2Q request: Timeout, Flags, Reserved (8), CreateGuid.
    let d = RequestContext::DurableHandleV2 {
        timeout: 1,
        flags: 2,
        create_guid: [3; 16],
    }
    .to_context();
    assert_eq!(&d.name[..], b"DH2Q");
    assert_eq!(&d.data[..8], &[1, 0, 0, 0, 2, 0, 0, 0]);
    assert_eq!(&d.data[16..], &[3; 16]);
    // MxAc response by hand.
    let mut data = Vec::new();
    u32s(&mut data, 0);
    u32s(&mut data, 0x0012_019F);
    let r = ResponseContext::from_context(&CreateContext::new(b"MxAc", data)).unwrap();
    assert_eq!(
        r,
        ResponseContext::MaximalAccess {
            query_status: NtStatus::SUCCESS,
            maximal_access: 0x0012_019F
        }
    );
    // QFid response (32 bytes): DiskFileId 8, VolumeId 8, Reserved 16.
    let mut data = Vec::new();
    u64s(&mut data, 0xDEAD);
    u64s(&mut data, 0xBEEF);
    data.extend_from_slice(&[0; 16]);
    let r = ResponseContext::from_context(&CreateContext::new(b"QFid", data)).unwrap();
    assert!(matches!(
        r,
        ResponseContext::QueryOnDiskId {
            disk_file_id: 0xDEAD,
            volume_id: 0xBEEF,
            ..
        }
    ));
}

#[test]
fn response_contexts_round_trip() {
    let typed = response_contexts();
    for t in &typed {
        let raw = t.to_context();
        assert_eq!(&ResponseContext::from_context(&raw).unwrap(), t);
        for cut in 0..raw.data.len() {
            let short = CreateContext {
                name: raw.name.clone(),
                data: raw.data.slice(..cut),
            };
            let r = ResponseContext::from_context(&short);
            match t {
                ResponseContext::DurableHandle | ResponseContext::Unknown(_) => {
                    assert!(r.is_ok())
                }
                ResponseContext::QueryOnDiskId { .. } if cut >= 16 => assert!(r.is_ok()),
                ResponseContext::Lease(_) | ResponseContext::LeaseV2(_) if cut >= 32 => {
                    assert!(r.is_ok())
                }
                _ => assert!(r.is_err(), "{t:?} from {cut} bytes: {r:?}"),
            }
        }
    }
    let resp = CreateResponse {
        file_id: FID,
        contexts: typed.iter().map(ResponseContext::to_context).collect(),
        ..Default::default()
    };
    let msg = message(&header(Command::Create, true), |o, b| resp.encode(o, b));
    let back = CreateResponse::decode(&msg).unwrap();
    assert_eq!(
        ResponseContext::from_contexts(&back.contexts).unwrap(),
        typed
    );
}

// ----- random input -----

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = (self.next() % max as u64) as usize;
        (0..len).map(|_| self.next() as u8).collect()
    }
    /// Flips a few bytes of a valid encoding (reaches deeper than pure noise).
    fn mutate(&mut self, valid: &[u8]) -> Vec<u8> {
        let mut v = valid.to_vec();
        if v.is_empty() {
            return v;
        }
        for _ in 0..1 + self.next() % 4 {
            let i = (self.next() % v.len() as u64) as usize;
            v[i] = self.next() as u8;
        }
        if self.next().is_multiple_of(4) {
            v.truncate((self.next() % (v.len() as u64 + 1)) as usize);
        }
        v
    }
}

fn all_buffer_decoders(b: &[u8]) {
    for class in DIR_CLASSES {
        let _ = parse_directory(class, b);
    }
    for c in 0..=70u8 {
        let _ = FileInfo::decode(FileInfoClass::from_code(c), b);
    }
    for c in 0..=12u8 {
        let _ = FsInfo::decode(FsInfoClass::from_code(c), b);
    }
    let _ = ValidateNegotiateInfoRequest::decode(b);
    let _ = ValidateNegotiateInfoResponse::decode(b);
    let _ = CopyChunk::decode(b);
    let _ = CopyChunkResponse::decode(b);
    let _ = ResumeKeyResponse::decode(b);
    let _ = NetworkInterfaceInfo::decode_list(b);
    let _ = AllocatedRange::decode_list(b);
    let _ = ZeroDataInformation::decode(b);
    for name in [
        &b"MxAc"[..],
        b"QFid",
        b"RqLs",
        b"DHnQ",
        b"DHnC",
        b"DH2Q",
        b"DH2C",
        b"AlSi",
        b"ExtA",
        b"SecD",
        b"TWrp",
        &RequestContext::AppInstanceId([0; 16]).to_context().name,
    ] {
        let c = CreateContext::new(name, Bytes::copy_from_slice(b));
        let _ = RequestContext::from_context(&c);
        let _ = ResponseContext::from_context(&c);
    }
}

fn all_pdu_decoders(m: &[u8]) {
    let _ = IoctlRequest::decode(m);
    let _ = IoctlResponse::decode(m);
    let _ = QueryDirectoryRequest::decode(m);
    let _ = QueryDirectoryResponse::decode(m);
    let _ = QueryInfoRequest::decode(m);
    let _ = QueryInfoResponse::decode(m);
    let _ = SetInfoRequest::decode(m);
    let _ = SetInfoResponse::decode(m);
}

#[test]
fn garbage_never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut valid_bufs: Vec<Vec<u8>> = DIR_CLASSES
        .iter()
        .map(|&c| encode_directory(c, &sample_entries(c)).unwrap())
        .collect();
    valid_bufs.push(
        FileStreamInformation {
            entries: vec![StreamEntry::default(); 3],
        }
        .to_bytes()
        .to_vec(),
    );
    valid_bufs.push(FileAllInformation::default().to_bytes().to_vec());
    valid_bufs.push(
        NetworkInterfaceInfo::encode_list(&vec![NetworkInterfaceInfo::default(); 2]).to_vec(),
    );
    for t in request_contexts() {
        valid_bufs.push(t.to_context().data.to_vec());
    }
    for i in 0..6000 {
        let b = if i % 2 == 0 {
            rng.bytes(600)
        } else {
            let v = &valid_bufs[(rng.next() % valid_bufs.len() as u64) as usize];
            rng.mutate(v)
        };
        all_buffer_decoders(&b);
    }

    let fid = FID;
    let valid_msgs: Vec<Vec<u8>> = vec![
        message(&header(Command::Ioctl, false), |o, b| {
            IoctlRequest::fsctl(1, fid, Bytes::from_static(b"abc"), 9).encode(o, b)
        }),
        message(&header(Command::Ioctl, true), |o, b| {
            IoctlResponse {
                output: Bytes::from_static(b"xyz"),
                ..Default::default()
            }
            .encode(o, b)
        }),
        message(&header(Command::QueryDirectory, false), |o, b| {
            QueryDirectoryRequest {
                file_name: "*".into(),
                ..Default::default()
            }
            .encode(o, b)
        }),
        message(&header(Command::QueryInfo, false), |o, b| {
            QueryInfoRequest {
                input: Bytes::from_static(b"in"),
                ..Default::default()
            }
            .encode(o, b)
        }),
        message(&header(Command::SetInfo, false), |o, b| {
            SetInfoRequest::new(fid, &FileEndOfFileInformation { end_of_file: 3 }).encode(o, b)
        }),
        message(&header(Command::QueryInfo, true), |o, b| {
            QueryInfoResponse {
                output: Bytes::from_static(b"out"),
            }
            .encode(o, b)
        }),
    ];
    for i in 0..6000 {
        let m = if i % 2 == 0 {
            let mut m = rng.bytes(300);
            if m.len() >= 64 {
                let cmd = [
                    Command::Ioctl,
                    Command::QueryDirectory,
                    Command::QueryInfo,
                    Command::SetInfo,
                ][(rng.next() % 4) as usize];
                let mut hb = Vec::new();
                header(cmd, rng.next().is_multiple_of(2)).encode(&mut hb);
                m[..64].copy_from_slice(&hb);
            }
            m
        } else {
            let v = &valid_msgs[(rng.next() % valid_msgs.len() as u64) as usize];
            let mut m = rng.mutate(&v[64..]);
            let mut full = v[..64].to_vec();
            full.append(&mut m);
            full
        };
        all_pdu_decoders(&m);
        if let Ok(h) = Header::decode(&m) {
            let _ = RequestBody::decode(&h, &m);
            let _ = ResponseBody::decode(&h, &Bytes::from(m.clone()));
        }
    }
}
