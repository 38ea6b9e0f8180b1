//! Bulk input reuses the decoder's memory: the bytes allocated while decoding many
//! large frames stay bounded by the frames alive at once, not by the frames decoded.
//! (Its own test binary: the counting allocator sees only this test.)

use std::alloc::System;
use std::collections::VecDeque;

use pike_core::wire::{FrameDecoder, frame_header};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The counts are process-wide: one test at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A frame of `len` bytes (an SMB2 ProtocolId, then zeros) with its Direct TCP header.
fn frame(len: usize) -> Vec<u8> {
    let mut v = frame_header(len).to_vec();
    v.extend_from_slice(b"\xfeSMB");
    v.resize(4 + len, 0);
    v
}

#[test]
fn decoding_large_frames_reuses_memory_once_they_are_dropped() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const LEN: usize = 1 << 20;
    const FRAMES: usize = 200;
    const LIVE: usize = 16; // a window of READ responses not yet handed to the reader
    let wire = frame(LEN);
    let mut d = FrameDecoder::new(1 << 24);
    let mut live = VecDeque::new();
    let region = Region::new(GLOBAL);
    for _ in 0..FRAMES {
        // Chunks as a socket delivers them, not aligned with frames.
        for chunk in wire.chunks(300_000) {
            d.push(chunk);
            while let Some(f) = d.next_frame().expect("valid frames") {
                assert_eq!(f.len(), LEN);
                live.push_back(f);
                if live.len() > LIVE {
                    live.pop_front();
                }
            }
        }
    }
    let change = region.change();
    let allocated = change.bytes_allocated + change.bytes_reallocated.max(0) as usize;
    // Without reuse this is at least FRAMES * LEN (200 MiB); the live set is 16 MiB.
    assert!(
        allocated < 4 * LIVE * LEN,
        "decoding {FRAMES} MiB allocated {} MiB",
        allocated >> 20
    );
}

#[test]
fn released_slabs_free_their_memory() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const LEN: usize = 1 << 20;
    let wire = frame(LEN);
    let mut d = FrameDecoder::new(1 << 24);
    let mut live = Vec::new();
    for _ in 0..16 {
        d.push(&wire);
        live.push(d.next_frame().expect("valid").expect("a whole frame"));
    }
    drop(live);
    let region = Region::new(GLOBAL);
    d.release_spare();
    let freed = region.change().bytes_deallocated;
    // 16 MiB of frames in slabs of two: all but the slab being filled go.
    assert!(freed >= 12 * LEN, "released {} KiB", freed >> 10);
    // And decoding goes on in the slab that stayed.
    d.push(&wire);
    assert_eq!(d.next_frame().expect("valid").expect("a frame").len(), LEN);
}
