//! `PIKE_TRACE` and `PIKE_PCAP`: diagnostics every program built on pike gets, as
//! core hooks added to each connection before any other hook.
//!
//! Both show the wire: requests after every hook rewrite (at `AfterSend`), responses
//! before any (at `BeforeDecode`, the first hook there), always as plaintext: what an
//! encrypted frame carries, the TRANSFORM_HEADER removed.

mod pcap;
mod trace;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pike_core::wire::{HEADER_LEN, Header};

use crate::Error;

/// Diagnostics settings of a [`Client`](crate::Client); `None` follows the environment.
#[derive(Clone, Debug, Default)]
pub(crate) struct Diagnostics {
    pub(crate) trace: Option<bool>,
    pub(crate) pcap: Option<Option<PathBuf>>,
}

/// What one connection gets, resolved before it connects (so a bad setting fails first).
pub(crate) struct Resolved {
    trace: bool,
    pcap: Option<Arc<Mutex<pcap::PcapFile>>>,
}

impl Diagnostics {
    /// The settings, the `PIKE_*` variables filling what the client leaves open.
    pub(crate) fn resolve(&self) -> Result<Resolved, Error> {
        let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
        let trace = match self.trace {
            Some(t) => t,
            None => match var("PIKE_TRACE") {
                None => false,
                Some(v) => crate::parse_bool(&v).ok_or(Error::Config {
                    name: "PIKE_TRACE",
                    value: v,
                    expected: "yes/no/true/false/1/0",
                })?,
            },
        };
        let path = match &self.pcap {
            Some(p) => p.clone(),
            None => var("PIKE_PCAP").map(PathBuf::from),
        };
        let pcap = match path {
            None => None,
            Some(p) => Some(pcap::PcapFile::shared(&p).map_err(|e| Error::Config {
                name: "PIKE_PCAP",
                value: format!("{} ({e})", p.display()),
                expected: "a file pike can create",
            })?),
        };
        Ok(Resolved { trace, pcap })
    }
}

impl Resolved {
    /// Adds the hooks to a new connection to `host` (before its NEGOTIATE).
    pub(crate) fn install(self, conn: &mut pike_core::Connection, host: &str) {
        if let Some(file) = self.pcap {
            let server = host.parse().unwrap_or(pcap::DEFAULT_SERVER_IP);
            conn.add_hook(pcap::hook(pcap::Capture::new(file, server)));
        }
        if self.trace {
            conn.add_hook(trace::hook());
        }
    }
}

/// The headers of a plaintext chain, following NextCommand (MS-SMB2 3.2.4.1.4); stops
/// at the first header that does not decode.
fn headers(chain: &[u8]) -> impl Iterator<Item = (Header, usize)> + '_ {
    let mut at = Some(0usize);
    std::iter::from_fn(move || {
        let start = at?;
        let h = Header::decode(chain.get(start..)?).ok()?;
        let next = h.next_command as usize;
        let end = if next >= HEADER_LEN && start + next < chain.len() {
            at = Some(start + next);
            start + next
        } else {
            at = None;
            chain.len()
        };
        Some((h, end - start))
    })
}
