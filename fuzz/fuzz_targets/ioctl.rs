//! IOCTL response and the typed FSCTL payloads (MS-SMB2 2.2.32, 2.2.31.x/2.2.32.x):
//! never panic; payloads that have an encoder re-encode and decode equal.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use pike_core::wire::{
    AllocatedRange, CopyChunk, CopyChunkResponse, IoctlResponse, NetworkInterfaceInfo,
    ResumeKeyResponse, ValidateNegotiateInfoRequest, ValidateNegotiateInfoResponse,
    ZeroDataInformation,
};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    // High bit: `rest` is a whole IOCTL response message, its output the payload.
    let buf = if pick & 0x80 != 0 {
        match IoctlResponse::decode_bytes(&Bytes::copy_from_slice(rest)) {
            Ok(r) => {
                let _ = (r.ctl_code, r.file_id, r.input.len());
                r.output
            }
            Err(_) => return,
        }
    } else {
        Bytes::copy_from_slice(rest)
    };
    match pick & 0x7f {
        0 => {
            if let Ok(v) = ValidateNegotiateInfoResponse::decode(&buf) {
                assert_eq!(ValidateNegotiateInfoResponse::decode(&v.to_bytes()), Ok(v));
            }
        }
        1 => {
            if let Ok(v) = ValidateNegotiateInfoRequest::decode(&buf) {
                assert_eq!(ValidateNegotiateInfoRequest::decode(&v.to_bytes()), Ok(v));
            }
        }
        2 => {
            if let Ok(v) = NetworkInterfaceInfo::decode_list(&buf) {
                let again = NetworkInterfaceInfo::encode_list(&v);
                assert_eq!(NetworkInterfaceInfo::decode_list(&again), Ok(v));
            }
        }
        3 => {
            if let Ok(v) = CopyChunkResponse::decode(&buf) {
                assert_eq!(CopyChunkResponse::decode(&v.to_bytes()), Ok(v));
            }
        }
        4 => {
            if let Ok(v) = CopyChunk::decode(&buf) {
                assert_eq!(CopyChunk::decode(&v.to_bytes()), Ok(v));
            }
        }
        5 => {
            if let Ok(v) = ResumeKeyResponse::decode(&buf) {
                assert_eq!(ResumeKeyResponse::decode(&v.to_bytes()), Ok(v));
            }
        }
        6 => {
            if let Ok(v) = AllocatedRange::decode_list(&buf) {
                assert_eq!(
                    AllocatedRange::decode_list(&AllocatedRange::encode_list(&v)),
                    Ok(v)
                );
            }
        }
        _ => {
            if let Ok(v) = ZeroDataInformation::decode(&buf) {
                assert_eq!(ZeroDataInformation::decode(&v.to_bytes()), Ok(v));
            }
        }
    }
});
