//! The subcommands, on a connected tree. No protocol logic here: everything goes
//! through pike's `Path`/`File` API; the CLI only decides what runs concurrently.

use std::fmt;
use std::future::Future;
use std::io::{self, Read, Write};
use std::path::{Path as LocalPath, PathBuf};
use std::time::Duration;

use futures_lite::{AsyncBufReadExt, AsyncReadExt};
use pike::pike_core::wire::{
    ChangeNotifyRequest, ChangeNotifyResponse, NtStatus, completion_filter,
};
use pike::{Metadata, OpenOptions, Tree};
use tokio::task::JoinSet;

use crate::Target;
use crate::fail::{FAILURE, Fail, LocalContext, SmbContext, USAGE};
use crate::format;
use crate::progress::Progress;
use crate::remote::Remote;

/// Files up to this size travel in one compound round trip each
/// (`read_bytes`/`write_bytes`), many at a time; larger ones stream one at a time,
/// each keeping the whole credit window busy on its own.
const SMALL_FILE: u64 = 4 << 20;
/// Small-file transfers, listings and deletes in flight at once.
const IN_FLIGHT: usize = 64;
/// Local read/write unit when streaming.
const IO_BUF: usize = 1 << 20;
/// CHANGE_NOTIFY output buffer (well below any server's MaxTransactSize).
const NOTIFY_BUFFER: u32 = 64 * 1024;
/// `watch` has no deadline: the request may wait as long as nothing changes. The
/// library drops the deadline once the server says STATUS_PENDING; this covers the
/// moment before that.
const NO_DEADLINE: Duration = Duration::from_secs(365 * 24 * 3600);

/// `rel` below `base` (both `/`-separated, either may be empty).
fn join(base: &str, rel: &str) -> String {
    match (base.is_empty(), rel.is_empty()) {
        (true, _) => rel.to_owned(),
        (_, true) => base.to_owned(),
        _ => format!("{base}/{rel}"),
    }
}

/// The REMOTE `r` with another share-relative path (for messages).
fn at(r: &Remote, path: &str) -> Remote {
    Remote {
        path: path.to_owned(),
        user: None,
        ..r.clone()
    }
}

/// A library error that came back through `std::io` (AsyncRead/AsyncWrite) keeps its
/// NTSTATUS.
fn from_io(what: impl fmt::Display, e: io::Error) -> Fail {
    let kind = e.kind();
    match e.into_inner().map(|i| i.downcast::<pike::Error>()) {
        Some(Ok(pe)) => Fail::smb(what, *pe),
        Some(Err(other)) => Fail::new(FAILURE, format!("{what}: {other}")),
        None => Fail::new(FAILURE, format!("{what}: {kind}")),
    }
}

/// Writes to stdout; a closed pipe (`pike cat x | head`) ends output quietly.
fn print(s: &[u8]) -> Result<bool, Fail> {
    let mut o = io::stdout().lock();
    match o.write_all(s).and_then(|()| o.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(Fail::local("stdout", e)),
    }
}

/// Runs `f(item)` for every item with at most [`IN_FLIGHT`] at once; stops starting
/// new ones after a failure and reports the first (and how many more failed).
async fn bounded<T, F, Fut>(items: impl IntoIterator<Item = T>, f: F) -> Result<(), Fail>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<(), Fail>> + Send + 'static,
{
    bounded_by(IN_FLIGHT, items, f).await
}

/// [`bounded`] with `limit` at once.
async fn bounded_by<T, F, Fut>(
    limit: usize,
    items: impl IntoIterator<Item = T>,
    mut f: F,
) -> Result<(), Fail>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<(), Fail>> + Send + 'static,
{
    let mut set = JoinSet::new();
    let mut failures = Failures::default();
    for item in items {
        while set.len() >= limit {
            if let Some(r) = set.join_next().await {
                failures.note(r.unwrap_or_else(|j| Err(Failures::internal(j))));
            }
        }
        if failures.any() {
            break;
        }
        set.spawn(f(item));
    }
    while let Some(r) = set.join_next().await {
        failures.note(r.unwrap_or_else(|j| Err(Failures::internal(j))));
    }
    failures.result()
}

/// The first failure of many concurrent ones, and how many more there were.
#[derive(Default)]
struct Failures {
    first: Option<Fail>,
    more: usize,
}

impl Failures {
    fn internal(j: tokio::task::JoinError) -> Fail {
        Fail::new(FAILURE, format!("internal error: {j}"))
    }

    fn note(&mut self, r: Result<(), Fail>) {
        if let Err(e) = r {
            match self.first {
                None => self.first = Some(e),
                Some(_) => self.more += 1,
            }
        }
    }

    fn any(&self) -> bool {
        self.first.is_some()
    }

    fn result(self) -> Result<(), Fail> {
        match self.first {
            None => Ok(()),
            Some(mut e) => {
                if self.more > 0 {
                    e.msg = format!("{} (and {} more failures)", e.msg, self.more);
                }
                Err(e)
            }
        }
    }
}

/// A directory tree below some root: directories and files (with sizes) as
/// `/`-separated paths relative to the root.
#[derive(Debug, Default)]
struct Walk {
    dirs: Vec<String>,
    files: Vec<(String, u64)>,
}

/// Lists `root` and everything below it, [`IN_FLIGHT`] directories at a time. The
/// error names the directory that failed.
async fn walk(tree: &Tree, root: &str) -> Result<Walk, (String, pike::Error)> {
    let mut w = Walk::default();
    let mut queue = vec![String::new()];
    let mut set = JoinSet::new();
    loop {
        while set.len() < IN_FLIGHT {
            let Some(rel) = queue.pop() else { break };
            let p = tree.path(&join(root, &rel));
            set.spawn(async move {
                let r = p.iterdir().await;
                (rel, r)
            });
        }
        let Some(done) = set.join_next().await else {
            return Ok(w);
        };
        let (rel, listed) = done.map_err(|j| {
            (
                root.to_owned(),
                pike::Error::InvalidArgument(format!("internal error: {j}")),
            )
        })?;
        for e in listed.map_err(|e| (join(root, &rel), e))? {
            let child = join(&rel, &e.name);
            if e.metadata.is_dir() {
                // A reparse point may be a link back up the tree: list it, do not enter.
                if e.metadata.file_attributes
                    & pike::pike_core::wire::file_attributes::REPARSE_POINT
                    == 0
                {
                    queue.push(child.clone());
                }
                w.dirs.push(child);
            } else {
                w.files.push((child, e.metadata.len()));
            }
        }
    }
}

pub(crate) async fn ls(tree: &Tree, r: &Remote, json: bool) -> Result<(), Fail> {
    let mut rows: Vec<(String, Metadata)> = if r.name().contains(['*', '?']) {
        let found = tree.root().glob(&r.path).await.smb(r)?;
        found.into_iter().map(|e| (e.name, e.metadata)).collect()
    } else {
        match tree.path(&r.path).iterdir().await {
            Ok(v) => v.into_iter().map(|e| (e.name, e.metadata)).collect(),
            // A file: show it alone, like ls(1).
            Err(e) if e.status() == Some(NtStatus::NOT_A_DIRECTORY) => {
                let m = tree.path(&r.path).stat().await.smb(r)?;
                vec![(r.name().to_owned(), m)]
            }
            Err(e) => return Err(Fail::smb(r, e)),
        }
    };
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    if json {
        let v: Vec<_> = rows.iter().map(|(n, m)| format::entry_json(n, m)).collect();
        out = serde_json::Value::Array(v).to_string();
        out.push('\n');
    } else {
        for (n, m) in &rows {
            out.push_str(&format::ls_line(n, m));
            out.push('\n');
        }
    }
    print(out.as_bytes()).map(drop)
}

pub(crate) async fn stat(tree: &Tree, r: &Remote, json: bool) -> Result<(), Fail> {
    let m = tree.path(&r.path).stat().await.smb(r)?;
    let text = if json {
        let mut v = format::entry_json(r.name(), &m);
        v["path"] = r.to_string().into();
        format!("{v}\n")
    } else {
        format::stat_text(&r.to_string(), &m)
    };
    print(text.as_bytes()).map(drop)
}

pub(crate) async fn cat(tree: &Tree, r: &Remote) -> Result<(), Fail> {
    let mut f = tree.path(&r.path).open("r").await.smb(r)?;
    let mut buf = vec![0u8; IO_BUF];
    loop {
        let n = f.read(&mut buf).await.map_err(|e| from_io(r, e))?;
        if n == 0 || !print(&buf[..n])? {
            break;
        }
    }
    f.close().await.smb(r)
}

/// Streams one remote file into `local` (created or truncated); a partial local file
/// is removed on failure. `counted`: the bar's total already includes this file.
async fn download(
    tree: &Tree,
    shown: &Remote,
    local: &LocalPath,
    progress: &Progress,
    counted: bool,
) -> Result<(), Fail> {
    let mut f = tree.path(&shown.path).open("r").await.smb(shown)?;
    if !counted {
        progress.grow(f.create_response().end_of_file);
    }
    let mut out = std::fs::File::create(local).local(local.display())?;
    let r = async {
        // Each READ's data goes to the local file from where it was received.
        loop {
            let data = f.fill_buf().await.map_err(|e| from_io(shown, e))?;
            if data.is_empty() {
                break;
            }
            let n = data.len();
            out.write_all(data).local(local.display())?;
            f.consume(n);
            progress.add(n as u64);
        }
        Ok(())
    }
    .await;
    let r = match r {
        Ok(()) => f.close().await.smb(shown),
        Err(e) => Err(e), // dropping `f` closes the handle
    };
    if r.is_err() {
        let _ = std::fs::remove_file(local);
    }
    r
}

/// Streams one local file to the remote `shown.path` (created or truncated).
/// `counted`: the bar's total already includes this file.
async fn upload(
    tree: &Tree,
    local: &LocalPath,
    shown: &Remote,
    progress: &Progress,
    counted: bool,
) -> Result<(), Fail> {
    let mut src = std::fs::File::open(local).local(local.display())?;
    if !counted {
        progress.grow(src.metadata().local(local.display())?.len());
    }
    let mut f = tree.path(&shown.path).open("w").await.smb(shown)?;
    loop {
        // Read straight into a WRITE's buffer, which goes out without another copy.
        let mut buf = f.spare_buffer();
        let room = buf.capacity() as u64;
        (&mut src)
            .take(room)
            .read_to_end(&mut buf)
            .local(local.display())?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len() as u64;
        f.write_owned(buf).await.smb(shown)?;
        progress.add(n);
    }
    f.close().await.smb(shown)
}

pub(crate) async fn get(
    conns: &Conns,
    r: &Remote,
    local: Option<PathBuf>,
    recursive: bool,
) -> Result<(), Fail> {
    let tree = &conns.tree;
    if local.as_deref() == Some(LocalPath::new("-")) {
        return cat(tree, r).await;
    }
    if recursive {
        match walk(tree, &r.path).await {
            Ok(w) => return get_tree(conns, r, local, w).await,
            // -r on a file: an ordinary get.
            Err((_, e)) if e.status() == Some(NtStatus::NOT_A_DIRECTORY) => {}
            Err((p, e)) => return Err(Fail::smb(at(r, &p), e)),
        }
    }
    let name = r.name();
    if name.is_empty() {
        return Err(Fail::usage(format!(
            "{r} is the share root: use get -r to download a directory"
        )));
    }
    let dest = match local {
        Some(p) if p.is_dir() => p.join(name),
        Some(p) => p,
        None => PathBuf::from(name),
    };
    let progress = Progress::new(format!("get {name}"), 0);
    download(tree, r, &dest, &progress, false).await?;
    progress.finish();
    Ok(())
}

/// `get -r`: the directory's contents into `local` (created; default ./NAME).
async fn get_tree(conns: &Conns, r: &Remote, local: Option<PathBuf>, w: Walk) -> Result<(), Fail> {
    let tree = &conns.tree;
    let dest = local.unwrap_or_else(|| {
        PathBuf::from(match r.name() {
            "" => r.share.as_str(),
            n => n,
        })
    });
    std::fs::create_dir_all(&dest).local(dest.display())?;
    for d in &w.dirs {
        let p = dest.join(d);
        std::fs::create_dir_all(&p).local(p.display())?;
    }
    let total = w.files.iter().map(|(_, n)| n).sum();
    let progress = Progress::new(format!("get {}", dest.display()), 0);
    progress.grow(total);
    let (small, large): (Vec<_>, Vec<_>) = w.files.into_iter().partition(|(_, n)| *n <= SMALL_FILE);
    conns
        .for_each(small, |tree, (rel, _)| {
            let (shown, progress) = (at(r, &join(&r.path, &rel)), progress.clone());
            let to = dest.join(&rel);
            async move {
                let data = tree.path(&shown.path).read_bytes().await.smb(&shown)?;
                std::fs::write(&to, &data).local(to.display())?;
                progress.add(data.len() as u64);
                Ok(())
            }
        })
        .await?;
    for (rel, _) in large {
        let shown = at(r, &join(&r.path, &rel));
        download(tree, &shown, &dest.join(&rel), &progress, true).await?;
    }
    progress.finish();
    Ok(())
}

pub(crate) async fn put(
    conns: &Conns,
    local: &LocalPath,
    r: &Remote,
    recursive: bool,
) -> Result<(), Fail> {
    let tree = &conns.tree;
    let meta = std::fs::metadata(local).local(local.display())?;
    if meta.is_dir() {
        if !recursive {
            return Err(Fail::usage(format!(
                "{} is a directory: use put -r",
                local.display()
            )));
        }
        return put_tree(conns, local, r).await;
    }
    let name = local
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Fail::usage(format!("{}: no UTF-8 file name", local.display())))?;
    // `put f //h/s/dir` puts dir/f when dir is a directory, like cp(1).
    let into_dir = r.dir_hint || tree.path(&r.path).is_dir().await.smb(r)?;
    let target = if into_dir {
        at(r, &join(&r.path, name))
    } else {
        r.clone()
    };
    let progress = Progress::new(format!("put {name}"), 0);
    upload(tree, local, &target, &progress, false).await?;
    progress.finish();
    Ok(())
}

/// Local files below `root`: directories and files relative to it (`/`-separated).
/// Symbolic links to files are followed; links to directories are skipped (they can
/// loop), as is anything that is neither file nor directory.
fn walk_local(root: &LocalPath) -> Result<Walk, Fail> {
    let mut w = Walk::default();
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        for entry in std::fs::read_dir(&dir).local(dir.display())? {
            let entry = entry.local(dir.display())?;
            let path = entry.path();
            let name = entry
                .file_name()
                .into_string()
                .map_err(|_| Fail::usage(format!("{}: not a UTF-8 name", path.display())))?;
            let child = join(&rel, &name);
            let link = entry.file_type().local(path.display())?.is_symlink();
            let meta = std::fs::metadata(&path).local(path.display())?;
            if meta.is_dir() && !link {
                w.dirs.push(child.clone());
                stack.push(child);
            } else if meta.is_file() {
                w.files.push((child, meta.len()));
            } else {
                eprintln!("pike: skipping {} (not a regular file)", path.display());
            }
        }
    }
    Ok(w)
}

/// `put -r`: the directory's contents into REMOTE (created).
async fn put_tree(conns: &Conns, local: &LocalPath, r: &Remote) -> Result<(), Fail> {
    let tree = &conns.tree;
    let Walk { mut dirs, files } = walk_local(local)?;
    if !r.path.is_empty() {
        tree.path(&r.path).mkdir(true, true).await.smb(r)?;
    }
    // Parents before children: one depth level at a time, each level concurrently.
    dirs.sort_by_key(|d| d.matches('/').count());
    let mut level = Vec::new();
    let mut depth = 0;
    for d in dirs.into_iter().chain([String::new()]) {
        let dd = d.matches('/').count();
        if d.is_empty() || dd != depth {
            bounded(std::mem::take(&mut level), |p: String| {
                let (tree, shown) = (tree.clone(), at(r, &join(&r.path, &p)));
                async move { tree.path(&shown.path).mkdir(false, true).await.smb(&shown) }
            })
            .await?;
            depth = dd;
        }
        if !d.is_empty() {
            level.push(d);
        }
    }
    let total = files.iter().map(|(_, n)| n).sum();
    let progress = Progress::new(format!("put {}", local.display()), 0);
    progress.grow(total);
    let (small, large): (Vec<_>, Vec<_>) = files.into_iter().partition(|(_, n)| *n <= SMALL_FILE);
    conns
        .for_each(small, |tree, (rel, _)| {
            let (shown, progress) = (at(r, &join(&r.path, &rel)), progress.clone());
            let from = local.join(&rel);
            async move {
                let data = std::fs::read(&from).local(from.display())?;
                // CREATE + WRITE + CLOSE as one compound.
                tree.path(&shown.path)
                    .write_bytes(&data)
                    .await
                    .smb(&shown)?;
                progress.add(data.len() as u64);
                Ok(())
            }
        })
        .await?;
    for (rel, _) in large {
        let shown = at(r, &join(&r.path, &rel));
        upload(tree, &local.join(&rel), &shown, &progress, true).await?;
    }
    progress.finish();
    Ok(())
}

/// The connection an operation runs on, and how to open more of them for many small
/// files (`--connections`): Samba serves each connection in one process, so more
/// connections use more server cores.
pub(crate) struct Conns {
    pub(crate) tree: Tree,
    target: Target,
    more: usize,
}

impl Conns {
    /// `tree`, with up to `more` extra connections to `target` when worth it.
    pub(crate) fn new(tree: Tree, target: Target, more: usize) -> Self {
        Self { tree, target, more }
    }

    /// Runs `f(tree, item)` for every item, [`IN_FLIGHT`] at a time per tree. Work
    /// starts at once on this connection; for enough items, extra connections open
    /// meanwhile and join as they come up (one that fails is reported and done
    /// without). Each item goes to the first tree with room, so a faster server
    /// process takes more of them. Stops starting items after a failure, as
    /// [`bounded`].
    async fn for_each<T, F, Fut>(&self, items: Vec<T>, mut f: F) -> Result<(), Fail>
    where
        F: FnMut(Tree, T) -> Fut,
        Fut: Future<Output = Result<(), Fail>> + Send + 'static,
    {
        enum Done {
            Item(usize, Result<(), Fail>),
            Joined(Result<Tree, Fail>),
        }
        let mut set = JoinSet::new();
        if items.len() >= 2 * IN_FLIGHT {
            for _ in 0..self.more {
                let target = self.target.clone();
                set.spawn(async move { Done::Joined(target.connect().await) });
            }
        }
        // Each tree with its items in flight.
        let mut trees = vec![(self.tree.clone(), 0usize)];
        let mut items = items.into_iter().peekable();
        let mut failures = Failures::default();
        loop {
            for (i, (tree, busy)) in trees.iter_mut().enumerate() {
                while *busy < IN_FLIGHT && !failures.any() {
                    let Some(item) = items.next() else { break };
                    *busy += 1;
                    let fut = f(tree.clone(), item);
                    set.spawn(async move { Done::Item(i, fut.await) });
                }
            }
            if (items.peek().is_none() || failures.any()) && trees.iter().all(|(_, n)| *n == 0) {
                // Nothing left to do: connections still coming up are not needed.
                set.abort_all();
            }
            let Some(r) = set.join_next().await else {
                break;
            };
            match r {
                Ok(Done::Item(i, r)) => {
                    trees[i].1 -= 1;
                    failures.note(r);
                }
                Ok(Done::Joined(Ok(t))) => trees.push((t, 0)),
                Ok(Done::Joined(Err(e))) => {
                    eprintln!(
                        "pike: an extra connection failed, going on without it: {}",
                        e.msg
                    );
                }
                Err(j) if j.is_cancelled() => {}
                Err(j) => failures.note(Err(Failures::internal(j))),
            }
        }
        failures.result()
    }
}

pub(crate) async fn mkdir(tree: &Tree, rs: &[Remote], parents: bool) -> Result<(), Fail> {
    for r in rs {
        tree.path(&r.path).mkdir(parents, parents).await.smb(r)?;
    }
    Ok(())
}

pub(crate) async fn rmdir(tree: &Tree, rs: &[Remote]) -> Result<(), Fail> {
    for r in rs {
        tree.path(&r.path).rmdir().await.smb(r)?;
    }
    Ok(())
}

/// Deletes `files` concurrently (one compound round trip each).
async fn unlink_all(
    conns: &Conns,
    r: &Remote,
    files: Vec<String>,
    force: bool,
) -> Result<(), Fail> {
    conns
        .for_each(files, |tree, p| {
            let shown = at(r, &p);
            async move { tree.path(&shown.path).unlink(force).await.smb(&shown) }
        })
        .await
}

pub(crate) async fn rm(
    conns: &Conns,
    rs: &[Remote],
    recursive: bool,
    force: bool,
) -> Result<(), Fail> {
    let tree = &conns.tree;
    if !recursive {
        return unlink_all(
            conns,
            &rs[0],
            rs.iter().map(|r| r.path.clone()).collect(),
            force,
        )
        .await;
    }
    for r in rs {
        if r.path.is_empty() {
            return Err(Fail::new(
                USAGE,
                format!("{r}: refusing to remove a share root"),
            ));
        }
        let w = match walk(tree, &r.path).await {
            Ok(w) => w,
            Err((_, e)) if e.status() == Some(NtStatus::NOT_A_DIRECTORY) => {
                unlink_all(conns, r, vec![r.path.clone()], force).await?;
                continue;
            }
            Err((_, e)) if force && e.is_not_found() => continue,
            Err((p, e)) => return Err(Fail::smb(at(r, &p), e)),
        };
        let files = w
            .files
            .into_iter()
            .map(|(f, _)| join(&r.path, &f))
            .collect();
        unlink_all(conns, r, files, force).await?;
        // Children before parents: deepest level first, each level concurrently.
        let mut dirs = w.dirs;
        dirs.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
        let mut i = 0;
        while i < dirs.len() {
            let depth = dirs[i].matches('/').count();
            let n = dirs[i..]
                .iter()
                .take_while(|d| d.matches('/').count() == depth)
                .count();
            bounded(dirs[i..i + n].to_vec(), |d| {
                let (tree, shown) = (tree.clone(), at(r, &join(&r.path, &d)));
                async move { tree.path(&shown.path).rmdir().await.smb(&shown) }
            })
            .await?;
            i += n;
        }
        tree.path(&r.path).rmdir().await.smb(r)?;
    }
    Ok(())
}

pub(crate) async fn mv(tree: &Tree, r: &Remote, target: &str, force: bool) -> Result<(), Fail> {
    if target.is_empty() || r.path.is_empty() {
        return Err(Fail::usage("mv needs a file or directory on each side"));
    }
    // `mv f dir` moves f into dir, like mv(1).
    let t = at(r, target);
    let target = if tree.path(target).is_dir().await.smb(&t)? {
        join(target, r.name())
    } else {
        target.to_owned()
    };
    let p = tree.path(&r.path);
    let done = if force {
        p.replace(&target).await
    } else {
        p.rename(&target).await
    };
    done.map(drop).smb(format!("{r} -> {}", at(r, &target)))
}

/// FILE_ACTION_* (MS-FSCC 2.7.1) as printed by `watch`.
fn action_name(a: u32) -> String {
    match a {
        1 => "added".into(),
        2 => "removed".into(),
        3 => "modified".into(),
        4 => "renamed-from".into(),
        5 => "renamed-to".into(),
        6 => "stream-added".into(),
        7 => "stream-removed".into(),
        8 => "stream-modified".into(),
        n => format!("action-{n}"),
    }
}

pub(crate) async fn watch(tree: &Tree, r: &Remote, recursive: bool) -> Result<(), Fail> {
    let dir = tree.open(&r.path, &OpenOptions::directory()).await.smb(r)?;
    let filter = completion_filter::FILE_NAME
        | completion_filter::DIR_NAME
        | completion_filter::ATTRIBUTES
        | completion_filter::SIZE
        | completion_filter::LAST_WRITE
        | completion_filter::CREATION;
    let mut announced = false;
    loop {
        let mut req = tree.request(ChangeNotifyRequest {
            flags: if recursive {
                ChangeNotifyRequest::WATCH_TREE
            } else {
                0
            },
            output_buffer_length: NOTIFY_BUFFER,
            file_id: dir.id(),
            completion_filter: filter,
        });
        req.timeout = Some(NO_DEADLINE);
        let mut fut = tree.submit(req).smb(r)?;
        // Say "watching" once the server has queued the request (its interim
        // STATUS_PENDING), so whoever waits for the line misses no change.
        let res = loop {
            if announced {
                break (&mut fut).await;
            }
            match tokio::time::timeout(Duration::from_millis(5), &mut fut).await {
                Ok(res) => break res,
                Err(_) if fut.async_id().is_some() => {
                    eprintln!("pike: watching {r} (Ctrl-C to stop)");
                    announced = true;
                }
                Err(_) => {}
            }
        };
        let mut out = String::new();
        match res {
            Ok(resp) => {
                let status = resp.header.status;
                let body = ChangeNotifyResponse::try_from(resp.body)
                    .map_err(|b| Fail::smb(r, pike::Error::UnexpectedResponse(b.command())))?;
                let entries = body.entries().map_err(|error| {
                    let e = pike::pike_core::RequestError::Decode {
                        command: pike::pike_core::wire::Command::ChangeNotify,
                        error,
                        packet: body.output.clone(),
                    };
                    Fail::smb(r, e.into())
                })?;
                if entries.is_empty() || status == NtStatus::NOTIFY_ENUM_DIR {
                    out.push_str("overflow\t\n");
                }
                for e in entries {
                    let name = e.file_name.replace('\\', "/");
                    out.push_str(&format!("{}\t{name}\n", action_name(e.action)));
                }
            }
            // Too many changes for the buffer: the client must re-list (MS-SMB2 3.3.4.4).
            Err(e) if e.status() == Some(NtStatus::NOTIFY_ENUM_DIR) => {
                out.push_str("overflow\t\n");
            }
            Err(e) => return Err(Fail::smb(r, e.into())),
        }
        if !print(out.as_bytes())? {
            return Ok(());
        }
    }
}
