//! SMB 3.1.1 pre-authentication integrity hash (MS-SMB2 3.2.5.2, 3.2.5.3.1).

use sha2::{Digest, Sha512};

/// A running SHA-512 pre-authentication integrity hash value
/// (Connection.PreauthIntegrityHashValue or Session.PreauthIntegrityHashValue).
///
/// Starts as 64 zero bytes; each NEGOTIATE and SESSION_SETUP message (whole SMB2
/// message, no transport framing) is folded in as `H = SHA-512(H || message)`.
/// A session's hash starts as a copy of the connection's after the NEGOTIATE response,
/// hence `Clone`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreauthHash([u8; 64]);

impl PreauthHash {
    /// The initial value: 64 zero bytes (MS-SMB2 3.2.5.2 / 3.2.4.2.2.2).
    pub fn new() -> Self {
        Self([0; 64])
    }

    /// Folds one message in: `H = SHA-512(H || message)`.
    pub fn update(&mut self, message: &[u8]) {
        let digest = Sha512::new()
            .chain_update(self.0)
            .chain_update(message)
            .finalize();
        self.0.copy_from_slice(&digest);
    }

    /// The current hash value (the KDF context for 3.1.1 keys).
    pub fn value(&self) -> &[u8; 64] {
        &self.0
    }
}

impl Default for PreauthHash {
    fn default() -> Self {
        Self::new()
    }
}
