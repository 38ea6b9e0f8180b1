//! QUERY_INFO response and the typed file / file system information classes (MS-SMB2
//! 2.2.38, MS-FSCC 2.4, 2.5): never panic; typed values re-encode and decode equal.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use pike_core::wire::{FileInfo, FileInfoClass, FsInfo, FsInfoClass, QueryInfoResponse};

fuzz_target!(|data: &[u8]| {
    let [kind, class, rest @ ..] = data else {
        return;
    };
    // Bit 0: file or file system class; bit 1: `rest` is a whole response message.
    let output = if kind & 2 != 0 {
        match QueryInfoResponse::decode_bytes(&Bytes::copy_from_slice(rest)) {
            Ok(r) => r.output,
            Err(_) => return,
        }
    } else {
        Bytes::copy_from_slice(rest)
    };
    if kind & 1 == 0 {
        let class = FileInfoClass::from_code(*class);
        if let Ok(v) = FileInfo::decode(class, &output) {
            let mut out = Vec::new();
            v.encode(&mut out);
            assert_eq!(FileInfo::decode(class, &out).expect("re-decodes"), v);
        }
    } else {
        let class = FsInfoClass::from_code(*class);
        if let Ok(v) = FsInfo::decode(class, &output) {
            let mut out = Vec::new();
            v.encode(&mut out);
            assert_eq!(FsInfo::decode(class, &out).expect("re-decodes"), v);
        }
    }
});
