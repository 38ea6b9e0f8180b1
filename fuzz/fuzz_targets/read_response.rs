//! `ReadResponse::decode` / `decode_bytes` on arbitrary messages: never panic, agree.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use pike_core::wire::ReadResponse;

fuzz_target!(|data: &[u8]| {
    let a = ReadResponse::decode(data);
    let b = ReadResponse::decode_bytes(&Bytes::copy_from_slice(data));
    assert_eq!(a, b);
});
