//! SPNEGO (RFC 4178, MS-SPNG) around a GSS mechanism, NTLM for now.
//!
//! ```text
//! InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE {
//!     thisMech MechType, innerContextToken NegotiationToken }      -- RFC 2743 3.1
//! NegotiationToken ::= CHOICE { negTokenInit [0] NegTokenInit,
//!                               negTokenResp [1] NegTokenResp }    -- RFC 4178 4.2
//! NegTokenInit ::= SEQUENCE { mechTypes [0] MechTypeList, reqFlags [1] ContextFlags OPTIONAL,
//!     mechToken [2] OCTET STRING OPTIONAL, mechListMIC [3] OCTET STRING OPTIONAL }
//! NegTokenInit2 ::= SEQUENCE { mechTypes [0], reqFlags [1], mechToken [2],
//!     negHints [3] NegHints OPTIONAL, mechListMIC [4] OPTIONAL }   -- MS-SPNG 2.2.1
//! NegTokenResp ::= SEQUENCE { negState [0] ENUMERATED OPTIONAL, supportedMech [1] MechType
//!     OPTIONAL, responseToken [2] OCTET STRING OPTIONAL, mechListMIC [3] OCTET STRING OPTIONAL }
//! ```

use super::der::{self, DerError, Reader, tag};
use super::ntlm::{Credentials, Ntlm, Side};
use super::{AuthContext, AuthError, AuthStep, Authenticator};

/// OID contents of SPNEGO, 1.3.6.1.5.5.2.
pub const OID_SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// OID contents of NTLMSSP, 1.3.6.1.4.1.311.2.2.10.
pub const OID_NTLMSSP: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];

/// A GSS mechanism SPNEGO can negotiate.
pub trait SpnegoMechanism: Authenticator {
    /// Contents octets of the mechanism's OID.
    fn oid(&self) -> &'static [u8];
    /// Whether the mechanism protected its own exchange (e.g. the NTLM MIC), so a
    /// mechListMIC MUST be sent (MS-SPNG 3.1.5.1).
    fn wants_mech_list_mic(&self) -> bool;
    /// GSS_GetMIC over `data` with the initiator's keys, if the mechanism has keys.
    fn get_mic(&mut self, data: &[u8]) -> Option<Vec<u8>>;
    /// GSS_VerifyMIC of the acceptor's `mic` over `data`.
    fn verify_mic(&mut self, data: &[u8], mic: &[u8]) -> Result<(), AuthError>;
}

impl SpnegoMechanism for Ntlm {
    fn oid(&self) -> &'static [u8] {
        OID_NTLMSSP
    }

    fn wants_mech_list_mic(&self) -> bool {
        self.mic_sent()
    }

    fn get_mic(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        // MS-NLMP 3.4.4.2 GSS_GetMICEx, client keys; the first use gives SeqNum 0.
        self.security(Side::Client)
            .map(|s| s.get_mic(data).to_vec())
    }

    fn verify_mic(&mut self, data: &[u8], mic: &[u8]) -> Result<(), AuthError> {
        // The server signs with its own keys and its own sequence number (0).
        let sec = self
            .security(Side::Server)
            .ok_or(AuthError::IntegrityCheckFailed)?;
        if sec.verify_mic(data, mic) {
            Ok(())
        } else {
            Err(AuthError::IntegrityCheckFailed)
        }
    }
}

/// negState (RFC 4178 4.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NegState {
    /// accept-completed (0).
    AcceptCompleted,
    /// accept-incomplete (1).
    AcceptIncomplete,
    /// reject (2).
    Reject,
    /// request-mic (3).
    RequestMic,
}

impl NegState {
    fn from_u32(v: u32) -> Result<Self, DerError> {
        Ok(match v {
            0 => Self::AcceptCompleted,
            1 => Self::AcceptIncomplete,
            2 => Self::Reject,
            3 => Self::RequestMic,
            _ => return Err(DerError("unknown negState")),
        })
    }

    fn to_u32(self) -> u32 {
        match self {
            Self::AcceptCompleted => 0,
            Self::AcceptIncomplete => 1,
            Self::Reject => 2,
            Self::RequestMic => 3,
        }
    }
}

/// A decoded NegTokenInit or NegTokenInit2.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NegTokenInit {
    /// OID contents octets of each offered mechanism, in preference order.
    pub mech_types: Vec<Vec<u8>>,
    /// The DER MechTypeList (SEQUENCE OF OID) as received: the mechListMIC input.
    pub mech_types_der: Vec<u8>,
    /// The optimistic mechanism token.
    pub mech_token: Option<Vec<u8>>,
    /// NegTokenInit2 negHints hintName (GeneralString), if any.
    pub hint_name: Option<Vec<u8>>,
    /// mechListMIC.
    pub mech_list_mic: Option<Vec<u8>>,
}

/// A decoded NegTokenResp.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NegTokenResp {
    /// negState.
    pub neg_state: Option<NegState>,
    /// supportedMech OID contents.
    pub supported_mech: Option<Vec<u8>>,
    /// responseToken.
    pub response_token: Option<Vec<u8>>,
    /// mechListMIC.
    pub mech_list_mic: Option<Vec<u8>>,
}

fn octet_string(tlv_value: &[u8]) -> Result<Vec<u8>, DerError> {
    Ok(der::read_single(tlv_value, tag::OCTET_STRING)?
        .value
        .to_vec())
}

/// Parses a NegTokenInit(2), either wrapped in the GSS-API InitialContextToken
/// (`[APPLICATION 0] { OID spnego, [0] NegTokenInit }`) or as a bare `[0] NegTokenInit`.
pub fn parse_neg_token_init(token: &[u8]) -> Result<NegTokenInit, DerError> {
    let inner = if token.first() == Some(&tag::APPLICATION_0) {
        let app = der::read_single(token, tag::APPLICATION_0)?;
        let mut r = Reader::new(app.value);
        if r.expect(tag::OID)?.value != OID_SPNEGO {
            return Err(DerError("not an SPNEGO token"));
        }
        let t = r.expect(tag::context(0))?;
        r.finish()?;
        t.value
    } else {
        der::read_single(token, tag::context(0))?.value
    };
    let seq = der::read_single(inner, tag::SEQUENCE)?;
    let mut r = Reader::new(seq.value);
    let mut out = NegTokenInit::default();
    if let Some(t) = r.optional(tag::context(0))? {
        let list = der::read_single(t.value, tag::SEQUENCE)?;
        out.mech_types_der = list.raw.to_vec();
        let mut lr = Reader::new(list.value);
        while !lr.is_empty() {
            out.mech_types.push(lr.expect(tag::OID)?.value.to_vec());
        }
    }
    if let Some(t) = r.optional(tag::context(1))? {
        der::read_single(t.value, tag::BIT_STRING)?; // reqFlags: ignored
    }
    if let Some(t) = r.optional(tag::context(2))? {
        out.mech_token = Some(octet_string(t.value)?);
    }
    if let Some(t) = r.optional(tag::context(3))? {
        // NegTokenInit: [3] mechListMIC; NegTokenInit2: [3] NegHints.
        let mut ir = Reader::new(t.value);
        let first = ir.read()?;
        ir.finish()?;
        match first.tag {
            tag::OCTET_STRING => out.mech_list_mic = Some(first.value.to_vec()),
            tag::SEQUENCE => {
                let mut hr = Reader::new(first.value);
                if let Some(h) = hr.optional(tag::context(0))? {
                    let name = der::read_single(h.value, tag::GENERAL_STRING)?;
                    out.hint_name = Some(name.value.to_vec());
                }
                if let Some(h) = hr.optional(tag::context(1))? {
                    der::read_single(h.value, tag::OCTET_STRING)?; // hintAddress
                }
                hr.finish()?;
            }
            _ => return Err(DerError("bad NegTokenInit [3]")),
        }
    }
    if let Some(t) = r.optional(tag::context(4))? {
        out.mech_list_mic = Some(octet_string(t.value)?);
    }
    r.finish()?;
    Ok(out)
}

/// Parses a `[1] NegTokenResp`.
pub fn parse_neg_token_resp(token: &[u8]) -> Result<NegTokenResp, DerError> {
    let outer = der::read_single(token, tag::context(1))?;
    let seq = der::read_single(outer.value, tag::SEQUENCE)?;
    let mut r = Reader::new(seq.value);
    let mut out = NegTokenResp::default();
    if let Some(t) = r.optional(tag::context(0))? {
        let e = der::read_single(t.value, tag::ENUMERATED)?;
        out.neg_state = Some(NegState::from_u32(der::read_enumerated(e.value)?)?);
    }
    if let Some(t) = r.optional(tag::context(1))? {
        out.supported_mech = Some(der::read_single(t.value, tag::OID)?.value.to_vec());
    }
    if let Some(t) = r.optional(tag::context(2))? {
        out.response_token = Some(octet_string(t.value)?);
    }
    if let Some(t) = r.optional(tag::context(3))? {
        out.mech_list_mic = Some(octet_string(t.value)?);
    }
    r.finish()?;
    Ok(out)
}

/// DER MechTypeList (SEQUENCE OF OID) for `oids` (contents octets).
pub fn encode_mech_types(oids: &[&[u8]]) -> Vec<u8> {
    let parts: Vec<Vec<u8>> = oids.iter().map(|o| der::tlv(tag::OID, o)).collect();
    der::tlv(tag::SEQUENCE, &parts.concat())
}

/// The initiator's first token: InitialContextToken with
/// NegTokenInit { mechTypes, mechToken } (RFC 2743 3.1, RFC 4178 4.2.1).
pub fn encode_init_token(mech_types_der: &[u8], mech_token: &[u8]) -> Vec<u8> {
    let mech_types = der::tlv(tag::context(0), mech_types_der);
    let token = der::tlv(tag::context(2), &der::tlv(tag::OCTET_STRING, mech_token));
    let init = der::tlv(tag::SEQUENCE, &[mech_types, token].concat());
    let neg = der::tlv(tag::context(0), &init);
    der::tlv(
        tag::APPLICATION_0,
        &[der::tlv(tag::OID, OID_SPNEGO), neg].concat(),
    )
}

/// Encodes a `[1] NegTokenResp`.
pub fn encode_neg_token_resp(resp: &NegTokenResp) -> Vec<u8> {
    let mut body = Vec::new();
    if let Some(s) = resp.neg_state {
        body.extend(der::tlv(tag::context(0), &der::enumerated(s.to_u32())));
    }
    if let Some(m) = &resp.supported_mech {
        body.extend(der::tlv(tag::context(1), &der::tlv(tag::OID, m)));
    }
    if let Some(t) = &resp.response_token {
        body.extend(der::tlv(tag::context(2), &der::tlv(tag::OCTET_STRING, t)));
    }
    if let Some(m) = &resp.mech_list_mic {
        body.extend(der::tlv(tag::context(3), &der::tlv(tag::OCTET_STRING, m)));
    }
    der::tlv(tag::context(1), &der::tlv(tag::SEQUENCE, &body))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Initial,
    SentInit,
    SentResponse,
    Done,
}

/// SPNEGO initiator around one mechanism (NTLM by default).
#[derive(Debug)]
pub struct Spnego {
    mech: Box<dyn SpnegoMechanism>,
    state: State,
    mech_types_der: Vec<u8>,
}

impl Spnego {
    /// SPNEGO offering only `mech`.
    pub fn new(mech: impl SpnegoMechanism + 'static) -> Self {
        Self {
            mech: Box::new(mech),
            state: State::Initial,
            mech_types_der: Vec::new(),
        }
    }

    /// SPNEGO offering NTLMv2 with `creds`.
    pub fn ntlm(creds: Credentials) -> Self {
        Self::new(Ntlm::new(creds))
    }

    /// SPNEGO offering anonymous NTLM.
    pub fn anonymous() -> Self {
        Self::new(Ntlm::anonymous())
    }

    fn first(&mut self, ctx: &mut AuthContext<'_>, hints: &[u8]) -> Result<AuthStep, AuthError> {
        let oid = self.mech.oid();
        if !hints.is_empty() {
            let init = parse_neg_token_init(hints)?;
            if !init.mech_types.is_empty() && !init.mech_types.iter().any(|m| m == oid) {
                return Err(AuthError::NoCommonMechanism);
            }
        }
        let AuthStep::Send(tok) = self.mech.step(ctx, &[])? else {
            return Err(AuthError::UnexpectedToken);
        };
        self.mech_types_der = encode_mech_types(&[oid]);
        self.state = State::SentInit;
        Ok(AuthStep::Send(encode_init_token(
            &self.mech_types_der,
            &tok,
        )))
    }

    fn second(&mut self, ctx: &mut AuthContext<'_>, token: &[u8]) -> Result<AuthStep, AuthError> {
        let resp = parse_neg_token_resp(token)?;
        if resp.neg_state == Some(NegState::Reject) {
            return Err(AuthError::Rejected);
        }
        if resp
            .supported_mech
            .as_deref()
            .is_some_and(|m| m != self.mech.oid())
        {
            return Err(AuthError::NoCommonMechanism);
        }
        let inner = resp
            .response_token
            .ok_or(AuthError::Malformed("no SPNEGO responseToken"))?;
        let AuthStep::Send(out) = self.mech.step(ctx, &inner)? else {
            return Err(AuthError::UnexpectedToken);
        };
        // MS-SPNG 3.1.5.1: the mechanism protected its exchange, so send a mechListMIC
        // over the DER MechTypeList we sent.
        let mech_list_mic = if self.mech.wants_mech_list_mic() {
            self.mech.get_mic(&self.mech_types_der)
        } else {
            None
        };
        self.state = State::SentResponse;
        Ok(AuthStep::Send(encode_neg_token_resp(&NegTokenResp {
            neg_state: Some(NegState::AcceptIncomplete),
            supported_mech: None,
            response_token: Some(out),
            mech_list_mic,
        })))
    }

    fn last(&mut self, token: &[u8]) -> Result<AuthStep, AuthError> {
        if token.is_empty() {
            self.state = State::Done;
            return Ok(AuthStep::Done);
        }
        let resp = parse_neg_token_resp(token)?;
        match resp.neg_state {
            Some(NegState::Reject) => return Err(AuthError::Rejected),
            Some(NegState::AcceptCompleted) | None => {}
            Some(_) => return Err(AuthError::UnexpectedToken),
        }
        if let (Some(mic), false) = (&resp.mech_list_mic, self.mech.is_anonymous()) {
            // MS-SPNG 3.2.5.1 / MS-NLMP 3.4.4.2: the acceptor's MIC with its own keys.
            self.mech.verify_mic(&self.mech_types_der, mic)?;
        }
        self.state = State::Done;
        Ok(AuthStep::Done)
    }
}

impl Authenticator for Spnego {
    fn step(
        &mut self,
        ctx: &mut AuthContext<'_>,
        server_token: &[u8],
    ) -> Result<AuthStep, AuthError> {
        match self.state {
            State::Initial => self.first(ctx, server_token),
            State::SentInit => self.second(ctx, server_token),
            State::SentResponse => self.last(server_token),
            State::Done => Err(AuthError::UnexpectedToken),
        }
    }

    fn session_key(&self) -> Option<&[u8]> {
        self.mech.session_key()
    }

    fn is_anonymous(&self) -> bool {
        self.mech.is_anonymous()
    }
}
