//! Cryptography behind a small provider trait (after rustls' `CryptoProvider`).
//!
//! The protocol code only sees [`CryptoProvider`], [`MessageSigner`] and
//! [`MessageCipher`]; [`RustCrypto`] is the default, pure-Rust implementation that
//! also builds for `wasm32-unknown-unknown`. Key derivation (SP800-108) and the 3.1.1
//! pre-authentication hash are fixed by the spec and live here as plain functions.

use core::fmt;

pub mod kdf;
pub mod preauth;
#[cfg(feature = "ring")]
mod ring;
mod rust_crypto;
pub mod signing;
pub mod transform;

pub use kdf::{Key, SessionKeys, derive_session_keys, smb3_kdf};
pub use preauth::PreauthHash;
#[cfg(feature = "ring")]
pub use ring::Ring;
pub use rust_crypto::RustCrypto;
pub use signing::{SIGNATURE_RANGE, gmac_nonce, sign_message, sign_message_parts, verify_message};
pub use transform::{
    TRANSFORM_HEADER_LEN, TransformFields, open_transform, seal_transform, seal_transform_fields,
    seal_transform_with_nonce_field, transform_session_id,
};

/// MS-SMB2 2.2.3.1.7 SIGNING_CAPABILITIES algorithm ids (and the implicit 2.x/3.0 ones).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    /// HMAC-SHA256, first 16 bytes (SMB 2.0.2 and 2.1).
    HmacSha256,
    /// AES-128-CMAC (SMB 3.0 and later).
    AesCmac,
    /// AES-128-GMAC (SMB 3.1.1 with SIGNING_CAPABILITIES).
    AesGmac,
    /// An id this crate does not know.
    Unknown(u16),
}

impl SigningAlgorithm {
    /// Wire id (MS-SMB2 2.2.3.1.7).
    pub fn id(self) -> u16 {
        match self {
            Self::HmacSha256 => 0,
            Self::AesCmac => 1,
            Self::AesGmac => 2,
            Self::Unknown(v) => v,
        }
    }
    /// From the wire id.
    pub fn from_id(v: u16) -> Self {
        match v {
            0 => Self::HmacSha256,
            1 => Self::AesCmac,
            2 => Self::AesGmac,
            v => Self::Unknown(v),
        }
    }
}

/// MS-SMB2 2.2.3.1.2 ENCRYPTION_CAPABILITIES cipher ids.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CipherId {
    /// AES-128-CCM (the only cipher of 3.0 and 3.0.2).
    Aes128Ccm,
    /// AES-128-GCM.
    Aes128Gcm,
    /// AES-256-CCM.
    Aes256Ccm,
    /// AES-256-GCM.
    Aes256Gcm,
    /// An id this crate does not know.
    Unknown(u16),
}

impl CipherId {
    /// Wire id (MS-SMB2 2.2.3.1.2).
    pub fn id(self) -> u16 {
        match self {
            Self::Aes128Ccm => 1,
            Self::Aes128Gcm => 2,
            Self::Aes256Ccm => 3,
            Self::Aes256Gcm => 4,
            Self::Unknown(v) => v,
        }
    }
    /// From the wire id.
    pub fn from_id(v: u16) -> Self {
        match v {
            1 => Self::Aes128Ccm,
            2 => Self::Aes128Gcm,
            3 => Self::Aes256Ccm,
            4 => Self::Aes256Gcm,
            v => Self::Unknown(v),
        }
    }
    /// Key length in bytes (16 or 32); `None` for unknown ciphers.
    pub fn key_len(self) -> Option<usize> {
        match self {
            Self::Aes128Ccm | Self::Aes128Gcm => Some(16),
            Self::Aes256Ccm | Self::Aes256Gcm => Some(32),
            Self::Unknown(_) => None,
        }
    }
    /// AES nonce length in bytes: 11 for CCM, 12 for GCM (MS-SMB2 2.2.41).
    pub fn nonce_len(self) -> Option<usize> {
        match self {
            Self::Aes128Ccm | Self::Aes256Ccm => Some(11),
            Self::Aes128Gcm | Self::Aes256Gcm => Some(12),
            Self::Unknown(_) => None,
        }
    }
}

/// A failure inside the crypto layer.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CryptoError {
    /// The algorithm is not supported by this provider.
    Unsupported,
    /// The key has the wrong length for the algorithm.
    BadKeyLength,
    /// The nonce has the wrong length for the algorithm.
    BadNonceLength,
    /// Authentication failed (tag or signature mismatch).
    BadTag,
    /// The message is too short or malformed for the operation.
    Malformed,
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unsupported => "algorithm not supported by the crypto provider",
            Self::BadKeyLength => "wrong key length",
            Self::BadNonceLength => "wrong nonce length",
            Self::BadTag => "authentication tag mismatch",
            Self::Malformed => "malformed message",
        })
    }
}

impl std::error::Error for CryptoError {}

/// Signs SMB2 messages with one key (MS-SMB2 3.1.4.1).
pub trait MessageSigner: Send + Sync {
    /// Computes the 16-byte signature of one SMB2 message (header + body, no transport
    /// framing) whose Signature field (bytes 48..64) is all zeros. GMAC reads the
    /// MessageId, the SERVER_TO_REDIR flag and the command from the header to form its nonce.
    fn compute(&self, message: &[u8]) -> [u8; 16];

    /// [`compute`](Self::compute) over a message given in pieces, in order (the
    /// header and fixed body, then a WRITE's data). The default joins them first;
    /// a signer that can hash them where they lie should.
    fn compute_parts(&self, parts: &[&[u8]]) -> [u8; 16] {
        self.compute(&parts.concat())
    }
}

/// Seals and opens SMB3 encrypted messages with one key (MS-SMB2 3.1.4.3).
pub trait MessageCipher: Send + Sync {
    /// Which cipher this is.
    fn id(&self) -> CipherId;
    /// Encrypts `buf` in place and returns the 16-byte tag. `nonce` is the AES nonce
    /// (11 bytes for CCM, 12 for GCM); `aad` is the 32 transform header bytes from Nonce on.
    fn seal_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; 16], CryptoError>;
    /// Verifies `tag` and decrypts `buf` in place; on failure `buf` content is unspecified.
    fn open_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; 16],
    ) -> Result<(), CryptoError>;
}

/// Creates signers and ciphers; plug in a faster backend by implementing this.
pub trait CryptoProvider: Send + Sync + fmt::Debug {
    /// A signer for `alg` keyed with `key` (the SessionKey for HMAC-SHA256, else the SigningKey).
    fn signer(
        &self,
        alg: SigningAlgorithm,
        key: &[u8],
    ) -> Result<Box<dyn MessageSigner>, CryptoError>;
    /// A cipher for `id` keyed with `key`.
    fn cipher(&self, id: CipherId, key: &[u8]) -> Result<Box<dyn MessageCipher>, CryptoError>;
}
