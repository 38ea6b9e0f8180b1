//! [`RustCrypto`]: the default, pure-Rust [`CryptoProvider`] built on the RustCrypto crates.
//!
//! Key handling: every signer and cipher keeps only its raw key, in a buffer that is
//! zeroized on drop, and builds the RustCrypto primitive (AES key schedule, HMAC pads)
//! on the stack for each call. The workspace builds `aes`, `aes-gcm` and `cmac` without
//! their `zeroize` features, so those primitive structs do not wipe themselves; keeping
//! them short-lived and off the heap limits how long expanded key material survives.
//! An AES key expansion costs far less than sealing or signing one SMB2 message.

use aes::cipher::BlockCipherEncrypt;
use aes::{Aes128, Aes256};
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use ccm::Ccm;
use ccm::consts::{U11, U16};
use cmac::{Cmac, Mac};
use hmac::Hmac;
use polyval::Polyval;
use polyval::hazmat::FieldElement;
use polyval::universal_hash::UniversalHash;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::signing::gmac_nonce;
use super::{
    CipherId, CryptoError, CryptoProvider, MessageCipher, MessageSigner, SigningAlgorithm,
};

/// AES-128-CCM as SMB3 uses it: 16-byte tag, 11-byte nonce (MS-SMB2 2.2.41).
type Aes128Ccm = Ccm<Aes128, U16, U11>;
/// AES-256-CCM with the same tag and nonce sizes.
type Aes256Ccm = Ccm<Aes256, U16, U11>;

/// The default pure-Rust crypto provider (also builds for `wasm32-unknown-unknown`).
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCrypto;

impl CryptoProvider for RustCrypto {
    fn signer(
        &self,
        alg: SigningAlgorithm,
        key: &[u8],
    ) -> Result<Box<dyn MessageSigner>, CryptoError> {
        match alg {
            SigningAlgorithm::HmacSha256 => {
                // MS-SMB2 3.1.4.1: 2.0.2/2.1 key with Session.SessionKey; HMAC takes any
                // length, but an empty key is never legitimate (fail closed).
                if key.is_empty() {
                    return Err(CryptoError::BadKeyLength);
                }
                Ok(Box::new(HmacSigner {
                    key: Zeroizing::new(key.to_vec()),
                }))
            }
            SigningAlgorithm::AesCmac => Ok(Box::new(CmacSigner { key: key16(key)? })),
            SigningAlgorithm::AesGmac => Ok(Box::new(GmacSigner { key: key16(key)? })),
            SigningAlgorithm::Unknown(_) => Err(CryptoError::Unsupported),
        }
    }

    fn cipher(&self, id: CipherId, key: &[u8]) -> Result<Box<dyn MessageCipher>, CryptoError> {
        let Some(len) = id.key_len() else {
            return Err(CryptoError::Unsupported);
        };
        if key.len() != len {
            return Err(CryptoError::BadKeyLength);
        }
        let mut buf = Zeroizing::new([0u8; 32]);
        buf[..len].copy_from_slice(key);
        Ok(Box::new(AeadCipher { id, key: buf }))
    }
}

/// Copies a 16-byte AES-128 key into a zeroizing buffer.
fn key16(key: &[u8]) -> Result<Zeroizing<[u8; 16]>, CryptoError> {
    let arr: [u8; 16] = key.try_into().map_err(|_| CryptoError::BadKeyLength)?;
    Ok(Zeroizing::new(arr))
}

/// HMAC-SHA256 truncated to 16 bytes (MS-SMB2 3.1.4.1, dialects 2.0.2 and 2.1).
struct HmacSigner {
    key: Zeroizing<Vec<u8>>,
}

impl MessageSigner for HmacSigner {
    fn compute(&self, message: &[u8]) -> [u8; 16] {
        self.compute_parts(&[message])
    }

    fn compute_parts(&self, parts: &[&[u8]]) -> [u8; 16] {
        let mut out = [0u8; 16];
        // HMAC accepts keys of any length, so this cannot fail; the fallback is all
        // zeros only to stay panic-free.
        if let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key) {
            for p in parts {
                mac.update(p);
            }
            out.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        }
        out
    }
}

/// AES-128-CMAC (RFC 4493; MS-SMB2 3.1.4.1 for the 3.x dialects).
struct CmacSigner {
    key: Zeroizing<[u8; 16]>,
}

impl MessageSigner for CmacSigner {
    fn compute(&self, message: &[u8]) -> [u8; 16] {
        self.compute_parts(&[message])
    }

    fn compute_parts(&self, parts: &[&[u8]]) -> [u8; 16] {
        let mut out = [0u8; 16];
        // The key length was checked at construction, so this cannot fail.
        if let Ok(mut mac) = <Cmac<Aes128> as KeyInit>::new_from_slice(self.key.as_slice()) {
            for p in parts {
                mac.update(p);
            }
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        out
    }
}

/// AES-128-GMAC (RFC 4543; MS-SMB2 3.1.4.1, 3.1.1 with SIGNING_CAPABILITIES).
struct GmacSigner {
    key: Zeroizing<[u8; 16]>,
}

impl MessageSigner for GmacSigner {
    fn compute(&self, message: &[u8]) -> [u8; 16] {
        self.compute_parts(&[message])
    }

    /// GMAC = GCM over an empty plaintext with the message as AAD (RFC 4543):
    /// GHASH_H(message, zero-padded || its length in bits || 0) xor E_K(J0), with
    /// H = E_K(0) and J0 = nonce || 1 (NIST SP 800-38D 7.1). Computed here rather than
    /// through aes-gcm, whose AAD must be one slice.
    fn compute_parts(&self, parts: &[&[u8]]) -> [u8; 16] {
        let key: &[u8; 16] = &self.key;
        let aes = Aes128::new(key.into());
        // The nonce comes from the header, which the first piece holds.
        let nonce = match parts.first() {
            Some(p) if p.len() >= 64 => gmac_nonce(p),
            _ => gmac_nonce(&parts.concat()),
        };
        let mut h = aes::Block::default();
        aes.encrypt_block(&mut h);
        let mut ghash = Ghash::new(h.into());
        for p in parts {
            ghash.update(p);
        }
        let mut j0 = aes::Block::default();
        j0[..12].copy_from_slice(&nonce);
        j0[15] = 1;
        aes.encrypt_block(&mut j0);
        let mut tag = ghash.finalize();
        for (t, e) in tag.iter_mut().zip(j0.iter()) {
            *t ^= e;
        }
        tag
    }
}

/// GHASH (NIST SP 800-38D 6.4) over AAD only, fed in pieces of any length: POLYVAL on
/// byte-reversed blocks (RFC 8452 Appendix A).
struct Ghash {
    polyval: Polyval,
    /// A partial block carried into the next piece.
    carry: [u8; 16],
    carried: usize,
    len: u64,
}

impl Ghash {
    fn new(h: [u8; 16]) -> Self {
        let key = FieldElement::from(h).reverse().mulx();
        Self {
            polyval: Polyval::new(&key.into()),
            carry: [0; 16],
            carried: 0,
            len: 0,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.carried > 0 {
            let n = (16 - self.carried).min(data.len());
            self.carry[self.carried..self.carried + n].copy_from_slice(&data[..n]);
            self.carried += n;
            data = &data[n..];
            if self.carried < 16 {
                return;
            }
            self.polyval.update(&[reversed(&self.carry).into()]);
            self.carried = 0;
        }
        // Reversed a batch at a time, then hashed several blocks per call.
        let mut batch = [polyval::Block::default(); 64];
        let mut blocks = data.chunks_exact(16);
        loop {
            let mut n = 0;
            for (dst, src) in batch.iter_mut().zip(blocks.by_ref()) {
                *dst = reversed(src).into();
                n += 1;
            }
            self.polyval.update(&batch[..n]);
            if n < batch.len() {
                break;
            }
        }
        let rest = blocks.remainder();
        self.carry[..rest.len()].copy_from_slice(rest);
        self.carried = rest.len();
    }

    fn finalize(mut self) -> [u8; 16] {
        if self.carried > 0 {
            self.carry[self.carried..].fill(0);
            self.polyval.update(&[reversed(&self.carry).into()]);
        }
        let mut lengths = [0u8; 16];
        lengths[..8].copy_from_slice(&(self.len * 8).to_be_bytes());
        self.polyval.update(&[reversed(&lengths).into()]);
        reversed(&self.polyval.finalize())
    }
}

/// A 16-byte block with its bytes in reverse order (GHASH's order to POLYVAL's).
fn reversed(block: &[u8]) -> [u8; 16] {
    let mut b = [0u8; 16];
    b.copy_from_slice(block);
    u128::from_be_bytes(b).to_le_bytes()
}

/// One of the four SMB3 AEAD ciphers with its key (MS-SMB2 3.1.4.3, 3.2.5.1.1.1).
struct AeadCipher {
    id: CipherId,
    /// The first `id.key_len()` bytes are the key.
    key: Zeroizing<[u8; 32]>,
}

impl AeadCipher {
    fn key(&self) -> &[u8] {
        let len = self.id.key_len().unwrap_or(0);
        self.key.get(..len).unwrap_or(&[])
    }

    fn check_nonce(&self, nonce: &[u8]) -> Result<(), CryptoError> {
        match self.id.nonce_len() {
            Some(n) if n == nonce.len() => Ok(()),
            Some(_) => Err(CryptoError::BadNonceLength),
            None => Err(CryptoError::Unsupported),
        }
    }
}

impl MessageCipher for AeadCipher {
    fn id(&self) -> CipherId {
        self.id
    }

    fn seal_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; 16], CryptoError> {
        self.check_nonce(nonce)?;
        let key = self.key();
        match self.id {
            CipherId::Aes128Ccm => seal_with::<Aes128Ccm>(key, nonce, aad, buf),
            CipherId::Aes256Ccm => seal_with::<Aes256Ccm>(key, nonce, aad, buf),
            CipherId::Aes128Gcm => seal_with::<Aes128Gcm>(key, nonce, aad, buf),
            CipherId::Aes256Gcm => seal_with::<Aes256Gcm>(key, nonce, aad, buf),
            _ => Err(CryptoError::Unsupported),
        }
    }

    fn open_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; 16],
    ) -> Result<(), CryptoError> {
        self.check_nonce(nonce)?;
        let key = self.key();
        match self.id {
            CipherId::Aes128Ccm => open_with::<Aes128Ccm>(key, nonce, aad, buf, tag),
            CipherId::Aes256Ccm => open_with::<Aes256Ccm>(key, nonce, aad, buf, tag),
            CipherId::Aes128Gcm => open_with::<Aes128Gcm>(key, nonce, aad, buf, tag),
            CipherId::Aes256Gcm => open_with::<Aes256Gcm>(key, nonce, aad, buf, tag),
            _ => Err(CryptoError::Unsupported),
        }
    }
}

/// Encrypts `buf` in place with a detached 16-byte tag.
fn seal_with<A: AeadInOut + KeyInit>(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; 16], CryptoError> {
    let cipher = A::new_from_slice(key).map_err(|_| CryptoError::BadKeyLength)?;
    let nonce =
        <&aes_gcm::aead::Nonce<A>>::try_from(nonce).map_err(|_| CryptoError::BadNonceLength)?;
    let tag = cipher
        .encrypt_inout_detached(nonce, aad, buf.into())
        // Only reachable for inputs beyond the AEAD length limits.
        .map_err(|_| CryptoError::Malformed)?;
    <[u8; 16]>::try_from(tag.as_slice()).map_err(|_| CryptoError::Unsupported)
}

/// Verifies the detached tag and decrypts `buf` in place.
fn open_with<A: AeadInOut + KeyInit>(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; 16],
) -> Result<(), CryptoError> {
    let cipher = A::new_from_slice(key).map_err(|_| CryptoError::BadKeyLength)?;
    let nonce =
        <&aes_gcm::aead::Nonce<A>>::try_from(nonce).map_err(|_| CryptoError::BadNonceLength)?;
    let tag =
        <&aes_gcm::aead::Tag<A>>::try_from(tag.as_slice()).map_err(|_| CryptoError::Unsupported)?;
    // The RustCrypto AEADs compare tags in constant time. GCM checks the tag before
    // decrypting and CCM zero-fills on failure; zero here too so that a failed open
    // never leaves unauthenticated bytes behind, whatever the backend does.
    cipher
        .decrypt_inout_detached(nonce, aad, (&mut *buf).into(), tag)
        .map_err(|_| {
            buf.fill(0);
            CryptoError::BadTag
        })
}
