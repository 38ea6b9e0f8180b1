//! SMB2 header decode; a decoded header re-encodes to the same 64 bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pike_core::wire::{HEADER_LEN, Header};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = Header::decode(data) {
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out.len(), HEADER_LEN);
        let again = Header::decode(&out).expect("re-decodes");
        assert_eq!(again, h);
    }
});
