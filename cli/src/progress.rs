//! A one-line progress bar on stderr for get/put, drawn only when stderr is a terminal
//! (so pipes and logs stay clean).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Redraw at most this often: drawing is a syscall, transfers make thousands of steps.
const REDRAW: Duration = Duration::from_millis(100);

/// Shared by every task of one transfer (cheap clone).
#[derive(Clone, Debug)]
pub(crate) struct Progress(Option<Arc<Inner>>);

#[derive(Debug)]
struct Inner {
    label: String,
    total: AtomicU64,
    done: AtomicU64,
    start: Instant,
    last: Mutex<Option<Instant>>,
}

impl Progress {
    /// A bar for `total` bytes, or a no-op one when stderr is not a terminal.
    pub(crate) fn new(label: impl Into<String>, total: u64) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self(None);
        }
        Self(Some(Arc::new(Inner {
            label: label.into(),
            total: AtomicU64::new(total),
            done: AtomicU64::new(0),
            start: Instant::now(),
            last: Mutex::new(None),
        })))
    }

    /// More bytes to transfer than first thought (recursive transfers learn as they go).
    pub(crate) fn grow(&self, n: u64) {
        if let Some(p) = &self.0 {
            p.total.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// `n` more bytes transferred.
    pub(crate) fn add(&self, n: u64) {
        let Some(p) = &self.0 else { return };
        p.done.fetch_add(n, Ordering::Relaxed);
        let now = Instant::now();
        let mut last = p.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|l| now.duration_since(l) < REDRAW) {
            return;
        }
        *last = Some(now);
        drop(last);
        p.draw(false);
    }

    /// Final state and a newline.
    pub(crate) fn finish(&self) {
        if let Some(p) = &self.0 {
            p.draw(true);
        }
    }
}

impl Inner {
    fn draw(&self, end: bool) {
        const WIDTH: u64 = 30;
        let done = self.done.load(Ordering::Relaxed);
        let total = self.total.load(Ordering::Relaxed).max(done);
        let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH) as usize;
        let secs = self.start.elapsed().as_secs_f64().max(1e-3);
        let line = format!(
            "\r{} [{}{}] {}/{} {}/s ",
            self.label,
            "#".repeat(filled),
            "-".repeat(WIDTH as usize - filled),
            human(done),
            human(total),
            human((done as f64 / secs) as u64),
        );
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        if end {
            let _ = err.write_all(b"\n");
        }
        let _ = err.flush();
    }
}

/// 1536 → "1.5 KiB".
pub(crate) fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(1 << 30), "1.0 GiB");
    }
}
