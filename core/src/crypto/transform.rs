//! SMB2 TRANSFORM_HEADER encryption and decryption (MS-SMB2 2.2.41, 3.1.4.3, 3.2.5.1.1.1).
//!
//! Both directions work in place on one frame buffer: 52 header bytes followed by the
//! SMB2 message (or compound chain), so sealing and opening never allocate.

use core::ops::Range;

use super::{CryptoError, MessageCipher};

/// Size of the SMB2 TRANSFORM_HEADER (MS-SMB2 2.2.41).
pub const TRANSFORM_HEADER_LEN: usize = 52;

/// ProtocolId of an encrypted message: 0xFD 'S' 'M' 'B' (MS-SMB2 2.2.41).
pub const TRANSFORM_PROTOCOL_ID: [u8; 4] = [0xFD, b'S', b'M', b'B'];

/// Flags (3.1.1: SMB2_TRANSFORM_HEADER_FLAG_ENCRYPTED) / EncryptionAlgorithm
/// (3.0/3.0.2: SMB2_ENCRYPTION_AES128_CCM); both are 0x0001 (MS-SMB2 2.2.41).
pub const TRANSFORM_FLAG_ENCRYPTED: u16 = 0x0001;

// Field offsets within the header (MS-SMB2 2.2.41).
const PROTOCOL_ID: Range<usize> = 0..4;
const SIGNATURE: Range<usize> = 4..20;
const NONCE: Range<usize> = 20..36;
const NONCE_START: usize = 20;
const ORIGINAL_SIZE: Range<usize> = 36..40;
const RESERVED: Range<usize> = 40..42;
const FLAGS: Range<usize> = 42..44;
const SESSION_ID: Range<usize> = 44..52;
/// The authenticated data: the header from Nonce on, without ProtocolId and Signature
/// (MS-SMB2 3.1.4.3).
const AAD: Range<usize> = 20..52;

/// Encrypts one frame in place (MS-SMB2 3.1.4.3).
///
/// `frame[..52]` is reserved space that this function fills with the TRANSFORM_HEADER;
/// `frame[52..]` is the plaintext SMB2 message, which is encrypted in place. Only the
/// first nonce-length bytes of `nonce` (11 for CCM, 12 for GCM) are used, and the rest
/// of the Nonce field is written as zero, as 3.1.1 requires of its Reserved part
/// (MS-SMB2 2.2.41). The caller must never reuse a nonce under one key.
pub fn seal_transform(
    cipher: &dyn MessageCipher,
    nonce: &[u8; 16],
    session_id: u64,
    frame: &mut [u8],
) -> Result<(), CryptoError> {
    let n = cipher.id().nonce_len().ok_or(CryptoError::Unsupported)?;
    let mut field = [0u8; 16];
    let used = nonce.get(..n).ok_or(CryptoError::BadNonceLength)?;
    field
        .get_mut(..n)
        .ok_or(CryptoError::BadNonceLength)?
        .copy_from_slice(used);
    seal_transform_with_nonce_field(cipher, &field, session_id, frame)
}

/// Like [`seal_transform`], but writes all 16 bytes of `nonce_field` into the Nonce
/// field verbatim (the AES nonce is still its first 11 or 12 bytes).
///
/// SMB 3.0/3.0.2 peers (e.g. Windows 8 / Server 2012) fill the whole field, and all of
/// it is authenticated; this reproduces such frames exactly. Prefer [`seal_transform`].
pub fn seal_transform_with_nonce_field(
    cipher: &dyn MessageCipher,
    nonce_field: &[u8; 16],
    session_id: u64,
    frame: &mut [u8],
) -> Result<(), CryptoError> {
    let fields = TransformFields {
        nonce_field: *nonce_field,
        session_id,
        original_size: None,
        flags: None,
    };
    seal_transform_fields(cipher, &fields, frame)
}

/// The TRANSFORM_HEADER fields a sealer writes (MS-SMB2 2.2.41). `None` computes:
/// OriginalMessageSize from the frame, Flags as ENCRYPTED.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransformFields {
    /// The whole Nonce field, written verbatim (the AES nonce is its first 11 or 12 bytes).
    pub nonce_field: [u8; 16],
    /// SessionId (also authenticated).
    pub session_id: u64,
    /// OriginalMessageSize; `None` is the plaintext's length.
    pub original_size: Option<u32>,
    /// Flags (EncryptionAlgorithm at 3.0); `None` is ENCRYPTED (0x0001).
    pub flags: Option<u16>,
}

/// Like [`seal_transform_with_nonce_field`], with every header field the caller's:
/// a forced OriginalMessageSize or Flags is authenticated, so a server sees a correctly
/// tagged lie (negative tests).
pub fn seal_transform_fields(
    cipher: &dyn MessageCipher,
    fields: &TransformFields,
    frame: &mut [u8],
) -> Result<(), CryptoError> {
    let n = cipher.id().nonce_len().ok_or(CryptoError::Unsupported)?;
    if frame.len() < TRANSFORM_HEADER_LEN {
        return Err(CryptoError::Malformed);
    }
    // OriginalMessageSize is a u32.
    let size = match fields.original_size {
        Some(s) => s,
        None => {
            u32::try_from(frame.len() - TRANSFORM_HEADER_LEN).map_err(|_| CryptoError::Malformed)?
        }
    };
    let (hdr, body) = frame.split_at_mut(TRANSFORM_HEADER_LEN);
    hdr[PROTOCOL_ID].copy_from_slice(&TRANSFORM_PROTOCOL_ID);
    hdr[SIGNATURE].fill(0);
    hdr[NONCE].copy_from_slice(&fields.nonce_field);
    hdr[ORIGINAL_SIZE].copy_from_slice(&size.to_le_bytes());
    hdr[RESERVED].fill(0);
    let flags = fields.flags.unwrap_or(TRANSFORM_FLAG_ENCRYPTED);
    hdr[FLAGS].copy_from_slice(&flags.to_le_bytes());
    hdr[SESSION_ID].copy_from_slice(&fields.session_id.to_le_bytes());
    let aes_nonce = fields
        .nonce_field
        .get(..n)
        .ok_or(CryptoError::BadNonceLength)?;
    let tag = cipher.seal_in_place(aes_nonce, &hdr[AAD], body)?;
    hdr[SIGNATURE].copy_from_slice(&tag);
    Ok(())
}

/// Verifies and decrypts one frame in place (MS-SMB2 3.2.5.1.1.1) and returns the range
/// of `frame` holding the plaintext SMB2 message.
///
/// Checks ProtocolId, Flags/EncryptionAlgorithm == 0x0001 and
/// OriginalMessageSize == `frame.len() - 52` ([`CryptoError::Malformed`] otherwise),
/// then the tag ([`CryptoError::BadTag`]). The caller picks `cipher` by
/// [`transform_session_id`]. On error the body content is unspecified.
pub fn open_transform(
    cipher: &dyn MessageCipher,
    frame: &mut [u8],
) -> Result<Range<usize>, CryptoError> {
    let n = cipher.id().nonce_len().ok_or(CryptoError::Unsupported)?;
    if frame.len() < TRANSFORM_HEADER_LEN {
        return Err(CryptoError::Malformed);
    }
    let (hdr, body) = frame.split_at_mut(TRANSFORM_HEADER_LEN);
    if hdr[PROTOCOL_ID] != TRANSFORM_PROTOCOL_ID {
        return Err(CryptoError::Malformed);
    }
    if u16::from_le_bytes([hdr[FLAGS.start], hdr[FLAGS.start + 1]]) != TRANSFORM_FLAG_ENCRYPTED {
        return Err(CryptoError::Malformed);
    }
    let size = u32::from_le_bytes([
        hdr[ORIGINAL_SIZE.start],
        hdr[ORIGINAL_SIZE.start + 1],
        hdr[ORIGINAL_SIZE.start + 2],
        hdr[ORIGINAL_SIZE.start + 3],
    ]);
    if usize::try_from(size).ok() != Some(body.len()) {
        return Err(CryptoError::Malformed);
    }
    let mut tag = [0u8; 16];
    tag.copy_from_slice(&hdr[SIGNATURE]);
    // The AES nonce is the leftmost 11 (CCM) or 12 (GCM) bytes of Nonce; the whole
    // Nonce field, reserved part included, is authenticated as received.
    let aes_nonce = hdr
        .get(NONCE_START..NONCE_START + n)
        .ok_or(CryptoError::BadNonceLength)?;
    cipher.open_in_place(aes_nonce, &hdr[AAD], body, &tag)?;
    Ok(TRANSFORM_HEADER_LEN..frame.len())
}

/// The SessionId of a TRANSFORM_HEADER, or `None` if `frame` is too short or does not
/// start with the transform ProtocolId. Used to find the session's decryption key.
pub fn transform_session_id(frame: &[u8]) -> Option<u64> {
    if frame.get(PROTOCOL_ID)? != TRANSFORM_PROTOCOL_ID {
        return None;
    }
    let id: [u8; 8] = frame.get(SESSION_ID)?.try_into().ok()?;
    Some(u64::from_le_bytes(id))
}
