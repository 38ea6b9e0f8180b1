#![cfg(feature = "ring")]
#![allow(clippy::disallowed_methods)]
//! The same known-answer, round-trip and tamper tests as `vectors_crypto.rs`, for the
//! `ring` provider (its GCM, GMAC and HMAC; CCM and CMAC pass through to RustCrypto).

const PROVIDER: &dyn pike_core::crypto::CryptoProvider = &pike_core::crypto::Ring;

include!("crypto/vectors.rs");
