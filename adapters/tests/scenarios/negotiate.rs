//! pike's `negotiate.py` and `encryption.py`: capabilities each dialect may carry, the
//! 3.1.1 negotiate contexts, the client's cipher preference, and an encrypted compound.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pike::harness::{Fixture, Requirements, Skip, TestError};
use pike::pike_core::crypto::CipherId;
use pike::pike_core::wire::{
    Capabilities, Dialect, EchoRequest, EchoResponse, FileId, NegotiateContext, ReadRequest,
    ResponseBody, WriteRequest, disposition,
};
use pike::pike_core::{Hook, RequestError, Response, TransformOverrides};
use pike::runtime::Runtime;

use crate::{create, scenario};

/// Well below any server's own timeouts: a drop or answer within it was ours.
const PROMPT: Duration = Duration::from_secs(10);

/// Capabilities only 3.x may announce (MS-SMB2 3.3.5.4).
const SMB3_ONLY: u32 = Capabilities::MULTI_CHANNEL
    | Capabilities::PERSISTENT_HANDLES
    | Capabilities::DIRECTORY_LEASING
    | Capabilities::ENCRYPTION;

/// Whether a failed NEGOTIATE was the server refusing the dialect.
fn refused(error: &str) -> bool {
    ["INVALID_PARAMETER", "NOT_SUPPORTED"]
        .iter()
        .any(|s| error.contains(s))
}

/// A new connection offering only `dialect` (and `ciphers` first, if given); returns
/// the NEGOTIATE response body as decoded.
async fn negotiate<R: Runtime>(
    fx: &Fixture<R>,
    dialect: Dialect,
    ciphers: Option<Vec<CipherId>>,
) -> Result<(pike::Tree, pike::pike_core::wire::NegotiateResponse), TestError> {
    let mut config = fx.tree_connect().config()?;
    config.dialects = vec![dialect];
    if let Some(c) = ciphers {
        config.ciphers = c;
    }
    let tc = fx.tree_connect().clone().base_config(config);
    let client = tc.client(fx.runtime().clone())?;
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    let _guard = client.add_hook(Hook::after_decode(move |r: &mut Response| {
        if let ResponseBody::Negotiate(n) = &r.body {
            *s.lock().unwrap() = Some(n.clone());
        }
    }));
    let tree = tc.connect_with(&client).await?;
    let n = seen.lock().unwrap().take();
    let n = n.ok_or_else(|| TestError::fail("no NEGOTIATE response seen"))?;
    Ok((tree, n))
}

scenario!(
    negotiate_capabilities_per_dialect,
    Requirements::new(),
    |fx| {
        let highest = fx.tree().session().connection().dialect();
        let offered = fx.tree_connect().config()?.dialects;
        // Encryption needs 3.x: an encrypted run checks only those.
        let lowest = if fx.protection() == "encrypted" {
            Dialect::Smb300
        } else {
            Dialect::Smb202
        };
        for d in offered
            .into_iter()
            .filter(|d| (lowest..=highest).contains(d))
        {
            let n = match negotiate(&fx, d, None).await {
                Ok((_, n)) => n,
                // A server limited to AES signing or to GCM refuses older dialects
                // outright (Samba: INVALID_PARAMETER); only the session's own must work.
                Err(e) if d < highest && refused(&e.to_string()) => {
                    println!("{d:?}: the server refuses this dialect ({e})");
                    continue;
                }
                Err(e) => return Err(e),
            };
            let caps = n.capabilities.0;
            let bad = if n.dialect != d {
                Some("another dialect")
            } else if d == Dialect::Smb202
                && caps & (Capabilities::LEASING | Capabilities::LARGE_MTU) != 0
            {
                Some("2.1 capabilities at 2.0.2")
            } else if d < Dialect::Smb300 && caps & SMB3_ONLY != 0 {
                Some("3.x capabilities below 3.0")
            } else {
                None
            };
            if let Some(why) = bad {
                return Err(TestError::fail(format!(
                    "{d:?}: {why}: {:?} caps {caps:#x}",
                    n.dialect
                )));
            }
        }
        Ok(())
    }
);

scenario!(
    negotiate_contexts_at_311,
    Requirements::new().min_dialect(Dialect::Smb311),
    |fx| {
        let (_, n) = negotiate(&fx, Dialect::Smb311, None).await?;
        // MS-SMB2 2.2.4: exactly one preauth context naming exactly one hash (SHA-512).
        let preauth: Vec<_> = n
            .contexts
            .iter()
            .filter_map(|c| match c {
                NegotiateContext::PreauthIntegrity {
                    hash_algorithms,
                    salt,
                } => Some((hash_algorithms.clone(), salt.len())),
                _ => None,
            })
            .collect();
        match &preauth[..] {
            [(algs, salt)] if algs[..] == [1] && *salt > 0 => {}
            other => return Err(TestError::fail(format!("preauth contexts {other:?}"))),
        }
        let ciphers: Vec<_> = n
            .contexts
            .iter()
            .filter_map(|c| match c {
                NegotiateContext::Encryption { ciphers } => Some(ciphers.clone()),
                _ => None,
            })
            .collect();
        // A server with encryption off answers without the context (the matrix says so).
        let off = std::env::var("PIKE_SERVER_ENCRYPTION").as_deref() == Ok("off");
        match &ciphers[..] {
            [one] if one.len() == 1 && !off => Ok(()),
            [] if off => Ok(()),
            other => Err(TestError::fail(format!("encryption contexts {other:?}"))),
        }
    }
);

scenario!(
    negotiate_cipher_preference,
    Requirements::new().min_dialect(Dialect::Smb311),
    |fx| {
        use CipherId::*;
        let mut wrong = Vec::new();
        for prefs in [
            vec![Aes256Gcm, Aes128Gcm, Aes128Ccm],
            vec![Aes128Ccm, Aes128Gcm, Aes256Gcm],
            vec![Aes128Gcm, Aes256Gcm, Aes128Ccm],
        ] {
            let (tree, _) = negotiate(&fx, Dialect::Smb311, Some(prefs.clone())).await?;
            let got = tree
                .session()
                .connection()
                .negotiated()
                .and_then(|n| n.cipher);
            if got != Some(prefs[0]) {
                wrong.push(format!("offered {prefs:?}, got {got:?}"));
            }
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(TestError::fail(wrong.join("; ")))
        }
    }
);

scenario!(
    encryption_compound_311,
    Requirements::new().min_dialect(Dialect::Smb311),
    |fx| {
        if fx.protection() != "encrypted" {
            return Err(Skip::new("needs an encrypted session (PIKE_ENCRYPT=yes)").into());
        }
        // (protocol id of each frame sent, messages inside it).
        let frames = Arc::new(Mutex::new(Vec::new()));
        let f = frames.clone();
        let guard =
            fx.tree()
                .session()
                .connection()
                .add_hook(Hook::after_send(move |frame, plaintext| {
                    let mut n = 0;
                    let mut at = 0;
                    while at + 24 <= plaintext.len() {
                        n += 1;
                        let next =
                            u32::from_le_bytes(plaintext[at + 20..at + 24].try_into().unwrap());
                        if next == 0 {
                            break;
                        }
                        at += next as usize;
                    }
                    f.lock().unwrap().push((frame[..4].to_vec(), n));
                }));
        let data = bytes::Bytes::from_static(b"sealed as one");
        let write = WriteRequest {
            file_id: FileId::RELATED,
            data: data.clone(),
            ..Default::default()
        };
        let read = ReadRequest {
            file_id: FileId::RELATED,
            length: 64,
            ..Default::default()
        };
        let chain = fx.tree().open_do_close_chain(
            create(fx.rel("e"), disposition::CREATE),
            vec![write.into(), read.into()],
        );
        let results = fx.tree().compound(chain).await?;
        drop(guard);
        let mut parts = Vec::new();
        for r in results {
            parts.push(r?);
        }
        match &parts[2].body {
            ResponseBody::Read(r) if r.data == data => {}
            other => return Err(TestError::fail(format!("READ answered {other:?}"))),
        }
        // MS-SMB2 3.2.4.1.4: the whole chain in one TRANSFORM_HEADER.
        let frames = frames.lock().unwrap().clone();
        match &frames[..] {
            [(proto, 4)] if proto[..] == [0xFD, b'S', b'M', b'B'] => Ok(()),
            other => Err(TestError::fail(format!("frames sent: {other:?}"))),
        }
    }
);

scenario!(
    encryption_transform_lie_drops_connection,
    Requirements::new().min_dialect(Dialect::Smb300),
    |fx| {
        if fx.protection() != "encrypted" {
            return Err(Skip::new("needs an encrypted session (PIKE_ENCRYPT=yes)").into());
        }
        // A correctly tagged TRANSFORM_HEADER whose OriginalMessageSize lies (MS-SMB2
        // 3.3.5.2.1.1: the server disconnects). The test sees a clean ConnectionLost,
        // then carries on with a new connection.
        let victim = fx.connect().await?;
        let mut echo = victim.request(EchoRequest);
        echo.transform = TransformOverrides {
            original_size: Some(5),
            ..TransformOverrides::default()
        };
        match fx
            .within(PROMPT, "ECHO with a lying transform", victim.submit(echo)?)
            .await?
        {
            Err(RequestError::ConnectionLost(_)) => {}
            other => return Err(TestError::fail(format!("{other:?}"))),
        }
        let fresh = fx.connect().await?;
        let _: EchoResponse = fresh.call(EchoRequest).await?;
        Ok(())
    }
);
