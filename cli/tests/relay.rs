//! `pike relay` as a process, driven by a raw RFC 6455 client over std TCP, in front of
//! a TCP echo server (no Samba needed): bytes pass both ways intact and every limit
//! holds.

use std::io::{BufRead, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Relay {
    child: Child,
    port: u16,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A TCP server echoing every byte back, on its own threads.
fn echo_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut r = s.try_clone().unwrap();
                let mut w = s;
                let _ = std::io::copy(&mut r, &mut w);
            });
        }
    });
    port
}

fn relay(target_port: u16, extra: &[&str]) -> Relay {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pike"))
        .args(["relay", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--target", &format!("127.0.0.1:{target_port}")])
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Its first line says it listens; a probe connection would take a slot.
    let mut line = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("pike relay: ws://"), "{line}");
    Relay { child, port }
}

/// Sends the opening handshake; returns the socket and the response head.
fn open(port: u16, extra_headers: &str) -> (TcpStream, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // A refusal may come before the request is out: read the answer regardless.
    let _ = write!(
        s,
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra_headers}\r\n"
    );
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if !matches!(s.read(&mut b), Ok(1)) {
            break;
        }
        head.push(b[0]);
    }
    (s, String::from_utf8(head).unwrap())
}

fn send(s: &mut TcpStream, fin: bool, opcode: u8, payload: &[u8], masked: bool) {
    let mut f = vec![if fin { 0x80 } else { 0 } | opcode];
    let m = if masked { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => f.push(m | n as u8),
        n @ 126..=0xFFFF => {
            f.push(m | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(m | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let key = [0x37, 0xFA, 0x21, 0x3D];
    if masked {
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        f.extend_from_slice(payload);
    }
    s.write_all(&f).unwrap();
}

/// The next frame from the relay: (opcode, payload).
fn recv(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut h = [0u8; 2];
    s.read_exact(&mut h).unwrap();
    assert_eq!(h[1] & 0x80, 0, "server frames are never masked");
    let len = match h[1] & 0x7F {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).unwrap();
            u16::from_be_bytes(b) as usize
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).unwrap();
            u64::from_be_bytes(b) as usize
        }
        n => n as usize,
    };
    let mut p = vec![0u8; len];
    s.read_exact(&mut p).unwrap();
    (h[0] & 0x0F, p)
}

fn close_code(s: &mut TcpStream) -> u16 {
    loop {
        let (op, p) = recv(s);
        if op == 0x8 {
            return u16::from_be_bytes([p[0], p[1]]);
        }
    }
}

#[test]
fn bytes_pass_both_ways_across_fragments() {
    let r = relay(echo_server(), &[]);
    let (mut s, head) = open(r.port, "Sec-WebSocket-Protocol: binary\r\n");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{head}"
    );
    assert!(
        head.contains("Sec-WebSocket-Protocol: binary\r\n"),
        "{head}"
    );
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    // One message in three fragments, then a ping; written on another thread while
    // this one reads, or the echo would stall on full socket buffers.
    let writer = {
        let (mut w, data) = (s.try_clone().unwrap(), data.clone());
        std::thread::spawn(move || {
            send(&mut w, false, 0x2, &data[..1000], true);
            send(&mut w, false, 0x0, &data[1000..2_000_000], true);
            send(&mut w, true, 0x0, &data[2_000_000..], true);
            send(&mut w, true, 0x9, b"are you there", true);
        })
    };
    let mut back = Vec::new();
    let mut pong = None;
    while back.len() < data.len() || pong.is_none() {
        match recv(&mut s) {
            (0x2, p) => back.extend_from_slice(&p),
            (0xA, p) => pong = Some(p),
            (op, _) => panic!("unexpected opcode {op}"),
        }
    }
    writer.join().unwrap();
    assert!(back == data, "echoed bytes differ");
    assert_eq!(pong.as_deref(), Some(&b"are you there"[..]));
    send(&mut s, true, 0x8, &1000u16.to_be_bytes(), true);
    assert_eq!(close_code(&mut s), 1000);
}

#[test]
fn protocol_violations_close_with_their_code() {
    let r = relay(echo_server(), &["--max-message", "1000"]);
    for (what, opcode, payload, masked, code) in [
        ("text message", 0x1, &b"hi"[..], true, 1003),
        ("unmasked frame", 0x2, &b"hi"[..], false, 1002),
        (
            "message over --max-message",
            0x2,
            &[0u8; 1001][..],
            true,
            1009,
        ),
    ] {
        let (mut s, head) = open(r.port, "");
        assert!(head.starts_with("HTTP/1.1 101"), "{what}: {head}");
        send(&mut s, true, opcode, payload, masked);
        assert_eq!(close_code(&mut s), code, "{what}");
    }
}

#[test]
fn refusals_are_http_errors() {
    let echo = echo_server();
    let r = relay(
        echo,
        &[
            "--max-connections",
            "1",
            "--allow-origin",
            "http://ok.example",
        ],
    );
    let (held, head) = open(r.port, "Origin: http://ok.example\r\n");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let (_, head) = open(r.port, "Origin: http://ok.example\r\n");
    assert!(
        head.starts_with("HTTP/1.1 503"),
        "over --max-connections: {head}"
    );
    drop(held);

    let r = relay(echo, &["--allow-origin", "http://ok.example"]);
    let (_, head) = open(r.port, "Origin: http://evil.example\r\n");
    assert!(head.starts_with("HTTP/1.1 403"), "foreign origin: {head}");
    let (_, head) = open(r.port, "Sec-WebSocket-Version: 8\r\n");
    assert!(
        head.starts_with("HTTP/1.1 403") || head.starts_with("HTTP/1.1 426"),
        "{head}"
    );

    let dead = relay(free_port(), &[]);
    let (_, head) = open(dead.port, "");
    assert!(head.starts_with("HTTP/1.1 502"), "target down: {head}");
}
