//! SMB 3.x key derivation (MS-SMB2 3.1.4.2) and the per-session key set
//! (MS-SMB2 3.2.5.3.1).

use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::CipherId;

/// Largest key [`Key`] can hold (AES-256).
pub const MAX_KEY_LEN: usize = 32;

/// Dialect numbers as they appear on the wire (MS-SMB2 2.2.3).
const DIALECT_202: u16 = 0x0202;
const DIALECT_210: u16 = 0x0210;
const DIALECT_300: u16 = 0x0300;
const DIALECT_302: u16 = 0x0302;
const DIALECT_311: u16 = 0x0311;

/// SMB3KDF (MS-SMB2 3.1.4.2): NIST SP800-108 KDF in counter mode with HMAC-SHA256 as
/// the PRF, r = 32. Each block is
/// `HMAC(ki, i (u32 BE, from 1) || label || 0x00 || context || L (u32 BE))` with
/// `L = out.len() * 8`; the blocks are concatenated and cut to `out.len()`.
///
/// `label` and `context` are the exact bytes, including the NUL terminators the SMB
/// labels carry (e.g. `b"SMB2AESCMAC\0"`); the 0x00 separator is added here.
pub fn smb3_kdf(ki: &[u8], label: &[u8], context: &[u8], out: &mut [u8]) {
    // L is a 32-bit field; outputs this large are meaningless but must not panic.
    let l_bits = u32::try_from(out.len().saturating_mul(8)).unwrap_or(u32::MAX);
    let Ok(prf) = <Hmac<Sha256> as KeyInit>::new_from_slice(ki) else {
        // HMAC accepts any key length, so this is unreachable; fail closed.
        out.fill(0);
        return;
    };
    let mut counter: u32 = 1;
    for chunk in out.chunks_mut(32) {
        let block = prf
            .clone()
            .chain_update(counter.to_be_bytes())
            .chain_update(label)
            .chain_update([0u8])
            .chain_update(context)
            .chain_update(l_bits.to_be_bytes())
            .finalize()
            .into_bytes();
        chunk.copy_from_slice(&block[..chunk.len()]);
        counter = counter.wrapping_add(1);
    }
}

/// A symmetric key of up to 32 bytes, zeroized on drop, redacted in `Debug`.
///
/// An empty key means "not derived" (e.g. encryption keys below SMB 3.0); providers
/// reject it with [`CryptoError::BadKeyLength`](super::CryptoError::BadKeyLength).
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct Key {
    bytes: [u8; MAX_KEY_LEN],
    len: u8,
}

impl Key {
    /// Copies `bytes` into a key; `None` if longer than [`MAX_KEY_LEN`].
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let len = u8::try_from(bytes.len())
            .ok()
            .filter(|&l| usize::from(l) <= MAX_KEY_LEN)?;
        let mut key = Self {
            bytes: [0; MAX_KEY_LEN],
            len,
        };
        key.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(key)
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Key length in bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when no key was derived.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// SMB3KDF output of `len` bytes (at most [`MAX_KEY_LEN`]).
    fn derive(ki: &[u8], label: &[u8], context: &[u8], len: usize) -> Self {
        let len = len.min(MAX_KEY_LEN);
        let mut key = Self {
            bytes: [0; MAX_KEY_LEN],
            len: len as u8,
        };
        smb3_kdf(ki, label, context, &mut key.bytes[..len]);
        key
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({} bytes, redacted)", self.len)
    }
}

/// The keys of one session (or, for `signing`, one channel), from the client's point
/// of view (MS-SMB2 3.2.5.3.1).
#[derive(Clone, Debug, Default)]
pub struct SessionKeys {
    /// Session.SigningKey (3.x) or Session.SessionKey (2.0.2/2.1): signs messages.
    pub signing: Key,
    /// Session.EncryptionKey: encrypts client-to-server messages (empty below 3.0).
    pub encryption: Key,
    /// Session.DecryptionKey: decrypts server-to-client messages (empty below 3.0).
    pub decryption: Key,
    /// Session.ApplicationKey: handed to applications such as DCE/RPC (empty below 3.0).
    pub application: Key,
}

/// Derives a session's keys (MS-SMB2 3.2.5.3.1).
///
/// - `dialect`: wire number, 0x0202, 0x0210, 0x0300, 0x0302 or 0x0311.
/// - `session_key`: the full cryptographic key from GSS authentication. Session.SessionKey
///   is its first 16 bytes, zero-padded when shorter (MS-SMB2 3.2.1.3); the AES-256
///   ciphers derive their keys from the full key (Session.FullSessionKey).
/// - `preauth_hash`: Session.PreauthIntegrityHashValue, required for 3.1.1.
/// - `cipher`: Connection.CipherId (3.1.1); 3.0/3.0.2 always use AES-128-CCM.
///
/// Fails closed: an unknown dialect, or 3.1.1 without a pre-auth hash, yields all-empty
/// keys, which every provider rejects.
pub fn derive_session_keys(
    dialect: u16,
    session_key: &[u8],
    preauth_hash: Option<&[u8; 64]>,
    cipher: Option<CipherId>,
) -> SessionKeys {
    // MS-SMB2 3.2.1.3: Session.SessionKey = first 16 bytes, right-padded with zeros.
    let mut session_key_16 = Key {
        bytes: [0; MAX_KEY_LEN],
        len: 16,
    };
    let n = session_key.len().min(16);
    session_key_16.bytes[..n].copy_from_slice(&session_key[..n]);
    let sk = session_key_16.as_bytes();

    match dialect {
        // MS-SMB2 3.1.4.1: 2.0.2/2.1 sign with HMAC-SHA256 keyed by Session.SessionKey.
        DIALECT_202 | DIALECT_210 => SessionKeys {
            signing: Key::from_slice(sk).unwrap_or_default(),
            ..SessionKeys::default()
        },
        // MS-SMB2 3.1.4.2 / 3.2.5.3.1: fixed labels and contexts, 128-bit keys, CCM only.
        DIALECT_300 | DIALECT_302 => SessionKeys {
            signing: Key::derive(sk, b"SMB2AESCMAC\0", b"SmbSign\0", 16),
            encryption: Key::derive(sk, b"SMB2AESCCM\0", b"ServerIn \0", 16),
            decryption: Key::derive(sk, b"SMB2AESCCM\0", b"ServerOut\0", 16),
            application: Key::derive(sk, b"SMB2APP\0", b"SmbRpc\0", 16),
        },
        DIALECT_311 => {
            let Some(ctx) = preauth_hash else {
                return SessionKeys::default();
            };
            // MS-SMB2 3.2.5.3.1: AES-256 ciphers take L = 256 and Session.FullSessionKey
            // as the key derivation key; everything else uses Session.SessionKey, L = 128.
            let (enc_ki, enc_len) = match cipher {
                Some(CipherId::Aes256Ccm | CipherId::Aes256Gcm) => (session_key, 32),
                _ => (sk, 16),
            };
            SessionKeys {
                signing: Key::derive(sk, b"SMBSigningKey\0", ctx, 16),
                encryption: Key::derive(enc_ki, b"SMBC2SCipherKey\0", ctx, enc_len),
                decryption: Key::derive(enc_ki, b"SMBS2CCipherKey\0", ctx, enc_len),
                application: Key::derive(sk, b"SMBAppKey\0", ctx, 16),
            }
        }
        _ => SessionKeys::default(),
    }
}
