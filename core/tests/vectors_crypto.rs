#![allow(clippy::disallowed_methods)]
//! Known-answer tests for `pike_core::crypto` against the published vectors in
//! `shared/vectors/` (see its README), plus round-trip and tamper tests for what has no
//! published vector (AES-GMAC signing, AES-256 ciphers): the pure-Rust provider.

const PROVIDER: &dyn pike_core::crypto::CryptoProvider = &pike_core::crypto::RustCrypto;

include!("crypto/vectors.rs");
