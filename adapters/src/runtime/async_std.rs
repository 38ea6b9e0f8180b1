//! async-std: `async_std::net::TcpStream`, async-io timers, `async_std::task::spawn`.
//!
//! **Deprecated:** async-std is discontinued upstream (RUSTSEC-2025-0052). This module
//! keeps existing users working; new code should use [`Smol`](super::smol::Smol), which
//! runs on the same async-io reactor.

use std::sync::Arc;

use pike_core::ClientConfig;

use super::async_io::AsyncIoTimer;
use super::{BoxFuture, Runtime};
use crate::{ConnectionRef, Error};

/// The async-std runtime. Deprecated with async-std itself; prefer smol.
#[derive(Clone, Copy, Debug, Default)]
pub struct AsyncStd;

impl Runtime for AsyncStd {
    type Timer = AsyncIoTimer;

    fn timer(&self) -> AsyncIoTimer {
        AsyncIoTimer
    }

    fn spawn(&self, driver: BoxFuture<'static, ()>) -> std::io::Result<()> {
        async_std::task::spawn(driver);
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
            let stream = async_std::net::TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            Self.start_stream(stream, config)
        })
    }
}
