//! The server side of RFC 6455 that a byte relay needs: the opening handshake and
//! frame headers. No extensions, no text: SMB is a byte stream.

use sha1::{Digest, Sha1};

/// RFC 6455 1.3: appended to the client's key before hashing.
const ACCEPT_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Frame opcodes (RFC 6455 5.2).
pub(crate) mod opcode {
    pub(crate) const CONTINUATION: u8 = 0x0;
    pub(crate) const TEXT: u8 = 0x1;
    pub(crate) const BINARY: u8 = 0x2;
    pub(crate) const CLOSE: u8 = 0x8;
    pub(crate) const PING: u8 = 0x9;
    pub(crate) const PONG: u8 = 0xA;
}

/// Close codes (RFC 6455 7.4.1).
pub(crate) mod close {
    pub(crate) const NORMAL: u16 = 1000;
    pub(crate) const PROTOCOL_ERROR: u16 = 1002;
    pub(crate) const UNSUPPORTED_DATA: u16 = 1003;
    pub(crate) const TOO_BIG: u16 = 1009;
    pub(crate) const INTERNAL_ERROR: u16 = 1011;
}

/// A parsed, valid opening handshake.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Handshake {
    pub(crate) key: String,
    pub(crate) origin: Option<String>,
    /// Whether the client offered the `binary` subprotocol (websockify's convention).
    pub(crate) binary_protocol: bool,
}

/// Parses the HTTP request of an opening handshake (RFC 6455 4.2.1); `Err` is the HTTP
/// status line to refuse it with.
pub(crate) fn parse_handshake(request: &str) -> Result<Handshake, &'static str> {
    const BAD: &str = "400 Bad Request";
    let mut lines = request.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    if first.next() != Some("GET") || !first.nth(1).is_some_and(|v| v.starts_with("HTTP/1.1")) {
        return Err(BAD);
    }
    let (mut key, mut origin, mut upgrade, mut connection, mut version, mut binary) =
        (None, None, false, false, false, false);
    for line in lines.take_while(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(BAD);
        };
        let value = value.trim();
        let has = |token: &str| {
            value
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "upgrade" => upgrade = has("websocket"),
            "connection" => connection = has("upgrade"),
            "sec-websocket-version" => version = value == "13",
            "sec-websocket-key" => key = Some(value.to_owned()),
            "sec-websocket-protocol" => binary = has("binary"),
            "origin" => origin = Some(value.to_owned()),
            _ => {}
        }
    }
    if !version {
        return Err("426 Upgrade Required");
    }
    // The key is 16 random bytes in base64: 24 characters.
    match key {
        Some(key) if upgrade && connection && key.len() == 24 => Ok(Handshake {
            key,
            origin,
            binary_protocol: binary,
        }),
        _ => Err(BAD),
    }
}

/// The 101 response accepting `h`.
pub(crate) fn accept_response(h: &Handshake) -> String {
    let mut sha = Sha1::new();
    sha.update(h.key.as_bytes());
    sha.update(ACCEPT_GUID);
    let protocol = if h.binary_protocol {
        "Sec-WebSocket-Protocol: binary\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{protocol}\r\n",
        base64(&sha.finalize())
    )
}

/// A refusal with `status` (e.g. `"503 Service Unavailable"`).
pub(crate) fn refuse_response(status: &str) -> String {
    format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A frame header as the client sent it (RFC 6455 5.2).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub(crate) fin: bool,
    pub(crate) opcode: u8,
    pub(crate) mask: Option<[u8; 4]>,
    pub(crate) len: u64,
}

/// How many header bytes `first2` announces in all (2 to 14).
pub(crate) fn header_len(first2: [u8; 2]) -> usize {
    let ext = match first2[1] & 0x7F {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + ext + if first2[1] & 0x80 != 0 { 4 } else { 0 }
}

/// Parses a complete header (`header_len` bytes).
pub(crate) fn parse_header(h: &[u8]) -> Result<FrameHeader, &'static str> {
    if h[0] & 0x70 != 0 {
        return Err("reserved bits set (no extension was negotiated)");
    }
    let (len, mut at) = match h[1] & 0x7F {
        126 => (u64::from(u16::from_be_bytes([h[2], h[3]])), 4),
        127 => {
            let mut b = [0; 8];
            b.copy_from_slice(&h[2..10]);
            (u64::from_be_bytes(b), 10)
        }
        n => (u64::from(n), 2),
    };
    let mask = (h[1] & 0x80 != 0).then(|| {
        let m = [h[at], h[at + 1], h[at + 2], h[at + 3]];
        at += 4;
        m
    });
    debug_assert_eq!(at, h.len());
    let opcode = h[0] & 0x0F;
    let fin = h[0] & 0x80 != 0;
    if opcode >= 0x8 && (!fin || len > 125) {
        return Err("fragmented or oversized control frame");
    }
    Ok(FrameHeader {
        fin,
        opcode,
        mask,
        len,
    })
}

/// Appends an unmasked server frame header for a `len`-byte payload.
pub(crate) fn write_header(out: &mut Vec<u8>, opcode: u8, len: usize) {
    out.push(0x80 | opcode);
    match len {
        0..=125 => out.push(len as u8),
        126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
}

/// XORs `data` with `mask`, starting `offset` bytes into the frame's payload.
pub(crate) fn unmask(data: &mut [u8], mask: [u8; 4], offset: u64) {
    let mut key = mask;
    key.rotate_left((offset % 4) as usize);
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for c in &mut chunks {
        let v = u64::from_ne_bytes((&*c).try_into().unwrap_or([0; 8])) ^ wide;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_sample_handshake() {
        // RFC 6455 1.3's example key and accept value.
        let req = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
                   Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                   Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, binary\r\n\
                   Sec-WebSocket-Version: 13\r\n\r\n";
        let h = parse_handshake(req).unwrap();
        assert_eq!(h.origin.as_deref(), Some("http://example.com"));
        assert!(h.binary_protocol);
        let resp = accept_response(&h);
        assert!(
            resp.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            "{resp}"
        );
        assert!(resp.contains("Sec-WebSocket-Protocol: binary\r\n"));
    }

    #[test]
    fn bad_handshakes_are_refused() {
        let ok = "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                  Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        assert!(parse_handshake(ok).is_ok());
        for (from, to, status) in [
            ("GET", "POST", "400 Bad Request"),
            ("Version: 13", "Version: 8", "426 Upgrade Required"),
            ("Upgrade: websocket", "Upgrade: h2c", "400 Bad Request"),
            (
                "Connection: Upgrade",
                "Connection: close",
                "400 Bad Request",
            ),
            ("dGhlIHNhbXBsZSBub25jZQ==", "short", "400 Bad Request"),
        ] {
            assert_eq!(parse_handshake(&ok.replace(from, to)), Err(status), "{to}");
        }
    }

    #[test]
    fn base64_matches_rfc4648() {
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), enc);
        }
    }

    #[test]
    fn headers_round_trip_and_lies_are_refused() {
        for len in [0usize, 125, 126, 65535, 65536, 1 << 24] {
            let mut h = Vec::new();
            write_header(&mut h, opcode::BINARY, len);
            assert_eq!(header_len([h[0], h[1]]), h.len());
            let p = parse_header(&h).unwrap();
            assert_eq!(
                (p.fin, p.opcode, p.mask, p.len),
                (true, opcode::BINARY, None, len as u64)
            );
        }
        let masked = [0x82, 0x85, 1, 2, 3, 4];
        assert_eq!(header_len([masked[0], masked[1]]), 6);
        assert_eq!(parse_header(&masked).unwrap().mask, Some([1, 2, 3, 4]));
        assert!(
            parse_header(&[0xC2, 0x00]).is_err(),
            "RSV1 without an extension"
        );
        assert!(parse_header(&[0x09, 0x00]).is_err(), "fragmented ping");
        assert!(
            parse_header(&[0x89, 0x7E, 0, 200]).is_err(),
            "ping over 125 bytes"
        );
    }

    #[test]
    fn unmask_at_any_offset_matches_bytewise() {
        let mask = [0xA1, 0xB2, 0xC3, 0xD4];
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for split in [0usize, 1, 3, 7, 500] {
            let mut got = data.clone();
            let (a, b) = got.split_at_mut(split);
            unmask(a, mask, 0);
            unmask(b, mask, split as u64);
            let want: Vec<u8> = data
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ mask[i % 4])
                .collect();
            assert_eq!(got, want, "split at {split}");
        }
    }
}
