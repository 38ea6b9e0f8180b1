//! A tampered signed or encrypted reply never completes as `Ok`: the connection is lost
//! with the matching `ConnectionError` (after rustls' `transfer_altered`).

mod common;

use common::SEEDS;
use pike_core::auth::AuthError;
use pike_core::crypto::SigningAlgorithm;
use pike_core::wire::{Dialect, ReadRequest, SessionId, TreeId, disposition};
use pike_core::{ConnectionError, Request, RequestError};
use pike_proptests::{Pair, Record, ServerConfig};

fn setup(server: ServerConfig, dialects: &[Dialect], seed: u64) -> (Pair, SessionId, TreeId) {
    let mut c = Pair::client_config();
    c.dialects = dialects.to_vec();
    let mut p = Pair::new(c, server, seed);
    let sid = p.connect();
    let tid = p.tree_connect(sid, "share").unwrap();
    (p, sid, tid)
}

/// Submits a CREATE and returns its result and the connection error.
fn create_after_hook(p: &mut Pair, sid: SessionId, tid: TreeId) -> Result<(), RequestError> {
    let req = Pair::create_request("victim.txt", disposition::OPEN_IF);
    let r = p.call(Request::new(req).tree(sid, tid)).map(drop);
    p.drive();
    r
}

fn assert_lost(p: &Pair, r: Result<(), RequestError>, want: impl Fn(&ConnectionError) -> bool) {
    let lost = p.lost.clone().expect("connection lost");
    assert!(want(&lost), "lost with {lost:?}");
    match r {
        Err(RequestError::ConnectionLost(e)) => assert_eq!(e, lost),
        other => panic!("request completed with {other:?}"),
    }
    assert_eq!(p.lost_count(), 1);
    assert!(matches!(p.log.last(), Some(Record::ConnectionLost(_))));
    assert!(p.client.is_closed());
}

#[test]
fn tampered_signed_reply_is_signature_mismatch() {
    let cases: [(&[Dialect], Vec<SigningAlgorithm>); 5] = [
        (&[Dialect::Smb311], vec![SigningAlgorithm::AesGmac]),
        (&[Dialect::Smb311], vec![SigningAlgorithm::AesCmac]),
        (&[Dialect::Smb311], vec![SigningAlgorithm::HmacSha256]),
        (&[Dialect::Smb300], vec![]),
        (&[Dialect::Smb210], vec![]),
    ];
    for (dialects, algs) in cases {
        for seed in SEEDS {
            let server = ServerConfig {
                require_signing: true,
                signing_algorithms: if algs.is_empty() {
                    ServerConfig::default().signing_algorithms
                } else {
                    algs.clone()
                },
                ..ServerConfig::default()
            };
            let (mut p, sid, tid) = setup(server, dialects, seed);
            p.server.tamper_next_signed_response();
            let r = create_after_hook(&mut p, sid, tid);
            assert_lost(&p, r, |e| {
                matches!(e, ConnectionError::SignatureMismatch { command, .. }
                    if *command == pike_core::wire::Command::Create)
            });
        }
    }
}

/// The flipped bit lands in the final token's mechListMIC (the last bytes of the
/// response), which the authenticator checks before the SMB2 signature is verified
/// (MS-SMB2 3.2.5.3.1 order): the logon fails, the session is unusable.
#[test]
fn tampered_final_session_setup_fails_the_logon() {
    for seed in SEEDS {
        let mut p = Pair::default_with_seed(seed);
        p.negotiate().unwrap();
        p.server.tamper_next_signed_response();
        let r = p.logon("alice", "s3cret!");
        p.drive();
        assert_eq!(
            r,
            Err(RequestError::Auth(AuthError::IntegrityCheckFailed)),
            "logon must not succeed"
        );
    }
}

#[test]
fn tampered_encrypted_reply_is_decryption_failed() {
    for dialects in [&[Dialect::Smb311][..], &[Dialect::Smb300]] {
        for seed in SEEDS {
            let server = ServerConfig {
                encrypt_data: true,
                ..ServerConfig::default()
            };
            let (mut p, sid, tid) = setup(server, dialects, seed);
            p.server.tamper_next_encrypted_response();
            let r = create_after_hook(&mut p, sid, tid);
            assert_lost(&p, r, |e| matches!(e, ConnectionError::DecryptionFailed(_)));
        }
    }
}

#[test]
fn unsigned_reply_when_signing_required_is_unprotected() {
    for dialects in [
        &[Dialect::Smb311][..],
        &[Dialect::Smb302],
        &[Dialect::Smb202],
    ] {
        for seed in SEEDS {
            let server = ServerConfig {
                require_signing: true,
                ..ServerConfig::default()
            };
            let (mut p, sid, tid) = setup(server, dialects, seed);
            p.server.forget_signing_next();
            let r = create_after_hook(&mut p, sid, tid);
            assert_lost(&p, r, |e| {
                matches!(e, ConnectionError::UnprotectedResponse { .. })
            });
        }
    }
}

#[test]
fn requests_queued_behind_a_tampered_reply_all_fail() {
    for seed in SEEDS {
        let server = ServerConfig {
            require_signing: true,
            ..ServerConfig::default()
        };
        let (mut p, sid, tid) = setup(server, &[Dialect::Smb311], seed);
        let fid = p.create(sid, tid, "f", disposition::CREATE).unwrap();
        p.write(sid, tid, fid, 0, &[7; 1000]).unwrap();
        p.server.tamper_next_signed_response();
        let ids: Vec<_> = (0..8)
            .map(|i| {
                p.submit(
                    Request::new(ReadRequest {
                        length: 100,
                        offset: i * 100,
                        file_id: fid,
                        ..ReadRequest::default()
                    })
                    .tree(sid, tid),
                )
            })
            .collect();
        p.drive();
        for id in ids {
            let r = p.done.remove(&id).expect("completed");
            assert!(
                matches!(
                    r,
                    Err(RequestError::ConnectionLost(
                        ConnectionError::SignatureMismatch { .. }
                    ))
                ),
                "{r:?}"
            );
        }
        assert_eq!(p.lost_count(), 1);
        assert!(matches!(p.log.last(), Some(Record::ConnectionLost(_))));
    }
}
