//! `PIKE_PCAP`: a classic pcap file (Ethernet, IPv4, TCP) of every connection's
//! plaintext, which Wireshark and tshark dissect as SMB2 without settings.
//!
//! The TCP streams are synthesised: the client is 127.0.0.1 with a port per connection
//! from 49152 up, the server its own address when that is an IPv4 literal (else
//! 127.0.0.2) and port 445, where Wireshark looks for SMB2 (the real port is not
//! recorded). Each stream opens with a three-way handshake announcing window scaling
//! (RFC 7323), so large frames never fill the window; each Direct TCP frame (MS-SMB2
//! 2.1) is re-framed around its plaintext and cut into segments that fit IPv4's 65535-byte
//! total length; sequence and acknowledgement numbers advance per direction. All the
//! connections of a process share one file, which is flushed after every frame.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use pike_core::{Hook, HookEvent};

/// The server's address in the capture when the host is a name.
pub(super) const DEFAULT_SERVER_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const CLIENT_IP: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// SMB2 over Direct TCP (MS-SMB2 2.1).
const SERVER_PORT: u16 = 445;
/// First client port (the IANA dynamic range).
static NEXT_CLIENT_PORT: AtomicU16 = AtomicU16::new(49152);

const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const IP_HEADER_LEN: usize = 20;
const TCP_HEADER_LEN: usize = 20;
/// MSS (kind 2), NOP, window scale (kind 3): in SYN segments only.
const SYN_OPTIONS: [u8; 8] = [2, 4, 0xff, 0xd7, 1, 3, 3, WINDOW_SHIFT];
/// The largest window scaling allows (RFC 7323 2.3): 1 GiB with the field at 0xffff.
const WINDOW_SHIFT: u8 = 14;
/// Payload per segment: an IPv4 packet is at most 65535 bytes, headers included.
const MAX_SEGMENT: usize = 65535 - IP_HEADER_LEN - TCP_HEADER_LEN;
const SNAPLEN: u32 = 262_144;
/// LINKTYPE_ETHERNET.
const LINKTYPE: u32 = 1;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// One pcap file, shared by the connections writing to it.
pub(super) struct PcapFile {
    out: BufWriter<File>,
}

impl PcapFile {
    /// The file at `path` for this process: created (truncated) and given its global
    /// header on first use, shared afterwards.
    pub(super) fn shared(path: &Path) -> io::Result<Arc<Mutex<Self>>> {
        static FILES: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<PcapFile>>>>> = OnceLock::new();
        let mut files = FILES
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(f) = files.get(path) {
            return Ok(f.clone());
        }
        let mut out = BufWriter::new(File::create(path)?);
        // pcap global header, microsecond timestamps, native byte order.
        out.write_all(&0xa1b2_c3d4_u32.to_ne_bytes())?;
        out.write_all(&2u16.to_ne_bytes())?;
        out.write_all(&4u16.to_ne_bytes())?;
        out.write_all(&0i32.to_ne_bytes())?;
        out.write_all(&0u32.to_ne_bytes())?;
        out.write_all(&SNAPLEN.to_ne_bytes())?;
        out.write_all(&LINKTYPE.to_ne_bytes())?;
        out.flush()?;
        let f = Arc::new(Mutex::new(Self { out }));
        files.insert(path.to_owned(), f.clone());
        Ok(f)
    }

    fn record(&mut self, packet: &[u8]) -> io::Result<()> {
        let t = web_time::SystemTime::now()
            .duration_since(web_time::UNIX_EPOCH)
            .unwrap_or_default();
        let len = u32::try_from(packet.len()).unwrap_or(u32::MAX);
        let secs = u32::try_from(t.as_secs()).unwrap_or(u32::MAX);
        self.out.write_all(&secs.to_ne_bytes())?;
        self.out.write_all(&t.subsec_micros().to_ne_bytes())?;
        self.out.write_all(&len.to_ne_bytes())?;
        self.out.write_all(&len.to_ne_bytes())?;
        self.out.write_all(packet)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    ToServer,
    ToClient,
}

/// One connection's synthetic TCP stream.
pub(super) struct Capture {
    file: Arc<Mutex<PcapFile>>,
    server: Ipv4Addr,
    client_port: u16,
    /// Next sequence number client→server and server→client.
    seq: [u32; 2],
    ip_id: u16,
    failed: bool,
}

impl Capture {
    /// A stream to `server`, opened with a handshake.
    pub(super) fn new(file: Arc<Mutex<PcapFile>>, server: Ipv4Addr) -> Self {
        let client_port = NEXT_CLIENT_PORT.fetch_add(1, Ordering::Relaxed).max(49152);
        let mut c = Self {
            file,
            server,
            client_port,
            seq: [0x1000_0000, 0x2000_0000],
            ip_id: 0,
            failed: false,
        };
        c.write(Dir::ToServer, SYN, &[], &SYN_OPTIONS);
        c.write(Dir::ToClient, SYN | ACK, &[], &SYN_OPTIONS);
        c.write(Dir::ToServer, ACK, &[], &[]);
        c
    }

    /// One SMB2 message chain, framed as on the wire (Direct TCP length prefix).
    fn frame(&mut self, dir: Dir, plaintext: &[u8]) {
        let len = u32::try_from(plaintext.len()).unwrap_or(u32::MAX);
        let mut data = Vec::with_capacity(4 + plaintext.len());
        data.extend_from_slice(&(len & 0x00ff_ffff).to_be_bytes());
        data.extend_from_slice(plaintext);
        let mut chunks = data.chunks(MAX_SEGMENT).peekable();
        while let Some(chunk) = chunks.next() {
            let flags = if chunks.peek().is_none() {
                PSH | ACK
            } else {
                ACK
            };
            self.write(dir, flags, chunk, &[]);
        }
    }

    fn write(&mut self, dir: Dir, flags: u8, payload: &[u8], options: &[u8]) {
        if self.failed {
            return;
        }
        let packet = self.packet(dir, flags, payload, options);
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = f.record(&packet).and_then(|()| f.out.flush()) {
            tracing::warn!(target: "pike::pcap", "PIKE_PCAP: {e}; capture stopped");
            self.failed = true;
        }
    }

    /// Ethernet II + IPv4 + TCP around `payload`; advances this direction's sequence.
    fn packet(&mut self, dir: Dir, flags: u8, payload: &[u8], options: &[u8]) -> Vec<u8> {
        let (i, o) = match dir {
            Dir::ToServer => (0, 1),
            Dir::ToClient => (1, 0),
        };
        let (src, dst, sport, dport, smac, dmac) = match dir {
            Dir::ToServer => (
                CLIENT_IP,
                self.server,
                self.client_port,
                SERVER_PORT,
                CLIENT_MAC,
                SERVER_MAC,
            ),
            Dir::ToClient => (
                self.server,
                CLIENT_IP,
                SERVER_PORT,
                self.client_port,
                SERVER_MAC,
                CLIENT_MAC,
            ),
        };
        let seq = self.seq[i];
        let ack = if flags & ACK != 0 { self.seq[o] } else { 0 };
        let consumed = payload.len() as u32 + u32::from(flags & (SYN | FIN) != 0);
        self.seq[i] = seq.wrapping_add(consumed);

        let tcp_len = TCP_HEADER_LEN + options.len() + payload.len();
        let mut tcp = Vec::with_capacity(tcp_len);
        tcp.extend_from_slice(&sport.to_be_bytes());
        tcp.extend_from_slice(&dport.to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&ack.to_be_bytes());
        tcp.push((((TCP_HEADER_LEN + options.len()) / 4) as u8) << 4);
        tcp.push(flags);
        tcp.extend_from_slice(&0xffff_u16.to_be_bytes()); // window (scaled after SYN)
        tcp.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
        tcp.extend_from_slice(options);
        tcp.extend_from_slice(payload);
        // RFC 793 3.1: the checksum covers a pseudo-header, the header and the data.
        let mut pseudo = Vec::with_capacity(12);
        pseudo.extend_from_slice(&src.octets());
        pseudo.extend_from_slice(&dst.octets());
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(tcp_len as u16).to_be_bytes());
        let sum = checksum(&[&pseudo, &tcp]);
        tcp[16..18].copy_from_slice(&sum.to_be_bytes());

        let mut p = Vec::with_capacity(14 + IP_HEADER_LEN + tcp_len);
        p.extend_from_slice(&dmac);
        p.extend_from_slice(&smac);
        p.extend_from_slice(&0x0800_u16.to_be_bytes());
        let ip_start = p.len();
        p.push(0x45); // IPv4, 5 words
        p.push(0);
        p.extend_from_slice(&((IP_HEADER_LEN + tcp_len) as u16).to_be_bytes());
        self.ip_id = self.ip_id.wrapping_add(1);
        p.extend_from_slice(&self.ip_id.to_be_bytes());
        p.extend_from_slice(&0x4000_u16.to_be_bytes()); // don't fragment
        p.extend_from_slice(&[64, 6, 0, 0]); // TTL, TCP, checksum
        p.extend_from_slice(&src.octets());
        p.extend_from_slice(&dst.octets());
        let sum = checksum(&[&p[ip_start..]]);
        p[ip_start + 10..ip_start + 12].copy_from_slice(&sum.to_be_bytes());
        p.extend_from_slice(&tcp);
        p
    }
}

/// The Internet checksum (RFC 1071) over the concatenation of `parts` (each but the
/// last of even length).
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for part in parts {
        for pair in part.chunks(2) {
            let word = u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]);
            sum += u32::from(word);
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Records requests as sent (after every rewrite) and responses as received.
pub(super) fn hook(mut capture: Capture) -> Hook {
    Hook::new(move |e| match e {
        HookEvent::AfterSend { plaintext, .. } => capture.frame(Dir::ToServer, plaintext),
        HookEvent::BeforeDecode(plaintext) => capture.frame(Dir::ToClient, plaintext),
        _ => {}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_verify() {
        // RFC 1071's example words sum to 0xddf2, so the checksum is its complement.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&[&data]), !0xddf2);
        let path = std::env::temp_dir().join(format!("pike-pcap-unit-{}", std::process::id()));
        let file = PcapFile::shared(&path).unwrap();
        let mut c = Capture::new(file, Ipv4Addr::new(192, 0, 2, 1));
        let p = c.packet(Dir::ToServer, ACK, &[1, 2, 3], &[]);
        let ip = &p[14..34];
        // A header with its checksum in place sums to zero.
        assert_eq!(checksum(&[ip]), 0);
        assert_eq!(u16::from_be_bytes([ip[2], ip[3]]) as usize, 20 + 20 + 3);
        let tcp = &p[34..];
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&ip[12..20]);
        pseudo.extend_from_slice(&[0, 6, 0, tcp.len() as u8]);
        assert_eq!(checksum(&[&pseudo, tcp]), 0);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn large_frames_are_cut_into_ipv4_sized_segments_in_sequence() {
        let path = std::env::temp_dir().join(format!("pike-pcap-seg-{}", std::process::id()));
        let file = PcapFile::shared(&path).unwrap();
        let mut c = Capture::new(file, DEFAULT_SERVER_IP);
        let start = c.seq[0];
        let plaintext = vec![0xfe; 200_000];
        c.frame(Dir::ToServer, &plaintext);
        assert_eq!(c.seq[0].wrapping_sub(start), 200_004);
        drop(c);
        let bytes = std::fs::read(&path).unwrap();
        let mut at = 24;
        let mut sizes = Vec::new();
        while at < bytes.len() {
            let len = u32::from_ne_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
            let ip_total = u16::from_be_bytes([bytes[at + 16 + 14 + 2], bytes[at + 16 + 14 + 3]]);
            assert_eq!(ip_total as usize, len - 14);
            sizes.push(len - 14 - 40);
            at += 16 + len;
        }
        // SYN and SYN-ACK carry 8 option bytes and no data; then the ACK.
        assert_eq!(sizes[..3], [8, 8, 0]);
        assert_eq!(
            sizes[3..],
            [
                MAX_SEGMENT,
                MAX_SEGMENT,
                MAX_SEGMENT,
                200_004 - 3 * MAX_SEGMENT
            ]
        );
        std::fs::remove_file(path).unwrap();
    }
}
