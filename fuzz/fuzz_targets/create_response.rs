//! `CreateResponse::decode` on an arbitrary message (header included): never panics; whatever
//! decodes re-encodes and decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pike_core::wire::{CreateResponse, HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = CreateResponse::decode(data) {
        let mut out = vec![0u8; HEADER_LEN];
        v.encode(&mut out, 0);
        let again = CreateResponse::decode(&out).expect("re-encoded body decodes");
        assert_eq!(again, v);
    }
});
