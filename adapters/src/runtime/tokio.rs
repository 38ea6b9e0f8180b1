//! tokio: `TcpStream` through `tokio-util`'s compat layer, `tokio::time::sleep_until`.

use std::sync::Arc;

use pike_core::{ClientConfig, Instant};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

use crate::{ConnectionRef, Driver, Error, Timer};

/// tokio's timer.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioTimer;

impl Timer for TokioTimer {
    type Sleep = tokio::time::Sleep;
    fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
        tokio::time::sleep_until(deadline.into())
    }
}

/// The driver type for tokio TCP.
pub type TokioDriver = Driver<Compat<TcpStream>, TokioTimer>;

/// Connects TCP (TCP_NODELAY: one write per batch of frames) and spawns the driver.
pub async fn connect(
    addr: impl ToSocketAddrs,
    config: Arc<ClientConfig>,
) -> Result<ConnectionRef, Error> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (conn, driver) = Driver::new(stream.compat(), TokioTimer, config);
    tokio::spawn(driver);
    Ok(conn)
}
