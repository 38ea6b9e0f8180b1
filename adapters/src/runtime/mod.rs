//! Runtime glue: a TCP transport, a timer and a task spawner per runtime. No protocol
//! logic lives here; [`Client`](crate::Client) is generic over [`Runtime`].
//!
//! Any byte stream can carry a connection: [`Runtime::start_stream`] spawns a driver
//! over it (what [`Client::connect_stream`](crate::Client::connect_stream) uses), so a
//! WebSocket, a tunnel or an in-memory test server needs no runtime of its own.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use pike_core::{ClientConfig, Instant};

use crate::{ConnectionRef, Driver, Error, Timer};

#[cfg(any(feature = "smol", feature = "async-std", feature = "blocking"))]
pub(crate) mod async_io;
#[cfg(feature = "async-std")]
pub mod async_std;
#[cfg(feature = "smol")]
pub mod smol;
#[cfg(feature = "tokio")]
pub mod tokio;

/// `Send` everywhere but in the browser, where nothing is (one thread, JS objects).
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + ?Sized> MaybeSend for T {}
/// `Send` everywhere but in the browser, where nothing is (one thread, JS objects).
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSend for T {}

/// A boxed future that is `Send` where the platform has threads.
#[cfg(not(target_arch = "wasm32"))]
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// A boxed future that is `Send` where the platform has threads.
#[cfg(target_arch = "wasm32")]
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// What pike needs from an async runtime: open a byte stream to a server, run the
/// [`Driver`] on it in the background, and sleep.
pub trait Runtime: Clone + MaybeSend + Sync + 'static {
    /// The runtime's timer (also used for connect deadlines).
    type Timer: Timer<Sleep: MaybeSend> + Clone + Unpin + MaybeSend + Sync + 'static;

    /// The timer.
    fn timer(&self) -> Self::Timer;

    /// Runs a connection's driver in the background until it finishes (`spawn`,
    /// `spawn_local`, a thread).
    fn spawn(&self, driver: BoxFuture<'static, ()>) -> std::io::Result<()>;

    /// Starts a connection with `config` over `stream`, an open byte stream to a server
    /// (an in-memory pipe, a WebSocket, a tunnel), and returns its handle; nothing is
    /// sent until a request is.
    fn start_stream<S>(&self, stream: S, config: Arc<ClientConfig>) -> Result<ConnectionRef, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin + MaybeSend + 'static,
    {
        let (conn, driver) = Driver::new(stream, self.timer(), config);
        self.spawn(Box::pin(driver))?;
        Ok(conn)
    }

    /// Opens a transport to `host:port`, spawns a driver for a new connection with
    /// `config` on it, and returns the connection's handle.
    fn start(
        &self,
        host: &str,
        port: u16,
        config: Arc<ClientConfig>,
    ) -> BoxFuture<'static, Result<ConnectionRef, Error>>;
}

/// Runs `fut` until `deadline`; past it, fails with [`Error::Timeout`].
pub(crate) async fn with_deadline<T: Timer, F: Future>(
    timer: &T,
    deadline: Instant,
    what: &'static str,
    fut: F,
) -> Result<F::Output, Error> {
    let mut fut = std::pin::pin!(fut);
    let mut sleep = std::pin::pin!(timer.sleep_until(deadline));
    std::future::poll_fn(|cx: &mut Context<'_>| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Error::Timeout(what))),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}
