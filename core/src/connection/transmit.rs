//! Output in pieces: the bytes the core encoded, and large WRITE data as the caller
//! handed it over, for one vectored write without copying the data.

use bytes::Bytes;

/// Bytes for the transport, in order: what the core encoded, with the data of large
/// WRITEs spliced in where it belongs instead of copied
/// ([`Connection::poll_transmit_vectored`](super::Connection::poll_transmit_vectored)).
/// Write [`chunks`](Self::chunks) in order, ideally in one vectored write.
#[derive(Debug, Default)]
pub struct Transmit {
    pub(super) buf: Vec<u8>,
    /// (offset in `buf` the data goes in front of, data), offsets never decreasing.
    pub(super) spliced: Vec<(usize, Bytes)>,
}

impl Transmit {
    /// An empty transmit.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes in all, spliced data included.
    pub fn len(&self) -> usize {
        self.buf.len() + self.spliced.iter().map(|(_, d)| d.len()).sum::<usize>()
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empties it, keeping the encode buffer's memory for the next frames.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.spliced.clear();
    }

    /// The bytes in order, as non-empty pieces.
    pub fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        let mut from = 0;
        let tail = self.spliced.last().map_or(0, |(at, _)| *at);
        self.spliced
            .iter()
            .flat_map(move |(at, data)| {
                let encoded = &self.buf[from..*at];
                from = *at;
                [encoded, &data[..]]
            })
            .chain(std::iter::once(&self.buf[tail..]))
            .filter(|c| !c.is_empty())
    }

    /// All the bytes in one buffer (a copy of the spliced data).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        for c in self.chunks() {
            v.extend_from_slice(c);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_put_the_spliced_data_where_it_belongs() {
        let t = Transmit {
            buf: vec![1, 2, 3, 4],
            spliced: vec![
                (2, Bytes::from_static(&[9, 9])),
                (2, Bytes::from_static(&[8])),
                (4, Bytes::from_static(&[7])),
            ],
        };
        let chunks: Vec<&[u8]> = t.chunks().collect();
        assert_eq!(chunks, [&[1, 2][..], &[9, 9], &[8], &[3, 4], &[7]]);
        assert_eq!(t.len(), 8);
        assert_eq!(t.to_vec(), [1, 2, 9, 9, 8, 3, 4, 7]);
        let mut t = t;
        t.clear();
        assert!(t.is_empty() && t.chunks().next().is_none());
    }
}
