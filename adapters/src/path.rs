//! A pathlib-style API rooted at a tree: `tree.path("a/b.txt")`. Small operations are
//! single round trips (related compounds CREATE → … → CLOSE, MS-SMB2 3.2.4.1.4).

//!
//! Symbolic links the server stops on (STATUS_STOPPED_ON_SYMLINK) are followed by the
//! client, as a Windows client does: operations on a link's target follow every link on
//! the path; those on a link itself (`lstat`, `is_symlink`, `readlink`, `unlink`,
//! `rmdir`, `rename`, `symlink_to`, `mkdir`) follow only the links before its last
//! component. See `links.rs`.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use pike_core::wire::{
    CloseRequest, Command, CreateRequest, CreateResponse, FileBasicInformation,
    FileDispositionInformation, FileId, FileInfoClass, FileInternalInformation,
    FileRenameInformation, InfoBuffer, NtStatus, QueryDirectoryRequest, QueryDirectoryResponse,
    QueryInfoRequest, QueryInfoResponse, ReadRequest, RequestBody, SetInfoRequest, WriteRequest,
    access, create_options, disposition, file_attributes, impersonation, share_access,
};
use pike_core::{Compound, RequestError, Response};

use crate::client::{decode_error, parse_info, typed};
use crate::file::read_result;
use crate::{Error, File, OpenOptions, Tree};

/// Output buffer for one QUERY_DIRECTORY.
const DIR_BUFFER: u32 = 64 * 1024;

/// Times, size and attributes of a file or directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// FILETIME (100 ns since 1601).
    pub creation_time: u64,
    /// FILETIME.
    pub last_access_time: u64,
    /// FILETIME.
    pub last_write_time: u64,
    /// FILETIME.
    pub change_time: u64,
    /// Allocated bytes.
    pub allocation_size: u64,
    /// File size in bytes.
    pub end_of_file: u64,
    /// FILE_ATTRIBUTE_* bits (MS-FSCC 2.6).
    pub file_attributes: u32,
}

impl Metadata {
    fn from_create(c: &CreateResponse) -> Self {
        Self {
            creation_time: c.creation_time,
            last_access_time: c.last_access_time,
            last_write_time: c.last_write_time,
            change_time: c.change_time,
            allocation_size: c.allocation_size,
            end_of_file: c.end_of_file,
            file_attributes: c.file_attributes,
        }
    }

    /// File size in bytes.
    pub fn len(&self) -> u64 {
        self.end_of_file
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.end_of_file == 0
    }

    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.file_attributes & file_attributes::DIRECTORY != 0
    }

    /// Whether it is a plain file.
    pub fn is_file(&self) -> bool {
        !self.is_dir()
    }

    /// Whether it has a reparse point (a symbolic link seen with
    /// [`Path::lstat`], MS-FSCC 2.6 FILE_ATTRIBUTE_REPARSE_POINT).
    pub fn is_reparse_point(&self) -> bool {
        self.file_attributes & file_attributes::REPARSE_POINT != 0
    }

    /// Last write time.
    pub fn modified(&self) -> Option<SystemTime> {
        filetime_to_system(self.last_write_time)
    }
}

/// FILETIME → SystemTime (None for 0, "not set").
pub fn filetime_to_system(ft: u64) -> Option<SystemTime> {
    const UNIX_EPOCH_AS_FILETIME: u64 = 116_444_736_000_000_000;
    let since_unix = ft.checked_sub(UNIX_EPOCH_AS_FILETIME)?;
    if ft == 0 {
        return None;
    }
    Some(SystemTime::UNIX_EPOCH + Duration::from_nanos(since_unix.saturating_mul(100)))
}

/// One directory entry from [`Path::iterdir`] or [`Path::glob`].
#[derive(Clone, Debug)]
pub struct DirEntry {
    /// The entry's path.
    pub path: Path,
    /// Its name (last component).
    pub name: String,
    /// Its metadata, from the listing itself.
    pub metadata: Metadata,
}

/// A path on a tree (share-relative, `\`-separated on the wire; `/` accepted).
#[derive(Clone, Debug)]
pub struct Path {
    pub(crate) tree: Tree,
    pub(crate) path: String,
}

/// Joins and normalizes: `/` → `\`, no empty, `.` or leading separators; `..` pops.
pub(crate) fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split(['/', '\\']) {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("\\")
}

/// A CREATE of `name` with full sharing.
pub(crate) fn create(
    name: &str,
    desired_access: u32,
    disposition: u32,
    options: u32,
) -> CreateRequest {
    CreateRequest {
        impersonation_level: impersonation::IMPERSONATION,
        desired_access,
        share_access: share_access::ALL,
        create_disposition: disposition,
        create_options: options,
        name: name.into(),
        ..Default::default()
    }
}

fn set_info<T: InfoBuffer>(info: &T) -> RequestBody {
    SetInfoRequest::new(FileId::RELATED, info).into()
}

impl Tree {
    /// A path on this tree.
    pub fn path(&self, path: &str) -> Path {
        Path {
            tree: self.clone(),
            path: normalize(path),
        }
    }

    /// The share's root directory.
    pub fn root(&self) -> Path {
        self.path("")
    }

    /// CREATE with a caller-built request; the handle closes on drop.
    pub async fn create(&self, req: CreateRequest) -> Result<File, Error> {
        let resp: CreateResponse = self.call(req).await?;
        Ok(File::new(self.clone(), resp, false))
    }

    /// Opens `path` with std-like options.
    pub async fn open(&self, path: &str, options: &OpenOptions) -> Result<File, Error> {
        self.path(path).open_with(options).await
    }

    /// One round trip: CREATE, then `middle` on the new handle, then CLOSE (related
    /// compound). Returns the create response and the middle parts' responses; the
    /// first failure (create first) is the error.
    pub async fn open_do_close(
        &self,
        create: CreateRequest,
        middle: Vec<RequestBody>,
    ) -> Result<(CreateResponse, Vec<Response>), Error> {
        let (created, results) = self.open_do_close_parts(create, middle).await?;
        let out = results.into_iter().collect::<Result<_, _>>()?;
        Ok((created, out))
    }

    /// [`open_do_close`](Self::open_do_close) with each middle part's own result.
    pub(crate) async fn open_do_close_parts(
        &self,
        create: CreateRequest,
        middle: Vec<RequestBody>,
    ) -> Result<(CreateResponse, Vec<Result<Response, RequestError>>), Error> {
        let n = middle.len();
        let mut results = self
            .compound(self.open_do_close_chain(create, middle))
            .await?
            .into_iter();
        let first = results
            .next()
            .ok_or(Error::UnexpectedResponse(Command::Create))?;
        let created: CreateResponse = typed(first?)?;
        // CLOSE errors after a successful CREATE are not the caller's concern.
        Ok((created, results.take(n).collect()))
    }

    /// The related chain CREATE → `middle` (on [`FileId::RELATED`]) → CLOSE, to submit
    /// yourself (e.g. many at once).
    pub fn open_do_close_chain(&self, create: CreateRequest, middle: Vec<RequestBody>) -> Compound {
        let chain = Compound::new().push(self.request(create));
        let chain = middle
            .into_iter()
            .fold(chain, |c, body| c.related(self.request(body)));
        let close = CloseRequest {
            file_id: FileId::RELATED,
            ..Default::default()
        };
        chain.related(self.request(close))
    }
}

impl Path {
    /// The share-relative path (`\`-separated, empty for the root).
    pub fn as_str(&self) -> &str {
        &self.path
    }

    /// The tree.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// `self / other`.
    pub fn join(&self, other: &str) -> Self {
        self.tree.path(&format!("{}\\{other}", self.path))
    }

    /// The last component (empty for the root).
    pub fn name(&self) -> &str {
        self.path.rsplit('\\').next().unwrap_or("")
    }

    /// The containing directory (the root is its own parent).
    pub fn parent(&self) -> Self {
        let p = self.path.rsplit_once('\\').map_or("", |(p, _)| p);
        self.tree.path(p)
    }

    /// Whether the two paths name the same entry in the same tree.
    fn same_tree(&self, other: &Self) -> bool {
        self.tree.id() == other.tree.id() && self.tree.session().id() == other.tree.session().id()
    }

    /// One CREATE → CLOSE of exactly this path (no link followed).
    async fn stat_here(&self, options: u32) -> Result<Metadata, Error> {
        let c = create(
            &self.path,
            access::FILE_READ_ATTRIBUTES,
            disposition::OPEN,
            options,
        );
        let (resp, _) = self.tree.open_do_close(c, vec![]).await?;
        Ok(Metadata::from_create(&resp))
    }

    /// Times, size and attributes (one round trip per link), following links.
    pub async fn stat(&self) -> Result<Metadata, Error> {
        self.follow_links(|p| async move { p.stat_here(0).await })
            .await
    }

    /// Like [`stat`](Self::stat) but about a link itself.
    pub async fn lstat(&self) -> Result<Metadata, Error> {
        let opts = create_options::OPEN_REPARSE_POINT;
        self.follow_links(|p| async move { p.stat_here(opts).await })
            .await
    }

    /// A typed information class of the entry (MS-FSCC 2.4), in one round trip.
    pub async fn query_info<T: InfoBuffer>(&self) -> Result<T, Error> {
        self.follow_links(|p| async move {
            let c = create(
                &p.path,
                access::FILE_READ_ATTRIBUTES | access::FILE_READ_EA | access::READ_CONTROL,
                disposition::OPEN,
                0,
            );
            let q = QueryInfoRequest::for_class::<T>(FileId::RELATED, DIR_BUFFER);
            let (_, mut r) = p.tree.open_do_close(c, vec![q.into()]).await?;
            parse_info(typed::<QueryInfoResponse>(r.remove(0))?)
        })
        .await
    }

    async fn exists_as(&self, want: impl Fn(&Metadata) -> bool) -> Result<bool, Error> {
        match self.stat().await {
            Ok(m) => Ok(want(&m)),
            // Dangling, looping and unreachable links lead nowhere on this tree.
            Err(e)
                if e.is_not_found()
                    || matches!(
                        e,
                        Error::TooManyLinks { .. } | Error::LinkOutsideShare { .. }
                    ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether the entry exists (a dangling link does not).
    pub async fn exists(&self) -> Result<bool, Error> {
        self.exists_as(|_| true).await
    }

    /// Whether it is an existing directory.
    pub async fn is_dir(&self) -> Result<bool, Error> {
        self.exists_as(Metadata::is_dir).await
    }

    /// Whether it is an existing plain file.
    pub async fn is_file(&self) -> Result<bool, Error> {
        self.exists_as(Metadata::is_file).await
    }

    /// The entries of this directory (`.` and `..` left out), complete however many.
    pub async fn iterdir(&self) -> Result<Vec<DirEntry>, Error> {
        self.list("*").await
    }

    /// Entries of this directory matching a server-side wildcard (`*`, `?`); their
    /// paths are under this path even when it runs through links.
    async fn list(&self, pattern: &str) -> Result<Vec<DirEntry>, Error> {
        let dir = self
            .follow_links(|p| async move { p.open_here(&OpenOptions::directory()).await })
            .await?;
        let class = FileInfoClass::IdBothDirectory;
        let mut out = Vec::new();
        let mut flags = QueryDirectoryRequest::RESTART_SCANS;
        loop {
            let req = QueryDirectoryRequest {
                info_class: class,
                flags,
                file_id: dir.id(),
                file_name: pattern.into(),
                output_buffer_length: DIR_BUFFER,
                ..Default::default()
            };
            flags = 0;
            let r: QueryDirectoryResponse = match self.tree.call(req).await {
                Ok(r) => r,
                Err(e) if e.status() == Some(NtStatus::NO_MORE_FILES) => break,
                // A pattern that matches nothing.
                Err(e) if e.status() == Some(NtStatus::NO_SUCH_FILE) && out.is_empty() => break,
                Err(e) => return Err(e),
            };
            let entries = r
                .entries(class)
                .map_err(|e| decode_error(Command::QueryDirectory, e, &r.output))?;
            if entries.is_empty() {
                break;
            }
            for e in entries {
                if e.file_name == "." || e.file_name == ".." {
                    continue;
                }
                out.push(DirEntry {
                    path: self.join(&e.file_name),
                    metadata: Metadata {
                        creation_time: e.creation_time,
                        last_access_time: e.last_access_time,
                        last_write_time: e.last_write_time,
                        change_time: e.change_time,
                        allocation_size: e.allocation_size,
                        end_of_file: e.end_of_file,
                        file_attributes: e.file_attributes,
                    },
                    name: e.file_name,
                });
            }
        }
        dir.close().await?;
        Ok(out)
    }

    /// Entries matching `pattern` below this directory: each `/`-separated component
    /// may hold server-side wildcards (`*`, `?`). `**` is refused.
    pub async fn glob(&self, pattern: &str) -> Result<Vec<DirEntry>, Error> {
        if pattern.contains("**") {
            return Err(Error::InvalidArgument(
                "recursive '**' globs are not supported".into(),
            ));
        }
        let comps: Vec<String> = normalize(pattern).split('\\').map(str::to_owned).collect();
        let mut dirs = vec![self.clone()];
        let mut found = Vec::new();
        for (i, comp) in comps.iter().enumerate() {
            let last = i + 1 == comps.len();
            let mut next = Vec::new();
            for d in &dirs {
                for e in d.list(comp).await? {
                    if last {
                        found.push(e);
                    } else if e.metadata.is_dir() {
                        next.push(e.path);
                    }
                }
            }
            dirs = next;
        }
        Ok(found)
    }

    /// Creates this directory; `parents` creates missing ancestors, `exist_ok`
    /// accepts an existing directory (or a link to one).
    pub async fn mkdir(&self, parents: bool, exist_ok: bool) -> Result<(), Error> {
        let made = self
            .follow_links(|p| async move {
                // A link in the way is an existing entry, not a way to elsewhere.
                let c = create(
                    &p.path,
                    access::FILE_READ_ATTRIBUTES,
                    disposition::CREATE,
                    create_options::DIRECTORY_FILE | create_options::OPEN_REPARSE_POINT,
                );
                p.tree.open_do_close(c, vec![]).await.map(drop)
            })
            .await;
        match made {
            Ok(()) => Ok(()),
            Err(e) if e.status() == Some(NtStatus::OBJECT_NAME_COLLISION) => {
                if exist_ok && self.is_dir().await? {
                    Ok(())
                } else {
                    Err(e)
                }
            }
            Err(e) if parents && e.status() == Some(NtStatus::OBJECT_PATH_NOT_FOUND) => {
                Box::pin(self.parent().mkdir(true, true)).await?;
                Box::pin(self.mkdir(false, exist_ok)).await
            }
            Err(e) => Err(e),
        }
    }

    /// Opens with a Python mode string: `r`, `w`, `x`, `a`, each optionally with `+`
    /// (and `b`, ignored: files are bytes).
    pub async fn open(&self, mode: &str) -> Result<File, Error> {
        self.open_with(&OpenOptions::from_mode(mode)?).await
    }

    /// Opens with explicit options (following links, unless `create_options` has
    /// FILE_OPEN_REPARSE_POINT: then a last-component link opens as itself).
    pub async fn open_with(&self, options: &OpenOptions) -> Result<File, Error> {
        self.follow_links(|p| async move { p.open_here(options).await })
            .await
    }

    async fn open_here(&self, options: &OpenOptions) -> Result<File, Error> {
        let req = options.create_request(&self.path)?;
        let resp: CreateResponse = self.tree.call(req).await?;
        Ok(File::new(self.tree.clone(), resp, options.append))
    }

    /// The whole file. Files that fit one READ take one round trip.
    pub async fn read_bytes(&self) -> Result<Vec<u8>, Error> {
        self.follow_links(|p| async move { p.read_bytes_here().await })
            .await
    }

    async fn read_bytes_here(&self) -> Result<Vec<u8>, Error> {
        let chunk = self
            .tree
            .raw()
            .with(|c| c.max_read_size())
            .clamp(1, 1 << 20);
        let c = create(&self.path, access::GENERIC_READ, disposition::OPEN, 0);
        let read = ReadRequest {
            length: chunk as u32,
            file_id: FileId::RELATED,
            ..Default::default()
        };
        let (created, mut r) = self.tree.open_do_close_parts(c, vec![read.into()]).await?;
        let read = r.pop().ok_or(Error::UnexpectedResponse(Command::Read))?;
        let data = read_result(read)?.unwrap_or_default();
        if (data.len() as u64) >= created.end_of_file {
            return Ok(data.to_vec());
        }
        // Larger than one READ: a pipelined read of the rest on a fresh handle.
        let f = self.open_here(&OpenOptions::from_mode("r")?).await?;
        let mut out = data.to_vec();
        let rest = (created.end_of_file - data.len() as u64) as usize;
        out.extend_from_slice(&f.read_at(data.len() as u64, rest).await?);
        f.close().await?;
        Ok(out)
    }

    /// Replaces the file's contents (creating it). Small files take one round trip.
    pub async fn write_bytes(&self, data: &[u8]) -> Result<(), Error> {
        self.follow_links(|p| async move { p.write_bytes_here(data).await })
            .await
    }

    async fn write_bytes_here(&self, data: &[u8]) -> Result<(), Error> {
        let chunk = self
            .tree
            .raw()
            .with(|c| c.max_write_size())
            .clamp(1, 1 << 20);
        if data.len() > chunk {
            let f = self.open_here(&OpenOptions::from_mode("w")?).await?;
            f.write_at(0, data).await?;
            return f.close().await;
        }
        let c = create(
            &self.path,
            access::GENERIC_WRITE,
            disposition::OVERWRITE_IF,
            create_options::NON_DIRECTORY_FILE,
        );
        let mut middle = Vec::new();
        if !data.is_empty() {
            middle.push(
                WriteRequest {
                    file_id: FileId::RELATED,
                    data: Bytes::copy_from_slice(data),
                    ..Default::default()
                }
                .into(),
            );
        }
        self.tree.open_do_close(c, middle).await.map(drop)
    }

    /// The file as UTF-8 text.
    pub async fn read_text(&self) -> Result<String, Error> {
        String::from_utf8(self.read_bytes().await?)
            .map_err(|_| Error::InvalidArgument(format!("{} is not UTF-8", self.path)))
    }

    /// Replaces the file's contents with `text` (UTF-8).
    pub async fn write_text(&self, text: &str) -> Result<(), Error> {
        self.write_bytes(text.as_bytes()).await
    }

    /// Renames the entry itself (a link, not its target).
    async fn rename_impl(&self, target: &str, replace: bool) -> Result<Self, Error> {
        let target = self.tree.path(target);
        let info = FileRenameInformation {
            replace_if_exists: replace,
            root_directory: 0,
            file_name: target.path.clone(),
        };
        let info = &info;
        self.follow_links(|p| async move {
            let c = create(
                &p.path,
                access::DELETE | access::FILE_READ_ATTRIBUTES,
                disposition::OPEN,
                create_options::OPEN_REPARSE_POINT,
            );
            p.tree
                .open_do_close(c, vec![set_info(info)])
                .await
                .map(drop)
        })
        .await?;
        Ok(target)
    }

    /// Renames to `target` (share-relative); fails if it exists. A link is renamed
    /// itself; links in `target` are not followed.
    pub async fn rename(&self, target: &str) -> Result<Self, Error> {
        self.rename_impl(target, false).await
    }

    /// Renames to `target`, replacing an existing file.
    pub async fn replace(&self, target: &str) -> Result<Self, Error> {
        self.rename_impl(target, true).await
    }

    /// Deletes the entry itself (a link, not its target).
    ///
    /// Files go in one CREATE(DELETE_ON_CLOSE) + CLOSE compound, one operation fewer for
    /// the server than setting FileDispositionInformation; directories keep the
    /// SET_INFO so a non-empty one reports STATUS_DIRECTORY_NOT_EMPTY right there
    /// (MS-FSA 2.1.5.4) rather than staying behind silently at CLOSE.
    pub(crate) async fn delete(&self, options: u32) -> Result<(), Error> {
        let opts = options | create_options::OPEN_REPARSE_POINT;
        let on_close = options & create_options::NON_DIRECTORY_FILE != 0;
        self.follow_links(|p| async move {
            let middle = if on_close {
                vec![]
            } else {
                vec![set_info(&FileDispositionInformation {
                    delete_pending: true,
                })]
            };
            let extra = if on_close {
                create_options::DELETE_ON_CLOSE
            } else {
                0
            };
            let c = create(&p.path, access::DELETE, disposition::OPEN, opts | extra);
            p.tree.open_do_close(c, middle).await.map(drop)
        })
        .await
    }

    /// Removes this (empty) directory, or a directory link itself.
    pub async fn rmdir(&self) -> Result<(), Error> {
        self.delete(create_options::DIRECTORY_FILE).await
    }

    /// Removes this file or link (the link itself, not its target, be it a file or a
    /// directory link); `missing_ok` ignores a missing file.
    pub async fn unlink(&self, missing_ok: bool) -> Result<(), Error> {
        let r = match self.delete(create_options::NON_DIRECTORY_FILE).await {
            // A directory link (Windows `mklink /D`) is a directory with a reparse point.
            Err(e) if e.status() == Some(NtStatus::FILE_IS_A_DIRECTORY) => {
                if self.is_symlink().await? {
                    self.delete(create_options::DIRECTORY_FILE).await
                } else {
                    Err(e)
                }
            }
            r => r,
        };
        match r {
            Err(e) if missing_ok && e.is_not_found() => Ok(()),
            r => r,
        }
    }

    /// Creates the file if missing (unless `exist_ok` is false and it exists), and
    /// sets its last write time to now.
    pub async fn touch(&self, exist_ok: bool) -> Result<(), Error> {
        let disp = if exist_ok {
            disposition::OPEN_IF
        } else {
            disposition::CREATE
        };
        self.follow_links(|p| async move {
            let c = create(&p.path, access::FILE_WRITE_ATTRIBUTES, disp, 0);
            let now = crate::wall_time().0;
            let info = FileBasicInformation {
                last_write_time: now,
                change_time: now,
                ..Default::default()
            };
            p.tree
                .open_do_close(c, vec![set_info(&info)])
                .await
                .map(drop)
        })
        .await
    }

    /// Whether both paths name the same file (FILE_INTERNAL_INFORMATION index),
    /// following links.
    pub async fn samefile(&self, other: &Self) -> Result<bool, Error> {
        if !self.same_tree(other) {
            return Ok(false);
        }
        let a = self.query_info::<FileInternalInformation>().await?;
        let b = other.query_info::<FileInternalInformation>().await?;
        Ok(a.index_number == b.index_number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_paths() {
        assert_eq!(normalize("/a//b/./c/"), "a\\b\\c");
        assert_eq!(normalize("a\\b\\..\\c"), "a\\c");
        assert_eq!(normalize("../.."), "");
    }

    #[test]
    fn filetimes() {
        assert_eq!(filetime_to_system(0), None);
        let t = filetime_to_system(116_444_736_000_000_000 + 10_000_000).unwrap();
        assert_eq!(t, SystemTime::UNIX_EPOCH + Duration::from_secs(1));
    }
}
