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

/// [`sign_message`] for a message in two pieces: `head` (header and fixed body, whose
/// Signature field is set) and `tail` (a WRITE's data), hashed where they lie.
pub fn sign_message_parts(signer: &dyn MessageSigner, head: &mut [u8], tail: &[u8]) {
    let Some(field) = head.get_mut(SIGNATURE_RANGE) else {
        return;
    };
    field.fill(0);
    let sig = signer.compute_parts(&[head, tail]);
    if let Some(field) = head.get_mut(SIGNATURE_RANGE) {
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

/// Header offsets used to build the AES-GMAC nonce (MS-SMB2 2.2.1.2).
const HDR_COMMAND: usize = 12;
const HDR_FLAGS: usize = 16;
const HDR_MESSAGE_ID: usize = 24;
/// SMB2_FLAGS_SERVER_TO_REDIR (MS-SMB2 2.2.1.2).
const FLAGS_SERVER_TO_REDIR: u32 = 0x0000_0001;
/// SMB2 CANCEL command code (MS-SMB2 2.2.1.2).
const COMMAND_CANCEL: u16 = 0x000C;

/// Builds the 12-byte AES-GMAC nonce of MS-SMB2 3.1.4.1 from an SMB2 header:
/// MessageId (8 bytes LE), then a 32-bit LE value whose bit 0 says the sender is the
/// server (SMB2_FLAGS_SERVER_TO_REDIR) and bit 1 says the message is a CANCEL request.
/// The other 30 bits are zero. Header bytes missing from a short message read as zero.
pub fn gmac_nonce(message: &[u8]) -> [u8; 12] {
    let mut hdr = [0u8; 64];
    let n = message.len().min(64);
    hdr[..n].copy_from_slice(&message[..n]);
    let command = u16::from_le_bytes([hdr[HDR_COMMAND], hdr[HDR_COMMAND + 1]]);
    let flags = u32::from_le_bytes([
        hdr[HDR_FLAGS],
        hdr[HDR_FLAGS + 1],
        hdr[HDR_FLAGS + 2],
        hdr[HDR_FLAGS + 3],
    ]);
    let mut role = 0u32;
    if flags & FLAGS_SERVER_TO_REDIR != 0 {
        role |= 1;
    }
    if command == COMMAND_CANCEL {
        role |= 2;
    }
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&hdr[HDR_MESSAGE_ID..HDR_MESSAGE_ID + 8]);
    nonce[8..].copy_from_slice(&role.to_le_bytes());
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmac_nonce_layout() {
        let mut m = [0u8; 64];
        m[24..32].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
        m[16] = 1; // response
        m[12] = 0x0C; // CANCEL
        let n = gmac_nonce(&m);
        assert_eq!(&n[..8], &[0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
        assert_eq!(&n[8..], &[3, 0, 0, 0]);
        assert_eq!(gmac_nonce(&[]), [0u8; 12]);
    }
}
