//! `ResponseBody::decode` for every command byte: the header's Command is taken from the
//! input, so every decoder (and the Raw fallback) is reached.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use pike_core::wire::{HEADER_LEN, Header, ResponseBody};

fuzz_target!(|data: &[u8]| {
    let msg = Bytes::copy_from_slice(data);
    match Header::decode(data) {
        Ok(h) => {
            let _ = ResponseBody::decode(&h, &msg);
        }
        Err(_) if data.len() >= 2 => {
            // Not a valid header: still drive every decoder with a synthetic one.
            let mut h = Header::default();
            let mut raw = Vec::with_capacity(HEADER_LEN);
            h.encode(&mut raw);
            raw[12..14].copy_from_slice(&u16::from(data[0]).to_le_bytes());
            raw.extend_from_slice(&data[1..]);
            if let Ok(hh) = Header::decode(&raw) {
                h = hh;
                let _ = ResponseBody::decode(&h, &Bytes::from(raw));
            }
        }
        Err(_) => {}
    }
});
