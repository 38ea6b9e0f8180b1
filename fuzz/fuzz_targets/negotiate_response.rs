//! `NegotiateResponse::decode` on an arbitrary message (header included): never panics; whatever
//! decodes re-encodes and decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pike_core::wire::{HEADER_LEN, NegotiateResponse};

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = NegotiateResponse::decode(data) {
        let mut out = vec![0u8; HEADER_LEN];
        v.encode(&mut out, 0);
        let again = NegotiateResponse::decode(&out).expect("re-encoded body decodes");
        assert_eq!(again, v);
    }
});
