//! Bulk writes through a `File` reuse their buffers, whether copied in (`AsyncWrite`) or
//! handed over (`write_owned`): the bytes allocated while writing many MiB stay bounded
//! by the window in flight, not by the data written. (Its own
//! test binary: the counting allocator sees only this test, client and model server.)

mod common;

use std::alloc::System;

use futures_lite::{AsyncSeekExt, AsyncWriteExt};
use pike_proptests::ServerConfig;
use pike_proptests::loopback;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn file_writes_reuse_their_buffers() {
    const PASS: usize = 8 << 20;
    const PASSES: usize = 16;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(async {
            let (stream, server) = loopback::connect(ServerConfig::default(), 3);
            let tree = common::model_target()
                .connect_stream(pike::runtime::tokio::Tokio, stream)
                .await
                .expect("connect");
            let mut f = tree.path("w.bin").open("w").await.unwrap();
            let data = common::pattern(PASS, 1);
            // The same 8 MiB over and over: the server's copy of the file stays 8 MiB.
            f.write_all(&data).await.unwrap();
            f.flush().await.unwrap();
            // Through AsyncWrite (copied into the File's buffers), then handed over
            // whole (write_owned, in the buffers spare_buffer gives back).
            let written = (PASSES - 1) * PASS;
            for owned in [false, true] {
                let region = Region::new(GLOBAL);
                for _ in 1..PASSES {
                    f.seek(std::io::SeekFrom::Start(0)).await.unwrap();
                    if owned {
                        let mut rest = &data[..];
                        while !rest.is_empty() {
                            let mut buf = f.spare_buffer();
                            let n = buf.capacity().min(rest.len());
                            buf.extend_from_slice(&rest[..n]);
                            rest = &rest[n..];
                            f.write_owned(buf).await.unwrap();
                        }
                    } else {
                        for part in data.chunks(64 << 10) {
                            f.write_all(part).await.unwrap();
                        }
                    }
                }
                f.flush().await.unwrap();
                let change = region.change();
                let allocated = change.bytes_allocated + change.bytes_reallocated.max(0) as usize;
                // The model server copies each WRITE twice (the message, then its
                // data): 2 x 120 MiB. A client buffer per WRITE would add at least
                // another 120 MiB; reused ones add only the window in flight.
                assert!(
                    allocated < 2 * written + (64 << 20),
                    "writing {} MiB (owned: {owned}) allocated {} MiB",
                    written >> 20,
                    allocated >> 20
                );
            }
            f.close().await.unwrap();
            let stored = server.with(|s| s.files().get("w.bin").cloned());
            assert!(stored.as_deref() == Some(&data[..]), "file content");
        });
}
