//! Client flows against a small in-test NTLM/SPNEGO acceptor (MS-NLMP 3.2.5, MS-SPNG).

use pike_core::Rng;
use pike_core::auth::ntlm::{
    self, AuthenticateMessage, AvPair, ChallengeMessage, Credentials, MessageSecurity, Ntlm, Side,
    av, flags,
};
use pike_core::auth::spnego::{self, NegState, NegTokenResp, OID_NTLMSSP};
use pike_core::auth::{AuthContext, AuthError, AuthStep, Authenticator, FileTime, Spnego};

const TS: u64 = 0x01d0_aecb_adf5_a1a1;

/// A minimal NTLM acceptor: issues a CHALLENGE, verifies the AUTHENTICATE (NTProofStr,
/// MIC), derives the ExportedSessionKey and checks/produces mechListMICs.
struct Server {
    user: String,
    domain: String,
    password: String,
    with_timestamp: bool,
    rng: Rng,
    negotiate: Vec<u8>,
    challenge: Vec<u8>,
    exported: Option<[u8; 16]>,
    flags: u32,
}

impl Server {
    fn new(password: &str, with_timestamp: bool) -> Self {
        Self {
            user: "alice".into(),
            domain: "CORP".into(),
            password: password.into(),
            with_timestamp,
            rng: Rng::from_seed([9; 32]),
            negotiate: vec![],
            challenge: vec![],
            exported: None,
            flags: 0,
        }
    }

    fn challenge(&mut self, negotiate: &[u8]) -> Vec<u8> {
        let client_flags = ntlm::parse_negotiate_flags(negotiate).unwrap();
        assert_ne!(client_flags & flags::EXTENDED_SESSIONSECURITY, 0);
        self.negotiate = negotiate.to_vec();
        let mut pairs = vec![
            AvPair::new(av::NB_DOMAIN_NAME, ntlm::utf16le("CORP")),
            AvPair::new(av::NB_COMPUTER_NAME, ntlm::utf16le("SRV")),
        ];
        if self.with_timestamp {
            pairs.push(AvPair::new(av::TIMESTAMP, TS.to_le_bytes()));
        }
        let msg = ChallengeMessage {
            flags: (client_flags & !flags::OEM) | flags::TARGET_INFO | flags::TARGET_TYPE_SERVER,
            server_challenge: self.rng.bytes(),
            reserved: [0; 8],
            target_name: ntlm::utf16le("SRV"),
            target_info: ntlm::encode_av_pairs(&pairs),
            version: Some([10, 0, 0x7c, 0x4f, 0, 0, 0, 15]),
        };
        self.challenge = msg.encode();
        self.challenge.clone()
    }

    /// MS-NLMP 3.2.5.1.2 / 3.2.5.2.2.
    fn authenticate(&mut self, msg: &[u8]) -> Result<(), &'static str> {
        let a = AuthenticateMessage::parse(msg).map_err(|_| "parse")?;
        let ch = ChallengeMessage::parse(&self.challenge).unwrap();
        if a.user != ntlm::utf16le(&self.user) || a.domain != ntlm::utf16le(&self.domain) {
            return Err("unknown user");
        }
        if a.nt_response.len() < 16 + 28 {
            return Err("short NT response");
        }
        let (proof, temp) = a.nt_response.split_at(16);
        let key = ntlm::ntowfv2(&self.password, &self.user, &self.domain);
        let r = ntlm::ntlmv2_response(&key, &ch.server_challenge, temp);
        if r.nt_proof_str != proof {
            return Err("NTProofStr mismatch");
        }
        let pairs = ntlm::parse_av_pairs(&temp[28..]).map_err(|_| "AV pairs")?;
        let kx = ntlm::kxkey(&r.session_base_key);
        let exported = if a.flags & flags::KEY_EXCH != 0 {
            let enc: [u8; 16] = a
                .encrypted_random_session_key
                .as_slice()
                .try_into()
                .map_err(|_| "key")?;
            ntlm::encrypt_session_key(&kx, &enc)
        } else {
            kx
        };
        let mic_flag = pairs
            .iter()
            .find(|p| p.id == av::FLAGS)
            .is_some_and(|p| p.value.first().is_some_and(|b| b & 2 != 0));
        if self.with_timestamp != mic_flag {
            return Err("MIC presence");
        }
        if mic_flag {
            let sent = a.mic.ok_or("no MIC field")?;
            let mut zeroed = msg.to_vec();
            zeroed[ntlm::MIC_OFFSET..ntlm::MIC_OFFSET + 16].fill(0);
            if ntlm::mic(&exported, &self.negotiate, &self.challenge, &zeroed) != sent {
                return Err("MIC mismatch");
            }
            assert_eq!(a.lm_response, vec![0; 24]);
        } else {
            let cc: [u8; 8] = temp[16..24].try_into().unwrap();
            assert_eq!(
                a.lm_response,
                ntlm::lmv2_response(&key, &ch.server_challenge, &cc)
            );
        }
        self.exported = Some(exported);
        self.flags = a.flags;
        Ok(())
    }

    fn security(&self, side: Side) -> MessageSecurity {
        MessageSecurity::from_session_key(self.flags, &self.exported.unwrap(), side)
    }
}

fn resp(state: NegState, token: Option<Vec<u8>>, mic: Option<Vec<u8>>) -> Vec<u8> {
    spnego::encode_neg_token_resp(&NegTokenResp {
        neg_state: Some(state),
        supported_mech: Some(OID_NTLMSSP.to_vec()),
        response_token: token,
        mech_list_mic: mic,
    })
}

fn creds() -> Credentials {
    Credentials::new("alice", "CORP", "s3cret!")
        .with_workstation("WS")
        .with_target_spn("cifs/srv")
}

/// Runs SPNEGO up to the AUTHENTICATE; returns (server, client, client's last token, mech types).
fn run_to_auth(
    client: &mut Spnego,
    server: &mut Server,
    ctx: &mut AuthContext<'_>,
) -> Result<(Vec<u8>, Vec<u8>), AuthError> {
    let AuthStep::Send(init) = client.step(ctx, &[])? else {
        panic!("no init")
    };
    let i = spnego::parse_neg_token_init(&init).unwrap();
    assert_eq!(i.mech_types, vec![OID_NTLMSSP.to_vec()]);
    let chal = server.challenge(&i.mech_token.unwrap());
    let AuthStep::Send(auth) =
        client.step(ctx, &resp(NegState::AcceptIncomplete, Some(chal), None))?
    else {
        panic!("no auth")
    };
    Ok((auth, i.mech_types_der))
}

#[test]
fn spnego_ntlm_full_flow() {
    for with_ts in [true, false] {
        let mut server = Server::new("s3cret!", with_ts);
        let mut client = Spnego::ntlm(creds());
        let mut rng = Rng::from_seed([1; 32]);
        let mut ctx = AuthContext {
            rng: &mut rng,
            wall_time: Some(FileTime::from_unix(1.7e9 as u64, 0)),
        };
        let (auth, mech_types) = run_to_auth(&mut client, &mut server, &mut ctx).unwrap();
        let a = spnego::parse_neg_token_resp(&auth).unwrap();
        let auth_msg = a.response_token.unwrap();
        server.authenticate(&auth_msg).unwrap();
        assert_eq!(client.session_key(), Some(&server.exported.unwrap()[..]));
        // The AUTHENTICATE names the target SPN.
        let parsed = AuthenticateMessage::parse(&auth_msg).unwrap();
        let pairs = ntlm::parse_av_pairs(&parsed.nt_response[16 + 28..]).unwrap();
        assert!(pairs.contains(&AvPair::new(av::TARGET_NAME, ntlm::utf16le("cifs/srv"))));
        let final_mic = if with_ts {
            // MS-SPNG 3.1.5.1: the client sent a mechListMIC; the server verifies it.
            let mic = a.mech_list_mic.expect("mechListMIC");
            assert!(server.security(Side::Client).verify_mic(&mech_types, &mic));
            Some(server.security(Side::Server).get_mic(&mech_types).to_vec())
        } else {
            assert_eq!(a.mech_list_mic, None);
            None
        };
        let fin = resp(NegState::AcceptCompleted, None, final_mic);
        assert_eq!(client.step(&mut ctx, &fin), Ok(AuthStep::Done));
        assert!(!client.is_anonymous());
    }
}

#[test]
fn wrong_password_fails_server_side() {
    let mut server = Server::new("other", true);
    let mut client = Spnego::ntlm(creds());
    let mut rng = Rng::from_seed([2; 32]);
    let mut ctx = AuthContext {
        rng: &mut rng,
        wall_time: None,
    };
    let (auth, _) = run_to_auth(&mut client, &mut server, &mut ctx).unwrap();
    let token = spnego::parse_neg_token_resp(&auth)
        .unwrap()
        .response_token
        .unwrap();
    assert_eq!(server.authenticate(&token), Err("NTProofStr mismatch"));
}

#[test]
fn tampered_server_mech_list_mic() {
    let mut server = Server::new("s3cret!", true);
    let mut client = Spnego::ntlm(creds());
    let mut rng = Rng::from_seed([3; 32]);
    let mut ctx = AuthContext {
        rng: &mut rng,
        wall_time: None,
    };
    let (auth, mech_types) = run_to_auth(&mut client, &mut server, &mut ctx).unwrap();
    let token = spnego::parse_neg_token_resp(&auth)
        .unwrap()
        .response_token
        .unwrap();
    server.authenticate(&token).unwrap();
    let mut mic = server.security(Side::Server).get_mic(&mech_types).to_vec();
    mic[5] ^= 1;
    let fin = resp(NegState::AcceptCompleted, None, Some(mic));
    assert_eq!(
        client.step(&mut ctx, &fin),
        Err(AuthError::IntegrityCheckFailed)
    );
}

#[test]
fn reject_and_mechanism_mismatch() {
    let mut rng = Rng::from_seed([4; 32]);
    let mut ctx = AuthContext {
        rng: &mut rng,
        wall_time: None,
    };
    // Reject instead of a CHALLENGE.
    let mut client = Spnego::ntlm(creds());
    client.step(&mut ctx, &[]).unwrap();
    let reject = spnego::encode_neg_token_resp(&NegTokenResp {
        neg_state: Some(NegState::Reject),
        ..NegTokenResp::default()
    });
    assert_eq!(client.step(&mut ctx, &reject), Err(AuthError::Rejected));
    // Reject as the final answer.
    let mut server = Server::new("s3cret!", true);
    let mut client = Spnego::ntlm(creds());
    run_to_auth(&mut client, &mut server, &mut ctx).unwrap();
    assert_eq!(client.step(&mut ctx, &reject), Err(AuthError::Rejected));
    // An empty final token completes.
    let mut client = Spnego::ntlm(creds());
    run_to_auth(&mut client, &mut server, &mut ctx).unwrap();
    assert_eq!(client.step(&mut ctx, &[]), Ok(AuthStep::Done));
    // NegTokenInit2 hints offering only Kerberos.
    let krb5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
    let hints = spnego::encode_init_token(&spnego::encode_mech_types(&[krb5]), b"x");
    let mut client = Spnego::ntlm(creds());
    assert_eq!(
        client.step(&mut ctx, &hints),
        Err(AuthError::NoCommonMechanism)
    );
    // Hints including NTLMSSP are fine.
    let hints = spnego::encode_init_token(&spnego::encode_mech_types(&[krb5, OID_NTLMSSP]), b"x");
    let mut client = Spnego::ntlm(creds());
    assert!(matches!(
        client.step(&mut ctx, &hints),
        Ok(AuthStep::Send(_))
    ));
}

#[test]
fn raw_ntlm_anonymous_and_refusals() {
    let mut rng = Rng::from_seed([5; 32]);
    let mut ctx = AuthContext {
        rng: &mut rng,
        wall_time: None,
    };
    let mut server = Server::new("", true);
    let mut anon = Ntlm::anonymous();
    let AuthStep::Send(neg) = anon.step(&mut ctx, &[]).unwrap() else {
        panic!()
    };
    let chal = server.challenge(&neg);
    let AuthStep::Send(auth) = anon.step(&mut ctx, &chal).unwrap() else {
        panic!()
    };
    let a = AuthenticateMessage::parse(&auth).unwrap();
    assert_eq!(a.lm_response, vec![0]);
    assert!(a.nt_response.is_empty() && a.user.is_empty() && a.domain.is_empty());
    assert!(a.encrypted_random_session_key.is_empty());
    assert_ne!(a.flags & flags::ANONYMOUS, 0);
    assert!(anon.is_anonymous());
    assert_eq!(anon.session_key(), None);
    assert_eq!(anon.step(&mut ctx, &[]), Ok(AuthStep::Done));

    // No timestamp in the CHALLENGE and no wall time.
    let mut server = Server::new("s3cret!", false);
    let mut c = Ntlm::new(creds());
    let AuthStep::Send(neg) = c.step(&mut ctx, &[]).unwrap() else {
        panic!()
    };
    let chal = server.challenge(&neg);
    assert_eq!(c.step(&mut ctx, &chal), Err(AuthError::NoTimestamp));

    // A server without extended session security (NTLMv1).
    let mut ch = ChallengeMessage::parse(&chal).unwrap();
    ch.flags &= !flags::EXTENDED_SESSIONSECURITY;
    let mut c = Ntlm::new(creds());
    c.step(&mut ctx, &[]).unwrap();
    assert!(matches!(
        c.step(&mut ctx, &ch.encode()),
        Err(AuthError::Unsupported(_))
    ));
}

fn valid_tokens() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut server = Server::new("s3cret!", true);
    let neg = ntlm::encode_negotiate(flags::CLIENT_DEFAULT, ntlm::CLIENT_VERSION);
    let chal = server.challenge(&neg);
    let spnego_chal = resp(NegState::AcceptIncomplete, Some(chal.clone()), None);
    let hints = spnego::encode_init_token(&spnego::encode_mech_types(&[OID_NTLMSSP]), &neg);
    (chal, spnego_chal, hints)
}

fn ntlm_after_negotiate(ctx: &mut AuthContext<'_>) -> Ntlm {
    let mut c = Ntlm::new(creds());
    c.step(ctx, &[]).unwrap();
    c
}

#[test]
fn truncated_and_garbage_tokens_never_panic() {
    let (chal, spnego_chal, hints) = valid_tokens();
    let mut rng = Rng::from_seed([6; 32]);
    let mut ctx = AuthContext {
        rng: &mut rng,
        wall_time: Some(FileTime(TS)),
    };
    for n in 0..chal.len() {
        let mut c = ntlm_after_negotiate(&mut ctx);
        assert!(
            c.step(&mut ctx, &chal[..n]).is_err(),
            "CHALLENGE prefix {n}"
        );
    }
    for n in 0..spnego_chal.len() {
        let mut s = Spnego::ntlm(creds());
        s.step(&mut ctx, &[]).unwrap();
        assert!(
            s.step(&mut ctx, &spnego_chal[..n]).is_err(),
            "negTokenResp prefix {n}"
        );
    }
    for n in 1..hints.len() {
        let mut s = Spnego::ntlm(creds());
        assert!(
            s.step(&mut ctx, &hints[..n]).is_err(),
            "NegTokenInit prefix {n}"
        );
    }
    // Lying descriptors: huge lengths and offsets in every field of the CHALLENGE.
    for at in [12usize, 16, 40, 44] {
        for v in [0xffu8, 0x7f, 0x80] {
            let mut bad = chal.clone();
            bad[at] = v;
            bad[at + 1] = 0xff;
            let mut c = ntlm_after_negotiate(&mut ctx);
            assert!(c.step(&mut ctx, &bad).is_err(), "descriptor at {at}");
        }
    }
    // Deterministic garbage: flip bytes at every position of every token, no panic.
    let mut g = Rng::from_seed([8; 32]);
    for tok in [&chal, &spnego_chal, &hints] {
        for pos in 0..tok.len() {
            let mut bad = tok.clone();
            bad[pos] ^= g.bytes::<1>()[0] | 1;
            let _ = ntlm_after_negotiate(&mut ctx).step(&mut ctx, &bad);
            let mut s = Spnego::ntlm(creds());
            let _ = s.step(&mut ctx, &bad);
            let _ = s.step(&mut ctx, &bad);
            let _ = spnego::parse_neg_token_init(&bad);
            let _ = spnego::parse_neg_token_resp(&bad);
            let _ = ntlm::AuthenticateMessage::parse(&bad);
        }
    }
    for len in 0..64 {
        let mut junk = vec![0u8; len];
        g.fill(&mut junk);
        let _ = ntlm_after_negotiate(&mut ctx).step(&mut ctx, &junk);
        let mut s = Spnego::ntlm(creds());
        let _ = s.step(&mut ctx, &junk);
        let _ = ntlm::parse_av_pairs(&junk);
    }
}
