//! pike's `credit.py`: multi-credit charges, a sequence window that grows past 2048
//! MessageIds, and what a server does to a client that spends credits it was never
//! granted (MS-SMB2 3.2.4.1.5, 3.3.5.2.3).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pike::harness::{Requirements, TestError};
use pike::pike_core::wire::{
    Capabilities, Command, Dialect, EchoRequest, EchoResponse, Header, RequestBody, disposition,
};
use pike::pike_core::{ConnectionError, RequestError};
use pike::{Error, Hook};

use crate::{create, scenario};

const PROMPT: Duration = Duration::from_secs(10);

scenario!(
    credit_multi_charge,
    Requirements::new()
        .min_dialect(Dialect::Smb210)
        .capabilities(Capabilities::LARGE_MTU),
    |fx| {
        // (command, CreditCharge, READ Length or WRITE data length), as encoded.
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let _guard = fx
            .tree()
            .session()
            .connection()
            .add_hook(Hook::after_encode(move |msg| {
                let Ok(h) = Header::decode(msg) else { return };
                let len = match RequestBody::decode(&h, msg) {
                    Ok(RequestBody::Read(r)) => r.length as usize,
                    Ok(RequestBody::Write(w)) => w.data.len(),
                    _ => return,
                };
                s.lock().unwrap().push((h.command, h.credit_charge, len));
            }));
        let f = fx
            .tree()
            .create(create(fx.rel("c"), disposition::CREATE))
            .await?;
        let data = vec![0x5a; 200 * 1024];
        f.write_at(0, &data).await?;
        if f.read_at(0, data.len()).await? != data {
            return Err(TestError::fail("read back differs"));
        }
        let seen = seen.lock().unwrap().clone();
        for command in [Command::Write, Command::Read] {
            // MS-SMB2 3.2.4.1.5: ceil(200 KiB / 64 KiB) = 4 credits.
            if !seen.contains(&(command, 4, data.len())) {
                return Err(TestError::fail(format!("{command:?}: {seen:?}")));
            }
        }
        Ok(())
    }
);

scenario!(credit_sequence_past_2048, Requirements::new(), |fx| {
    let tree = fx.tree();
    let mut widest = 0;
    while tree.raw().with(|c| c.credits().next_message_id) <= 2100 {
        // 32 at a time: the window must grow beyond one credit for this to flow.
        let futs = (0..32)
            .map(|_| tree.submit(tree.request(EchoRequest)))
            .collect::<Result<Vec<_>, _>>()?;
        let c = tree.raw().with(|c| c.credits());
        widest = widest.max(c.available + c.in_flight);
        for f in futs {
            fx.within(PROMPT, "ECHO", f).await??;
        }
    }
    if widest < 32 {
        return Err(TestError::fail(format!("window never grew: {widest}")));
    }
    let _: EchoResponse = tree.call(EchoRequest).await?;
    Ok(())
});

scenario!(
    credit_overspend_drops_connection,
    Requirements::new(),
    |fx| {
        let mut config = fx.tree_connect().config()?;
        config.dangerous_ignore_credit_limit = true;
        let rogue = fx
            .tree_connect()
            .clone()
            .base_config(config)
            .connect(*fx.runtime())
            .await?;
        // A MessageId beyond anything granted (servers hold at most 8192 credits).
        rogue.raw().with(|c| {
            let skip = u64::from(c.credits().available) + 10_000;
            c.dangerous_skip_message_ids(skip);
        });
        let echo = rogue.submit(rogue.request(EchoRequest))?;
        match fx.within(PROMPT, "ECHO past the window", echo).await? {
            Err(RequestError::ConnectionLost(_)) => {}
            other => return Err(TestError::fail(format!("{other:?}"))),
        }
        match rogue.raw().lost() {
            Some(ConnectionError::Eof | ConnectionError::Transport(_)) => {}
            other => return Err(TestError::fail(format!("lost: {other:?}"))),
        }
        // Later requests fail at once, typed; a new connection works.
        match rogue.call::<EchoResponse>(EchoRequest).await {
            Err(Error::Request(RequestError::ConnectionLost(_)) | Error::Usage(_)) => {}
            other => return Err(TestError::fail(format!("{other:?}"))),
        }
        let fresh = fx.connect().await?;
        let _: EchoResponse = fresh.call(EchoRequest).await?;
        Ok(())
    }
);
