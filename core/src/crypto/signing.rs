//! Signing and verifying whole SMB2 messages (MS-SMB2 3.1.4.1, 3.1.5.1).

use core::ops::Range;

use subtle::ConstantTimeEq;

use super::MessageSigner;

/// The Signature field of the SMB2 header (MS-SMB2 2.2.1).
pub const SIGNATURE_RANGE: Range<usize> = 48..64;

/// Signs one SMB2 message in place (MS-SMB2 3.1.4.1): zeroes the Signature field,
/// computes the signature over the whole message (header, body and any compound
/// padding) and writes it into the field. The caller sets SMB2_FLAGS_SIGNED first,
/// since the flags are covered by the signature.
///
/// A message shorter than the 64-byte header is left untouched.
pub fn sign_message(signer: &dyn MessageSigner, message: &mut [u8]) {
    let Some(field) = message.get_mut(SIGNATURE_RANGE) else {
        return;
    };
    field.fill(0);
    let sig = signer.compute(message);
    if let Some(field) = message.get_mut(SIGNATURE_RANGE) {
        field.copy_from_slice(&sig);
    }
}

/// Verifies the signature of one SMB2 message (MS-SMB2 3.1.5.1): saves the Signature
/// field, zeroes it, recomputes, restores the original bytes and compares in constant
/// time. `message` is only borrowed mutably to zero the field temporarily; it is
/// unchanged on return.
///
/// Returns false for a message shorter than the 64-byte header.
pub fn verify_message(signer: &dyn MessageSigner, message: &mut [u8]) -> bool {
    let mut saved = [0u8; 16];
    let Some(field) = message.get_mut(SIGNATURE_RANGE) else {
        return false;
    };
    saved.copy_from_slice(field);
    field.fill(0);
    let expected = signer.compute(message);
    if let Some(field) = message.get_mut(SIGNATURE_RANGE) {
        field.copy_from_slice(&saved);
    }
    expected.ct_eq(&saved).into()
}
