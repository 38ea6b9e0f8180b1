//! pike's [`Runtime`] for the browser: the "TCP connection" is a WebSocket to a relay
//! that pins the server, the driver runs on `spawn_local`, timers are `setTimeout`.

use std::sync::Arc;

use pike::pike_core::ClientConfig;
use pike::runtime::{BoxFuture, Runtime};
use pike::{ConnectionRef, Error};

use crate::timer::JsTimer;
use crate::ws::WsStream;

/// Connects through the WebSocket relay at `relay_url`.
///
/// The relay, not the browser, chooses the server (a page must never be able to aim
/// it anywhere): the host and port given to [`Runtime::start`] only name the server in
/// the protocol (tree paths, the NETNAME context).
#[derive(Clone, Debug)]
pub struct Browser {
    relay_url: Arc<str>,
}

impl Browser {
    /// A runtime whose connections go through `relay_url` (`ws://` or `wss://`).
    pub fn new(relay_url: impl Into<Arc<str>>) -> Self {
        Self {
            relay_url: relay_url.into(),
        }
    }
}

impl Runtime for Browser {
    type Timer = JsTimer;

    fn timer(&self) -> JsTimer {
        JsTimer
    }

    fn spawn(&self, driver: BoxFuture<'static, ()>) -> std::io::Result<()> {
        wasm_bindgen_futures::spawn_local(driver);
        Ok(())
    }

    fn start(
        &self,
        _host: &str,
        _port: u16,
        config: Arc<ClientConfig>,
    ) -> BoxFuture<'static, Result<ConnectionRef, Error>> {
        let (this, url) = (self.clone(), self.relay_url.clone());
        Box::pin(async move { this.start_stream(WsStream::connect(&url).await?, config) })
    }
}
