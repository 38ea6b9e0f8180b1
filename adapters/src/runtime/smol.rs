//! smol: `smol::net::TcpStream`, async-io timers, the driver on `smol::spawn`.

use std::sync::Arc;

use pike_core::ClientConfig;

use super::async_io::AsyncIoTimer;
use super::{BoxFuture, Runtime};
use crate::{ConnectionRef, Error};

/// The smol runtime (its global executor).
#[derive(Clone, Copy, Debug, Default)]
pub struct Smol;

impl Runtime for Smol {
    type Timer = AsyncIoTimer;

    fn timer(&self) -> AsyncIoTimer {
        AsyncIoTimer
    }

    fn spawn(&self, driver: BoxFuture<'static, ()>) -> std::io::Result<()> {
        smol::spawn(driver).detach();
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
            let stream = smol::net::TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            Self.start_stream(stream, config)
        })
    }
}
