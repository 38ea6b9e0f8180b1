//! A full exchange against the model server, offline: negotiate, NTLMv2 session, tree,
//! create, multi-MiB pipelined writes, reads, close, logoff.

mod common;

use common::{SEEDS, pattern};
use pike_core::crypto::{CipherId, SigningAlgorithm};
use pike_core::wire::{Dialect, disposition};
use pike_core::{ClientConfig, EncryptionPolicy};
use pike_proptests::{Pair, ServerConfig};
use sha2::{Digest, Sha256};

const DATA_LEN: usize = 3 * 1024 * 1024 + 12345;

#[derive(Clone, Copy, Debug)]
struct Expect {
    signing_required: bool,
    encrypt_data: bool,
    /// The server sets SessionFlags ENCRYPT_DATA.
    flag: bool,
}

fn run(client: ClientConfig, server: ServerConfig, dialect: Dialect, expect: Expect, seed: u64) {
    let mut p = Pair::new(client, server, seed);
    assert_eq!(p.negotiate().expect("negotiate"), dialect);
    let sid = p.logon("alice", "s3cret!").expect("logon");
    let info = p.client.session_info(sid).expect("session info");
    assert!(info.is_ready);
    assert_eq!(info.signing_required, expect.signing_required, "{info:?}");
    assert_eq!(info.encrypt_data, expect.encrypt_data, "{info:?}");
    assert_eq!(info.flags.is_encrypt_data(), expect.flag);

    let tid = p.tree_connect(sid, "share").expect("tree");
    let fid = p
        .create(sid, tid, "dir\\big.bin", disposition::CREATE)
        .expect("create");
    let data = pattern(DATA_LEN, seed as u8);
    let chunk = p.client.max_write_size().min(1 << 20);
    let writes = p
        .write_pipelined(sid, tid, fid, &data, chunk)
        .expect("writes");
    assert!(writes >= 4, "{writes} writes");
    let rchunk = p.client.max_read_size().min(1 << 20);
    let back = p
        .read_pipelined(sid, tid, fid, DATA_LEN, rchunk)
        .expect("reads");
    assert_eq!(Sha256::digest(&back), Sha256::digest(&data));
    assert_eq!(p.server.files()["dir\\big.bin"].len(), DATA_LEN);
    p.close(sid, tid, fid).expect("close");
    p.logoff(sid).expect("logoff");
    p.drive();

    assert!(
        p.server.violations().is_empty(),
        "{:?}",
        p.server.violations()
    );
    assert!(p.lost.is_none(), "{:?}", p.lost);
    let c = p.client.credits();
    assert_eq!(c.in_flight, 0, "{c:?}");
    assert_eq!(
        u64::from(c.available),
        p.server.credits_outstanding(),
        "{c:?}"
    );
    assert!(p.s2c.chunks > 10 && p.c2s.chunks > 10);
    // Everything after SESSION_SETUP travelled protected as agreed.
    let after_setup = p.server.requests_seen().len() - 3;
    if expect.encrypt_data {
        assert_eq!(p.server.encrypted_requests(), after_setup);
    } else {
        assert_eq!(p.server.encrypted_requests(), 0);
    }
    if expect.signing_required && !expect.encrypt_data {
        assert_eq!(p.server.signed_requests(), after_setup);
    }
}

fn client(dialects: &[Dialect]) -> ClientConfig {
    let mut c = Pair::client_config();
    c.dialects = dialects.to_vec();
    c
}

fn server(dialects: &[Dialect]) -> ServerConfig {
    ServerConfig {
        dialects: dialects.to_vec(),
        ..ServerConfig::default()
    }
}

const PLAIN: Expect = Expect {
    signing_required: false,
    encrypt_data: false,
    flag: false,
};
const SIGNED: Expect = Expect {
    signing_required: true,
    encrypt_data: false,
    flag: false,
};
const SEALED: Expect = Expect {
    signing_required: false,
    encrypt_data: true,
    flag: true,
};

#[test]
fn smb311_plain() {
    for seed in SEEDS {
        run(
            Pair::client_config(),
            ServerConfig::default(),
            Dialect::Smb311,
            PLAIN,
            seed,
        );
    }
}

#[test]
fn smb311_signing_required() {
    for seed in SEEDS {
        let s = ServerConfig {
            require_signing: true,
            ..ServerConfig::default()
        };
        run(Pair::client_config(), s, Dialect::Smb311, SIGNED, seed);
    }
}

#[test]
fn smb311_client_requires_signing() {
    for seed in SEEDS {
        let mut c = Pair::client_config();
        c.require_signing = true;
        run(c, ServerConfig::default(), Dialect::Smb311, SIGNED, seed);
    }
}

#[test]
fn smb311_signing_algorithms() {
    for (i, alg) in [
        SigningAlgorithm::AesGmac,
        SigningAlgorithm::AesCmac,
        SigningAlgorithm::HmacSha256,
    ]
    .into_iter()
    .enumerate()
    {
        let s = ServerConfig {
            require_signing: true,
            signing_algorithms: vec![alg],
            ..ServerConfig::default()
        };
        run(Pair::client_config(), s, Dialect::Smb311, SIGNED, SEEDS[i]);
    }
}

#[test]
fn smb311_encryption_required() {
    for seed in SEEDS {
        let s = ServerConfig {
            encrypt_data: true,
            ..ServerConfig::default()
        };
        run(Pair::client_config(), s, Dialect::Smb311, SEALED, seed);
    }
}

#[test]
fn smb311_every_cipher() {
    for (i, cipher) in [
        CipherId::Aes128Gcm,
        CipherId::Aes256Gcm,
        CipherId::Aes128Ccm,
        CipherId::Aes256Ccm,
    ]
    .into_iter()
    .enumerate()
    {
        let s = ServerConfig {
            encrypt_data: true,
            ciphers: vec![cipher],
            ..ServerConfig::default()
        };
        run(
            Pair::client_config(),
            s,
            Dialect::Smb311,
            SEALED,
            SEEDS[i % 3],
        );
    }
}

#[test]
fn smb311_client_requires_encryption() {
    for seed in SEEDS {
        let mut c = Pair::client_config();
        c.encryption = EncryptionPolicy::Required;
        let e = Expect {
            flag: false,
            ..SEALED
        };
        run(c, ServerConfig::default(), Dialect::Smb311, e, seed);
    }
}

#[test]
fn older_dialects_plain_and_signed() {
    for (i, d) in [
        Dialect::Smb202,
        Dialect::Smb210,
        Dialect::Smb300,
        Dialect::Smb302,
    ]
    .into_iter()
    .enumerate()
    {
        for seed in SEEDS {
            let _ = i;
            run(client(&[d]), server(&[d]), d, PLAIN, seed);
            let s = ServerConfig {
                require_signing: true,
                ..server(&[d])
            };
            run(client(&[d]), s, d, SIGNED, seed);
        }
    }
}

#[test]
fn smb30_and_302_encrypted_with_aes128_ccm() {
    for d in [Dialect::Smb300, Dialect::Smb302] {
        for seed in SEEDS {
            let s = ServerConfig {
                encrypt_data: true,
                ..server(&[d])
            };
            let mut p = Pair::new(client(&[d]), s.clone(), seed);
            p.negotiate().unwrap();
            assert_eq!(
                p.client.negotiated().unwrap().cipher,
                Some(CipherId::Aes128Ccm)
            );
            run(client(&[d]), s, d, SEALED, seed);
        }
    }
}

#[test]
fn highest_common_dialect_is_chosen() {
    let mut p = Pair::new(
        client(&[Dialect::Smb210, Dialect::Smb300, Dialect::Smb302]),
        server(&[Dialect::Smb202, Dialect::Smb210, Dialect::Smb300]),
        7,
    );
    assert_eq!(p.negotiate().unwrap(), Dialect::Smb300);
}

/// Each session derives its own keys (MS-SMB2 3.2.5.3.1), and `key_fingerprint` tells
/// them apart: a second session on one connection differs from the first, while the
/// same exchange replayed (fixed seeds on both sides) gives the same key and print.
#[test]
fn key_fingerprints_follow_the_keys() {
    for dialect in [Dialect::Smb210, Dialect::Smb300, Dialect::Smb311] {
        let logon = |p: &mut Pair| {
            let sid = p.logon("alice", "s3cret!").expect("logon");
            p.client
                .session_info(sid)
                .and_then(|i| i.key_fingerprint)
                .expect("fingerprint after setup")
        };
        let mut p = Pair::new(client(&[dialect]), server(&[dialect]), SEEDS[0]);
        assert_eq!(p.negotiate().expect("negotiate"), dialect);
        let first = logon(&mut p);
        let second = logon(&mut p);
        assert_ne!(first, second, "{dialect}: two sessions, one key");

        let mut replay = Pair::new(client(&[dialect]), server(&[dialect]), SEEDS[0]);
        replay.negotiate().expect("negotiate");
        assert_eq!(
            logon(&mut replay),
            first,
            "{dialect}: same exchange, other key"
        );
    }
}
