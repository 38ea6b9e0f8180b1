//! NTLM message encoding and parsing (MS-NLMP 2.2.1, 2.2.2.1).
//!
//! Parsers never panic: every length and offset is checked against the message.

use crate::auth::AuthError;

/// `"NTLMSSP\0"` (MS-NLMP 2.2.1).
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
/// Offset of the MIC field in an AUTHENTICATE_MESSAGE that carries a Version (MS-NLMP 2.2.1.3).
pub const MIC_OFFSET: usize = 72;

/// AV_PAIR ids (MS-NLMP 2.2.2.1).
pub mod av {
    /// MsvAvEOL: end of the list.
    pub const EOL: u16 = 0;
    /// MsvAvNbComputerName.
    pub const NB_COMPUTER_NAME: u16 = 1;
    /// MsvAvNbDomainName.
    pub const NB_DOMAIN_NAME: u16 = 2;
    /// MsvAvDnsComputerName.
    pub const DNS_COMPUTER_NAME: u16 = 3;
    /// MsvAvDnsDomainName.
    pub const DNS_DOMAIN_NAME: u16 = 4;
    /// MsvAvDnsTreeName.
    pub const DNS_TREE_NAME: u16 = 5;
    /// MsvAvFlags (u32; 0x2 = the AUTHENTICATE carries a MIC).
    pub const FLAGS: u16 = 6;
    /// MsvAvTimestamp (FILETIME).
    pub const TIMESTAMP: u16 = 7;
    /// MsvAvSingleHost.
    pub const SINGLE_HOST: u16 = 8;
    /// MsvAvTargetName (UTF-16LE SPN).
    pub const TARGET_NAME: u16 = 9;
    /// MsvAvChannelBindings (MD5 of gss_channel_bindings_struct).
    pub const CHANNEL_BINDINGS: u16 = 10;
    /// MsvAvFlags bit: the AUTHENTICATE_MESSAGE carries a MIC.
    pub const FLAG_MIC_PRESENT: u32 = 0x2;
}

/// One AV_PAIR (MS-NLMP 2.2.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvPair {
    /// AvId.
    pub id: u16,
    /// Value bytes.
    pub value: Vec<u8>,
}

impl AvPair {
    /// Creates a pair.
    pub fn new(id: u16, value: impl Into<Vec<u8>>) -> Self {
        Self {
            id,
            value: value.into(),
        }
    }
}

/// Parses an AV pair list up to (not including) MsvAvEOL. A list without MsvAvEOL or with
/// a pair running past the end is malformed; bytes after MsvAvEOL are ignored.
pub fn parse_av_pairs(mut data: &[u8]) -> Result<Vec<AvPair>, AuthError> {
    let mut out = Vec::new();
    loop {
        let id = u16_at(data, 0).ok_or(AuthError::Malformed("AV pair header"))?;
        let len = usize::from(u16_at(data, 2).ok_or(AuthError::Malformed("AV pair header"))?);
        if id == av::EOL {
            return Ok(out);
        }
        let value = data
            .get(4..4 + len)
            .ok_or(AuthError::Malformed("AV pair length"))?;
        out.push(AvPair::new(id, value));
        data = &data[4 + len..];
    }
}

/// Encodes an AV pair list and appends MsvAvEOL. Values longer than 65535 bytes are
/// truncated (no legitimate pair is).
pub fn encode_av_pairs(pairs: &[AvPair]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pairs.iter().filter(|p| p.id != av::EOL) {
        let len = p.value.len().min(usize::from(u16::MAX));
        out.extend_from_slice(&p.id.to_le_bytes());
        out.extend_from_slice(&(len as u16).to_le_bytes());
        out.extend_from_slice(&p.value[..len]);
    }
    out.extend_from_slice(&[0; 4]);
    out
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// Reads a Len/MaxLen/BufferOffset field descriptor at `at` and returns the payload bytes.
fn field<'a>(msg: &'a [u8], at: usize, what: &'static str) -> Result<&'a [u8], AuthError> {
    let len = usize::from(u16_at(msg, at).ok_or(AuthError::Malformed(what))?);
    let off = u32_at(msg, at + 4).ok_or(AuthError::Malformed(what))?;
    if len == 0 {
        return Ok(&[]);
    }
    let off = usize::try_from(off).map_err(|_| AuthError::Malformed(what))?;
    let end = off.checked_add(len).ok_or(AuthError::Malformed(what))?;
    msg.get(off..end).ok_or(AuthError::Malformed(what))
}

fn check_header(msg: &[u8], message_type: u32) -> Result<(), AuthError> {
    if msg.get(..8) != Some(SIGNATURE.as_slice()) {
        return Err(AuthError::Malformed("NTLMSSP signature"));
    }
    if u32_at(msg, 8) != Some(message_type) {
        return Err(AuthError::Malformed("NTLMSSP message type"));
    }
    Ok(())
}

/// Appends fields as Len/MaxLen/Offset descriptors into `out[desc..]` and their payloads,
/// in order, at the end of `out`. Empty fields get offset 0 when `empty_at_zero`.
fn put_fields(out: &mut Vec<u8>, descs: &[(usize, &[u8])], empty_at_zero: bool) {
    for &(desc, data) in descs {
        let off = if data.is_empty() && empty_at_zero {
            0
        } else {
            out.len() as u32
        };
        let len = data.len().min(usize::from(u16::MAX)) as u16;
        out[desc..desc + 2].copy_from_slice(&len.to_le_bytes());
        out[desc + 2..desc + 4].copy_from_slice(&len.to_le_bytes());
        out[desc + 4..desc + 8].copy_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&data[..usize::from(len)]);
    }
}

/// NEGOTIATE_MESSAGE without domain or workstation (MS-NLMP 2.2.1.1). Like Windows,
/// the empty fields have offset 0; the Version is present (zero unless `flags` has VERSION).
pub fn encode_negotiate(flags: u32, version: [u8; 8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(40);
    out.extend_from_slice(SIGNATURE);
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(&version);
    out
}

/// NegotiateFlags of a NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1).
pub fn parse_negotiate_flags(msg: &[u8]) -> Result<u32, AuthError> {
    check_header(msg, 1)?;
    u32_at(msg, 12).ok_or(AuthError::Malformed("NEGOTIATE flags"))
}

/// A CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeMessage {
    /// NegotiateFlags chosen by the server.
    pub flags: u32,
    /// The 8-byte ServerChallenge nonce.
    pub server_challenge: [u8; 8],
    /// Reserved bytes (kept for byte-exact re-encoding).
    pub reserved: [u8; 8],
    /// TargetName payload (UTF-16LE when UNICODE).
    pub target_name: Vec<u8>,
    /// TargetInfo payload: the raw AV pair list.
    pub target_info: Vec<u8>,
    /// Version, if the header has room for it (payload starts at or after offset 56).
    pub version: Option<[u8; 8]>,
}

impl ChallengeMessage {
    /// Parses and bounds-checks a CHALLENGE_MESSAGE.
    pub fn parse(msg: &[u8]) -> Result<Self, AuthError> {
        check_header(msg, 2)?;
        let target_name = field(msg, 12, "CHALLENGE TargetName")?.to_vec();
        let flags = u32_at(msg, 20).ok_or(AuthError::Malformed("CHALLENGE flags"))?;
        let server_challenge: [u8; 8] = msg
            .get(24..32)
            .and_then(|b| b.try_into().ok())
            .ok_or(AuthError::Malformed("CHALLENGE ServerChallenge"))?;
        let reserved: [u8; 8] = msg
            .get(32..40)
            .and_then(|b| b.try_into().ok())
            .ok_or(AuthError::Malformed("CHALLENGE Reserved"))?;
        let target_info = field(msg, 40, "CHALLENGE TargetInfo")?.to_vec();
        let min_payload = [u32_at(msg, 16), u32_at(msg, 44)]
            .into_iter()
            .flatten()
            .filter(|&o| o != 0)
            .min()
            .unwrap_or(u32::MAX);
        let version = if min_payload >= 56 {
            msg.get(48..56).and_then(|b| b.try_into().ok())
        } else {
            None
        };
        Ok(Self {
            flags,
            server_challenge,
            reserved,
            target_name,
            target_info,
            version,
        })
    }

    /// Encodes the message: header (with Version when present), TargetName, TargetInfo.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(56 + self.target_name.len() + self.target_info.len());
        out.extend_from_slice(SIGNATURE);
        out.extend_from_slice(&2u32.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.server_challenge);
        out.extend_from_slice(&self.reserved);
        out.extend_from_slice(&[0; 8]);
        if let Some(v) = self.version {
            out.extend_from_slice(&v);
        }
        // Empty fields at offset 0, as in the MS-NLMP 4.2.3.3 example.
        put_fields(
            &mut out,
            &[(12, &self.target_name), (40, &self.target_info)],
            true,
        );
        out
    }
}

/// An AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3). Strings are kept as wire bytes.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AuthenticateMessage {
    /// LmChallengeResponse.
    pub lm_response: Vec<u8>,
    /// NtChallengeResponse.
    pub nt_response: Vec<u8>,
    /// DomainName (UTF-16LE).
    pub domain: Vec<u8>,
    /// UserName (UTF-16LE).
    pub user: Vec<u8>,
    /// Workstation (UTF-16LE).
    pub workstation: Vec<u8>,
    /// EncryptedRandomSessionKey (empty without KEY_EXCH).
    pub encrypted_random_session_key: Vec<u8>,
    /// NegotiateFlags.
    pub flags: u32,
    /// Version (always encoded; zero when VERSION was not negotiated).
    pub version: [u8; 8],
    /// The MIC field, when present (then the header is 88 bytes).
    pub mic: Option<[u8; 16]>,
}

impl AuthenticateMessage {
    /// Encodes the message. Payload order (as Windows): domain, user, workstation,
    /// LM response, NT response, encrypted session key.
    pub fn encode(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(88 + self.lm_response.len() + self.nt_response.len() + 3 * 32 + 16);
        out.extend_from_slice(SIGNATURE);
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&[0; 48]);
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.version);
        if let Some(m) = self.mic {
            out.extend_from_slice(&m);
        }
        put_fields(
            &mut out,
            &[
                (28, &self.domain),
                (36, &self.user),
                (44, &self.workstation),
                (12, &self.lm_response),
                (20, &self.nt_response),
                (52, &self.encrypted_random_session_key),
            ],
            false,
        );
        out
    }

    /// Parses and bounds-checks an AUTHENTICATE_MESSAGE. The MIC field is taken as
    /// present when every non-empty payload starts at or after offset 88.
    pub fn parse(msg: &[u8]) -> Result<Self, AuthError> {
        check_header(msg, 3)?;
        let flags = u32_at(msg, 60).ok_or(AuthError::Malformed("AUTHENTICATE flags"))?;
        let descs = [12usize, 20, 28, 36, 44, 52];
        let min_payload = descs
            .iter()
            .filter(|&&d| u16_at(msg, d).unwrap_or(0) != 0)
            .filter_map(|&d| u32_at(msg, d + 4))
            .min()
            .unwrap_or(u32::MAX);
        let version = msg
            .get(64..72)
            .and_then(|b| b.try_into().ok())
            .unwrap_or([0; 8]);
        let mic = if min_payload >= 88 {
            msg.get(72..88).and_then(|b| b.try_into().ok())
        } else {
            None
        };
        Ok(Self {
            lm_response: field(msg, 12, "AUTHENTICATE LmChallengeResponse")?.to_vec(),
            nt_response: field(msg, 20, "AUTHENTICATE NtChallengeResponse")?.to_vec(),
            domain: field(msg, 28, "AUTHENTICATE DomainName")?.to_vec(),
            user: field(msg, 36, "AUTHENTICATE UserName")?.to_vec(),
            workstation: field(msg, 44, "AUTHENTICATE Workstation")?.to_vec(),
            encrypted_random_session_key: field(msg, 52, "AUTHENTICATE EncryptedRandomSessionKey")?
                .to_vec(),
            flags,
            version,
            mic,
        })
    }
}
