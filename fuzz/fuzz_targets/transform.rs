//! `open_transform` with fixed keys (each cipher) on arbitrary frames: never panics and
//! never accepts a frame that was not sealed with the key (a forgery would need the tag).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pike_core::crypto::{
    CipherId, CryptoProvider, RustCrypto, open_transform, transform_session_id,
};

const CIPHERS: [CipherId; 4] = [
    CipherId::Aes128Ccm,
    CipherId::Aes128Gcm,
    CipherId::Aes256Ccm,
    CipherId::Aes256Gcm,
];

fuzz_target!(|data: &[u8]| {
    let Some((&which, frame)) = data.split_first() else {
        return;
    };
    let id = CIPHERS[usize::from(which) % CIPHERS.len()];
    let key = vec![0x42u8; id.key_len().expect("known cipher")];
    let cipher = RustCrypto.cipher(id, &key).expect("cipher");
    let _ = transform_session_id(frame);
    let mut buf = frame.to_vec();
    if let Ok(range) = open_transform(cipher.as_ref(), &mut buf) {
        assert!(range.end <= buf.len());
        // Only reachable with a correct tag for the fixed key: fuzzers do not forge GCM/CCM.
        panic!("accepted an unsealed frame of {} bytes", frame.len());
    }
});
