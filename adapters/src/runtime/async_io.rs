//! The async-io reactor's timer, shared by smol, async-std and the blocking client.

use pike_core::Instant;

use crate::Timer;

/// A timer on async-io's reactor thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct AsyncIoTimer;

impl Timer for AsyncIoTimer {
    type Sleep = SleepUntil;
    fn sleep_until(&self, deadline: Instant) -> SleepUntil {
        SleepUntil(async_io::Timer::at(deadline))
    }
}

/// async-io's `Timer` as a `Future<Output = ()>`.
#[derive(Debug)]
pub struct SleepUntil(async_io::Timer);

impl std::future::Future for SleepUntil {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

/// TCP via async-io for the blocking client (`TCP_NODELAY`: the driver writes each
/// batch of frames at once). Name resolution blocks, which only the blocking client may.
#[cfg(feature = "blocking")]
pub(crate) async fn tcp(
    host: &str,
    port: u16,
) -> std::io::Result<async_io::Async<std::net::TcpStream>> {
    use std::net::ToSocketAddrs;
    let addrs = (host, port).to_socket_addrs()?;
    let mut last = None;
    for addr in addrs {
        match async_io::Async::<std::net::TcpStream>::connect(addr).await {
            Ok(s) => {
                s.get_ref().set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("host resolved to no address")))
}
