//! NEGOTIATE, SESSION_SETUP (NTLM inside SPNEGO) and TREE_CONNECT, server side.

use super::*;

impl ModelServer {
    // ----- NEGOTIATE (MS-SMB2 3.3.5.4) -----

    pub(super) fn negotiate(&mut self, msg: &[u8], n: &NegotiateRequest) -> Reply {
        if self.negotiated.is_some() {
            self.drop_connection("second NEGOTIATE".into());
            return Reply::err(NtStatus::INVALID_PARAMETER);
        }
        let Some(dialect) = self
            .config
            .dialects
            .iter()
            .copied()
            .filter(|d| n.dialects.contains(d))
            .max()
        else {
            return Reply::err(NtStatus::NOT_SUPPORTED);
        };
        let mut contexts = Vec::new();
        let mut cipher = None;
        let mut compression = None;
        let mut signing = if dialect.is_smb3() {
            SigningAlgorithm::AesCmac
        } else {
            SigningAlgorithm::HmacSha256
        };
        if dialect == Dialect::Smb311 {
            let mut has_preauth = false;
            for c in &n.contexts {
                match c {
                    NegotiateContext::PreauthIntegrity {
                        hash_algorithms, ..
                    } => {
                        if !hash_algorithms.contains(&HASH_SHA512) {
                            return Reply::err(NtStatus(0xC05D_0000)); // NO_PREAUTH_INTEGRITY_HASH_OVERLAP
                        }
                        has_preauth = true;
                    }
                    NegotiateContext::Encryption { ciphers } => {
                        cipher = self
                            .config
                            .ciphers
                            .iter()
                            .copied()
                            .find(|c| ciphers.contains(c));
                    }
                    NegotiateContext::Compression { flags, algorithms } => {
                        let (ctx, chosen) = self.negotiate_compression(*flags, algorithms);
                        compression = Some((ctx, chosen));
                    }
                    NegotiateContext::Signing { algorithms } => {
                        if let Some(a) = self
                            .config
                            .signing_algorithms
                            .iter()
                            .copied()
                            .find(|a| algorithms.contains(a))
                        {
                            signing = a;
                        }
                    }
                    _ => {}
                }
            }
            if !has_preauth {
                return Reply::err(NtStatus::INVALID_PARAMETER);
            }
            let salt: [u8; 32] = self.rng.bytes();
            contexts.push(NegotiateContext::PreauthIntegrity {
                hash_algorithms: vec![HASH_SHA512],
                salt: Bytes::copy_from_slice(&salt),
            });
            if n.contexts
                .iter()
                .any(|c| matches!(c, NegotiateContext::Encryption { .. }))
            {
                contexts.push(NegotiateContext::Encryption {
                    ciphers: vec![cipher.unwrap_or(CipherId::Unknown(0))],
                });
            }
            if let Some((ctx, _)) = &compression {
                contexts.push(ctx.clone());
            }
            if n.contexts
                .iter()
                .any(|c| matches!(c, NegotiateContext::Signing { .. }))
            {
                contexts.push(NegotiateContext::Signing {
                    algorithms: vec![signing],
                });
            }
        } else if dialect.is_smb3()
            && n.capabilities.contains(Capabilities::ENCRYPTION)
            && self.config.ciphers.contains(&CipherId::Aes128Ccm)
        {
            cipher = Some(CipherId::Aes128Ccm);
        }
        let mut caps = 0;
        if self.config.large_mtu && dialect != Dialect::Smb202 {
            caps |= Capabilities::LARGE_MTU;
        }
        if dialect != Dialect::Smb311 && cipher.is_some() {
            caps |= Capabilities::ENCRYPTION;
        }
        let mut security_mode = SecurityMode::SIGNING_ENABLED;
        if self.config.require_signing {
            security_mode |= SecurityMode::SIGNING_REQUIRED;
        }
        self.negotiated = Some(Negotiated {
            dialect,
            cipher,
            signing,
            multi_credit: caps & Capabilities::LARGE_MTU != 0,
            client_requires_signing: n.security_mode.is_signing_required(),
            client_dialects: n.dialects.clone(),
            client_guid: n.client_guid,
            client_security_mode: n.security_mode.0,
            client_capabilities: n.capabilities.0,
            server_capabilities: caps,
            server_security_mode: security_mode,
            compression: compression.and_then(|(_, chosen)| chosen),
        });
        let resp = NegotiateResponse {
            security_mode: SecurityMode(security_mode),
            dialect,
            server_guid: self.server_guid,
            capabilities: Capabilities(caps),
            max_transact_size: self.config.max_transact,
            max_read_size: self.config.max_read,
            max_write_size: self.config.max_write,
            system_time: self.time,
            server_start_time: 0,
            security_buffer: if self.config.spnego_hint {
                Bytes::from(neg_token_init2_hint())
            } else {
                Bytes::new()
            },
            contexts,
        };
        if dialect == Dialect::Smb311 {
            // MS-SMB2 3.3.5.4: the connection hash covers the request and the response.
            // The response is hashed as encoded below; `emit` does not change it.
            // The response is hashed as sent, in `emit`.
            self.preauth.update(msg);
        }
        Reply::ok(resp)
    }

    // ----- SESSION_SETUP (MS-SMB2 3.3.5.5, MS-NLMP 3.2.5, MS-SPNG) -----

    pub(super) fn session_setup(
        &mut self,
        h: &Header,
        msg: &[u8],
        req: &SessionSetupRequest,
    ) -> Reply {
        // Invariant: dispatch only runs after NEGOTIATE.
        let neg = self.negotiated.clone().expect("negotiated");
        let sid = h.session_id.0;
        if sid == 0 {
            return self.setup_leg1(msg, req, &neg);
        }
        let Some(s) = self.sessions.get_mut(&sid) else {
            return Reply::err(NtStatus::USER_SESSION_DELETED);
        };
        if let Some(p) = s.preauth.as_mut() {
            p.update(msg);
        }
        let Auth::Challenged {
            negotiate,
            challenge,
            mech_types_der,
        } = std::mem::replace(&mut s.auth, Auth::Ready)
        else {
            // Re-authentication is not modelled.
            return Reply::err(NtStatus::NOT_SUPPORTED);
        };
        match self.verify_authenticate(&neg, sid, req, &negotiate, &challenge, &mech_types_der) {
            Ok(reply) => reply,
            Err(status) => {
                self.sessions.remove(&sid);
                Reply::err(status)
            }
        }
    }

    fn setup_leg1(&mut self, msg: &[u8], req: &SessionSetupRequest, neg: &Negotiated) -> Reply {
        let Ok(init) = spnego::parse_neg_token_init(&req.security_buffer) else {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        };
        if !init.mech_types.iter().any(|m| m == OID_NTLMSSP) {
            return Reply::err(NtStatus::NOT_SUPPORTED);
        }
        let Some(negotiate) = init.mech_token else {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        };
        let Ok(client_flags) = ntlm::parse_negotiate_flags(&negotiate) else {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        };
        let pairs = vec![
            AvPair::new(av::NB_DOMAIN_NAME, ntlm::utf16le(&self.config.domain)),
            AvPair::new(av::NB_COMPUTER_NAME, ntlm::utf16le("MODEL")),
            AvPair::new(av::DNS_DOMAIN_NAME, ntlm::utf16le("corp.example")),
            AvPair::new(av::DNS_COMPUTER_NAME, ntlm::utf16le("model.corp.example")),
            AvPair::new(av::TIMESTAMP, self.time.to_le_bytes()),
        ];
        let challenge = ChallengeMessage {
            flags: (client_flags & !flags::OEM) | flags::TARGET_INFO | flags::TARGET_TYPE_SERVER,
            server_challenge: self.rng.bytes(),
            reserved: [0; 8],
            target_name: ntlm::utf16le(&self.config.domain),
            target_info: ntlm::encode_av_pairs(&pairs),
            version: Some([10, 0, 0x7c, 0x4f, 0, 0, 0, 15]),
        }
        .encode();
        let sid = self.next_session;
        self.next_session += 0x1_0001;
        let mut preauth = (neg.dialect == Dialect::Smb311).then(|| self.preauth.clone());
        if let Some(p) = preauth.as_mut() {
            p.update(msg);
        }
        let signing_required = self.config.require_signing
            || neg.client_requires_signing
            || req.security_mode & (SecurityMode::SIGNING_REQUIRED as u8) != 0;
        self.sessions.insert(
            sid,
            Session {
                auth: Auth::Challenged {
                    negotiate,
                    challenge: challenge.clone(),
                    mech_types_der: init.mech_types_der,
                },
                preauth,
                signer: None,
                encryptor: None,
                decryptor: None,
                signing_required,
                encrypt_data: false,
                trees: BTreeSet::new(),
            },
        );
        let token = spnego::encode_neg_token_resp(&NegTokenResp {
            neg_state: Some(NegState::AcceptIncomplete),
            supported_mech: Some(OID_NTLMSSP.to_vec()),
            response_token: Some(challenge),
            mech_list_mic: None,
        });
        let mut r = Reply::ok(SessionSetupResponse {
            session_flags: SessionFlags(0),
            security_buffer: Bytes::from(token),
        });
        r.status = NtStatus::MORE_PROCESSING_REQUIRED;
        r.session_id = Some(sid);
        r
    }

    /// MS-NLMP 3.2.5.1.2 (server receives AUTHENTICATE), then keys (MS-SMB2 3.3.5.5.3).
    fn verify_authenticate(
        &mut self,
        neg: &Negotiated,
        sid: u64,
        req: &SessionSetupRequest,
        negotiate: &[u8],
        challenge: &[u8],
        mech_types_der: &[u8],
    ) -> Result<Reply, NtStatus> {
        let resp = spnego::parse_neg_token_resp(&req.security_buffer)
            .map_err(|_| NtStatus::INVALID_PARAMETER)?;
        let auth_msg = resp.response_token.ok_or(NtStatus::INVALID_PARAMETER)?;
        let a = AuthenticateMessage::parse(&auth_msg).map_err(|_| NtStatus::INVALID_PARAMETER)?;
        // Invariant: we encoded this CHALLENGE ourselves.
        let ch = ChallengeMessage::parse(challenge).expect("own CHALLENGE parses");
        let user = pike_core::wire::from_utf16le(&a.user);
        let domain = pike_core::wire::from_utf16le(&a.domain);
        if !user.eq_ignore_ascii_case(&self.config.user)
            || !domain.eq_ignore_ascii_case(&self.config.domain)
        {
            return Err(NtStatus::LOGON_FAILURE);
        }
        if a.nt_response.len() < 16 + 28 {
            return Err(NtStatus::LOGON_FAILURE);
        }
        let (proof, temp) = a.nt_response.split_at(16);
        // NTOWFv2 uses the user name as the client sent it (upper-cased inside).
        let key = ntlm::ntowfv2(&self.config.password, &user, &domain);
        let r = ntlm::ntlmv2_response(&key, &ch.server_challenge, temp);
        if r.nt_proof_str != proof {
            return Err(NtStatus::LOGON_FAILURE);
        }
        let pairs = ntlm::parse_av_pairs(&temp[28..]).map_err(|_| NtStatus::LOGON_FAILURE)?;
        let kx = ntlm::kxkey(&r.session_base_key);
        let exported = if a.flags & flags::KEY_EXCH != 0 {
            let enc: [u8; 16] = a
                .encrypted_random_session_key
                .as_slice()
                .try_into()
                .map_err(|_| NtStatus::LOGON_FAILURE)?;
            ntlm::encrypt_session_key(&kx, &enc)
        } else {
            kx
        };
        let mic_flag = pairs.iter().find(|p| p.id == av::FLAGS).is_some_and(|p| {
            p.value
                .first()
                .is_some_and(|b| u32::from(*b) & av::FLAG_MIC_PRESENT != 0)
        });
        // We always send MsvAvTimestamp, so the client must send a MIC.
        if !mic_flag {
            self.violation("AUTHENTICATE without MIC despite MsvAvTimestamp".into());
            return Err(NtStatus::LOGON_FAILURE);
        }
        let sent = a.mic.ok_or(NtStatus::LOGON_FAILURE)?;
        let mut zeroed = auth_msg.clone();
        zeroed[ntlm::MIC_OFFSET..ntlm::MIC_OFFSET + 16].fill(0);
        if ntlm::mic(&exported, negotiate, challenge, &zeroed) != sent {
            self.violation("AUTHENTICATE MIC mismatch".into());
            return Err(NtStatus::LOGON_FAILURE);
        }
        // MS-SPNG 3.2.5.1: the client's mechListMIC over its MechTypeList.
        let client_mic = resp.mech_list_mic.ok_or_else(|| {
            self.violation("no client mechListMIC after an NTLM MIC".into());
            NtStatus::LOGON_FAILURE
        })?;
        if !MessageSecurity::from_session_key(a.flags, &exported, Side::Client)
            .verify_mic(mech_types_der, &client_mic)
        {
            self.violation("client mechListMIC mismatch".into());
            return Err(NtStatus::LOGON_FAILURE);
        }
        let server_mic = MessageSecurity::from_session_key(a.flags, &exported, Side::Server)
            .get_mic(mech_types_der)
            .to_vec();

        // Keys (MS-SMB2 3.3.5.5.3).
        let s = self
            .sessions
            .get_mut(&sid)
            .ok_or(NtStatus::USER_SESSION_DELETED)?;
        let preauth = s.preauth.as_ref().map(|p| *p.value());
        let keys = derive_session_keys(
            neg.dialect.revision(),
            &exported,
            preauth.as_ref(),
            neg.cipher,
        );
        let signing_key: &[u8] = if neg.dialect.is_smb3() {
            keys.signing.as_bytes()
        } else {
            &exported
        };
        let signer = self
            .crypto
            .signer(neg.signing, signing_key)
            .map_err(|_| NtStatus::INTERNAL_ERROR)?;
        s.signer = Some(Arc::from(signer));
        if let Some(c) = neg.cipher.filter(|_| neg.dialect.is_smb3()) {
            let enc = self.crypto.cipher(c, keys.decryption.as_bytes());
            let dec = self.crypto.cipher(c, keys.encryption.as_bytes());
            if let (Ok(e), Ok(d)) = (enc, dec) {
                s.encryptor = Some(Arc::from(e));
                s.decryptor = Some(Arc::from(d));
            }
        }
        s.encrypt_data = self.config.encrypt_data && s.encryptor.is_some();
        s.auth = Auth::Ready;
        let mut session_flags = 0;
        if s.encrypt_data {
            session_flags |= SessionFlags::ENCRYPT_DATA;
        }
        let token = spnego::encode_neg_token_resp(&NegTokenResp {
            neg_state: Some(NegState::AcceptCompleted),
            supported_mech: None,
            response_token: None,
            mech_list_mic: Some(server_mic),
        });
        Ok(Reply::ok(SessionSetupResponse {
            session_flags: SessionFlags(session_flags),
            security_buffer: Bytes::from(token),
        }))
    }

    // ----- TREE_CONNECT (MS-SMB2 3.3.5.7) -----

    pub(super) fn tree_connect(&mut self, h: &Header, t: &TreeConnectRequest) -> Reply {
        let share = t.path.rsplit('\\').next().unwrap_or("");
        if !share.eq_ignore_ascii_case(&self.config.share) {
            return Reply::err(NtStatus::BAD_NETWORK_NAME);
        }
        let tid = self.next_tree;
        self.next_tree += 1;
        let Some(s) = self.sessions.get_mut(&h.session_id.0) else {
            return Reply::err(NtStatus::USER_SESSION_DELETED);
        };
        s.trees.insert(tid);
        let mut r = Reply::ok(TreeConnectResponse {
            share_type: share_type::DISK,
            share_flags: ShareFlags(0),
            capabilities: 0,
            maximal_access: 0x001f_01ff,
        });
        r.tree_id = Some(tid);
        r
    }
}

/// A NegTokenInit2 (MS-SPNG 2.2.1) naming NTLMSSP, with the customary negHints.
fn neg_token_init2_hint() -> Vec<u8> {
    let mech_types = spnego::encode_mech_types(&[OID_NTLMSSP]);
    let hint_name = der::tlv(
        tag::context(0),
        &der::tlv(tag::GENERAL_STRING, b"not_defined_in_RFC4178@please_ignore"),
    );
    let hints = der::tlv(tag::context(3), &der::tlv(tag::SEQUENCE, &hint_name));
    let seq = der::tlv(
        tag::SEQUENCE,
        &[der::tlv(tag::context(0), &mech_types), hints].concat(),
    );
    der::tlv(
        tag::APPLICATION_0,
        &[
            der::tlv(tag::OID, OID_SPNEGO),
            der::tlv(tag::context(0), &seq),
        ]
        .concat(),
    )
}
