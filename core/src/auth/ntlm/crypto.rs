//! NTLM cryptographic building blocks (MS-NLMP 3.3.2, 3.4.4, 3.4.5, 6).

use hmac::{Hmac, KeyInit, Mac};
use md4::Md4;
use md5::{Digest, Md5};
use rc4::{Rc4, StreamCipher};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use super::flags;

type HmacMd5 = Hmac<Md5>;

/// Which end of the connection a key or a signature belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Client to server.
    Client,
    /// Server to client.
    Server,
}

/// UTF-16LE encoding of a string (MS-NLMP 2.2: UNICODE strings).
pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// `HMAC_MD5(key, parts[0] || parts[1] || ...)` (MS-NLMP 6).
pub fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacMd5 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `MD4(UNICODE(Passwd))`: the NT hash, also NTOWFv1 (MS-NLMP 3.3.1).
pub fn nt_hash(password: &str) -> [u8; 16] {
    let mut pw = utf16le(password);
    let out: [u8; 16] = Md4::digest(&pw).into();
    pw.zeroize();
    out
}

/// NTOWFv1 (MS-NLMP 3.3.1): the same as [`nt_hash`].
pub fn ntowfv1(password: &str) -> [u8; 16] {
    nt_hash(password)
}

/// SessionBaseKey of NTLMv1 (MS-NLMP 3.3.1): `MD4(NTOWFv1)`.
pub fn ntlmv1_session_base_key(ntowfv1: &[u8; 16]) -> [u8; 16] {
    Md4::digest(ntowfv1).into()
}

/// NTOWFv2 from an NT hash (MS-NLMP 3.3.2):
/// `HMAC_MD5(MD4(UNICODE(Passwd)), UNICODE(ConcatenationOf(Uppercase(User), UserDom)))`.
pub fn ntowfv2_from_hash(nt_hash: &[u8; 16], user: &str, domain: &str) -> [u8; 16] {
    let mut id = utf16le(&user.to_uppercase());
    id.extend_from_slice(&utf16le(domain));
    hmac_md5(nt_hash, &[&id])
}

/// NTOWFv2 (MS-NLMP 3.3.2), the NTLMv2 ResponseKeyNT.
pub fn ntowfv2(password: &str, user: &str, domain: &str) -> [u8; 16] {
    let mut h = nt_hash(password);
    let out = ntowfv2_from_hash(&h, user, domain);
    h.zeroize();
    out
}

/// LMOWFv2 (MS-NLMP 3.3.2): identical to NTOWFv2, the NTLMv2 ResponseKeyLM.
pub fn lmowfv2(password: &str, user: &str, domain: &str) -> [u8; 16] {
    ntowfv2(password, user, domain)
}

/// The NTLMv2 `temp` blob (MS-NLMP 3.3.2, 2.2.2.7 NTLMv2_CLIENT_CHALLENGE):
/// `RespType(1) || HiRespType(1) || Z(6) || Time || ClientChallenge || Z(4)
/// || ServerName || Z(4)`, where `server_name` is the encoded AV pair list (with MsvAvEOL).
pub fn ntlmv2_temp(time: u64, client_challenge: &[u8; 8], server_name: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(32 + server_name.len());
    t.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
    t.extend_from_slice(&time.to_le_bytes());
    t.extend_from_slice(client_challenge);
    t.extend_from_slice(&[0; 4]);
    t.extend_from_slice(server_name);
    t.extend_from_slice(&[0; 4]);
    t
}

/// The outputs of the NTLMv2 computation (MS-NLMP 3.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ntlmv2Response {
    /// `HMAC_MD5(ResponseKeyNT, ServerChallenge || temp)`.
    pub nt_proof_str: [u8; 16],
    /// NtChallengeResponse: `NTProofStr || temp`.
    pub response: Vec<u8>,
    /// `HMAC_MD5(ResponseKeyNT, NTProofStr)`.
    pub session_base_key: [u8; 16],
}

/// Computes NTProofStr, the NtChallengeResponse and the SessionBaseKey (MS-NLMP 3.3.2).
pub fn ntlmv2_response(
    response_key_nt: &[u8; 16],
    server_challenge: &[u8; 8],
    temp: &[u8],
) -> Ntlmv2Response {
    let nt_proof_str = hmac_md5(response_key_nt, &[server_challenge, temp]);
    let mut response = nt_proof_str.to_vec();
    response.extend_from_slice(temp);
    let session_base_key = hmac_md5(response_key_nt, &[&nt_proof_str]);
    Ntlmv2Response {
        nt_proof_str,
        response,
        session_base_key,
    }
}

/// LMv2 response (MS-NLMP 3.3.2):
/// `HMAC_MD5(ResponseKeyLM, ServerChallenge || ClientChallenge) || ClientChallenge`.
pub fn lmv2_response(
    response_key_lm: &[u8; 16],
    server_challenge: &[u8; 8],
    client_challenge: &[u8; 8],
) -> [u8; 24] {
    let mut out = [0; 24];
    out[..16].copy_from_slice(&hmac_md5(
        response_key_lm,
        &[server_challenge, client_challenge],
    ));
    out[16..].copy_from_slice(client_challenge);
    out
}

/// KXKEY for NTLMv2 (MS-NLMP 3.4.5.1): the KeyExchangeKey is the SessionBaseKey.
pub fn kxkey(session_base_key: &[u8; 16]) -> [u8; 16] {
    *session_base_key
}

/// `RC4K(key, data)` with a fresh RC4 state (MS-NLMP 6).
pub fn rc4k(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    if let Ok(mut c) = Rc4::new_from_slice(key) {
        c.apply_keystream(&mut out);
    }
    out
}

/// EncryptedRandomSessionKey = `RC4K(KeyExchangeKey, ExportedSessionKey)` (MS-NLMP 3.1.5.1.2);
/// the same call decrypts it on the server side.
pub fn encrypt_session_key(key_exchange_key: &[u8; 16], session_key: &[u8; 16]) -> [u8; 16] {
    let mut out = *session_key;
    if let Ok(mut c) = Rc4::new_from_slice(key_exchange_key) {
        c.apply_keystream(&mut out);
    }
    out
}

/// MIC = `HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE || AUTHENTICATE)`, with the
/// AUTHENTICATE's MIC field zeroed (MS-NLMP 3.1.5.1.2).
pub fn mic(
    exported_session_key: &[u8; 16],
    negotiate: &[u8],
    challenge: &[u8],
    authenticate: &[u8],
) -> [u8; 16] {
    hmac_md5(exported_session_key, &[negotiate, challenge, authenticate])
}

const CLIENT_SIGN: &[u8] = b"session key to client-to-server signing key magic constant\0";
const SERVER_SIGN: &[u8] = b"session key to server-to-client signing key magic constant\0";
const CLIENT_SEAL: &[u8] = b"session key to client-to-server sealing key magic constant\0";
const SERVER_SEAL: &[u8] = b"session key to server-to-client sealing key magic constant\0";

/// SIGNKEY with extended session security (MS-NLMP 3.4.5.2):
/// `MD5(ExportedSessionKey || magic constant)`.
pub fn signkey(exported_session_key: &[u8; 16], side: Side) -> [u8; 16] {
    let magic = match side {
        Side::Client => CLIENT_SIGN,
        Side::Server => SERVER_SIGN,
    };
    md5(&[exported_session_key, magic])
}

/// SEALKEY with extended session security (MS-NLMP 3.4.5.3): the first 16, 7 or 5 bytes of
/// the ExportedSessionKey (128-bit, 56-bit or 40-bit per `negotiate_flags`), then MD5 with
/// the magic constant.
pub fn sealkey(negotiate_flags: u32, exported_session_key: &[u8; 16], side: Side) -> [u8; 16] {
    let len = if negotiate_flags & flags::NEGOTIATE_128 != 0 {
        16
    } else if negotiate_flags & flags::NEGOTIATE_56 != 0 {
        7
    } else {
        5
    };
    let magic = match side {
        Side::Client => CLIENT_SEAL,
        Side::Server => SERVER_SEAL,
    };
    md5(&[&exported_session_key[..len], magic])
}

/// One direction's GSS message security state with extended session security
/// (MS-NLMP 3.4.4.2, 3.4.6): signing key, RC4 sealing handle and sequence number.
pub struct MessageSecurity {
    signing_key: [u8; 16],
    handle: Option<Rc4>,
    key_exch: bool,
    seq_num: u32,
}

impl MessageSecurity {
    /// Creates the state for one direction. `key_exch` says whether
    /// NTLMSSP_NEGOTIATE_KEY_EXCH was negotiated (then checksums are RC4-sealed).
    pub fn new(signing_key: [u8; 16], sealing_key: [u8; 16], key_exch: bool) -> Self {
        Self {
            signing_key,
            handle: Rc4::new_from_slice(&sealing_key).ok(),
            key_exch,
            seq_num: 0,
        }
    }

    /// Creates the state of `side` from the ExportedSessionKey and negotiated flags.
    pub fn from_session_key(
        negotiate_flags: u32,
        exported_session_key: &[u8; 16],
        side: Side,
    ) -> Self {
        Self::new(
            signkey(exported_session_key, side),
            sealkey(negotiate_flags, exported_session_key, side),
            negotiate_flags & flags::KEY_EXCH != 0,
        )
    }

    /// The next sequence number to be used.
    pub fn seq_num(&self) -> u32 {
        self.seq_num
    }

    /// MAC with extended session security (MS-NLMP 3.4.4.2):
    /// `Version(1) || RC4(Handle, HMAC_MD5(SigningKey, SeqNum || Message)[0..8]) || SeqNum`.
    fn mac(&mut self, message: &[u8]) -> [u8; 16] {
        let seq = self.seq_num.to_le_bytes();
        let full = hmac_md5(&self.signing_key, &[&seq, message]);
        let mut checksum = [0u8; 8];
        checksum.copy_from_slice(&full[..8]);
        if let (true, Some(h)) = (self.key_exch, self.handle.as_mut()) {
            h.apply_keystream(&mut checksum);
        }
        self.seq_num = self.seq_num.wrapping_add(1);
        let mut sig = [0u8; 16];
        sig[..4].copy_from_slice(&1u32.to_le_bytes());
        sig[4..12].copy_from_slice(&checksum);
        sig[12..].copy_from_slice(&seq);
        sig
    }

    /// GSS_GetMICEx (MS-NLMP 3.4.4.2): signs `message` with the next sequence number.
    pub fn get_mic(&mut self, message: &[u8]) -> [u8; 16] {
        self.mac(message)
    }

    /// GSS_VerifyMICEx (MS-NLMP 3.4.4.2, 3.4.8): recomputes the signature with the next
    /// sequence number and compares in constant time. The sequence number advances either way.
    pub fn verify_mic(&mut self, message: &[u8], signature: &[u8]) -> bool {
        let expected = self.mac(message);
        bool::from(expected.as_slice().ct_eq(signature))
    }

    /// GSS_WrapEx (MS-NLMP 3.4.6, SEAL in 3.4.3): RC4-encrypts `message` with the sealing
    /// handle, then signs the plaintext; returns the sealed data and the 16-byte signature.
    pub fn wrap(&mut self, message: &[u8]) -> (Vec<u8>, [u8; 16]) {
        let mut sealed = message.to_vec();
        if let Some(h) = self.handle.as_mut() {
            h.apply_keystream(&mut sealed);
        }
        let sig = self.mac(message);
        (sealed, sig)
    }
}

impl Drop for MessageSecurity {
    fn drop(&mut self) {
        self.signing_key.zeroize();
    }
}

impl core::fmt::Debug for MessageSecurity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MessageSecurity")
            .field("seq_num", &self.seq_num)
            .finish_non_exhaustive()
    }
}
