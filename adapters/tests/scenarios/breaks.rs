//! pike's `oplock.py` and `lease.py`: a second connection's open breaks the first
//! connection's oplock or lease, the holder acknowledges, and the second open
//! completes (MS-SMB2 3.3.4.6, 3.3.4.7, 3.2.5.19).

use std::time::{Duration, Instant};

use bytes::Bytes;

use pike::harness::{Requirements, TestError};
use pike::pike_core::wire::{
    Capabilities, CreateRequest, CreateResponse, Dialect, Lease, LeaseV2, RequestContext,
    ResponseBody, ResponseContext, WriteRequest, WriteResponse, disposition, lease_state,
    oplock_level,
};
use pike::{BreakKind, BreakPolicy, LeaseInfo};

use crate::{create, scenario};

const RWH: u32 =
    lease_state::READ_CACHING | lease_state::HANDLE_CACHING | lease_state::WRITE_CACHING;
const RH: u32 = lease_state::READ_CACHING | lease_state::HANDLE_CACHING;
/// A break the holder does not answer is only given up after 35 s (Windows) or 30 s
/// (Samba's `oplock break wait`); well below that, an answer was ours.
const PROMPT: Duration = Duration::from_secs(10);

fn with_oplock(name: String, level: u8) -> CreateRequest {
    CreateRequest {
        requested_oplock_level: level,
        ..create(name, disposition::OPEN_IF)
    }
}

/// RqLs for `key` asking for `state`: v2 (with an epoch) at 3.x, v1 at 2.1.
fn leased(name: String, dialect: Dialect, key: u8, state: u32) -> CreateRequest {
    let ctx = if dialect >= Dialect::Smb300 {
        RequestContext::LeaseV2(LeaseV2 {
            lease_key: [key; 16],
            lease_state: state,
            ..LeaseV2::default()
        })
    } else {
        RequestContext::Lease(Lease {
            lease_key: [key; 16],
            lease_state: state,
            ..Lease::default()
        })
    };
    CreateRequest {
        requested_oplock_level: oplock_level::LEASE,
        contexts: vec![ctx.to_context()],
        ..create(name, disposition::OPEN_IF)
    }
}

/// The granted lease's state and epoch (0 for v1).
fn granted_lease(c: &CreateResponse) -> Result<(u32, u16), TestError> {
    let ctx =
        ResponseContext::from_contexts(&c.contexts).map_err(|e| TestError::fail(e.to_string()))?;
    ctx.iter()
        .find_map(|c| match c {
            ResponseContext::Lease(l) => Some((l.lease_state, 0)),
            ResponseContext::LeaseV2(l) => Some((l.lease_state, l.epoch)),
            _ => None,
        })
        .ok_or_else(|| TestError::fail(format!("no lease granted: {ctx:?}")))
}

scenario!(oplock_break_acknowledged, Requirements::new(), |fx| {
    let holder = fx.tree();
    holder.raw().set_break_policy(BreakPolicy::Manual);
    // pike's oplock.py: an exclusive oplock, then a batch one, each broken by a
    // second connection's open and acknowledged by hand.
    for (name, level) in [("x", oplock_level::EXCLUSIVE), ("b", oplock_level::BATCH)] {
        let a = holder.create(with_oplock(fx.rel(name), level)).await?;
        let granted = a.create_response().oplock_level;
        if granted != level || holder.raw().oplock_level(a.id()) != Some(level) {
            return Err(TestError::fail(format!(
                "asked for oplock {level:#x}, got {granted:#x}"
            )));
        }
        let broken = holder.raw().oplock_break(a.id());
        let other = fx.connect().await?;
        let second = other.submit(other.request(create(fx.rel(name), disposition::OPEN)))?;
        let b = fx.within(PROMPT, "oplock break", broken).await??;
        let BreakKind::Oplock { file_id, new_level } = b.kind else {
            return Err(TestError::fail(format!("{b:?}")));
        };
        if file_id != a.id() || new_level > oplock_level::II || b.acked.is_some() {
            return Err(TestError::fail(format!("{b:?}")));
        }
        // The OPLOCK_BREAK response (2.2.25.1) echoes the level acknowledged.
        let ack = b
            .ack_as_asked()
            .ok_or_else(|| TestError::fail("no ack required"))?;
        let r = fx.within(PROMPT, "ack", holder.raw().call(ack)).await??;
        match r.body {
            ResponseBody::OplockBreak(ref o)
                if o.oplock().is_some_and(|i| i.oplock_level == new_level) => {}
            other => return Err(TestError::fail(format!("{other:?}"))),
        }
        if holder.raw().oplock_level(a.id()) != Some(new_level) {
            return Err(TestError::fail(format!(
                "tracked oplock {:?} after acknowledging {new_level:#x}",
                holder.raw().oplock_level(a.id())
            )));
        }
        let opened = fx.within(PROMPT, "second open", second).await??;
        match opened.body {
            ResponseBody::Create(c) if c.oplock_level == oplock_level::NONE => {}
            other => return Err(TestError::fail(format!("{other:?}"))),
        }
    }
    Ok(())
});

scenario!(oplock_break_auto_ack, Requirements::new(), |fx| {
    let a = fx
        .tree()
        .create(with_oplock(fx.rel("o"), oplock_level::BATCH))
        .await?;
    let broken = a.oplock_break();
    let other = fx.connect().await?;
    let started = Instant::now();
    // Nobody acknowledges by hand: the default policy must, or this waits 30 s.
    fx.within(
        PROMPT,
        "second open",
        other.create(create(fx.rel("o"), disposition::OPEN)),
    )
    .await??;
    let b = fx.within(PROMPT, "oplock break", broken).await??;
    if b.acked != Some(b.new_level()) || started.elapsed() >= PROMPT {
        return Err(TestError::fail(format!(
            "{b:?} after {:?}",
            started.elapsed()
        )));
    }
    Ok(())
});

scenario!(
    lease_break_rwh_to_rh,
    Requirements::new()
        .min_dialect(Dialect::Smb210)
        .capabilities(Capabilities::LEASING),
    |fx| {
        let holder = fx.tree();
        let raw = holder.raw();
        raw.set_break_policy(BreakPolicy::Manual);
        let dialect = holder.session().connection().dialect();
        let a = holder.create(leased(fx.rel("l"), dialect, 1, RWH)).await?;
        let (state, epoch) = granted_lease(a.create_response())?;
        let tracked = |state, epoch, breaking_to| {
            let want = Some(LeaseInfo {
                state,
                epoch,
                breaking_to,
            });
            match raw.lease([1; 16]) {
                got if got == want => Ok(()),
                got => Err(TestError::fail(format!("tracked {got:?}, want {want:?}"))),
            }
        };
        if state != RWH {
            return Err(TestError::fail(format!("asked for RWH, got {state:#x}")));
        }
        tracked(RWH, epoch, None)?;
        let broken = raw.lease_break([1; 16]);
        let other = fx.connect().await?;
        let second = other.submit(other.request(leased(fx.rel("l"), dialect, 2, RWH)))?;
        let b = fx.within(PROMPT, "lease break", broken).await??;
        let BreakKind::Lease {
            current_state,
            new_state,
            new_epoch,
            ack_required,
            ..
        } = b.kind
        else {
            return Err(TestError::fail(format!("{b:?}")));
        };
        // Only write caching conflicts with another lease's open; handle caching stays.
        if (current_state, new_state, ack_required) != (RWH, RH, true) {
            return Err(TestError::fail(format!("{b:?}")));
        }
        // MS-SMB2 3.3.4.7: a v2 lease's epoch goes up with every state change.
        let want_epoch = if dialect >= Dialect::Smb300 {
            epoch + 1
        } else {
            0
        };
        if new_epoch != want_epoch {
            return Err(TestError::fail(format!(
                "epoch {new_epoch}, want {want_epoch}"
            )));
        }
        // Until the ack is answered the lease still holds RWH, breaking to RH.
        tracked(RWH, want_epoch, Some(RH))?;
        // Acknowledging less than offered is allowed: drop H too, keep R (2.2.24.2).
        let r = fx
            .within(PROMPT, "ack", raw.call(b.ack(lease_state::READ_CACHING)))
            .await??;
        match r.body {
            ResponseBody::OplockBreak(ref o)
                if o.lease_ack_info() == Some(([1; 16], lease_state::READ_CACHING)) => {}
            other => return Err(TestError::fail(format!("{other:?}"))),
        }
        tracked(lease_state::READ_CACHING, want_epoch, None)?;
        let opened = fx.within(PROMPT, "second open", second).await??;
        let b_file = match opened.body {
            ResponseBody::Create(c) => {
                let (state, _) = granted_lease(&c)?;
                if state & lease_state::WRITE_CACHING != 0 {
                    return Err(TestError::fail(format!("second lease got W: {state:#x}")));
                }
                c.file_id
            }
            other => return Err(TestError::fail(format!("{other:?}"))),
        };
        // R was left: the other open's write breaks it to none, with no ack to wait
        // for (MS-SMB2 3.3.4.7: only breaks from W or H need one).
        let broken = raw.lease_break([1; 16]);
        let write = WriteRequest {
            file_id: b_file,
            data: Bytes::from_static(b"x"),
            ..WriteRequest::default()
        };
        fx.within(PROMPT, "write", other.call::<WriteResponse>(write))
            .await??;
        let b = fx.within(PROMPT, "lease break to none", broken).await??;
        match b.kind {
            BreakKind::Lease {
                current_state: lease_state::READ_CACHING,
                new_state: 0,
                ack_required: false,
                ..
            } => {}
            _ => return Err(TestError::fail(format!("{b:?}"))),
        }
        let epoch = if dialect >= Dialect::Smb300 {
            want_epoch + 1
        } else {
            0
        };
        tracked(0, epoch, None)
    }
);
