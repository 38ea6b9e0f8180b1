//! The one event loop: moves bytes between a byte stream and the sans-IO connection,
//! fires timers, and hands completed requests to their futures.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_io::{AsyncRead, AsyncWrite};
use pike_core::auth::Authenticator;
use pike_core::wire::{AsyncId, FileId, SessionId};
use pike_core::{
    Break, BreakAck, BreakKey, BreakPolicy, ClientConfig, Compound, Connection, ConnectionError,
    Event, HeaderDefaults, Instant, LeaseInfo, LeaseKey, Request, RequestError, RequestId,
    Response, Transmit,
};

use crate::Error;
use crate::breaks::{BreakFuture, BreakQueue};

/// A runtime's timer. `Sleep` need not be `Send`: the driver is `Send` exactly when the
/// byte stream and the timer are, so it runs under `tokio::spawn` and `spawn_local` alike.
pub trait Timer {
    /// The future `sleep_until` returns.
    type Sleep: Future<Output = ()>;
    /// A future that completes at `deadline`.
    fn sleep_until(&self, deadline: Instant) -> Self::Sleep;
}

#[derive(Debug)]
struct State {
    conn: Connection,
    results: HashMap<RequestId, Result<Response, RequestError>>,
    wakers: HashMap<RequestId, Waker>,
    interims: HashMap<RequestId, AsyncId>,
    /// Requests nobody will await (dropped futures, close-on-drop): results discarded.
    detached: HashSet<RequestId>,
    breaks: BreakQueue,
    lost: Option<ConnectionError>,
    driver: Option<Waker>,
    /// Close once nothing is queued or in flight (every user handle is gone).
    closing: bool,
}

impl State {
    fn wake_driver(&mut self) {
        if let Some(w) = self.driver.take() {
            w.wake();
        }
    }

    /// Routes core events to the futures waiting on them.
    fn dispatch_events(&mut self) -> bool {
        let mut any = false;
        while let Some(event) = self.conn.poll_event() {
            any = true;
            match event {
                Event::Completed { id, result } => {
                    self.interims.remove(&id);
                    if self.detached.remove(&id) {
                        continue;
                    }
                    self.results.insert(id, result);
                    if let Some(w) = self.wakers.remove(&id) {
                        w.wake();
                    }
                }
                Event::Interim { id, async_id } => {
                    self.interims.insert(id, async_id);
                }
                Event::Break(b) => self.breaks.handle_break(b),
                Event::ConnectionLost(e) => {
                    self.lost = Some(e);
                    self.breaks.wake_all();
                }
                _ => {}
            }
        }
        any
    }
}

/// A cheap, cloneable handle to one connection (shared state behind a mutex, as quinn's
/// `ConnectionRef`). Every method returns at once or a future; the [`Driver`] does the IO.
#[derive(Clone, Debug)]
pub struct ConnectionRef(Arc<Mutex<State>>);

impl ConnectionRef {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the core half-updated in a way
        // that matters more than stopping: keep going with the inner state.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the core connection (getters, or anything the handles do not wrap),
    /// then lets the driver send whatever `f` queued.
    pub fn with<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> R {
        let mut st = self.lock();
        let r = f(&mut st.conn);
        st.wake_driver();
        r
    }

    /// Queues a request; the future resolves with its response.
    pub fn submit(&self, request: Request) -> Result<ResponseFuture, Error> {
        let id = self.with(|c| c.submit(Instant::now(), request))?;
        Ok(self.future(id))
    }

    /// Queues a request whose result nobody awaits (close-on-drop and the like).
    pub fn submit_detached(&self, request: Request) {
        let mut st = self.lock();
        if let Ok(id) = st.conn.submit(Instant::now(), request) {
            st.detached.insert(id);
            st.wake_driver();
        }
    }

    fn future(&self, id: RequestId) -> ResponseFuture {
        ResponseFuture {
            conn: self.clone(),
            id,
            done: false,
        }
    }

    /// Queues a compound chain; one future per part.
    pub fn submit_compound(&self, compound: Compound) -> Result<Vec<ResponseFuture>, Error> {
        let ids = self.with(|c| c.submit_compound(Instant::now(), compound))?;
        Ok(ids.into_iter().map(|id| self.future(id)).collect())
    }

    /// Submits and awaits one request.
    pub async fn call(&self, request: Request) -> Result<Response, Error> {
        Ok(self.submit(request)?.await?)
    }

    /// NEGOTIATE with the config's dialects and capabilities.
    pub async fn negotiate(&self) -> Result<Response, Error> {
        let id = self.with(|c| c.negotiate(Instant::now()))?;
        Ok(self.future(id).await?)
    }

    /// Authenticates a new session; returns its id.
    pub async fn session_setup(&self, auth: Box<dyn Authenticator>) -> Result<SessionId, Error> {
        let wall = Some(crate::wall_time());
        let id = self.with(|c| c.session_setup(Instant::now(), auth, wall))?;
        let r = self.future(id).await?;
        Ok(r.header.session_id)
    }

    /// Requests a CANCEL of `id` (see [`Connection::cancel`]).
    pub fn cancel(&self, id: RequestId) -> Result<(), Error> {
        Ok(self.with(|c| c.cancel(Instant::now(), id))?)
    }

    /// The AsyncId if the request went async (STATUS_PENDING).
    pub fn interim(&self, id: RequestId) -> Option<AsyncId> {
        self.lock().interims.get(&id).copied()
    }

    pub(crate) fn with_breaks<R>(&self, f: impl FnOnce(&mut BreakQueue) -> R) -> R {
        f(&mut self.lock().breaks)
    }

    /// The oldest break nobody has taken yet, if any (without waiting).
    pub fn poll_break(&self) -> Option<Break> {
        self.lock().breaks.take(None)
    }

    /// The next break of any kind (kept breaks first, oldest first).
    pub fn next_break(&self) -> BreakFuture {
        BreakFuture::new(self.clone(), None)
    }

    /// The next oplock break of the open `file_id` (MS-SMB2 2.2.23.1).
    pub fn oplock_break(&self, file_id: FileId) -> BreakFuture {
        BreakFuture::new(self.clone(), Some(BreakKey::Oplock(file_id)))
    }

    /// The next break of the lease `key` (MS-SMB2 2.2.23.2).
    pub fn lease_break(&self, key: impl Into<LeaseKey>) -> BreakFuture {
        BreakFuture::new(self.clone(), Some(BreakKey::Lease(key.into())))
    }

    /// Breaks dropped because nobody took them and the backlog
    /// ([`BREAK_BACKLOG`](crate::BREAK_BACKLOG)) was full.
    pub fn breaks_dropped(&self) -> u64 {
        self.lock().breaks.dropped()
    }

    /// The lease `key` as this connection tracks it: state, epoch, and the state a
    /// pending break goes to ([`Connection::lease`]).
    pub fn lease(&self, key: impl Into<LeaseKey>) -> Option<LeaseInfo> {
        let key = key.into();
        self.with(|c| c.lease(key))
    }

    /// The oplock level the open `file_id` holds now ([`Connection::oplock_level`]).
    pub fn oplock_level(&self, file_id: FileId) -> Option<u8> {
        self.with(|c| c.oplock_level(file_id))
    }

    /// Sets how this connection acknowledges breaks (default
    /// [`BreakPolicy::AutoAck`]: to the level the server asks).
    pub fn set_break_policy(&self, policy: BreakPolicy) {
        self.with(|c| c.set_break_policy(policy));
    }

    /// Lets `decide` choose each break's acknowledgment (it runs inside the connection:
    /// keep it short, and do not call back into this connection from it).
    pub fn on_break(&self, decide: impl Fn(&Break) -> BreakAck + Send + Sync + 'static) {
        self.set_break_policy(BreakPolicy::Custom(std::sync::Arc::new(decide)));
    }

    /// Every request submitted on this connection gets `defaults` (where it sets
    /// nothing itself) until the guard drops; scopes nest (pike's `let`).
    pub fn with_defaults(&self, defaults: HeaderDefaults) -> HeaderDefaultsGuard {
        let previous = self.with(|c| c.set_header_defaults(Some(defaults)));
        HeaderDefaultsGuard {
            conn: self.clone(),
            previous,
        }
    }

    /// Why the connection failed, once it has.
    pub fn lost(&self) -> Option<ConnectionError> {
        let st = self.lock();
        st.lost.clone().or_else(|| st.conn.close_reason().cloned())
    }

    /// Closes the connection: outstanding requests fail with `ConnectionLost`.
    pub fn close(&self) {
        self.with(|c| c.close(Instant::now()));
    }

    /// Closes the connection once every queued request (a LOGOFF, say) is answered.
    pub fn close_when_idle(&self) {
        let mut st = self.lock();
        st.closing = true;
        st.wake_driver();
    }
}

/// Restores the previous header defaults when dropped (see
/// [`ConnectionRef::with_defaults`]).
#[derive(Debug)]
#[must_use = "the defaults end when the guard drops"]
pub struct HeaderDefaultsGuard {
    conn: ConnectionRef,
    previous: Option<HeaderDefaults>,
}

impl Drop for HeaderDefaultsGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        self.conn.with(|c| c.set_header_defaults(previous));
    }
}

/// Resolves when its request completes (each request completes exactly once).
#[derive(Debug)]
#[must_use = "a request's result is only seen by awaiting its future"]
pub struct ResponseFuture {
    conn: ConnectionRef,
    id: RequestId,
    done: bool,
}

impl ResponseFuture {
    /// The request's handle (for [`ConnectionRef::cancel`]).
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// The AsyncId once the server answered STATUS_PENDING (the interim state).
    pub fn async_id(&self) -> Option<AsyncId> {
        self.conn.interim(self.id)
    }

    /// Asks the server to cancel the request (MS-SMB2 3.2.4.24).
    pub fn cancel(&self) -> Result<(), Error> {
        self.conn.cancel(self.id)
    }
}

impl Drop for ResponseFuture {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut st = self.conn.lock();
        st.wakers.remove(&self.id);
        if st.results.remove(&self.id).is_none() {
            st.detached.insert(self.id);
        }
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response, RequestError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut st = this.conn.lock();
        if let Some(r) = st.results.remove(&this.id) {
            drop(st);
            this.done = true;
            return Poll::Ready(r);
        }
        st.wakers.insert(this.id, cx.waker().clone());
        Poll::Pending
    }
}

/// The driver's read buffer starts small and doubles while reads fill it.
const RBUF_MIN: usize = 64 * 1024;
const RBUF_MAX: usize = 4 << 20;

/// Drives one connection: run it on the runtime (`spawn`, `spawn_local`, `block_on`).
/// It finishes once the connection is lost or closed.
pub struct Driver<IO, T: Timer> {
    conn: ConnectionRef,
    io: IO,
    timer: T,
    sleep: Option<(Instant, Pin<Box<T::Sleep>>)>,
    rbuf: Vec<u8>,
    /// Frames to send (large WRITE data spliced in, not copied) and how much of them
    /// is written.
    wbuf: Transmit,
    wpos: usize,
}

/// Most pieces handed to one vectored write (Linux takes up to 1024).
const MAX_IOV: usize = 256;

impl<IO, T: Timer> Driver<IO, T>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    /// A connection over `io` with `config`, seeded with fresh OS entropy.
    pub fn new(io: IO, timer: T, config: Arc<ClientConfig>) -> (ConnectionRef, Self) {
        let conn = Connection::new(config, Instant::now(), crate::random_seed());
        let state = State {
            conn,
            results: HashMap::new(),
            wakers: HashMap::new(),
            interims: HashMap::new(),
            detached: HashSet::new(),
            breaks: BreakQueue::default(),
            lost: None,
            driver: None,
            closing: false,
        };
        let conn = ConnectionRef(Arc::new(Mutex::new(state)));
        let driver = Self {
            conn: conn.clone(),
            io,
            timer,
            sleep: None,
            rbuf: vec![0; RBUF_MIN],
            wbuf: Transmit::new(),
            wpos: 0,
        };
        (conn, driver)
    }
}

impl<IO, T: Timer + Unpin> Future for Driver<IO, T>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Unpin: IO and T are, and the sleep future is boxed.
        let this = self.get_mut();
        loop {
            let mut progress = false;
            let mut st = this.conn.lock();
            st.driver = Some(cx.waker().clone());
            let now = Instant::now();
            // 1. Output: everything the core wants sent, in as few writes as possible.
            if this.wpos == this.wbuf.len() {
                this.wbuf.clear();
                this.wpos = 0;
                while st
                    .conn
                    .poll_transmit_vectored(now, &mut this.wbuf)
                    .is_some()
                {}
            }
            let wlen = this.wbuf.len();
            while this.wpos < wlen {
                let mut skip = this.wpos;
                let slices: Vec<IoSlice<'_>> = this
                    .wbuf
                    .chunks()
                    .filter_map(|c| match c.get(skip..) {
                        Some(rest) if !rest.is_empty() => {
                            skip = 0;
                            Some(IoSlice::new(rest))
                        }
                        _ => {
                            skip -= c.len().min(skip);
                            None
                        }
                    })
                    .take(MAX_IOV)
                    .collect();
                match Pin::new(&mut this.io).poll_write_vectored(cx, &slices) {
                    Poll::Ready(Ok(n)) if n > 0 => {
                        this.wpos += n;
                        progress = true;
                    }
                    Poll::Ready(Ok(_)) => {
                        st.conn.handle_eof(now);
                        break;
                    }
                    Poll::Ready(Err(e)) => {
                        st.conn.handle_transport_error(now, e.to_string());
                        break;
                    }
                    Poll::Pending => break,
                }
            }
            if this.wpos == wlen && wlen > 0 {
                let _ = Pin::new(&mut this.io).poll_flush(cx);
            }
            // 2. Input.
            if !st.conn.is_closed() {
                match Pin::new(&mut this.io).poll_read(cx, &mut this.rbuf) {
                    Poll::Ready(Ok(0)) => {
                        st.conn.handle_eof(Instant::now());
                        progress = true;
                    }
                    Poll::Ready(Err(e)) => {
                        st.conn
                            .handle_transport_error(Instant::now(), e.to_string());
                        progress = true;
                    }
                    Poll::Ready(Ok(n)) => {
                        st.conn.handle_input(Instant::now(), &this.rbuf[..n]);
                        // A full buffer means more is waiting: read more per call (fewer
                        // wakeups and syscalls on bulk transfers), up to RBUF_MAX.
                        if n == this.rbuf.len() && n < RBUF_MAX {
                            this.rbuf.resize(n * 2, 0);
                        }
                        progress = true;
                    }
                    Poll::Pending => {}
                }
            }
            // 3. Timers.
            match st.conn.poll_timeout() {
                Some(deadline) if deadline <= Instant::now() => {
                    st.conn.handle_timeout(Instant::now());
                    this.sleep = None;
                    progress = true;
                }
                Some(deadline) => {
                    if this.sleep.as_ref().is_none_or(|(d, _)| *d != deadline) {
                        this.sleep = Some((deadline, Box::pin(this.timer.sleep_until(deadline))));
                    }
                    if let Some((_, s)) = this.sleep.as_mut()
                        && s.as_mut().poll(cx).is_ready()
                    {
                        st.conn.handle_timeout(Instant::now());
                        this.sleep = None;
                        progress = true;
                    }
                }
                None => this.sleep = None,
            }
            // 4. Events to waiters.
            progress |= st.dispatch_events();
            if st.closing
                && !st.conn.is_closed()
                && st.conn.in_flight() == 0
                && st.conn.queued() == 0
                && this.wpos == this.wbuf.len()
            {
                st.conn.close(Instant::now());
                st.dispatch_events();
            }
            if st.conn.is_closed() && this.wpos == this.wbuf.len() {
                // Break waiters have no deadline of their own: end them with the driver.
                st.breaks.wake_all();
                return Poll::Ready(());
            }
            drop(st);
            if !progress {
                return Poll::Pending;
            }
        }
    }
}
