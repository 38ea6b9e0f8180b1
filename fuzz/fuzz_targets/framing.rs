//! FrameDecoder over arbitrary bytes and arbitrary chunking: never panics, and the
//! frames it yields do not depend on how the stream was split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pike_core::wire::{FrameDecoder, MAX_FRAME_LEN};

fn frames(data: &[u8], cuts: &[u8]) -> (Vec<Vec<u8>>, bool) {
    let mut d = FrameDecoder::new(1 << 20);
    let mut out = Vec::new();
    let mut at = 0usize;
    let mut i = 0usize;
    while at < data.len() {
        let n = usize::from(cuts.get(i).copied().unwrap_or(255)).max(1);
        i += 1;
        let end = (at + n).min(data.len());
        d.push(&data[at..end]);
        at = end;
        loop {
            match d.next_frame() {
                Ok(Some(f)) => {
                    assert!(f.len() <= MAX_FRAME_LEN);
                    out.push(f.to_vec());
                }
                Ok(None) => break,
                Err(_) => return (out, true),
            }
        }
    }
    (out, false)
}

fuzz_target!(|input: &[u8]| {
    // First byte: how many chunk sizes follow; the rest is the stream.
    let Some((&k, rest)) = input.split_first() else {
        return;
    };
    let k = usize::from(k).min(rest.len());
    let (cuts, data) = rest.split_at(k);
    let (a, err_a) = frames(data, cuts);
    let (b, err_b) = frames(data, &[]);
    // Errors may be found earlier with finer chunks (classification looks at 8 bytes),
    // but the frames returned before any error must agree.
    let n = a.len().min(b.len());
    assert_eq!(a[..n], b[..n]);
    if !err_a && !err_b {
        assert_eq!(a, b);
    }
});
