//! Deterministic random bytes from a caller-supplied seed.
//!
//! The core never asks the OS for entropy: the caller passes a 32-byte seed to
//! [`Connection::new`](crate::Connection::new) and every nonce, client challenge and
//! session key is drawn from this generator. Proptests fix the seed to be reproducible;
//! real clients seed it from the OS.

use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// A SHA-256 counter-mode generator: block *n* is `SHA-256(seed || n)`.
///
/// Secure as long as the seed is secret and uniformly random (SHA-256 as a PRF).
pub struct Rng {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl Rng {
    /// Creates a generator from a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            seed,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    /// Fills `out` with the next bytes of the stream.
    pub fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            if self.used == self.block.len() {
                let mut h = Sha256::new();
                h.update(self.seed);
                h.update(self.counter.to_le_bytes());
                self.block.copy_from_slice(&h.finalize());
                self.counter += 1;
                self.used = 0;
            }
            *b = self.block[self.used];
            self.used += 1;
        }
    }

    /// Returns the next `N` random bytes.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        self.fill(&mut out);
        out
    }

    /// Derives an independent generator (e.g. one per authenticator).
    pub fn fork(&mut self) -> Self {
        Self::from_seed(self.bytes())
    }
}

impl Drop for Rng {
    fn drop(&mut self) {
        self.seed.zeroize();
        self.block.zeroize();
    }
}

impl core::fmt::Debug for Rng {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Rng { .. }")
    }
}
