//! tokio: `TcpStream` through `tokio-util`'s compat layer, `tokio::time::sleep_until`,
//! the driver on `tokio::spawn` (so a runtime must be running).

use std::sync::Arc;

use pike_core::{ClientConfig, Instant};
use tokio::net::TcpStream;
use tokio_util::compat::TokioAsyncReadCompatExt;

use super::{BoxFuture, Runtime};
use crate::{ConnectionRef, Error, Timer};

/// The tokio runtime (the current one, found with `tokio::spawn`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Tokio;

/// tokio's timer.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioTimer;

impl Timer for TokioTimer {
    type Sleep = tokio::time::Sleep;
    fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
        tokio::time::sleep_until(deadline.into())
    }
}

impl Runtime for Tokio {
    type Timer = TokioTimer;

    fn timer(&self) -> TokioTimer {
        TokioTimer
    }

    fn spawn(&self, driver: BoxFuture<'static, ()>) -> std::io::Result<()> {
        tokio::spawn(driver);
        Ok(())
    }

    fn start(
        &self,
        host: &str,
        port: u16,
        config: Arc<ClientConfig>,
    ) -> BoxFuture<'static, Result<ConnectionRef, Error>> {
        let host = host.to_owned();
        Box::pin(async move {
            let stream = TcpStream::connect((host.as_str(), port)).await?;
            // One write per batch of frames: Nagle would hold back the next request.
            stream.set_nodelay(true)?;
            Self.start_stream(stream.compat(), config)
        })
    }
}
