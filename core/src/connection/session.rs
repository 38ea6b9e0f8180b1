//! Per-session state: authentication progress, keys, signing and encryption policy.

use crate::auth::{Authenticator, FileTime};
use crate::crypto::{MessageCipher, MessageSigner, PreauthHash};
use crate::wire::{SessionFlags, SessionId, TreeId};

use super::RequestId;

/// Where a session is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SessionState {
    /// SESSION_SETUP legs in progress.
    SettingUp,
    /// Authenticated and usable.
    Ready,
    /// Failed setup or logged off.
    Gone,
}

pub(crate) struct Session {
    pub(crate) id: SessionId,
    pub(crate) state: SessionState,
    pub(crate) auth: Box<dyn Authenticator>,
    pub(crate) wall_time: Option<FileTime>,
    /// The caller's handle for the whole multi-leg setup.
    pub(crate) setup_request: RequestId,
    /// 3.1.1 session preauth hash (MS-SMB2 3.2.5.3.1).
    pub(crate) preauth: Option<PreauthHash>,
    pub(crate) flags: SessionFlags,
    pub(crate) signer: Option<Box<dyn MessageSigner>>,
    pub(crate) encryptor: Option<Box<dyn MessageCipher>>,
    pub(crate) decryptor: Option<Box<dyn MessageCipher>>,
    pub(crate) signing_required: bool,
    /// Encrypt every request of this session.
    pub(crate) encrypt_data: bool,
    /// Nonce = counter (8 bytes LE) || salt; unique per key while the counter is.
    pub(crate) nonce_counter: u64,
    pub(crate) nonce_salt: [u8; 4],
    /// Trees of this session that require encryption.
    pub(crate) encrypted_trees: Vec<TreeId>,
    /// [`key_fingerprint`] of the signing key, once the session has one.
    pub(crate) key_fingerprint: Option<[u8; 8]>,
}

/// Identifies a key without revealing it: the first 8 bytes of its SHA-256. Tests
/// compare these to tell sessions' keys apart (or alike); the key itself never leaves
/// its signer or cipher.
pub(crate) fn key_fingerprint(key: &[u8]) -> [u8; 8] {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(key);
    let mut out = [0; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

impl Session {
    /// Next transform nonce (MS-SMB2 3.1.4.3: never reused with the same key).
    pub(crate) fn next_nonce(&mut self) -> [u8; 16] {
        let mut n = [0; 16];
        n[..8].copy_from_slice(&self.nonce_counter.to_le_bytes());
        // CCM uses 11 bytes, GCM 12: the salt fills bytes 8..11 (or 8..12), and the
        // rest of the 16-byte Nonce field is zero (MS-SMB2 2.2.41).
        let len = self
            .encryptor
            .as_ref()
            .and_then(|c| c.id().nonce_len())
            .unwrap_or(12)
            .clamp(8, 12);
        n[8..len].copy_from_slice(&self.nonce_salt[..len - 8]);
        self.nonce_counter += 1;
        n
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.state == SessionState::Ready
    }
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("state", &self.state)
            .field("signing_required", &self.signing_required)
            .field("encrypt_data", &self.encrypt_data)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::key_fingerprint;

    #[test]
    fn fingerprint_is_sha256_prefix() {
        // SHA-256("") = e3b0c442 98fc1c14 ...; SHA-256("abc") = ba7816bf 8f01cfea ...
        assert_eq!(
            key_fingerprint(b""),
            [0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14]
        );
        assert_eq!(
            key_fingerprint(b"abc"),
            [0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea]
        );
    }
}
