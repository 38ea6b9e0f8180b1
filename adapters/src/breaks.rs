//! Waiting for oplock and lease breaks: futures keyed by FileId or LeaseKey, and a
//! bounded backlog for breaks that arrive before anyone waits.
//!
//! Acknowledging is the core's job (its `BreakPolicy`); this only hands breaks to
//! whoever waits, oldest first.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use pike_core::{Break, BreakKey, RequestError};

use crate::{ConnectionRef, Error};

/// Breaks kept for later waiters. When full, the oldest is dropped (and counted in
/// [`ConnectionRef::breaks_dropped`]): under the default auto-ack policy it was already
/// acknowledged, so only the report is lost.
pub const BREAK_BACKLOG: usize = 256;

#[derive(Debug)]
struct Waiter {
    /// `None` waits for any break.
    key: Option<BreakKey>,
    slot: Option<Break>,
    waker: Option<Waker>,
}

/// Breaks not yet taken and the futures waiting for them.
#[derive(Debug, Default)]
pub(crate) struct BreakQueue {
    backlog: VecDeque<Break>,
    /// By registration order: the earliest waiter for a key gets the next break.
    waiters: BTreeMap<u64, Waiter>,
    next_token: u64,
    dropped: u64,
}

impl BreakQueue {
    /// Hands `b` to the earliest matching waiter, or keeps it.
    pub(crate) fn handle_break(&mut self, b: Break) {
        let key = b.key();
        if let Some(w) = self
            .waiters
            .values_mut()
            .find(|w| w.slot.is_none() && w.key.is_none_or(|k| k == key))
        {
            w.slot = Some(b);
            if let Some(waker) = w.waker.take() {
                waker.wake();
            }
            return;
        }
        if self.backlog.len() == BREAK_BACKLOG {
            self.backlog.pop_front();
            self.dropped += 1;
        }
        self.backlog.push_back(b);
    }

    /// Wakes every waiter (the connection is gone: they fail).
    pub(crate) fn wake_all(&mut self) {
        for w in self.waiters.values_mut() {
            if let Some(waker) = w.waker.take() {
                waker.wake();
            }
        }
    }

    /// The oldest kept break, for a key or any.
    pub(crate) fn take(&mut self, key: Option<BreakKey>) -> Option<Break> {
        let i = self
            .backlog
            .iter()
            .position(|b| key.is_none_or(|k| k == b.key()))?;
        self.backlog.remove(i)
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    fn register(&mut self, key: Option<BreakKey>) -> u64 {
        let token = self.next_token;
        self.next_token += 1;
        let slot = self.take(key);
        self.waiters.insert(
            token,
            Waiter {
                key,
                slot,
                waker: None,
            },
        );
        token
    }

    fn poll(&mut self, token: u64, cx: &mut Context<'_>) -> Option<Break> {
        let w = self.waiters.get_mut(&token)?;
        if let Some(b) = w.slot.take() {
            self.waiters.remove(&token);
            return Some(b);
        }
        w.waker = Some(cx.waker().clone());
        None
    }

    /// A dropped future: a break already handed to it goes back, first in line.
    fn cancel(&mut self, token: u64) {
        if let Some(Waiter { slot: Some(b), .. }) = self.waiters.remove(&token) {
            self.backlog.push_front(b);
        }
    }
}

/// Resolves with the next break for its key (or any break), oldest first; fails once
/// the connection is lost. It has no deadline of its own: wrap it in the runtime's
/// timeout when a break may never come.
#[derive(Debug)]
#[must_use = "a break is only seen by awaiting its future"]
pub struct BreakFuture {
    conn: ConnectionRef,
    token: u64,
    done: bool,
}

impl BreakFuture {
    pub(crate) fn new(conn: ConnectionRef, key: Option<BreakKey>) -> Self {
        let token = conn.with_breaks(|q| q.register(key));
        Self {
            conn,
            token,
            done: false,
        }
    }
}

impl Future for BreakFuture {
    type Output = Result<Break, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let lost = this.conn.lost();
        let token = this.token;
        let got = this.conn.with_breaks(|q| {
            let b = q.poll(token, cx);
            if b.is_none() && lost.is_some() {
                q.cancel(token);
            }
            b
        });
        if let Some(b) = got {
            this.done = true;
            return Poll::Ready(Ok(b));
        }
        if let Some(e) = lost {
            this.done = true;
            return Poll::Ready(Err(Error::Request(RequestError::ConnectionLost(e))));
        }
        Poll::Pending
    }
}

impl Drop for BreakFuture {
    fn drop(&mut self) {
        if !self.done {
            let token = self.token;
            self.conn.with_breaks(|q| q.cancel(token));
        }
    }
}
