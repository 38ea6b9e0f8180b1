//! `pike relay`: a WebSocket-to-TCP relay for pike in the browser.
//!
//! Each WebSocket connection becomes one TCP connection to the **one target** given on
//! the command line: a page can never choose where its bytes go. Connections, the
//! handshake and message sizes are bounded. The relay sees every byte: SMB3 encryption
//! (the browser client's default) keeps it from reading or changing them.

mod ws;

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};

use crate::fail::Fail;
use ws::{close, opcode};

/// Limits and policy of one relay.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// `host:port` every connection goes to.
    pub(crate) target: String,
    /// WebSocket connections served at once; more are refused with 503.
    pub(crate) max_connections: usize,
    /// Largest message accepted from a client (SMB frames are at most 16 MiB + headers).
    pub(crate) max_message: u64,
    /// Origins allowed to connect (`Origin` header); empty allows any.
    pub(crate) allow_origins: Vec<String>,
}

/// The opening handshake must arrive within this and fit in `MAX_HANDSHAKE` bytes.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_HANDSHAKE: usize = 8 * 1024;
/// How long a refused client may take to send its request.
const BUSY_GRACE: Duration = Duration::from_secs(1);
/// TCP reads forwarded as one message each: large enough to be cheap, small enough that
/// the browser gets bytes while more are in flight.
const TCP_READ: usize = 256 * 1024;

/// Serves `listener` forever.
pub(crate) async fn serve(listener: TcpListener, config: Config) -> Result<(), Fail> {
    let config = Arc::new(config);
    let slots = Arc::new(Semaphore::new(config.max_connections));
    loop {
        let (sock, peer) = listener
            .accept()
            .await
            .map_err(|e| Fail::local("relay: accept", e))?;
        let (config, slots) = (config.clone(), slots.clone());
        tokio::spawn(async move {
            let _ = sock.set_nodelay(true);
            let permit = slots.try_acquire_owned().ok();
            let r = match permit {
                Some(_p) => handle(sock, &config).await,
                None => refuse_busy(sock).await,
            };
            if let Err(e) = r {
                // Not eprintln!: a closed stderr must not take the relay down.
                let _ = writeln!(std::io::stderr(), "pike relay: {peer}: {e}");
            }
        });
    }
}

/// Over the connection limit: let the client finish its request (briefly), so it reads
/// a 503 instead of a reset, then refuse.
async fn refuse_busy(mut sock: TcpStream) -> std::io::Result<()> {
    let _ = tokio::time::timeout(BUSY_GRACE, read_request(&mut sock)).await;
    refuse(sock, "503 Service Unavailable").await
}

async fn refuse(mut sock: TcpStream, status: &str) -> std::io::Result<()> {
    sock.write_all(ws::refuse_response(status).as_bytes())
        .await?;
    sock.shutdown().await
}

async fn handle(mut sock: TcpStream, config: &Config) -> std::io::Result<()> {
    let request = match tokio::time::timeout(HANDSHAKE_TIMEOUT, read_request(&mut sock)).await {
        Ok(Ok(Some(r))) => r,
        Ok(Ok(None)) => return refuse(sock, "431 Request Header Fields Too Large").await,
        Ok(Err(e)) => return Err(e),
        Err(_) => return Ok(()), // a client that never finishes its request
    };
    let h = match ws::parse_handshake(&request) {
        Ok(h) => h,
        Err(status) => return refuse(sock, status).await,
    };
    if !config.allow_origins.is_empty()
        && !h
            .origin
            .as_ref()
            .is_some_and(|o| config.allow_origins.contains(o))
    {
        return refuse(sock, "403 Forbidden").await;
    }
    // Reach the server first, so a dead target is a failed handshake, not a socket
    // that opens and closes at once.
    let connecting = tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(&config.target));
    let Ok(Ok(target)) = connecting.await else {
        return refuse(sock, "502 Bad Gateway").await;
    };
    let _ = target.set_nodelay(true);
    sock.write_all(ws::accept_response(&h).as_bytes()).await?;
    let (ws_read, ws_write) = sock.into_split();
    let (tcp_read, tcp_write) = target.into_split();
    // Control replies (pong, close) go through the writer that owns the socket.
    let (control, replies) = mpsc::channel(8);
    let up = client_to_server(
        BufReader::new(ws_read),
        tcp_write,
        control,
        config.max_message,
    );
    let down = server_to_client(tcp_read, ws_write, replies);
    let (up, down) = tokio::join!(up, down);
    up.and(down)
}

/// Reads the HTTP request head; `None` if it exceeds `MAX_HANDSHAKE`.
async fn read_request(sock: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 512];
    loop {
        let n = sock.peek(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        // Consume only the head: whatever follows belongs to the WebSocket.
        let end = find_head_end(&head, &chunk[..n]);
        let take = end.unwrap_or(n);
        sock.read_exact(&mut chunk[..take]).await?;
        head.extend_from_slice(&chunk[..take]);
        if end.is_some() {
            return Ok(Some(String::from_utf8_lossy(&head).into_owned()));
        }
        if head.len() > MAX_HANDSHAKE {
            return Ok(None);
        }
    }
}

/// How many of `more` bytes complete a head ending in `\r\n\r\n` after `have`.
fn find_head_end(have: &[u8], more: &[u8]) -> Option<usize> {
    let tail = &have[have.len().saturating_sub(3)..];
    let joined: Vec<u8> = tail.iter().chain(more).copied().collect();
    joined
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4 - tail.len())
}

enum Control {
    Pong(Vec<u8>),
    Close(u16),
}

/// Client frames → TCP: unmasked payloads of binary messages, in order.
async fn client_to_server(
    mut ws: BufReader<OwnedReadHalf>,
    mut tcp: OwnedWriteHalf,
    control: mpsc::Sender<Control>,
    max_message: u64,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut message_len = 0u64;
    let code = loop {
        let mut head = [0u8; 14];
        if ws.read_exact(&mut head[..2]).await.is_err() {
            break close::NORMAL; // the client went away
        }
        let n = ws::header_len([head[0], head[1]]);
        ws.read_exact(&mut head[2..n]).await?;
        let Ok(h) = ws::parse_header(&head[..n]) else {
            break close::PROTOCOL_ERROR;
        };
        // RFC 6455 5.1: a server must close on an unmasked client frame.
        let Some(mask) = h.mask else {
            break close::PROTOCOL_ERROR;
        };
        match h.opcode {
            opcode::BINARY | opcode::CONTINUATION => {
                if h.opcode == opcode::BINARY {
                    message_len = 0;
                }
                message_len += h.len;
                if message_len > max_message {
                    break close::TOO_BIG;
                }
            }
            opcode::TEXT => break close::UNSUPPORTED_DATA,
            opcode::PING | opcode::PONG | opcode::CLOSE => {}
            _ => break close::PROTOCOL_ERROR,
        }
        let mut done = 0u64;
        let mut payload = Vec::new();
        while done < h.len {
            let want = buf.len().min((h.len - done) as usize);
            ws.read_exact(&mut buf[..want]).await?;
            ws::unmask(&mut buf[..want], mask, done);
            done += want as u64;
            match h.opcode {
                opcode::BINARY | opcode::CONTINUATION => tcp.write_all(&buf[..want]).await?,
                _ => payload.extend_from_slice(&buf[..want]),
            }
        }
        match h.opcode {
            opcode::PING => {
                let _ = control.send(Control::Pong(payload)).await;
            }
            opcode::CLOSE => break close::NORMAL,
            _ => {}
        }
    };
    let _ = control.send(Control::Close(code)).await;
    // The server may have closed first; its half is gone either way.
    let _ = tcp.shutdown().await;
    Ok(())
}

/// TCP → client: each read one binary message; control replies in between.
async fn server_to_client(
    mut tcp: OwnedReadHalf,
    mut ws: OwnedWriteHalf,
    mut control: mpsc::Receiver<Control>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; TCP_READ + 14];
    loop {
        tokio::select! {
            biased; // control replies first: a close code must not lose to the server's EOF
            c = control.recv() => match c {
                Some(Control::Pong(p)) => {
                    let mut frame = Vec::with_capacity(p.len() + 2);
                    ws::write_header(&mut frame, opcode::PONG, p.len());
                    frame.extend_from_slice(&p);
                    ws.write_all(&frame).await?;
                }
                Some(Control::Close(code)) => return send_close(&mut ws, code).await,
                None => return send_close(&mut ws, close::NORMAL).await,
            },
            r = tcp.read(&mut buf[14..]) => {
                let Ok(n) = r else {
                    return send_close(&mut ws, close::INTERNAL_ERROR).await;
                };
                if n == 0 {
                    // The server may be closing because the client broke the protocol:
                    // that close code (queued before our shutdown) wins.
                    let code = match control.try_recv() {
                        Ok(Control::Close(code)) => code,
                        _ => close::NORMAL,
                    };
                    return send_close(&mut ws, code).await;
                }
                // The header goes right before the payload: one write per message.
                let mut head = Vec::with_capacity(14);
                ws::write_header(&mut head, opcode::BINARY, n);
                let start = 14 - head.len();
                buf[start..14].copy_from_slice(&head);
                ws.write_all(&buf[start..14 + n]).await?;
            }
        }
    }
}

async fn send_close(ws: &mut OwnedWriteHalf, code: u16) -> std::io::Result<()> {
    let mut frame = Vec::with_capacity(4);
    ws::write_header(&mut frame, opcode::CLOSE, 2);
    frame.extend_from_slice(&code.to_be_bytes());
    let _ = ws.write_all(&frame).await;
    ws.shutdown().await
}
