// The known-answer and round-trip tests, run once per provider: each wrapper
// (tests/vectors_crypto.rs, tests/vectors_ring.rs) defines `PROVIDER` and includes this.

use pike_core::crypto::transform::TRANSFORM_PROTOCOL_ID;
use pike_core::crypto::{
    CipherId, CryptoError, Key, MessageCipher, MessageSigner, PreauthHash,
    SIGNATURE_RANGE, SessionKeys, SigningAlgorithm, TRANSFORM_HEADER_LEN,
    derive_session_keys, open_transform, seal_transform, seal_transform_with_nonce_field,
    sign_message, smb3_kdf, transform_session_id, verify_message,
};
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// Helpers

/// Loads one vector file from `$PIKE_VECTORS_DIR` or `<repo>/../shared/vectors/`.
fn vector(name: &str) -> Value {
    let dir = std::env::var("PIKE_VECTORS_DIR").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors/").to_string()
    });
    let path = std::path::Path::new(&dir).join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "test vector file {} is missing ({e}); set PIKE_VECTORS_DIR to the directory holding {name}",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", path.display()))
}

/// Hex field `key` of `v` as bytes.
fn hx(v: &Value, key: &str) -> Vec<u8> {
    let s = v[key]
        .as_str()
        .unwrap_or_else(|| panic!("missing hex field {key:?} in {v}"));
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex in {key:?}: {e}"))
}

fn num(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("missing number {key:?} in {v}"))
}

fn arr<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("missing array {key:?}"))
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap_or("?")
}

fn hash64(b: &[u8]) -> [u8; 64] {
    b.try_into().expect("64-byte hash")
}

fn signer(alg: SigningAlgorithm, key: &[u8]) -> Box<dyn MessageSigner> {
    PROVIDER.signer(alg, key).expect("signer")
}

fn cipher(id: CipherId, key: &[u8]) -> Box<dyn MessageCipher> {
    PROVIDER.cipher(id, key).expect("cipher")
}

/// Checks the four keys of a vector's `expected` (or the given names) against `keys`.
fn check_keys(ctx: &str, keys: &SessionKeys, expected: &Value, signing_name: &str) {
    assert_eq!(
        keys.signing.as_bytes(),
        hx(expected, signing_name),
        "{ctx}: {signing_name}"
    );
    assert_eq!(
        keys.encryption.as_bytes(),
        hx(expected, "encryption_key_client"),
        "{ctx}: encryption"
    );
    assert_eq!(
        keys.decryption.as_bytes(),
        hx(expected, "decryption_key_client"),
        "{ctx}: decryption"
    );
    assert_eq!(
        keys.application.as_bytes(),
        hx(expected, "application_key"),
        "{ctx}: application"
    );
}

/// Runs a pre-auth chain (`steps[i].message_bytes` / `hash_after`); returns the steps seen.
fn check_preauth_chain(ctx: &str, initial: &[u8], steps: &[Value]) -> (PreauthHash, usize) {
    let mut h = PreauthHash::new();
    assert_eq!(h.value().as_slice(), initial, "{ctx}: initial hash");
    for (i, step) in steps.iter().enumerate() {
        h.update(&hx(step, "message_bytes"));
        assert_eq!(
            h.value().as_slice(),
            hx(step, "hash_after"),
            "{ctx}: step {i} ({})",
            step["message"]
        );
    }
    (h, steps.len())
}

/// Checks the raw KDF against one `labels_*` entry.
fn check_raw_label(ki: &[u8], label: &Value, context: &[u8], expected: &[u8]) {
    let mut out = vec![0u8; expected.len()];
    smb3_kdf(ki, &hx(label, "label_hex"), context, &mut out);
    assert_eq!(out, expected, "raw smb3_kdf with label {}", label["label"]);
}

/// For one encryption message vector: opens `transformed_message`, checks every
/// decoded field, and reseals the plaintext byte for byte.
fn check_transform_message(ctx: &str, c: &dyn MessageCipher, m: &Value, expected_session: u64) {
    let ctx = format!("{ctx}/{}", id(m));
    let transformed = hx(m, "transformed_message");
    let plaintext = hx(m, "plaintext");
    let th = &m["transform_header"];
    let nonce_field: [u8; 16] = hx(th, "nonce").try_into().expect("16-byte nonce field");
    let session_id = num(th, "session_id");
    assert_eq!(session_id, expected_session, "{ctx}: session id");
    assert_eq!(num(th, "flags"), 1, "{ctx}: flags");
    assert_eq!(
        num(th, "original_message_size") as usize,
        plaintext.len(),
        "{ctx}: size"
    );

    // The vector's own decomposition of the frame.
    assert_eq!(
        &transformed[..4],
        &TRANSFORM_PROTOCOL_ID,
        "{ctx}: protocol id"
    );
    assert_eq!(transformed[4..20], hx(th, "signature"), "{ctx}: signature");
    assert_eq!(transformed[20..52], hx(m, "aad"), "{ctx}: aad");
    assert_eq!(transformed[52..], hx(m, "ciphertext"), "{ctx}: ciphertext");
    let n = c.id().nonce_len().unwrap();
    assert_eq!(nonce_field[..n], hx(m, "aes_nonce"), "{ctx}: aes nonce");
    assert_eq!(
        transform_session_id(&transformed),
        Some(session_id),
        "{ctx}"
    );

    // Open.
    let mut frame = transformed.clone();
    let range = open_transform(c, &mut frame).unwrap_or_else(|e| panic!("{ctx}: open failed: {e}"));
    assert_eq!(range, TRANSFORM_HEADER_LEN..transformed.len(), "{ctx}");
    assert_eq!(frame[range], plaintext, "{ctx}: plaintext");

    // Seal with the vector's whole Nonce field.
    let mut frame = vec![0xAAu8; TRANSFORM_HEADER_LEN];
    frame.extend_from_slice(&plaintext);
    seal_transform_with_nonce_field(c, &nonce_field, session_id, &mut frame).unwrap();
    assert_eq!(frame, transformed, "{ctx}: seal_transform_with_nonce_field");

    // seal_transform writes only the AES nonce and zeroes the rest of the field, so it
    // reproduces the frame exactly when the sender did the same (all 3.1.1 vectors).
    let mut frame = vec![0x55u8; TRANSFORM_HEADER_LEN];
    frame.extend_from_slice(&plaintext);
    seal_transform(c, &nonce_field, session_id, &mut frame).unwrap();
    if nonce_field[n..].iter().all(|&b| b == 0) {
        assert_eq!(frame, transformed, "{ctx}: seal_transform");
    } else {
        assert!(
            frame[20 + n..36].iter().all(|&b| b == 0),
            "{ctx}: reserved nonce bytes zeroed"
        );
        assert_ne!(
            frame, transformed,
            "{ctx}: different nonce field, different AAD"
        );
        let range = open_transform(c, &mut frame).unwrap();
        assert_eq!(frame[range], plaintext, "{ctx}: seal_transform round trip");
    }
}

// ---------------------------------------------------------------------------------------
// smb3-kdf.json

#[test]
fn kdf_vectors() {
    let v = vector("smb3-kdf.json");
    let vectors = arr(&v, "vectors");
    assert!(!vectors.is_empty());
    let mut checked = 0;
    for vec in vectors {
        let ctx = id(vec);
        let inp = &vec["inputs"];
        let exp = &vec["expected"];
        let dialect = num(inp, "dialect") as u16;
        let cipher_id = inp["cipher_id"]
            .as_u64()
            .map(|c| CipherId::from_id(c as u16));
        let sk = hx(inp, "session_key");
        let preauth = inp["preauth_integrity_hash_value"]
            .as_str()
            .map(|_| hash64(&hx(inp, "preauth_integrity_hash_value")));
        let keys = derive_session_keys(dialect, &sk, preauth.as_ref(), cipher_id);

        if exp.get("channel_signing_key").is_some() {
            // Session binding: the channel signing key comes from the channel's inputs,
            // the other keys are the master session's.
            assert_eq!(
                keys.signing.as_bytes(),
                hx(exp, "channel_signing_key"),
                "{ctx}"
            );
            let master_sk = hx(inp, "master_session_key");
            let master_pre = inp["master_preauth_integrity_hash_value"]
                .as_str()
                .map(|_| hash64(&hx(inp, "master_preauth_integrity_hash_value")));
            if dialect == 0x0311 {
                assert!(
                    master_pre.is_some(),
                    "{ctx}: 3.1.1 binding vector needs master hash"
                );
            }
            let master = derive_session_keys(dialect, &master_sk, master_pre.as_ref(), cipher_id);
            assert_eq!(
                master.encryption.as_bytes(),
                hx(exp, "encryption_key_client"),
                "{ctx}"
            );
            assert_eq!(
                master.decryption.as_bytes(),
                hx(exp, "decryption_key_client"),
                "{ctx}"
            );
            assert_eq!(
                master.application.as_bytes(),
                hx(exp, "application_key"),
                "{ctx}"
            );
        } else {
            check_keys(ctx, &keys, exp, "signing_key");
        }

        // The same keys through the raw KDF and the file's label/context bytes.
        let (labels, context, signing_sk) = if dialect == 0x0311 {
            (&v["labels_smb311"], None, &sk)
        } else {
            (&v["labels_smb300_smb302"], Some(()), &sk)
        };
        let ctx_for = |entry: &Value| match (context, preauth) {
            (Some(()), _) => hx(entry, "context_hex"),
            (None, Some(p)) => p.to_vec(),
            (None, None) => panic!("{ctx}: 3.1.1 vector without preauth hash"),
        };
        let signing_name = if exp.get("channel_signing_key").is_some() {
            "channel_signing_key"
        } else {
            "signing_key"
        };
        let e = &labels["signing_key"];
        check_raw_label(signing_sk, e, &ctx_for(e), &hx(exp, signing_name));
        if exp.get("signing_key").is_some() {
            for name in [
                "encryption_key_client",
                "decryption_key_client",
                "application_key",
            ] {
                let e = &labels[name];
                check_raw_label(&sk, e, &ctx_for(e), &hx(exp, name));
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 4, "all four key sets");
}

// ---------------------------------------------------------------------------------------
// smb311-preauth.json

#[test]
fn preauth_vectors() {
    let v = vector("smb311-preauth.json");
    let vectors = arr(&v, "vectors");
    assert_eq!(vectors.len(), 2);
    let mut total_steps = 0;
    for vec in vectors {
        let ctx = id(vec);
        let steps = arr(vec, "steps");
        assert!(!steps.is_empty(), "{ctx}");
        let (h, n) = check_preauth_chain(ctx, &hx(&vec["inputs"], "initial_hash"), steps);
        assert_eq!(
            h.value().as_slice(),
            hx(&vec["expected"], "final_preauth_integrity_hash_value"),
            "{ctx}"
        );
        total_steps += n;
    }
    assert_eq!(total_steps, 10);
}

#[test]
fn preauth_session_fork() {
    // MS-SMB2 3.2.5.3.1: the session hash starts as a copy of the connection hash.
    let mut conn = PreauthHash::new();
    conn.update(b"negotiate request");
    conn.update(b"negotiate response");
    let mut session = conn.clone();
    session.update(b"session setup");
    assert_ne!(session.value(), conn.value());
    assert_eq!(PreauthHash::default().value(), &[0u8; 64]);
}

// ---------------------------------------------------------------------------------------
// smb2-signing.json

#[test]
fn signing_vectors() {
    let v = vector("smb2-signing.json");
    let vectors = arr(&v, "vectors");
    assert_eq!(vectors.len(), 10);
    let (mut cmac, mut hmac) = (0, 0);
    for vec in vectors {
        let ctx = id(vec);
        let message = hx(vec, "message");
        let signature = hx(vec, "signature");
        let key = hx(vec, "signing_key");
        let dialect = num(vec, "dialect") as u16;
        let s = match vec["algorithm"].as_str() {
            Some("aes_128_cmac") => {
                cmac += 1;
                signer(SigningAlgorithm::AesCmac, &key)
            }
            Some("hmac_sha256") => {
                hmac += 1;
                // 2.0.2/2.1 sign with the SessionKey itself.
                let sk = hx(vec, "session_key");
                let keys = derive_session_keys(dialect, &sk, None, None);
                assert_eq!(
                    keys.signing.as_bytes(),
                    key,
                    "{ctx}: 2.x signing key = SessionKey"
                );
                assert!(
                    keys.encryption.is_empty() && keys.decryption.is_empty(),
                    "{ctx}"
                );
                signer(SigningAlgorithm::HmacSha256, &sk)
            }
            other => panic!("{ctx}: unexpected algorithm {other:?}"),
        };
        if vec.get("session_key").is_some() && dialect >= 0x0300 {
            // SMBLibrary's 3.0 sample gives the session key: check the KDF step too.
            let keys = derive_session_keys(dialect, &hx(vec, "session_key"), None, None);
            assert_eq!(keys.signing.as_bytes(), key, "{ctx}: derived signing key");
        }
        assert_eq!(
            message[SIGNATURE_RANGE], signature,
            "{ctx}: vector carries its signature"
        );

        // verify_message accepts the published message and leaves it unchanged.
        let mut m = message.clone();
        assert!(verify_message(&*s, &mut m), "{ctx}: verify");
        assert_eq!(m, message, "{ctx}: verify restores the signature field");

        // sign_message reproduces it from a message with a garbage signature field.
        let mut m = message.clone();
        m[SIGNATURE_RANGE].fill(0xEE);
        sign_message(&*s, &mut m);
        assert_eq!(m, message, "{ctx}: sign");

        // Flipping any single bit (header, signature or body) breaks verification.
        let mut m = message.clone();
        for bit in 0..m.len() * 8 {
            m[bit / 8] ^= 1 << (bit % 8);
            assert!(
                !verify_message(&*s, &mut m),
                "{ctx}: bit {bit} flipped still verifies"
            );
            m[bit / 8] ^= 1 << (bit % 8);
        }
        assert_eq!(m, message);
    }
    assert_eq!((cmac, hmac), (8, 2));
}

// ---------------------------------------------------------------------------------------
// smb30-encryption.json

#[test]
fn smb30_encryption_vectors() {
    let v = vector("smb30-encryption.json");
    let vectors = arr(&v, "vectors");
    assert!(!vectors.is_empty());
    let mut messages = 0;
    for vec in vectors {
        let ctx = id(vec);
        let kd = &vec["key_derivation"];
        let keys = derive_session_keys(0x0300, &hx(kd, "session_key"), None, None);
        check_keys(ctx, &keys, &kd["expected"], "signing_key");
        // 3.0.2 uses the same derivation.
        let keys302 = derive_session_keys(0x0302, &hx(kd, "session_key"), None, None);
        check_keys(ctx, &keys302, &kd["expected"], "signing_key");

        let enc = cipher(CipherId::Aes128Ccm, keys.encryption.as_bytes());
        let dec = cipher(CipherId::Aes128Ccm, keys.decryption.as_bytes());
        let session_id = num(vec, "session_id");
        for m in arr(vec, "messages") {
            let c = match m["direction"].as_str() {
                Some("client_to_server") => {
                    assert_eq!(hx(m, "key"), keys.encryption.as_bytes());
                    &enc
                }
                Some("server_to_client") => {
                    assert_eq!(hx(m, "key"), keys.decryption.as_bytes());
                    &dec
                }
                other => panic!("{ctx}: direction {other:?}"),
            };
            check_transform_message(ctx, &**c, m, session_id);
            messages += 1;
        }
    }
    assert_eq!(messages, 4);
}

// ---------------------------------------------------------------------------------------
// smb311-encryption.json

#[test]
fn smb311_encryption_vectors() {
    let v = vector("smb311-encryption.json");
    let vectors = arr(&v, "vectors");
    let mut seen = Vec::new();
    let mut messages = 0;
    for vec in vectors {
        let ctx = id(vec);
        let cipher_id = CipherId::from_id(num(vec, "cipher_id") as u16);
        seen.push(cipher_id);

        // Pre-auth chain.
        let pi = &vec["preauth_integrity"];
        let (h, n) = check_preauth_chain(ctx, &hx(pi, "initial_hash"), arr(pi, "steps"));
        assert_eq!(n, 5, "{ctx}");
        assert_eq!(
            h.value().as_slice(),
            hx(pi, "final_preauth_integrity_hash_value"),
            "{ctx}"
        );

        // Key derivation.
        let kd = &vec["key_derivation"];
        assert_eq!(
            h.value().as_slice(),
            hx(kd, "preauth_integrity_hash_value"),
            "{ctx}"
        );
        let keys = derive_session_keys(
            0x0311,
            &hx(kd, "session_key"),
            Some(h.value()),
            Some(cipher_id),
        );
        check_keys(ctx, &keys, &kd["expected"], "signing_key");

        // Final SESSION_SETUP response signature (AES-128-CMAC, not hashed into preauth).
        let fs = &vec["final_session_setup_response_signature"];
        assert_eq!(keys.signing.as_bytes(), hx(fs, "signing_key"), "{ctx}");
        let s = signer(SigningAlgorithm::AesCmac, keys.signing.as_bytes());
        let response = hx(pi, "final_session_setup_response");
        assert_eq!(response[SIGNATURE_RANGE], hx(fs, "signature"), "{ctx}");
        let mut m = response.clone();
        assert!(
            verify_message(&*s, &mut m),
            "{ctx}: final response signature"
        );
        m[SIGNATURE_RANGE].fill(0);
        sign_message(&*s, &mut m);
        assert_eq!(m, response, "{ctx}: final response re-signed");

        // Messages.
        let enc = cipher(cipher_id, keys.encryption.as_bytes());
        let dec = cipher(cipher_id, keys.decryption.as_bytes());
        let session_id = num(vec, "session_id");
        let msgs = arr(vec, "messages");
        assert!(!msgs.is_empty(), "{ctx}");
        for m in msgs {
            let c = match m["direction"].as_str() {
                Some("client_to_server") => &enc,
                Some("server_to_client") => &dec,
                other => panic!("{ctx}: direction {other:?}"),
            };
            assert_eq!(
                hx(m, "key"),
                if m["direction"] == "client_to_server" {
                    keys.encryption.as_bytes()
                } else {
                    keys.decryption.as_bytes()
                }
            );
            check_transform_message(ctx, &**c, m, session_id);
            messages += 1;
        }
    }
    assert_eq!(seen, [CipherId::Aes128Gcm, CipherId::Aes128Ccm]);
    assert_eq!(messages, 8);
}

// ---------------------------------------------------------------------------------------
// AES-128-GMAC signing (no published vector)

/// A signed-able SMB2 message: the first CMAC vector's final SESSION_SETUP response.
fn sample_message() -> Vec<u8> {
    let v = vector("smb2-signing.json");
    hx(&arr(&v, "vectors")[0], "message")
}

const GMAC_KEY: [u8; 16] = *b"0123456789abcdef";

/// The GMAC tag computed independently with `aes_gcm`, from the MS-SMB2 3.1.4.1 nonce
/// definition: MessageId (8 bytes) || 4 bytes with bit 0 = sender is server and
/// bit 1 = CANCEL request, all little-endian.
fn reference_gmac(message: &[u8], is_server: bool, is_cancel: bool) -> [u8; 16] {
    use aes_gcm::aead::{AeadInOut, KeyInit};
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&message[24..32]);
    nonce[8] = u8::from(is_server) | (u8::from(is_cancel) << 1);
    let mut zeroed = message.to_vec();
    zeroed[48..64].fill(0);
    let gcm = aes_gcm::Aes128Gcm::new_from_slice(&GMAC_KEY).unwrap();
    let mut empty: [u8; 0] = [];
    let tag = gcm
        .encrypt_inout_detached(&nonce.into(), &zeroed, (&mut empty[..]).into())
        .unwrap();
    tag.as_slice().try_into().unwrap()
}

/// GMAC over messages of every size class (partial last block, exact blocks, across the
/// signer's 1 KiB batches, a READ-sized one) agrees with aes-gcm's GMAC.
#[test]
fn gmac_matches_aes_gcm_at_every_length() {
    let s = signer(SigningAlgorithm::AesGmac, &GMAC_KEY);
    let base = sample_message();
    let lengths = (64..=1100).chain([1023, 1024, 1025, 2047, 2048, 2049, 4096 + 13, (1 << 20) + 7]);
    for len in lengths {
        let mut m: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
        m[..64].copy_from_slice(&base[..64]);
        m[48..64].fill(0);
        assert_eq!(s.compute(&m), reference_gmac(&m, true, false), "length {len}");
    }
}

/// A message signed in pieces (as a spliced WRITE is: header and fixed body, then the
/// data) gets the signature of the whole, for every algorithm and wherever it is cut.
#[test]
fn signing_in_pieces_matches_the_whole() {
    let base = sample_message();
    let mut m: Vec<u8> = (0..70_000u32).map(|i| (i * 7 + 3) as u8).collect();
    m[..64].copy_from_slice(&base[..64]);
    for alg in [
        SigningAlgorithm::HmacSha256,
        SigningAlgorithm::AesCmac,
        SigningAlgorithm::AesGmac,
    ] {
        let s = signer(alg, &GMAC_KEY);
        let whole = s.compute(&m);
        for cut in [64, 65, 100, 112, 127, 128, 1040, 4096, 69_999, 70_000] {
            let parts = [&m[..cut], &m[cut..]];
            assert_eq!(s.compute_parts(&parts), whole, "{alg:?} cut at {cut}");
        }
        let uneven = [&m[..64], &m[64..64], &m[64..3001], &m[3001..3002], &m[3002..]];
        assert_eq!(s.compute_parts(&uneven), whole, "{alg:?} in five pieces");
    }
}

#[test]
fn gmac_sign_verify_and_nonce_layout() {
    let s = signer(SigningAlgorithm::AesGmac, &GMAC_KEY);
    let base = sample_message();
    assert_eq!(base[16] & 1, 1, "sample is a response");
    let mut m = base.clone();
    m[24..32].copy_from_slice(&0x0102_0304_0506_0708u64.to_le_bytes());

    // Response.
    let mut resp = m.clone();
    sign_message(&*s, &mut resp);
    assert_eq!(
        resp[SIGNATURE_RANGE],
        reference_gmac(&m, true, false),
        "response nonce"
    );
    assert!(verify_message(&*s, &mut resp.clone()));

    // Request: same bytes but SERVER_TO_REDIR cleared.
    let mut req = m.clone();
    req[16] &= !1;
    let req_plain = req.clone();
    sign_message(&*s, &mut req);
    assert_eq!(
        req[SIGNATURE_RANGE],
        reference_gmac(&req_plain, false, false),
        "request nonce"
    );
    assert!(verify_message(&*s, &mut req.clone()));

    // CANCEL request (command 0x000C).
    let mut cancel = req_plain.clone();
    cancel[12..14].copy_from_slice(&0x000Cu16.to_le_bytes());
    let cancel_plain = cancel.clone();
    sign_message(&*s, &mut cancel);
    assert_eq!(
        cancel[SIGNATURE_RANGE],
        reference_gmac(&cancel_plain, false, true),
        "cancel nonce"
    );

    // The role bits feed the nonce, not only the AAD: the three signatures differ from
    // a GMAC with the role bits forced to zero.
    assert_ne!(resp[SIGNATURE_RANGE], reference_gmac(&m, false, false));
    assert_ne!(
        cancel[SIGNATURE_RANGE],
        reference_gmac(&cancel_plain, false, false)
    );
    let sigs = [
        &resp[SIGNATURE_RANGE],
        &req[SIGNATURE_RANGE],
        &cancel[SIGNATURE_RANGE],
    ];
    assert!(sigs[0] != sigs[1] && sigs[1] != sigs[2] && sigs[0] != sigs[2]);

    // Any single-bit flip breaks verification.
    let mut t = resp.clone();
    for bit in 0..t.len() * 8 {
        t[bit / 8] ^= 1 << (bit % 8);
        assert!(
            !verify_message(&*s, &mut t),
            "GMAC: bit {bit} flipped still verifies"
        );
        t[bit / 8] ^= 1 << (bit % 8);
    }
    assert_eq!(t, resp);

    // A different key does not verify.
    let other = signer(SigningAlgorithm::AesGmac, b"fedcba9876543210");
    assert!(!verify_message(&*other, &mut resp.clone()));
}

#[test]
fn short_messages_never_panic() {
    let signers = [
        signer(SigningAlgorithm::HmacSha256, &GMAC_KEY),
        signer(SigningAlgorithm::AesCmac, &GMAC_KEY),
        signer(SigningAlgorithm::AesGmac, &GMAC_KEY),
    ];
    for s in &signers {
        for len in 0..64 {
            let mut m = vec![0x5Au8; len];
            let _ = s.compute(&m);
            sign_message(&**s, &mut m);
            assert_eq!(
                m,
                vec![0x5Au8; len],
                "sign_message is a no-op below 64 bytes"
            );
            assert!(
                !verify_message(&**s, &mut m),
                "short message never verifies"
            );
        }
        // Exactly a header: signs and verifies.
        let mut m = vec![0u8; 64];
        sign_message(&**s, &mut m);
        assert!(verify_message(&**s, &mut m));
    }
}

// ---------------------------------------------------------------------------------------
// Provider errors

#[test]
fn provider_rejects_bad_keys_and_unknown_ids() {
    for id in [
        CipherId::Aes128Ccm,
        CipherId::Aes128Gcm,
        CipherId::Aes256Ccm,
        CipherId::Aes256Gcm,
    ] {
        let good = id.key_len().unwrap();
        for len in (0..=64).filter(|&l| l != good) {
            let r = PROVIDER.cipher(id, &vec![7u8; len]);
            assert_eq!(
                r.err(),
                Some(CryptoError::BadKeyLength),
                "{id:?} key len {len}"
            );
        }
        assert!(PROVIDER.cipher(id, &vec![7u8; good]).is_ok());
    }
    assert_eq!(
        PROVIDER.cipher(CipherId::Unknown(9), &[0; 16]).err(),
        Some(CryptoError::Unsupported)
    );
    assert_eq!(
        PROVIDER.cipher(CipherId::from_id(0), &[0; 16]).err(),
        Some(CryptoError::Unsupported)
    );

    for alg in [SigningAlgorithm::AesCmac, SigningAlgorithm::AesGmac] {
        for len in (0..=64).filter(|&l| l != 16) {
            assert_eq!(
                PROVIDER.signer(alg, &vec![1u8; len]).err(),
                Some(CryptoError::BadKeyLength)
            );
        }
    }
    assert_eq!(
        PROVIDER.signer(SigningAlgorithm::HmacSha256, &[]).err(),
        Some(CryptoError::BadKeyLength)
    );
    for len in [1, 16, 32, 64, 100] {
        assert!(
            PROVIDER
                .signer(SigningAlgorithm::HmacSha256, &vec![1u8; len])
                .is_ok()
        );
    }
    assert_eq!(
        PROVIDER
            .signer(SigningAlgorithm::Unknown(3), &[0; 16])
            .err(),
        Some(CryptoError::Unsupported)
    );
}

#[test]
fn cipher_rejects_bad_nonce_lengths() {
    for id in [
        CipherId::Aes128Ccm,
        CipherId::Aes128Gcm,
        CipherId::Aes256Ccm,
        CipherId::Aes256Gcm,
    ] {
        let c = cipher(id, &vec![3u8; id.key_len().unwrap()]);
        assert_eq!(c.id(), id);
        let good = id.nonce_len().unwrap();
        for len in (0..=16).filter(|&l| l != good) {
            let nonce = vec![0u8; len];
            let mut buf = [1u8; 8];
            assert_eq!(
                c.seal_in_place(&nonce, &[], &mut buf),
                Err(CryptoError::BadNonceLength),
                "{id:?} {len}"
            );
            assert_eq!(
                c.open_in_place(&nonce, &[], &mut buf, &[0; 16]),
                Err(CryptoError::BadNonceLength)
            );
        }
        // Empty plaintext works (pure authentication).
        let nonce = vec![9u8; good];
        let tag = c.seal_in_place(&nonce, b"aad", &mut []).unwrap();
        assert_eq!(c.open_in_place(&nonce, b"aad", &mut [], &tag), Ok(()));
        assert_eq!(
            c.open_in_place(&nonce, b"aaD", &mut [], &tag),
            Err(CryptoError::BadTag)
        );
    }
}

// ---------------------------------------------------------------------------------------
// Transform round trips and tampering, all four ciphers

fn all_ciphers() -> Vec<Box<dyn MessageCipher>> {
    [
        CipherId::Aes128Ccm,
        CipherId::Aes128Gcm,
        CipherId::Aes256Ccm,
        CipherId::Aes256Gcm,
    ]
    .into_iter()
    .map(|id| {
        let key: Vec<u8> = (0..id.key_len().unwrap() as u8)
            .map(|i| i.wrapping_mul(37) ^ 0xA5)
            .collect();
        cipher(id, &key)
    })
    .collect()
}

fn sealed_frame(c: &dyn MessageCipher, plaintext: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8; TRANSFORM_HEADER_LEN];
    frame.extend_from_slice(plaintext);
    let nonce: [u8; 16] = core::array::from_fn(|i| (i as u8).wrapping_mul(11).wrapping_add(1));
    seal_transform(c, &nonce, 0x0000_1000_0000_0025, &mut frame).unwrap();
    frame
}

#[test]
fn transform_round_trip_all_ciphers() {
    let plaintext = sample_message();
    for c in all_ciphers() {
        let id = c.id();
        let frame = sealed_frame(&*c, &plaintext);
        assert_eq!(&frame[..4], &TRANSFORM_PROTOCOL_ID);
        assert_eq!(
            u32::from_le_bytes(frame[36..40].try_into().unwrap()) as usize,
            plaintext.len()
        );
        assert_eq!(&frame[40..44], &[0, 0, 1, 0]);
        let n = id.nonce_len().unwrap();
        assert!(
            frame[20 + n..36].iter().all(|&b| b == 0),
            "{id:?}: nonce tail zeroed"
        );
        assert_ne!(&frame[52..], &plaintext[..], "{id:?}: encrypted");
        assert_eq!(transform_session_id(&frame), Some(0x0000_1000_0000_0025));

        let mut f = frame.clone();
        let r = open_transform(&*c, &mut f).unwrap();
        assert_eq!(f[r], plaintext, "{id:?}");

        // Header-only frame (empty message) also round-trips.
        let mut empty = sealed_frame(&*c, &[]);
        assert_eq!(open_transform(&*c, &mut empty), Ok(52..52));

        // A different key of the same cipher fails.
        let other = cipher(id, &vec![0x11; id.key_len().unwrap()]);
        assert_eq!(
            open_transform(&*other, &mut frame.clone()),
            Err(CryptoError::BadTag),
            "{id:?}"
        );
    }
}

#[test]
fn transform_tampering_all_ciphers() {
    let plaintext = sample_message();
    for c in all_ciphers() {
        let id = c.id();
        let frame = sealed_frame(&*c, &plaintext);
        for bit in 0..frame.len() * 8 {
            let byte = bit / 8;
            let mut f = frame.clone();
            f[byte] ^= 1 << (bit % 8);
            let expected = match byte {
                0..4 => CryptoError::Malformed,   // ProtocolId
                36..40 => CryptoError::Malformed, // OriginalMessageSize
                42..44 => CryptoError::Malformed, // Flags
                // Signature (tag), Nonce, Reserved, SessionId (AAD) and ciphertext.
                _ => CryptoError::BadTag,
            };
            assert_eq!(
                open_transform(&*c, &mut f),
                Err(expected.clone()),
                "{id:?}: byte {byte} bit {}",
                bit % 8
            );
            if expected == CryptoError::BadTag {
                // A failed open leaves no (unauthenticated) plaintext behind.
                assert!(
                    f[TRANSFORM_HEADER_LEN..].iter().all(|&b| b == 0),
                    "{id:?}: body zeroed"
                );
            }
        }
    }
}

#[test]
fn transform_truncated_and_garbage_frames() {
    let plaintext = sample_message();
    for c in all_ciphers() {
        let frame = sealed_frame(&*c, &plaintext);
        for len in 0..frame.len() {
            let mut f = frame[..len].to_vec();
            assert_eq!(
                open_transform(&*c, &mut f),
                Err(CryptoError::Malformed),
                "len {len}"
            );
        }
        // Extra trailing byte: size mismatch.
        let mut f = frame.clone();
        f.push(0);
        assert_eq!(open_transform(&*c, &mut f), Err(CryptoError::Malformed));
        // Frames too short to seal.
        for len in 0..TRANSFORM_HEADER_LEN {
            assert_eq!(
                seal_transform(&*c, &[0; 16], 1, &mut vec![0; len]),
                Err(CryptoError::Malformed)
            );
        }
        // Garbage of every small length: errors, never panics.
        for len in 0..200 {
            let mut g: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            assert!(open_transform(&*c, &mut g).is_err());
            let _ = transform_session_id(&g);
        }
    }
    assert_eq!(transform_session_id(&[0xFD, b'S', b'M']), None);
    assert_eq!(
        transform_session_id(&[0xFE, b'S', b'M', b'B'].repeat(13)),
        None
    );
}

// ---------------------------------------------------------------------------------------
// Key derivation beyond the vectors

#[test]
fn derive_session_keys_aes256_and_edge_cases() {
    let preauth = [0x42u8; 64];
    let full: Vec<u8> = (0u8..32).collect();
    let k = derive_session_keys(0x0311, &full, Some(&preauth), Some(CipherId::Aes256Gcm));
    assert_eq!(
        (
            k.signing.len(),
            k.encryption.len(),
            k.decryption.len(),
            k.application.len()
        ),
        (16, 32, 32, 16)
    );
    // MS-SMB2 3.2.5.3.1: AES-256 keys from the full session key with L = 256; the
    // signing and application keys from the first 16 bytes.
    let mut out = [0u8; 32];
    smb3_kdf(&full, b"SMBC2SCipherKey\0", &preauth, &mut out);
    assert_eq!(k.encryption.as_bytes(), out);
    smb3_kdf(&full, b"SMBS2CCipherKey\0", &preauth, &mut out);
    assert_eq!(k.decryption.as_bytes(), out);
    let mut out16 = [0u8; 16];
    smb3_kdf(&full[..16], b"SMBSigningKey\0", &preauth, &mut out16);
    assert_eq!(k.signing.as_bytes(), out16);
    smb3_kdf(&full[..16], b"SMBAppKey\0", &preauth, &mut out16);
    assert_eq!(k.application.as_bytes(), out16);
    // L is part of the input: a 32-byte output is not an extension of the 16-byte one.
    let k128 = derive_session_keys(0x0311, &full, Some(&preauth), Some(CipherId::Aes128Gcm));
    assert_eq!(k128.encryption.len(), 16);
    assert_ne!(&k.encryption.as_bytes()[..16], k128.encryption.as_bytes());
    assert_eq!(k.signing.as_bytes(), k128.signing.as_bytes());
    // Usable with the provider.
    assert!(
        PROVIDER
            .cipher(CipherId::Aes256Ccm, k.encryption.as_bytes())
            .is_ok()
    );

    let k = derive_session_keys(0x0311, &full, Some(&preauth), Some(CipherId::Aes256Ccm));
    assert_eq!(k.encryption.len(), 32);

    // Short session keys are zero-padded to 16 bytes (MS-SMB2 3.2.1.3).
    let a = derive_session_keys(0x0300, &[1, 2, 3], None, None);
    let b = derive_session_keys(
        0x0300,
        &[1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        None,
        None,
    );
    assert_eq!(a.signing.as_bytes(), b.signing.as_bytes());

    // 2.x: signing key = SessionKey (first 16 bytes), nothing else.
    let k = derive_session_keys(0x0210, &full, None, None);
    assert_eq!(k.signing.as_bytes(), &full[..16]);
    assert!(k.encryption.is_empty() && k.decryption.is_empty() && k.application.is_empty());

    // Fail closed: 3.1.1 without a hash, unknown dialects.
    for k in [
        derive_session_keys(0x0311, &full, None, Some(CipherId::Aes128Gcm)),
        derive_session_keys(0x02FF, &full, None, None),
        derive_session_keys(0x0312, &full, Some(&preauth), None),
    ] {
        assert!(k.signing.is_empty() && k.encryption.is_empty());
        assert_eq!(
            PROVIDER
                .signer(SigningAlgorithm::AesCmac, k.signing.as_bytes())
                .err(),
            Some(CryptoError::BadKeyLength)
        );
        assert_eq!(
            PROVIDER
                .signer(SigningAlgorithm::HmacSha256, k.signing.as_bytes())
                .err(),
            Some(CryptoError::BadKeyLength)
        );
    }

    // Multi-block KDF output (counter increments) is deterministic and panic-free.
    let mut long = [0u8; 100];
    smb3_kdf(b"key", b"label\0", b"ctx\0", &mut long);
    let mut first = [0u8; 32];
    smb3_kdf(b"key", b"label\0", b"ctx\0", &mut first);
    assert_ne!(
        &long[..32],
        &first[..],
        "L differs, so the first block differs"
    );
    smb3_kdf(b"key", b"label\0", b"ctx\0", &mut []);
}

#[test]
fn key_type() {
    let k = Key::from_slice(&[0xAB; 32]).unwrap();
    assert_eq!(k.len(), 32);
    assert_eq!(k.as_bytes(), &[0xAB; 32]);
    assert!(Key::from_slice(&[0; 33]).is_none());
    assert!(Key::from_slice(&[]).unwrap().is_empty());
    let dbg = format!("{k:?}");
    assert!(
        !dbg.contains("171") && !dbg.to_lowercase().contains("abab"),
        "Debug must not print key bytes: {dbg}"
    );
    let keys = derive_session_keys(0x0300, &[0xCD; 16], None, None);
    let dbg = format!("{keys:?}");
    for key in [
        &keys.signing,
        &keys.encryption,
        &keys.decryption,
        &keys.application,
    ] {
        assert!(
            !dbg.contains(&hex::encode(key.as_bytes())),
            "SessionKeys Debug leaks a key"
        );
    }
}
