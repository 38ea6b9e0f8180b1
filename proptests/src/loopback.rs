//! The model server behind a `futures_io` byte stream, so that a real client stack
//! (pike's driver on any runtime) talks to it as to a TCP socket, offline.
//!
//! The server is sans-IO, so the stream answers each write at once; reads deliver the
//! answers in seeded random chunks, as TCP may. Nothing runs on its own: no task to
//! spawn, which keeps the stream usable under every executor and in the browser.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_io::{AsyncRead, AsyncWrite};
use pike_core::auth::FileTime;

use crate::{ModelServer, Pipe, ServerConfig};

struct Shared {
    server: ModelServer,
    to_client: Pipe,
    /// The read waiting for the server to say something.
    reader: Option<Waker>,
}

impl Shared {
    /// Moves what the server queued into the client's pipe and wakes a waiting read.
    fn pump(&mut self) {
        let mut out = Vec::new();
        while self.server.poll_transmit(&mut out).is_some() {}
        self.to_client.push(&out);
        if (!self.to_client.is_empty() || self.server.is_closed())
            && let Some(w) = self.reader.take()
        {
            w.wake();
        }
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A test that panicked mid-call leaves a server worth inspecting, not a poison.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// A client's connection to a [`ModelServer`]: hand it to pike as the transport.
pub struct ModelStream(Arc<Mutex<Shared>>);

/// The test's side of the server behind a [`ModelStream`] (cheap to clone).
#[derive(Clone)]
pub struct ModelHandle(Arc<Mutex<Shared>>);

impl core::fmt::Debug for ModelStream {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ModelStream").finish_non_exhaustive()
    }
}

impl core::fmt::Debug for ModelHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        lock(&self.0).server.fmt(f)
    }
}

/// A new server with `config`, and a stream to it whose reads chunk after `seed`. The
/// server's clock (NTLM timestamps, file times) is the wall clock at this call.
pub fn connect(config: ServerConfig, seed: u64) -> (ModelStream, ModelHandle) {
    let mut server = ModelServer::new(config);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    server.set_time(FileTime::from_unix(now.as_secs(), now.subsec_nanos()).0);
    let shared = Arc::new(Mutex::new(Shared {
        server,
        to_client: Pipe::new(seed),
        reader: None,
    }));
    (ModelStream(shared.clone()), ModelHandle(shared))
}

impl ModelHandle {
    /// Runs `f` on the server (to look at it, seed files, send breaks), then delivers
    /// whatever `f` made it send.
    pub fn with<R>(&self, f: impl FnOnce(&mut ModelServer) -> R) -> R {
        let mut s = lock(&self.0);
        let r = f(&mut s.server);
        s.pump();
        r
    }
}

impl AsyncWrite for ModelStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut s = lock(&self.0);
        if s.server.is_closed() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        s.server.handle_input(buf);
        s.pump();
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for ModelStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut s = lock(&self.0);
        // Responses held back by a ServerPolicy go out on later polls.
        s.pump();
        if buf.is_empty() || !s.to_client.is_empty() {
            return Poll::Ready(Ok(s.to_client.read_into(buf)));
        }
        if s.server.is_closed() {
            return Poll::Ready(Ok(0));
        }
        s.reader = Some(cx.waker().clone());
        if s.server.can_flush() {
            // Held for a number of polls (ServerPolicy::delay_polls): poll again. Delays
            // in virtual time never pass here; such policies are for `Pair`.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}
