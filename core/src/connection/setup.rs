//! NEGOTIATE and SESSION_SETUP: dialect, capabilities, authentication and keys.

use bytes::Bytes;

use crate::Instant;
use crate::auth::{AuthContext, AuthError, AuthStep};
use crate::compress::CompressionAlgorithm;
use crate::config::{ClientConfig, EncryptionPolicy};
use crate::crypto::{CipherId, SigningAlgorithm, derive_session_keys, verify_message};
use crate::error::{ConnectionError, RequestError};
use crate::rng::Rng;
use crate::wire::{
    Capabilities, Dialect, HASH_SHA512, Header, NegotiateContext, NegotiateRequest,
    NegotiateResponse, NtStatus, ResponseBody, SecurityMode, SessionSetupRequest,
    SessionSetupResponse,
};

use super::recv::decode_result;
use super::session::key_fingerprint;
use super::{
    Batch, CompressionInfo, Connection, Event, Kind, NegotiateInfo, Pending, Queued, Request,
    SessionState,
};

/// SMB2_COMPRESSION_CAPABILITIES_FLAG_CHAINED (MS-SMB2 2.2.3.1.3).
pub(crate) const COMPRESSION_FLAG_CHAINED: u32 = 0x0000_0001;

/// Capabilities this client implements and therefore advertises (MS-SMB2 2.2.3).
const CLIENT_CAPABILITIES: u32 =
    Capabilities::LEASING | Capabilities::LARGE_MTU | Capabilities::ENCRYPTION;

/// The NEGOTIATE request for `config` (MS-SMB2 3.2.4.2.2.2).
pub(super) fn negotiate_request(config: &ClientConfig, rng: &mut Rng) -> NegotiateRequest {
    let mut dialects = config.dialects.clone();
    dialects.sort();
    dialects.dedup();
    let mut security_mode = SecurityMode::SIGNING_ENABLED;
    if config.require_signing {
        security_mode |= SecurityMode::SIGNING_REQUIRED;
    }
    let mut contexts = Vec::new();
    if dialects.contains(&Dialect::Smb311) {
        let salt: [u8; 32] = rng.bytes();
        contexts.push(NegotiateContext::PreauthIntegrity {
            hash_algorithms: vec![HASH_SHA512],
            salt: Bytes::copy_from_slice(&salt),
        });
        contexts.push(NegotiateContext::Encryption {
            ciphers: config.ciphers.clone(),
        });
        contexts.push(NegotiateContext::Signing {
            algorithms: config.signing_algorithms.clone(),
        });
        let algorithms = config.compression.offered();
        if !algorithms.is_empty() {
            let chained = config.compression.chained;
            contexts.push(NegotiateContext::Compression {
                flags: if chained { COMPRESSION_FLAG_CHAINED } else { 0 },
                algorithms: algorithms.iter().map(|a| a.id()).collect(),
            });
        }
        if !config.server_name.is_empty() {
            contexts.push(NegotiateContext::NetName {
                name: config.server_name.clone(),
            });
        }
    }
    NegotiateRequest {
        security_mode: SecurityMode(security_mode),
        capabilities: Capabilities(CLIENT_CAPABILITIES),
        client_guid: config.client_guid,
        dialects,
        contexts,
        ..NegotiateRequest::default()
    }
}

impl Connection {
    /// MS-SMB2 3.2.5.2: the server's SMB2_COMPRESSION_CAPABILITIES. Only what we offered
    /// may come back; NONE alone means the server compresses nothing.
    fn negotiated_compression(
        &self,
        flags: u32,
        ids: &[u16],
    ) -> Result<Option<CompressionInfo>, ConnectionError> {
        let offered = self.config.compression.offered();
        if offered.is_empty() {
            return Err(ConnectionError::ProtocolViolation(
                "compression context we did not ask for",
            ));
        }
        let chained = flags & COMPRESSION_FLAG_CHAINED != 0;
        if chained && !self.config.compression.chained {
            return Err(ConnectionError::ProtocolViolation(
                "chained compression we did not offer",
            ));
        }
        let mut algorithms = Vec::new();
        for a in ids.iter().map(|&id| CompressionAlgorithm::from_id(id)) {
            if a == CompressionAlgorithm::None {
                continue;
            }
            if !offered.contains(&a) {
                return Err(ConnectionError::ProtocolViolation(
                    "server chose a compression algorithm we did not offer",
                ));
            }
            algorithms.push(a);
        }
        Ok((!algorithms.is_empty()).then_some(CompressionInfo {
            algorithms,
            chained,
        }))
    }

    /// MS-SMB2 3.2.5.2: record what the server chose.
    pub(super) fn handle_negotiate_response(
        &mut self,
        n: &NegotiateResponse,
        raw: &Bytes,
    ) -> Result<(), ConnectionError> {
        if !self.config.dialects.contains(&n.dialect) {
            return Err(ConnectionError::ProtocolViolation(
                "server chose a dialect we did not offer",
            ));
        }
        let mut cipher = None;
        let mut compression = None;
        let mut signing = match n.dialect {
            Dialect::Smb202 | Dialect::Smb210 => SigningAlgorithm::HmacSha256,
            _ => SigningAlgorithm::AesCmac,
        };
        if n.dialect == Dialect::Smb311 {
            let mut preauth_ok = false;
            for c in &n.contexts {
                match c {
                    NegotiateContext::PreauthIntegrity {
                        hash_algorithms, ..
                    } => {
                        preauth_ok = hash_algorithms.as_slice() == [HASH_SHA512];
                    }
                    NegotiateContext::Encryption { ciphers } => {
                        cipher = match ciphers.as_slice() {
                            [c] if self.config.ciphers.contains(c) => Some(*c),
                            [CipherId::Unknown(0)] | [] => None,
                            _ => {
                                return Err(ConnectionError::ProtocolViolation(
                                    "server chose a cipher we did not offer",
                                ));
                            }
                        };
                    }
                    NegotiateContext::Compression { flags, algorithms } => {
                        compression = self.negotiated_compression(*flags, algorithms)?;
                    }
                    NegotiateContext::Signing { algorithms } => match algorithms.as_slice() {
                        [a] if self.config.signing_algorithms.contains(a) => signing = *a,
                        _ => {
                            return Err(ConnectionError::ProtocolViolation(
                                "server chose a signing algorithm we did not offer",
                            ));
                        }
                    },
                    _ => {}
                }
            }
            if !preauth_ok {
                return Err(ConnectionError::ProtocolViolation(
                    "no SHA-512 preauth context",
                ));
            }
            self.preauth.update(raw);
        } else if n.dialect.is_smb3() && n.capabilities.contains(Capabilities::ENCRYPTION) {
            cipher = Some(CipherId::Aes128Ccm);
        }
        self.credits.multi_credit =
            n.dialect != Dialect::Smb202 && n.capabilities.contains(Capabilities::LARGE_MTU);
        self.negotiated = Some(NegotiateInfo {
            dialect: n.dialect,
            security_mode: n.security_mode,
            capabilities: n.capabilities,
            server_guid: n.server_guid,
            max_transact_size: n.max_transact_size,
            max_read_size: n.max_read_size,
            max_write_size: n.max_write_size,
            cipher,
            signing_algorithm: signing,
            security_buffer: n.security_buffer.clone(),
            system_time: n.system_time,
            compression,
        });
        self.events
            .push_back(Event::Negotiated { dialect: n.dialect });
        Ok(())
    }

    /// One authenticator step for session `idx`: `Some(token)` to send, `None` when done.
    pub(super) fn auth_step(
        &mut self,
        idx: usize,
        token: &[u8],
    ) -> Result<Option<Vec<u8>>, AuthError> {
        let s = &mut self.sessions[idx];
        let mut ctx = AuthContext {
            rng: &mut self.rng,
            wall_time: s.wall_time,
        };
        Ok(match s.auth.step(&mut ctx, token)? {
            AuthStep::Send(t) => Some(t),
            AuthStep::Done => None,
        })
    }

    pub(super) fn queue_setup_leg(&mut self, now: Instant, idx: usize, token: Vec<u8>) {
        let s = &self.sessions[idx];
        let mut security_mode = SecurityMode::SIGNING_ENABLED as u8;
        if self.config.require_signing {
            security_mode |= SecurityMode::SIGNING_REQUIRED as u8;
        }
        let body = SessionSetupRequest {
            security_mode,
            security_buffer: Bytes::from(token),
            ..SessionSetupRequest::default()
        };
        let mut request = Request::new(body);
        request.header.session_id = Some(s.id);
        self.queue.push_back(Batch::single(Queued {
            id: s.setup_request,
            request,
            deadline: now + self.config.request_timeout,
            kind: Kind::SetupLeg(idx),
            session: Some(idx),
            related: false,
        }));
    }

    /// MS-SMB2 3.2.5.3: one SESSION_SETUP response (`h` as received, `result` as the
    /// AfterDecode hooks left it).
    pub(super) fn handle_setup_response(
        &mut self,
        now: Instant,
        p: Pending,
        idx: usize,
        h: &Header,
        result: Result<super::Response, RequestError>,
        encrypted: bool,
    ) {
        let id = p.id;
        if self.sessions[idx].id.0 == 0 && h.session_id.0 != 0 {
            self.sessions[idx].id = h.session_id;
            self.session_index.insert(h.session_id, idx);
        }
        let r = match result {
            Ok(r) => r,
            Err(e) => return self.setup_failed(idx, id, Err(e)),
        };
        let more = match r.header.status {
            NtStatus::MORE_PROCESSING_REQUIRED => true,
            NtStatus::SUCCESS => false,
            _ => return self.setup_failed(idx, id, Ok(r)),
        };
        let ResponseBody::SessionSetup(body) = &r.body else {
            return self.setup_failed(idx, id, Ok(r));
        };
        if more {
            if let Some(p) = self.sessions[idx].preauth.as_mut() {
                p.update(&r.raw);
            }
            return match self.auth_step(idx, &body.security_buffer) {
                Ok(Some(tok)) => self.queue_setup_leg(now, idx, tok),
                Ok(None) => {
                    self.setup_failed(idx, id, Err(RequestError::Auth(AuthError::UnexpectedToken)))
                }
                Err(e) => self.setup_failed(idx, id, Err(RequestError::Auth(e))),
            };
        }
        match self.auth_step(idx, &body.security_buffer) {
            Ok(None) => {}
            Ok(Some(_)) => {
                return self.setup_failed(
                    idx,
                    id,
                    Err(RequestError::Auth(AuthError::UnexpectedToken)),
                );
            }
            Err(e) => return self.setup_failed(idx, id, Err(RequestError::Auth(e))),
        }
        let flags = body.session_flags;
        if let Err(e) = self.establish(idx, &r.header, &r.raw, flags, encrypted) {
            return match e {
                Establish::Request(e) => self.setup_failed(idx, id, Err(e)),
                Establish::Connection(e) => {
                    self.setup_failed(idx, id, Err(RequestError::ConnectionLost(e.clone())));
                    self.fail(e)
                }
            };
        }
        self.events
            .push_back(Event::Completed { id, result: Ok(r) });
    }

    fn setup_failed(
        &mut self,
        idx: usize,
        id: super::RequestId,
        result: Result<super::Response, RequestError>,
    ) {
        let s = &mut self.sessions[idx];
        s.state = SessionState::Gone;
        let sid = s.id;
        self.session_index.remove(&sid);
        let result = match result {
            Ok(_) => Err(RequestError::ConnectionLost(
                ConnectionError::ProtocolViolation("unexpected SESSION_SETUP response"),
            )),
            e => e,
        };
        self.events.push_back(Event::Completed { id, result });
    }

    /// Derives keys, sets signing/encryption policy and verifies the final response
    /// (MS-SMB2 3.2.5.3.1, 3.2.5.1.3).
    fn establish(
        &mut self,
        idx: usize,
        h: &Header,
        msg: &Bytes,
        flags: crate::wire::SessionFlags,
        encrypted: bool,
    ) -> Result<(), Establish> {
        // Invariant: sessions only exist after NEGOTIATE completed.
        let neg = self
            .negotiated
            .clone()
            .expect("negotiated before session setup");
        let config = self.config.clone();
        let s = &mut self.sessions[idx];
        s.flags = flags;
        let anonymous = s.auth.is_anonymous();
        if flags.is_guest() && !config.dangerous_allow_guest {
            return Err(Establish::Request(RequestError::GuestRefused));
        }
        if flags.is_null() && !anonymous {
            return Err(Establish::Request(RequestError::AnonymousRefused));
        }
        let keyless = flags.is_guest() || flags.is_null() || anonymous;
        let wants_encryption =
            config.encryption != EncryptionPolicy::IfRequired || flags.is_encrypt_data();
        if keyless {
            if config.encryption == EncryptionPolicy::Required {
                return Err(Establish::Request(RequestError::EncryptionUnavailable));
            }
            if config.require_signing {
                return Err(Establish::Request(RequestError::SigningUnavailable));
            }
            s.state = SessionState::Ready;
            return Ok(());
        }
        // A copy (the authenticator stays borrowed otherwise), wiped when dropped.
        let Some(session_key) = s
            .auth
            .session_key()
            .map(|k| zeroize::Zeroizing::new(k.to_vec()))
        else {
            return Err(Establish::Request(RequestError::Auth(
                AuthError::UnexpectedToken,
            )));
        };
        let preauth = s.preauth.as_ref().map(|p| *p.value());
        let keys = derive_session_keys(
            neg.dialect.revision(),
            &session_key,
            preauth.as_ref(),
            neg.cipher,
        );
        let provider = &config.crypto;
        let signing_key = if neg.dialect.is_smb3() {
            keys.signing.as_bytes()
        } else {
            &session_key[..session_key.len().min(16)]
        };
        let signer = provider
            .signer(neg.signing_algorithm, signing_key)
            .map_err(|e| Establish::Request(RequestError::Crypto(e)))?;
        if let Some(c) = neg.cipher.filter(|_| neg.dialect.is_smb3()) {
            let enc = provider.cipher(c, keys.encryption.as_bytes());
            let dec = provider.cipher(c, keys.decryption.as_bytes());
            match (enc, dec) {
                (Ok(e), Ok(d)) => {
                    s.encryptor = Some(e);
                    s.decryptor = Some(d);
                }
                (Err(e), _) | (_, Err(e)) => {
                    return Err(Establish::Request(RequestError::Crypto(e)));
                }
            }
        }
        // Preferred falls back to plaintext; Required and a server's EncryptData do not.
        let must_encrypt =
            config.encryption == EncryptionPolicy::Required || flags.is_encrypt_data();
        if must_encrypt && s.encryptor.is_none() {
            return Err(Establish::Request(RequestError::EncryptionUnavailable));
        }
        s.encrypt_data = wants_encryption && s.encryptor.is_some();
        s.signing_required = config.require_signing || neg.security_mode.is_signing_required();
        // The final response is signed with the new key: at 3.1.1 always (MS-SMB2
        // 3.3.5.5.3), otherwise when signing is required. Encrypted ones are not.
        let must_sign = !encrypted && (neg.dialect == Dialect::Smb311 || s.signing_required);
        if h.flags.is_signed() && !encrypted {
            let mut copy = msg.to_vec();
            if !verify_message(signer.as_ref(), &mut copy)
                && !config.dangerous_skip_signature_verification
            {
                return Err(Establish::Connection(ConnectionError::SignatureMismatch {
                    command: h.command,
                    message_id: h.message_id.0,
                }));
            }
        } else if must_sign && !config.dangerous_skip_signature_verification {
            return Err(Establish::Connection(
                ConnectionError::UnprotectedResponse {
                    command: h.command,
                    message_id: h.message_id.0,
                },
            ));
        }
        s.signer = Some(signer);
        s.key_fingerprint = Some(key_fingerprint(signing_key));
        s.state = SessionState::Ready;
        Ok(())
    }
}

enum Establish {
    Request(RequestError),
    Connection(ConnectionError),
}

/// A SESSION_SETUP leg's result: MORE_PROCESSING_REQUIRED has error severity but carries
/// a SESSION_SETUP body (MS-SMB2 3.3.5.5.3), so it decodes like SUCCESS.
pub(super) fn decode_setup_result(
    h: &Header,
    msg: &Bytes,
) -> Result<super::Response, RequestError> {
    if !matches!(
        h.status,
        NtStatus::SUCCESS | NtStatus::MORE_PROCESSING_REQUIRED
    ) {
        return decode_result(h, msg);
    }
    match SessionSetupResponse::decode(msg) {
        Ok(b) => Ok(super::Response {
            header: h.clone(),
            body: b.into(),
            raw: msg.clone(),
        }),
        Err(error) => Err(RequestError::Decode {
            command: h.command,
            error,
            packet: msg.clone(),
        }),
    }
}
