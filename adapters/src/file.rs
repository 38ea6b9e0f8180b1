//! Open files: positioned, pipelined `read_at`/`write_at`, and `futures_io`
//! `AsyncRead`/`AsyncBufRead`/`AsyncWrite`/`AsyncSeek` with read-ahead and write-behind
//! across the credit window. Bulk data is not copied on the way: READ data is handed
//! out in place (`fill_buf`), `write_owned` sends the caller's buffer itself, and WRITE
//! buffers are reused once sent.

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
use pike_core::wire::{
    CloseRequest, CreateResponse, FileEndOfFileInformation, FileId, FileStandardInformation,
    FlushRequest, InfoBuffer, NtStatus, QueryInfoRequest, QueryInfoResponse, ReadRequest,
    ReadResponse, SetInfoRequest, SetInfoResponse, WriteRequest, WriteResponse,
};
use pike_core::{Request, RequestError, Response};

use crate::client::{parse_info, typed};
use crate::{Error, ResponseFuture, Tree};

/// Largest single READ pike issues (the negotiated maximum may be lower): on loopback
/// Samba, 1 MiB reads beat 4 MiB ones (bench/RESULTS.md)...
const MAX_READ_CHUNK: usize = 1 << 20;
/// ...while 4 MiB writes beat 1 MiB ones (fewer round trips for the same window).
const MAX_WRITE_CHUNK: usize = 4 << 20;
/// Bytes kept in flight by pipelined reads and writes.
const WINDOW_BYTES: usize = 16 << 20;

/// An open file (or directory) on a tree. Dropping it sends CLOSE without waiting;
/// call [`close`](Self::close) to see errors (including those of buffered writes).
#[derive(Debug)]
pub struct File {
    tree: Tree,
    id: FileId,
    create: CreateResponse,
    pos: u64,
    /// Highest end of file we know of (create response, then our own writes).
    size_hint: u64,
    append: bool,
    closed: bool,
    reader: ReadAhead,
    writer: WriteBehind,
    seek: Option<(i64, ResponseFuture)>,
    close: Option<ResponseFuture>,
}

#[derive(Debug, Default)]
struct ReadAhead {
    /// Outstanding reads: (offset, length asked, future), in offset order.
    inflight: VecDeque<(u64, usize, ResponseFuture)>,
    /// Data received but not yet handed out, starting at `buf_at`.
    buf: Bytes,
    buf_at: u64,
    /// The server reported end of file at this offset.
    eof_at: Option<u64>,
}

#[derive(Debug, Default)]
struct WriteBehind {
    /// Bytes accepted but not yet sent, starting at `buf_at`.
    buf: Vec<u8>,
    buf_at: u64,
    /// Writes sent: (data, future).
    inflight: VecDeque<(Bytes, ResponseFuture)>,
    /// Buffers of finished writes, filled again.
    pool: BufPool,
    /// A failed write, reported on the next write or flush.
    error: Option<Error>,
}

/// WRITE buffers used again once the connection has sent them: a fresh multi-MiB
/// buffer per WRITE costs more in page faults than its data costs to copy.
#[derive(Debug, Default)]
struct BufPool(Vec<Vec<u8>>);

impl BufPool {
    /// Enough for the buffer being filled while another is sent.
    const KEEP: usize = 2;

    /// An empty buffer with room for `cap` bytes.
    fn take(&mut self, cap: usize) -> Vec<u8> {
        let mut b = self.0.pop().unwrap_or_default();
        b.reserve(cap);
        b
    }

    /// Keeps `data`'s buffer if nothing else refers to it any more.
    fn give(&mut self, data: Bytes) {
        if self.0.len() < Self::KEEP
            && let Ok(mut b) = data.try_into_mut()
        {
            // Empty first: both conversions then hand back the allocation, no copy
            // (`Bytes::clear` would drop it instead).
            b.clear();
            self.0.push(Vec::from(b));
        }
    }
}

impl File {
    pub(crate) fn new(tree: Tree, create: CreateResponse, append: bool) -> Self {
        let size = create.end_of_file;
        Self {
            tree,
            id: create.file_id,
            pos: if append { size } else { 0 },
            size_hint: size,
            create,
            append,
            closed: false,
            reader: ReadAhead::default(),
            writer: WriteBehind::default(),
            seek: None,
            close: None,
        }
    }

    /// The FileId.
    pub fn id(&self) -> FileId {
        self.id
    }

    /// The tree the file is on.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The next oplock break of this open (see [`ConnectionRef::oplock_break`]).
    ///
    /// [`ConnectionRef::oplock_break`]: crate::ConnectionRef::oplock_break
    pub fn oplock_break(&self) -> crate::BreakFuture {
        self.tree().raw().oplock_break(self.id())
    }

    /// The CREATE response (times, sizes, attributes, oplock, create contexts).
    pub fn create_response(&self) -> &CreateResponse {
        &self.create
    }

    /// A request addressed to this file's tree (set the FileId yourself).
    pub fn request(&self, body: impl Into<pike_core::wire::RequestBody>) -> Request {
        self.tree.request(body)
    }

    fn chunk(&self, write: bool) -> usize {
        let raw = self.tree.raw();
        let max = raw.with(|c| {
            if write {
                c.max_write_size()
            } else {
                c.max_read_size()
            }
        });
        let limit = if write {
            MAX_WRITE_CHUNK
        } else {
            MAX_READ_CHUNK
        };
        max.clamp(1, limit)
    }

    fn depth(chunk: usize) -> usize {
        (WINDOW_BYTES / chunk).max(2)
    }

    fn submit_read(&self, offset: u64, len: usize) -> Result<ResponseFuture, Error> {
        let req = ReadRequest {
            length: len as u32,
            offset,
            file_id: self.id,
            ..Default::default()
        };
        self.tree.submit(self.tree.request(req))
    }

    fn submit_write(&self, offset: u64, data: Bytes) -> Result<ResponseFuture, Error> {
        let req = WriteRequest {
            offset,
            file_id: self.id,
            data,
            ..Default::default()
        };
        self.tree.submit(self.tree.request(req))
    }

    /// Reads up to `len` bytes at `offset` (fewer only at end of file), keeping up to
    /// the window's worth of READs in flight.
    pub async fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, Error> {
        let chunk = self.chunk(false);
        let depth = Self::depth(chunk);
        let mut out = Vec::with_capacity(len.min(64 << 20));
        let mut next = 0usize; // bytes of the range already requested
        let mut inflight = VecDeque::new();
        loop {
            while next < len && inflight.len() < depth {
                let n = chunk.min(len - next);
                inflight.push_back((n, self.submit_read(offset + next as u64, n)?));
                next += n;
            }
            let Some((asked, fut)) = inflight.pop_front() else {
                return Ok(out);
            };
            let Some(data) = read_result(fut.await)? else {
                return Ok(out);
            };
            out.extend_from_slice(&data);
            if data.len() < asked {
                return Ok(out); // end of file; later reads are moot
            }
        }
    }

    /// Writes all of `data` at `offset`, keeping up to the window's worth of WRITEs in
    /// flight.
    pub async fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), Error> {
        let chunk = self.chunk(true);
        let depth = Self::depth(chunk);
        let mut inflight: VecDeque<(Bytes, ResponseFuture)> = VecDeque::new();
        let mut parts = data.chunks(chunk).enumerate();
        let mut pool = BufPool::default();
        loop {
            while inflight.len() < depth {
                let Some((i, part)) = parts.next() else { break };
                let at = offset + (i * chunk) as u64;
                let mut buf = pool.take(part.len());
                buf.extend_from_slice(part);
                let buf = Bytes::from(buf);
                inflight.push_back((buf.clone(), self.submit_write(at, buf)?));
            }
            let Some((data, fut)) = inflight.pop_front() else {
                return Ok(());
            };
            check_write(fut.await, data.len())?;
            pool.give(data);
        }
    }

    /// Writes `data` at the current position without copying it: the buffer itself
    /// becomes the WRITE (split if longer than one). Returns once it is queued; like
    /// [`AsyncWrite`], errors surface here or at the next flush or close. Get `data`
    /// from [`spare_buffer`](Self::spare_buffer) to reuse the buffers of finished WRITEs.
    pub async fn write_owned(&mut self, data: Vec<u8>) -> Result<(), Error> {
        if self.append {
            self.pos = self.pos.max(self.size_hint);
        }
        self.send_buffered()?;
        let chunk = self.chunk(true);
        let depth = Self::depth(chunk);
        let mut data = Bytes::from(data);
        while !data.is_empty() {
            std::future::poll_fn(|cx| self.poll_writes(cx, depth - 1)).await?;
            let part = data.split_to(chunk.min(data.len()));
            let len = part.len() as u64;
            let fut = self.submit_write(self.pos, part.clone())?;
            self.writer.inflight.push_back((part, fut));
            self.pos += len;
        }
        self.size_hint = self.size_hint.max(self.pos);
        self.reader = ReadAhead::default();
        Ok(())
    }

    /// An empty buffer for [`write_owned`](Self::write_owned), with room for one WRITE:
    /// a finished WRITE's buffer when one is free, else a new one. Fill it up to its
    /// capacity (`Read::take(cap).read_to_end` does so without zeroing it first).
    pub fn spare_buffer(&mut self) -> Vec<u8> {
        self.writer.pool.take(self.chunk(true))
    }

    /// Sends buffered writes and waits for every write in flight.
    pub async fn flush(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.poll_drain(cx)).await
    }

    /// [`flush`](Self::flush), then SMB2 FLUSH: the server commits the data to storage.
    pub async fn sync_all(&mut self) -> Result<(), Error> {
        self.flush().await?;
        let _: pike_core::wire::FlushResponse =
            self.tree.call(FlushRequest { file_id: self.id }).await?;
        Ok(())
    }

    /// Queries a typed file information class (MS-FSCC 2.4).
    pub async fn query_info<T: InfoBuffer>(&self) -> Result<T, Error> {
        let req = QueryInfoRequest::for_class::<T>(self.id, 64 * 1024);
        parse_info(self.tree.call(req).await?)
    }

    /// Sets a typed file information class (MS-FSCC 2.4).
    pub async fn set_info<T: InfoBuffer>(&self, info: &T) -> Result<(), Error> {
        let _: SetInfoResponse = self.tree.call(SetInfoRequest::new(self.id, info)).await?;
        Ok(())
    }

    /// The current end of file, from the server.
    pub async fn size(&self) -> Result<u64, Error> {
        Ok(self
            .query_info::<FileStandardInformation>()
            .await?
            .end_of_file)
    }

    /// Truncates or extends the file.
    pub async fn set_len(&mut self, size: u64) -> Result<(), Error> {
        self.flush().await?;
        self.set_info(&FileEndOfFileInformation { end_of_file: size })
            .await?;
        self.size_hint = size;
        self.reader = ReadAhead::default();
        Ok(())
    }

    /// Flushes buffered writes and closes the handle, reporting any error.
    pub async fn close(mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.poll_close_file(cx)).await
    }

    /// Sends buffered data (if any) as one WRITE.
    fn send_buffered(&mut self) -> Result<(), Error> {
        if self.writer.buf.is_empty() {
            return Ok(());
        }
        let data = Bytes::from(std::mem::take(&mut self.writer.buf));
        let fut = self.submit_write(self.writer.buf_at, data.clone())?;
        self.writer.inflight.push_back((data, fut));
        Ok(())
    }

    /// Waits for the oldest write(s) until at most `keep` remain in flight.
    fn poll_writes(&mut self, cx: &mut Context<'_>, keep: usize) -> Poll<Result<(), Error>> {
        if let Some(e) = self.writer.error.take() {
            return Poll::Ready(Err(e));
        }
        while self.writer.inflight.len() > keep {
            let (_, fut) = self.writer.inflight.front_mut().expect("len > keep >= 0");
            let r = ready!(Pin::new(fut).poll(cx));
            let (data, _) = self.writer.inflight.pop_front().expect("polled above");
            check_write(r, data.len())?;
            self.writer.pool.give(data);
        }
        Poll::Ready(Ok(()))
    }

    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.send_buffered()?;
        self.poll_writes(cx, 0)
    }

    fn poll_close_file(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.closed {
            return Poll::Ready(Ok(()));
        }
        if self.close.is_none() {
            let drained = ready!(self.poll_drain(cx));
            self.reader = ReadAhead::default();
            let req = CloseRequest {
                file_id: self.id,
                ..Default::default()
            };
            self.close = Some(self.tree.submit(self.tree.request(req))?);
            // A failed write still closes the handle, then reports the write error.
            if let Err(e) = drained {
                self.writer.error = Some(e);
            }
        }
        let fut = self.close.as_mut().expect("set above");
        let r = ready!(Pin::new(fut).poll(cx));
        self.close = None;
        self.closed = true;
        if let Some(e) = self.writer.error.take() {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(r.map(drop).map_err(Error::from))
    }
}

/// A READ result as data, `None` at end of file.
pub(crate) fn read_result(r: Result<Response, RequestError>) -> Result<Option<Bytes>, Error> {
    match r {
        Ok(resp) => Ok(Some(typed::<ReadResponse>(resp)?.data)),
        Err(e) if e.status() == Some(NtStatus::END_OF_FILE) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A WRITE result, checking the server took every byte.
fn check_write(r: Result<Response, RequestError>, len: usize) -> Result<(), Error> {
    let w: WriteResponse = typed(r?)?;
    if (w.count as usize) < len {
        return Err(Error::InvalidArgument(format!(
            "server wrote {} of {len} bytes",
            w.count
        )));
    }
    Ok(())
}

impl Drop for File {
    fn drop(&mut self) {
        if self.closed || self.close.is_some() {
            return;
        }
        let _ = self.send_buffered();
        let req = CloseRequest {
            file_id: self.id,
            ..Default::default()
        };
        self.tree.raw().submit_detached(self.tree.request(req));
    }
}

impl File {
    /// Makes data at `pos` available in the read-ahead buffer, or finds end of file
    /// (the buffer is then empty), keeping the window's worth of READs in flight.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Reads see our own writes: send them first.
        if !self.writer.buf.is_empty() || !self.writer.inflight.is_empty() {
            ready!(self.poll_drain(cx))?;
        }
        let chunk = self.chunk(false);
        let depth = Self::depth(chunk);
        let ra = &mut self.reader;
        loop {
            if !ra.buf.is_empty() && ra.buf_at == self.pos {
                return Poll::Ready(Ok(()));
            }
            if ra
                .inflight
                .front()
                .is_some_and(|(at, _, _)| *at != self.pos)
            {
                *ra = ReadAhead::default(); // a seek: the read-ahead is stale
            }
            if ra.eof_at.is_some_and(|e| self.pos >= e) {
                ra.buf = Bytes::new();
                return Poll::Ready(Ok(()));
            }
            // Read ahead up to the window, not far past the known end of file.
            let limit = self.size_hint.max(self.pos + 1);
            let mut next = ra
                .inflight
                .back()
                .map_or(self.pos, |(at, n, _)| at + *n as u64);
            while ra.inflight.len() < depth && (next < limit || ra.inflight.is_empty()) {
                let req = ReadRequest {
                    length: chunk as u32,
                    offset: next,
                    file_id: self.id,
                    ..Default::default()
                };
                let fut = self.tree.submit(self.tree.request(req))?;
                ra.inflight.push_back((next, chunk, fut));
                next += chunk as u64;
            }
            let (at, asked, fut) = ra.inflight.front_mut().expect("filled above");
            let (at, asked) = (*at, *asked);
            let r = ready!(Pin::new(fut).poll(cx));
            ra.inflight.pop_front();
            match read_result(r)? {
                Some(data) => {
                    if data.len() < asked {
                        ra.eof_at = Some(at + data.len() as u64);
                        ra.inflight.clear();
                    }
                    ra.buf = data;
                    ra.buf_at = at;
                }
                None => {
                    ra.eof_at = Some(at);
                    ra.inflight.clear();
                }
            }
        }
    }
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        ready!(this.poll_fill(cx))?;
        let ra = &mut this.reader;
        let n = out.len().min(ra.buf.len());
        out[..n].copy_from_slice(&ra.buf.split_to(n));
        ra.buf_at += n as u64;
        this.pos += n as u64;
        Poll::Ready(Ok(n))
    }
}

/// The READ responses' data, handed out in place: no copy between the socket buffer
/// and the caller (`fill_buf` is empty at end of file).
impl AsyncBufRead for File {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        ready!(this.poll_fill(cx))?;
        Poll::Ready(Ok(&this.reader.buf))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        let amt = amt.min(this.reader.buf.len());
        this.reader.buf.advance(amt);
        this.reader.buf_at += amt as u64;
        this.pos += amt as u64;
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.append {
            this.pos = this.pos.max(this.size_hint);
        }
        let chunk = this.chunk(true);
        // Room in the window before taking bytes (Pending must mean "nothing taken").
        ready!(this.poll_writes(cx, Self::depth(chunk) - 1))?;
        let w = &mut this.writer;
        if !w.buf.is_empty() && w.buf_at + w.buf.len() as u64 != this.pos {
            this.send_buffered()?;
        }
        let w = &mut this.writer;
        if w.buf.is_empty() {
            w.buf_at = this.pos;
            if w.buf.capacity() < chunk {
                w.buf = w.pool.take(chunk);
            }
        }
        let n = data.len().min(chunk - w.buf.len());
        w.buf.extend_from_slice(&data[..n]);
        this.pos += n as u64;
        this.size_hint = this.size_hint.max(this.pos);
        this.reader = ReadAhead::default();
        if this.writer.buf.len() >= chunk {
            this.send_buffered()?;
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(ready!(self.get_mut().poll_drain(cx)).map_err(Into::into))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(ready!(self.get_mut().poll_close_file(cx)).map_err(Into::into))
    }
}

impl AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        let target = match pos {
            SeekFrom::Start(n) => Some(n as i128),
            SeekFrom::Current(d) => Some(this.pos as i128 + d as i128),
            SeekFrom::End(d) => {
                // The end is the server's: let our writes land, then ask.
                ready!(this.poll_drain(cx))?;
                if this.seek.is_none() {
                    let req = QueryInfoRequest::for_class::<FileStandardInformation>(this.id, 1024);
                    this.seek = Some((d, this.tree.submit(this.tree.request(req))?));
                }
                let (d, fut) = this.seek.as_mut().expect("set above");
                let d = *d;
                let r = ready!(Pin::new(fut).poll(cx));
                this.seek = None;
                let q: QueryInfoResponse = typed(r.map_err(Error::from)?)?;
                let size: FileStandardInformation = parse_info(q)?;
                this.size_hint = size.end_of_file;
                Some(size.end_of_file as i128 + d as i128)
            }
        };
        match target.and_then(|t| u64::try_from(t).ok()) {
            Some(p) => {
                if !this.writer.buf.is_empty() && p != this.pos {
                    this.send_buffered()?;
                }
                this.pos = p;
                Poll::Ready(Ok(p))
            }
            None => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            ))),
        }
    }
}

impl File {
    /// The current position (for the `AsyncRead`/`AsyncWrite` interface).
    pub fn position(&self) -> u64 {
        self.pos
    }
}
