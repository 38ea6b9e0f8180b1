//! A WebSocket as a byte stream (`futures_io::AsyncRead + AsyncWrite`).
//!
//! The relay forwards TCP bytes in binary messages with arbitrary boundaries, so reads
//! simply drain queued messages; the driver reassembles SMB frames from the 4-byte
//! Direct-TCP length as it does on TCP. A clean close is EOF; a text message, an error or
//! an abnormal close is an error, so a dead relay or server never looks like a quiet one.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use pike::Timer;
use pike::pike_core::Instant;

use crate::timer::{JsTimer, Sleep};

/// Above this much data queued in the browser, writes wait (`bufferedAmount`).
const SEND_HIGH_WATER: f64 = (16 << 20) as f64;
/// Largest message sent: relays forward a message only once it is whole, so big writes
/// go out as a stream of these to keep the server busy while the rest is in flight.
const MAX_MESSAGE: usize = 256 * 1024;
/// How often a waiting write looks at `bufferedAmount` again.
const DRAIN_POLL: Duration = Duration::from_millis(2);

#[derive(Default)]
struct Shared {
    /// Received messages not yet read, and how far into the first one we are.
    chunks: VecDeque<Uint8Array>,
    offset: u32,
    open: bool,
    /// Set once the socket closed or failed: `Ok` for a clean close (EOF).
    end: Option<Result<(), (io::ErrorKind, String)>>,
    reader: Option<Waker>,
    opener: Option<Waker>,
}

impl Shared {
    fn finish(&mut self, end: Result<(), (io::ErrorKind, String)>) {
        if self.end.is_none() {
            self.end = Some(end);
        }
        for w in [self.reader.take(), self.opener.take()]
            .into_iter()
            .flatten()
        {
            w.wake();
        }
    }
}

/// A connected WebSocket carrying a TCP byte stream through a relay.
pub struct WsStream {
    ws: WebSocket,
    shared: Rc<RefCell<Shared>>,
    /// Set while a write waits for `bufferedAmount` to drain.
    drain: Option<Pin<Box<Sleep>>>,
    _handlers: [Closure<dyn FnMut(JsValue)>; 4],
}

impl WsStream {
    /// Opens `url` (no subprotocol: websockify accepts none or `binary`) and waits until
    /// the socket is open.
    pub async fn connect(url: &str) -> io::Result<Self> {
        let ws = WebSocket::new(url).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("relay URL {url}: {}", describe(&e)),
            )
        })?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let shared = Rc::new(RefCell::new(Shared::default()));
        let handler = |f: fn(&mut Shared, JsValue)| {
            let shared = shared.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| f(&mut shared.borrow_mut(), e))
        };
        let handlers = [
            handler(|s, _| {
                s.open = true;
                if let Some(w) = s.opener.take() {
                    w.wake();
                }
            }),
            handler(|s, e| {
                let data = e.unchecked_into::<MessageEvent>().data();
                match data.dyn_into::<ArrayBuffer>() {
                    Ok(buf) => {
                        s.chunks.push_back(Uint8Array::new(&buf));
                        if let Some(w) = s.reader.take() {
                            w.wake();
                        }
                    }
                    // SMB over a relay is binary only: a text message means a wrong peer.
                    Err(_) => s.finish(Err((
                        io::ErrorKind::InvalidData,
                        "the relay sent a text message (not a TCP byte relay?)".into(),
                    ))),
                }
            }),
            // The error event carries no detail; whether the socket ever opened tells a
            // relay that is not there from one that failed later.
            handler(|s, _| {
                let end = if s.open {
                    (io::ErrorKind::ConnectionReset, "WebSocket error")
                } else {
                    (
                        io::ErrorKind::ConnectionRefused,
                        "cannot open the WebSocket to the relay",
                    )
                };
                s.finish(Err((end.0, end.1.into())));
            }),
            handler(|s, e| {
                let ev = e.unchecked_into::<CloseEvent>();
                let end = if ev.was_clean() && s.open {
                    Ok(())
                } else if s.open {
                    Err((
                        io::ErrorKind::ConnectionReset,
                        format!(
                            "relay closed the WebSocket (code {} {})",
                            ev.code(),
                            ev.reason()
                        ),
                    ))
                } else {
                    Err((
                        io::ErrorKind::ConnectionRefused,
                        format!(
                            "cannot open the WebSocket to the relay (code {})",
                            ev.code()
                        ),
                    ))
                };
                s.finish(end);
            }),
        ];
        ws.set_onopen(Some(handlers[0].as_ref().unchecked_ref()));
        ws.set_onmessage(Some(handlers[1].as_ref().unchecked_ref()));
        ws.set_onerror(Some(handlers[2].as_ref().unchecked_ref()));
        ws.set_onclose(Some(handlers[3].as_ref().unchecked_ref()));
        let stream = Self {
            ws,
            shared,
            drain: None,
            _handlers: handlers,
        };
        std::future::poll_fn(|cx| {
            let mut s = stream.shared.borrow_mut();
            if s.open {
                return Poll::Ready(Ok(()));
            }
            match &s.end {
                Some(Err((kind, msg))) => Poll::Ready(Err(io::Error::new(*kind, msg.clone()))),
                Some(Ok(())) => Poll::Ready(Err(io::ErrorKind::ConnectionRefused.into())),
                None => {
                    s.opener = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await?;
        Ok(stream)
    }
}

impl Drop for WsStream {
    fn drop(&mut self) {
        for slot in [
            WebSocket::set_onopen,
            WebSocket::set_onmessage,
            WebSocket::set_onerror,
            WebSocket::set_onclose,
        ] {
            slot(&self.ws, None);
        }
        let _ = self.ws.close();
    }
}

impl AsyncRead for WsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut s = self.shared.borrow_mut();
        let mut n = 0;
        while n < buf.len() {
            let Some(chunk) = s.chunks.front() else { break };
            let len = chunk.length();
            let take = (len - s.offset).min((buf.len() - n) as u32);
            // One copy, from the JS buffer straight into the driver's.
            chunk
                .subarray(s.offset, s.offset + take)
                .copy_to(&mut buf[n..n + take as usize]);
            n += take as usize;
            s.offset += take;
            if s.offset == len {
                s.chunks.pop_front();
                s.offset = 0;
            }
        }
        if n > 0 || buf.is_empty() {
            return Poll::Ready(Ok(n));
        }
        match &s.end {
            Some(Ok(())) => Poll::Ready(Ok(0)),
            Some(Err((kind, msg))) => Poll::Ready(Err(io::Error::new(*kind, msg.clone()))),
            None => {
                s.reader = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for WsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(Err((kind, msg))) = &this.shared.borrow().end {
            return Poll::Ready(Err(io::Error::new(*kind, msg.clone())));
        }
        // WebSocket has no writable event: poll bufferedAmount on a short timer instead.
        while this.ws.buffered_amount() as f64 > SEND_HIGH_WATER {
            let sleep = this
                .drain
                .get_or_insert_with(|| Box::pin(JsTimer.sleep_until(Instant::now() + DRAIN_POLL)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.drain = None;
        }
        let n = buf.len().min(MAX_MESSAGE);
        match this.ws.send_with_u8_array(&buf[..n]) {
            Ok(()) => Poll::Ready(Ok(n)),
            Err(e) => Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, describe(&e)))),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Sent messages are already queued in the browser; nothing to push.
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let _ = self.ws.close();
        Poll::Ready(Ok(()))
    }
}

/// A JS exception as text.
pub(crate) fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}
