//! NTLMv2 (NTLMSSP) client, MS-NLMP, with extended session security, key exchange and MIC.
//!
//! [`Ntlm`] produces raw NTLMSSP tokens; wrap it in [`Spnego`](super::spnego::Spnego) for
//! SMB. The pure building blocks (hashes, responses, keys, GSS_GetMIC) are public so they
//! can be checked against the MS-NLMP section 4 vectors.

mod crypto;
mod messages;

use core::fmt;

use zeroize::{Zeroize, Zeroizing};

pub use crypto::{
    MessageSecurity, Ntlmv2Response, Side, encrypt_session_key, hmac_md5, kxkey, lmowfv2,
    lmv2_response, mic, nt_hash, ntlmv1_session_base_key, ntlmv2_response, ntlmv2_temp, ntowfv1,
    ntowfv2, ntowfv2_from_hash, rc4k, sealkey, signkey, utf16le,
};
pub use messages::{
    AuthenticateMessage, AvPair, ChallengeMessage, MIC_OFFSET, SIGNATURE, av, encode_av_pairs,
    encode_negotiate, parse_av_pairs, parse_negotiate_flags,
};

use super::{AuthContext, AuthError, AuthStep, Authenticator};

/// NegotiateFlags bits (MS-NLMP 2.2.2.5).
pub mod flags {
    /// NTLMSSP_NEGOTIATE_UNICODE.
    pub const UNICODE: u32 = 0x0000_0001;
    /// NTLM_NEGOTIATE_OEM.
    pub const OEM: u32 = 0x0000_0002;
    /// NTLMSSP_REQUEST_TARGET.
    pub const REQUEST_TARGET: u32 = 0x0000_0004;
    /// NTLMSSP_NEGOTIATE_SIGN.
    pub const SIGN: u32 = 0x0000_0010;
    /// NTLMSSP_NEGOTIATE_SEAL.
    pub const SEAL: u32 = 0x0000_0020;
    /// NTLMSSP_NEGOTIATE_LM_KEY.
    pub const LM_KEY: u32 = 0x0000_0080;
    /// NTLMSSP_NEGOTIATE_NTLM.
    pub const NTLM: u32 = 0x0000_0200;
    /// NTLMSSP_NEGOTIATE_ANONYMOUS ("J").
    pub const ANONYMOUS: u32 = 0x0000_0800;
    /// NTLMSSP_NEGOTIATE_ALWAYS_SIGN.
    pub const ALWAYS_SIGN: u32 = 0x0000_8000;
    /// NTLMSSP_TARGET_TYPE_DOMAIN.
    pub const TARGET_TYPE_DOMAIN: u32 = 0x0001_0000;
    /// NTLMSSP_TARGET_TYPE_SERVER.
    pub const TARGET_TYPE_SERVER: u32 = 0x0002_0000;
    /// NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY.
    pub const EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
    /// NTLMSSP_NEGOTIATE_TARGET_INFO.
    pub const TARGET_INFO: u32 = 0x0080_0000;
    /// NTLMSSP_NEGOTIATE_VERSION.
    pub const VERSION: u32 = 0x0200_0000;
    /// NTLMSSP_NEGOTIATE_128.
    pub const NEGOTIATE_128: u32 = 0x2000_0000;
    /// NTLMSSP_NEGOTIATE_KEY_EXCH.
    pub const KEY_EXCH: u32 = 0x4000_0000;
    /// NTLMSSP_NEGOTIATE_56.
    pub const NEGOTIATE_56: u32 = 0x8000_0000;

    /// What this client sends in NEGOTIATE: Unicode, NTLMv2 with extended session
    /// security, 128/56-bit, key exchange, sign and seal, version (0xe2088235).
    pub const CLIENT_DEFAULT: u32 = UNICODE
        | REQUEST_TARGET
        | SIGN
        | SEAL
        | NTLM
        | ALWAYS_SIGN
        | EXTENDED_SESSIONSECURITY
        | VERSION
        | NEGOTIATE_128
        | KEY_EXCH
        | NEGOTIATE_56;
}

/// The VERSION structure this client sends (MS-NLMP 2.2.2.10): 10.0, build 0,
/// NTLMSSP_REVISION_W2K3 (15). The field is informational only.
pub const CLIENT_VERSION: [u8; 8] = [10, 0, 0, 0, 0, 0, 0, 15];

/// A user's NTLM credentials. The password is zeroized on drop.
#[derive(Clone)]
pub struct Credentials {
    /// User name (case-insensitive for NTOWFv2, which uppercases it).
    pub user: String,
    /// User's domain (as typed; NTOWFv2 uses it verbatim).
    pub domain: String,
    /// Password.
    pub password: String,
    /// Client machine name sent in AUTHENTICATE (informational).
    pub workstation: String,
    /// Service principal name (e.g. `cifs/host`) sent as MsvAvTargetName, if set.
    pub target_spn: Option<String>,
}

impl Credentials {
    /// Credentials for `domain\user` with `password`; no workstation, no SPN.
    pub fn new(
        user: impl Into<String>,
        domain: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Self {
            user: user.into(),
            domain: domain.into(),
            password: password.into(),
            workstation: String::new(),
            target_spn: None,
        }
    }

    /// Parses `DOMAIN\user` (or a plain `user` / UPN `user@realm`, domain empty).
    pub fn from_qualified(qualified_user: &str, password: impl Into<String>) -> Self {
        match qualified_user.split_once('\\') {
            Some((d, u)) => Self::new(u, d, password),
            None => Self::new(qualified_user, "", password),
        }
    }

    /// Sets the workstation name.
    pub fn with_workstation(mut self, workstation: impl Into<String>) -> Self {
        self.workstation = workstation.into();
        self
    }

    /// Sets the target SPN sent as MsvAvTargetName (MS-NLMP 3.1.5.1.2), e.g. `cifs/host`.
    pub fn with_target_spn(mut self, spn: impl Into<String>) -> Self {
        self.target_spn = Some(spn.into());
        self
    }
}

impl Drop for Credentials {
    fn drop(&mut self) {
        self.password.zeroize();
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("domain", &self.domain)
            .field("password", &"<redacted>")
            .field("workstation", &self.workstation)
            .field("target_spn", &self.target_spn)
            .finish()
    }
}

/// Inputs normally drawn at random, fixed by known-answer tests.
#[doc(hidden)]
#[derive(Clone, Debug, Default)]
pub struct TestOverrides {
    /// ChallengeFromClient instead of `ctx.rng`.
    pub client_challenge: Option<[u8; 8]>,
    /// ExportedSessionKey (RandomSessionKey) instead of `ctx.rng`.
    pub random_session_key: Option<[u8; 16]>,
    /// AV pairs inserted after MsvAvFlags and before MsvAvTargetName (e.g. Windows'
    /// MsvAvSingleHost / MsvAvChannelBindings).
    pub extra_av_pairs: Vec<AvPair>,
    /// Zero bytes appended to `temp` after its Z(4) (Windows sends 4 more than MS-NLMP 3.3.2).
    pub temp_padding: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Initial,
    SentNegotiate,
    Done,
}

/// The session security established by NTLM: flags, keys and per-direction state.
struct Established {
    flags: u32,
    exported_session_key: Zeroizing<[u8; 16]>,
    client: MessageSecurity,
    server: MessageSecurity,
}

/// An NTLMv2 client producing raw NTLMSSP tokens (MS-NLMP 3.1.5).
pub struct Ntlm {
    creds: Option<Credentials>,
    negotiate_flags: u32,
    version: [u8; 8],
    state: State,
    negotiate_msg: Vec<u8>,
    mic_sent: bool,
    established: Option<Established>,
    overrides: TestOverrides,
}

impl Ntlm {
    /// An NTLMv2 client for `creds`.
    pub fn new(creds: Credentials) -> Self {
        Self::with(Some(creds))
    }

    /// An anonymous client (MS-NLMP 3.1.5.1.2, 3.2.5.1.2): empty user and domain,
    /// LmChallengeResponse Z(1), empty NtChallengeResponse, no session key.
    pub fn anonymous() -> Self {
        Self::with(None)
    }

    fn with(creds: Option<Credentials>) -> Self {
        Self {
            creds,
            negotiate_flags: flags::CLIENT_DEFAULT,
            version: CLIENT_VERSION,
            state: State::Initial,
            negotiate_msg: Vec::new(),
            mic_sent: false,
            established: None,
            overrides: TestOverrides::default(),
        }
    }

    /// Replaces the NEGOTIATE flags (default [`flags::CLIENT_DEFAULT`]). Extended session
    /// security, Unicode and NTLMv2 are still required of the server.
    pub fn with_negotiate_flags(mut self, negotiate_flags: u32) -> Self {
        self.negotiate_flags = negotiate_flags;
        self
    }

    /// Replaces the VERSION structure sent (default [`CLIENT_VERSION`]).
    pub fn with_version(mut self, version: [u8; 8]) -> Self {
        self.version = version;
        self
    }

    /// Fixes normally random inputs; for known-answer tests only.
    #[doc(hidden)]
    pub fn with_test_overrides(mut self, overrides: TestOverrides) -> Self {
        self.overrides = overrides;
        self
    }

    /// Whether the AUTHENTICATE carried a MIC (then SPNEGO must send a mechListMIC,
    /// MS-SPNG 3.1.5.1).
    pub fn mic_sent(&self) -> bool {
        self.mic_sent
    }

    /// The flags negotiated in the AUTHENTICATE, once it was produced.
    pub fn negotiated_flags(&self) -> Option<u32> {
        self.established.as_ref().map(|e| e.flags)
    }

    /// Client-to-server (`Side::Client`) or server-to-client message security state,
    /// once keys exist (not for anonymous logons).
    pub fn security(&mut self, side: Side) -> Option<&mut MessageSecurity> {
        let e = self.established.as_mut()?;
        Some(match side {
            Side::Client => &mut e.client,
            Side::Server => &mut e.server,
        })
    }

    /// Flags for the AUTHENTICATE: what both sides support, plus the server's TARGET_INFO
    /// and our REQUEST_TARGET (MS-NLMP 3.1.5.1.2; matches Windows and the 4.2.4.3 example).
    fn authenticate_flags(&self, challenge_flags: u32) -> u32 {
        let mut f = (challenge_flags & self.negotiate_flags)
            | (challenge_flags & flags::TARGET_INFO)
            | (self.negotiate_flags & flags::REQUEST_TARGET);
        if f & flags::UNICODE != 0 {
            f &= !flags::OEM;
        }
        f
    }

    fn authenticate(
        &mut self,
        ctx: &mut AuthContext<'_>,
        challenge_msg: &[u8],
    ) -> Result<Vec<u8>, AuthError> {
        let ch = ChallengeMessage::parse(challenge_msg)?;
        // NTLMv2 with extended session security only (MS-NLMP 3.1.5.1.2: the client MUST
        // check that the selected features meet its policy).
        if ch.flags & flags::UNICODE == 0 {
            return Err(AuthError::Unsupported("server did not select Unicode"));
        }
        if ch.flags & flags::EXTENDED_SESSIONSECURITY == 0 {
            return Err(AuthError::Unsupported(
                "server did not offer NTLM extended session security (NTLMv1 only)",
            ));
        }
        if ch.flags & flags::TARGET_INFO == 0 || ch.target_info.is_empty() {
            return Err(AuthError::Unsupported(
                "server sent no target info (NTLMv2 required)",
            ));
        }
        let server_pairs = parse_av_pairs(&ch.target_info)?;
        let mut auth_flags = self.authenticate_flags(ch.flags);

        let Some(creds) = self.creds.as_ref() else {
            // Anonymous (MS-NLMP 3.1.5.1.2): no key to exchange, no MIC.
            auth_flags = (auth_flags | flags::ANONYMOUS) & !flags::KEY_EXCH;
            let msg = AuthenticateMessage {
                lm_response: vec![0],
                flags: auth_flags,
                version: self.version,
                ..AuthenticateMessage::default()
            };
            return Ok(msg.encode());
        };

        // MS-NLMP 3.1.5.1.2: Time = MsvAvTimestamp if present, else current time.
        let server_time = server_pairs.iter().find(|p| p.id == av::TIMESTAMP);
        let time = match server_time {
            Some(p) => {
                let b: [u8; 8] = p
                    .value
                    .as_slice()
                    .try_into()
                    .map_err(|_| AuthError::Malformed("MsvAvTimestamp length"))?;
                u64::from_le_bytes(b)
            }
            None => ctx.wall_time.ok_or(AuthError::NoTimestamp)?.0,
        };
        // With MsvAvTimestamp the client SHOULD provide a MIC and send LMv2 as Z(24).
        let with_mic = server_time.is_some();

        let mut pairs: Vec<AvPair> = Vec::with_capacity(server_pairs.len() + 4);
        let mut flags_seen = false;
        for p in &server_pairs {
            if p.id == av::FLAGS && with_mic {
                let mut v = [0u8; 4];
                let n = p.value.len().min(4);
                v[..n].copy_from_slice(&p.value[..n]);
                let f = u32::from_le_bytes(v) | av::FLAG_MIC_PRESENT;
                pairs.push(AvPair::new(av::FLAGS, f.to_le_bytes()));
                flags_seen = true;
            } else if p.id != av::TARGET_NAME && p.id != av::CHANNEL_BINDINGS {
                pairs.push(p.clone());
            }
        }
        if with_mic && !flags_seen {
            pairs.push(AvPair::new(av::FLAGS, av::FLAG_MIC_PRESENT.to_le_bytes()));
        }
        pairs.extend(self.overrides.extra_av_pairs.iter().cloned());
        if let Some(spn) = &creds.target_spn {
            pairs.push(AvPair::new(av::TARGET_NAME, utf16le(spn)));
        }
        let av_bytes = encode_av_pairs(&pairs);

        // MS-NLMP 3.3.2 NTLMv2.
        let client_challenge = match self.overrides.client_challenge {
            Some(c) => c,
            None => ctx.rng.bytes(),
        };
        let key = Zeroizing::new(ntowfv2(&creds.password, &creds.user, &creds.domain));
        let mut temp = ntlmv2_temp(time, &client_challenge, &av_bytes);
        temp.resize(temp.len() + self.overrides.temp_padding, 0);
        let resp = ntlmv2_response(&key, &ch.server_challenge, &temp);
        let lm_response = if with_mic {
            vec![0; 24]
        } else {
            lmv2_response(&key, &ch.server_challenge, &client_challenge).to_vec()
        };
        let kx = Zeroizing::new(kxkey(&resp.session_base_key));

        // MS-NLMP 3.1.5.1.2: KEY_EXCH with SIGN or SEAL -> random ExportedSessionKey.
        let key_exch =
            auth_flags & flags::KEY_EXCH != 0 && auth_flags & (flags::SIGN | flags::SEAL) != 0;
        let (exported, encrypted) = if key_exch {
            let random = match self.overrides.random_session_key {
                Some(k) => k,
                None => ctx.rng.bytes(),
            };
            (
                Zeroizing::new(random),
                encrypt_session_key(&kx, &random).to_vec(),
            )
        } else {
            auth_flags &= !flags::KEY_EXCH;
            (kx.clone(), Vec::new())
        };

        let mut msg = AuthenticateMessage {
            lm_response,
            nt_response: resp.response,
            domain: utf16le(&creds.domain),
            user: utf16le(&creds.user),
            workstation: utf16le(&creds.workstation),
            encrypted_random_session_key: encrypted,
            flags: auth_flags,
            version: self.version,
            mic: with_mic.then_some([0; 16]),
        };
        let mut out = msg.encode();
        if with_mic {
            let m = mic(&exported, &self.negotiate_msg, challenge_msg, &out);
            msg.mic = Some(m);
            out[MIC_OFFSET..MIC_OFFSET + 16].copy_from_slice(&m);
        }
        self.mic_sent = with_mic;
        self.established = Some(Established {
            flags: auth_flags,
            client: MessageSecurity::from_session_key(auth_flags, &exported, Side::Client),
            server: MessageSecurity::from_session_key(auth_flags, &exported, Side::Server),
            exported_session_key: exported,
        });
        Ok(out)
    }
}

impl Authenticator for Ntlm {
    fn step(
        &mut self,
        ctx: &mut AuthContext<'_>,
        server_token: &[u8],
    ) -> Result<AuthStep, AuthError> {
        match self.state {
            State::Initial => {
                // The NEGOTIATE response's buffer (if any) is ignored by raw NTLMSSP.
                self.negotiate_msg = encode_negotiate(self.negotiate_flags, self.version);
                self.state = State::SentNegotiate;
                Ok(AuthStep::Send(self.negotiate_msg.clone()))
            }
            State::SentNegotiate => {
                let out = self.authenticate(ctx, server_token)?;
                self.state = State::Done;
                Ok(AuthStep::Send(out))
            }
            State::Done => Ok(AuthStep::Done),
        }
    }

    fn session_key(&self) -> Option<&[u8]> {
        self.creds.as_ref()?; // anonymous: no session key
        self.established
            .as_ref()
            .map(|e| e.exported_session_key.as_slice())
    }

    fn is_anonymous(&self) -> bool {
        self.creds.is_none()
    }
}

impl fmt::Debug for Ntlm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ntlm")
            .field("creds", &self.creds)
            .field(
                "negotiate_flags",
                &format_args!("{:#010x}", self.negotiate_flags),
            )
            .field("state", &self.state)
            .field("mic_sent", &self.mic_sent)
            .field("established", &self.established.is_some())
            .finish_non_exhaustive()
    }
}
