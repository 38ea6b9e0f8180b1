//! QUERY_DIRECTORY response and directory entries (MS-SMB2 2.2.34, MS-FSCC 2.4): never
//! panic; whatever decodes re-encodes and decodes to the same entries.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use pike_core::wire::{FileInfoClass, QueryDirectoryResponse, encode_directory, parse_directory};

const CLASSES: [FileInfoClass; 6] = [
    FileInfoClass::Directory,
    FileInfoClass::FullDirectory,
    FileInfoClass::BothDirectory,
    FileInfoClass::IdFullDirectory,
    FileInfoClass::IdBothDirectory,
    FileInfoClass::Names,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    // Low bits: the class (or any code, to reach the refusal); high bit: `rest` is a
    // whole response message rather than the output buffer alone.
    let class = match usize::from(pick & 0x7f) {
        i if i < CLASSES.len() => CLASSES[i],
        i => FileInfoClass::from_code(i as u8),
    };
    let output = if pick & 0x80 != 0 {
        match QueryDirectoryResponse::decode_bytes(&Bytes::copy_from_slice(rest)) {
            Ok(r) => r.output,
            Err(_) => return,
        }
    } else {
        Bytes::copy_from_slice(rest)
    };
    let Ok(entries) = parse_directory(class, &output) else {
        return;
    };
    let again = encode_directory(class, &entries).expect("a class that parsed encodes");
    let back = parse_directory(class, &again).expect("own encoding parses");
    assert_eq!(back, entries);
});
