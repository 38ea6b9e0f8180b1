//! A pathlib-style API rooted at a tree: `tree.path("a/b.txt")`. Small operations are
//! single round trips (related compounds CREATE → … → CLOSE, MS-SMB2 3.2.4.1.4).

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use pike_core::wire::{
    CloseRequest, Command, CreateRequest, CreateResponse, FileAttributeTagInformation,
    FileBasicInformation, FileDispositionInformation, FileId, FileInfoClass,
    FileInternalInformation, FileRenameInformation, IO_REPARSE_TAG_SYMLINK, InfoBuffer,
    IoctlRequest, IoctlResponse, NtStatus, QueryDirectoryRequest, QueryDirectoryResponse,
    QueryInfoRequest, QueryInfoResponse, ReadRequest, RequestBody, SetInfoRequest, SymlinkError,
    SymlinkReparse, WriteRequest, access, create_options, disposition, file_attributes, fsctl,
    impersonation, share_access,
};
use pike_core::{Compound, RequestError, Response};

use crate::client::{decode_error, parse_info, typed};
use crate::file::read_result;
use crate::{Error, File, Tree};

/// How many links [`Path::resolve`] follows before giving up (as Windows and pike).
const MAX_LINK_HOPS: usize = 10;
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
    tree: Tree,
    path: String,
}

/// Joins and normalizes: `/` → `\`, no empty, `.` or leading separators; `..` pops.
fn normalize(path: &str) -> String {
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
fn create(name: &str, desired_access: u32, disposition: u32, options: u32) -> CreateRequest {
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
    async fn open_do_close_parts(
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

    async fn stat_with(&self, options: u32) -> Result<Metadata, Error> {
        let c = create(
            &self.path,
            access::FILE_READ_ATTRIBUTES,
            disposition::OPEN,
            options,
        );
        let (resp, _) = self.tree.open_do_close(c, vec![]).await?;
        Ok(Metadata::from_create(&resp))
    }

    /// Times, size and attributes (one round trip), following links.
    pub async fn stat(&self) -> Result<Metadata, Error> {
        self.stat_with(0).await
    }

    /// Like [`stat`](Self::stat) but about a link itself.
    pub async fn lstat(&self) -> Result<Metadata, Error> {
        self.stat_with(create_options::OPEN_REPARSE_POINT).await
    }

    /// A typed information class of the entry (MS-FSCC 2.4), in one round trip.
    pub async fn query_info<T: InfoBuffer>(&self) -> Result<T, Error> {
        let c = create(
            &self.path,
            access::FILE_READ_ATTRIBUTES | access::FILE_READ_EA | access::READ_CONTROL,
            disposition::OPEN,
            0,
        );
        let q = QueryInfoRequest::for_class::<T>(FileId::RELATED, DIR_BUFFER);
        let (_, mut r) = self.tree.open_do_close(c, vec![q.into()]).await?;
        parse_info(typed::<QueryInfoResponse>(r.remove(0))?)
    }

    async fn exists_as(&self, want: impl Fn(&Metadata) -> bool) -> Result<bool, Error> {
        match self.stat().await {
            Ok(m) => Ok(want(&m)),
            Err(e) if e.is_not_found() || e.status() == Some(NtStatus::STOPPED_ON_SYMLINK) => {
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

    /// Whether it is a symbolic link (reparse tag IO_REPARSE_TAG_SYMLINK).
    pub async fn is_symlink(&self) -> Result<bool, Error> {
        let c = create(
            &self.path,
            access::FILE_READ_ATTRIBUTES,
            disposition::OPEN,
            create_options::OPEN_REPARSE_POINT,
        );
        let q = QueryInfoRequest::for_class::<FileAttributeTagInformation>(FileId::RELATED, 64);
        match self.tree.open_do_close(c, vec![q.into()]).await {
            Ok((_, mut r)) => {
                let tag: FileAttributeTagInformation =
                    parse_info(typed::<QueryInfoResponse>(r.remove(0))?)?;
                Ok(tag.file_attributes & file_attributes::REPARSE_POINT != 0
                    && tag.reparse_tag == IO_REPARSE_TAG_SYMLINK)
            }
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The entries of this directory (`.` and `..` left out), complete however many.
    pub async fn iterdir(&self) -> Result<Vec<DirEntry>, Error> {
        self.list("*").await
    }

    /// Entries of this directory matching a server-side wildcard (`*`, `?`).
    async fn list(&self, pattern: &str) -> Result<Vec<DirEntry>, Error> {
        let dir = self
            .tree
            .open(&self.path, &OpenOptions::directory())
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
    /// accepts an existing directory.
    pub async fn mkdir(&self, parents: bool, exist_ok: bool) -> Result<(), Error> {
        let c = create(
            &self.path,
            access::FILE_READ_ATTRIBUTES,
            disposition::CREATE,
            create_options::DIRECTORY_FILE,
        );
        match self.tree.open_do_close(c, vec![]).await {
            Ok(_) => Ok(()),
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

    /// Opens with explicit options.
    pub async fn open_with(&self, options: &OpenOptions) -> Result<File, Error> {
        let req = options.create_request(&self.path)?;
        let resp: CreateResponse = self.tree.call(req).await?;
        let mut f = File::new(self.tree.clone(), resp, options.append);
        if options.truncate_after_open {
            f.set_len(0).await?;
        }
        Ok(f)
    }

    /// The whole file. Files that fit one READ take one round trip.
    pub async fn read_bytes(&self) -> Result<Vec<u8>, Error> {
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
        let f = self.open("r").await?;
        let mut out = data.to_vec();
        let rest = (created.end_of_file - data.len() as u64) as usize;
        out.extend_from_slice(&f.read_at(data.len() as u64, rest).await?);
        f.close().await?;
        Ok(out)
    }

    /// Replaces the file's contents (creating it). Small files take one round trip.
    pub async fn write_bytes(&self, data: &[u8]) -> Result<(), Error> {
        let chunk = self
            .tree
            .raw()
            .with(|c| c.max_write_size())
            .clamp(1, 1 << 20);
        if data.len() > chunk {
            let f = self.open("w").await?;
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

    async fn rename_impl(&self, target: &str, replace: bool) -> Result<Self, Error> {
        let target = self.tree.path(target);
        let c = create(
            &self.path,
            access::DELETE | access::FILE_READ_ATTRIBUTES,
            disposition::OPEN,
            0,
        );
        let info = FileRenameInformation {
            replace_if_exists: replace,
            root_directory: 0,
            file_name: target.path.clone(),
        };
        self.tree.open_do_close(c, vec![set_info(&info)]).await?;
        Ok(target)
    }

    /// Renames to `target` (share-relative); fails if it exists.
    pub async fn rename(&self, target: &str) -> Result<Self, Error> {
        self.rename_impl(target, false).await
    }

    /// Renames to `target`, replacing an existing file.
    pub async fn replace(&self, target: &str) -> Result<Self, Error> {
        self.rename_impl(target, true).await
    }

    async fn delete(&self, options: u32) -> Result<(), Error> {
        let c = create(&self.path, access::DELETE, disposition::OPEN, options);
        let info = FileDispositionInformation {
            delete_pending: true,
        };
        self.tree
            .open_do_close(c, vec![set_info(&info)])
            .await
            .map(drop)
    }

    /// Removes this (empty) directory.
    pub async fn rmdir(&self) -> Result<(), Error> {
        self.delete(create_options::DIRECTORY_FILE).await
    }

    /// Removes this file (a link itself, not its target); `missing_ok` ignores a
    /// missing file.
    pub async fn unlink(&self, missing_ok: bool) -> Result<(), Error> {
        let opts = create_options::NON_DIRECTORY_FILE | create_options::OPEN_REPARSE_POINT;
        match self.delete(opts).await {
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
        let c = create(&self.path, access::FILE_WRITE_ATTRIBUTES, disp, 0);
        let now = crate::wall_time().0;
        let info = FileBasicInformation {
            last_write_time: now,
            change_time: now,
            ..Default::default()
        };
        self.tree
            .open_do_close(c, vec![set_info(&info)])
            .await
            .map(drop)
    }

    /// Makes this path a symbolic link to `target` (relative to the link's directory,
    /// same share), with FSCTL_SET_REPARSE_POINT (MS-FSCC 2.3.81).
    pub async fn symlink_to(&self, target: &str) -> Result<(), Error> {
        let c = create(
            &self.path,
            access::FILE_WRITE_ATTRIBUTES | access::FILE_WRITE_DATA | access::DELETE,
            disposition::CREATE,
            create_options::OPEN_REPARSE_POINT | create_options::NON_DIRECTORY_FILE,
        );
        let link = SymlinkReparse::relative(&target.replace('/', "\\"));
        let set = IoctlRequest::fsctl(
            fsctl::FSCTL_SET_REPARSE_POINT,
            FileId::RELATED,
            link.to_bytes(),
            0,
        );
        match self.tree.open_do_close(c, vec![set.into()]).await {
            Ok(_) => Ok(()),
            Err(e) => {
                // Do not leave an empty file where the link should be.
                let _ = self.unlink(true).await;
                Err(e)
            }
        }
    }

    /// The target of this symbolic link (FSCTL_GET_REPARSE_POINT).
    pub async fn readlink(&self) -> Result<SymlinkReparse, Error> {
        let c = create(
            &self.path,
            access::FILE_READ_ATTRIBUTES,
            disposition::OPEN,
            create_options::OPEN_REPARSE_POINT,
        );
        let get = IoctlRequest::fsctl(
            fsctl::FSCTL_GET_REPARSE_POINT,
            FileId::RELATED,
            Bytes::new(),
            16 * 1024,
        );
        let (_, mut r) = self.tree.open_do_close(c, vec![get.into()]).await?;
        let out: IoctlResponse = typed(r.remove(0))?;
        SymlinkReparse::decode(&out.output)
            .map_err(|e| decode_error(Command::Ioctl, e, &out.output))
    }

    /// The path with every symbolic link the server stops on replaced by its target
    /// (STATUS_STOPPED_ON_SYMLINK, MS-SMB2 2.2.2.2.1), at most 10 hops. Links the
    /// server follows itself are invisible to clients and stay as they are.
    pub async fn resolve(&self) -> Result<Self, Error> {
        let mut path = self.path.clone();
        for _ in 0..=MAX_LINK_HOPS {
            let c = create(&path, access::FILE_READ_ATTRIBUTES, disposition::OPEN, 0);
            let err = match self.tree.open_do_close(c, vec![]).await {
                Ok(_) => return Ok(self.tree.path(&path)),
                Err(Error::Request(RequestError::Status(s)))
                    if s.status == NtStatus::STOPPED_ON_SYMLINK =>
                {
                    s
                }
                Err(e) => return Err(e),
            };
            let link = SymlinkError::from_error(&err.error)
                .map_err(|e| decode_error(Command::Create, e, &err.error.error_data))?;
            path = follow(&path, &link)?;
        }
        Err(Error::InvalidArgument(format!(
            "{}: more than {MAX_LINK_HOPS} symbolic links",
            self.path
        )))
    }

    /// Whether both paths name the same file (FILE_INTERNAL_INFORMATION index).
    pub async fn samefile(&self, other: &Self) -> Result<bool, Error> {
        if !self.same_tree(other) {
            return Ok(false);
        }
        let a = self.query_info::<FileInternalInformation>().await?;
        let b = other.query_info::<FileInternalInformation>().await?;
        Ok(a.index_number == b.index_number)
    }
}

/// The path after replacing the link component the server stopped on by its target.
fn follow(path: &str, e: &SymlinkError) -> Result<String, Error> {
    let units: Vec<u16> = path.encode_utf16().collect();
    let unparsed = (e.unparsed_path_length as usize / 2).min(units.len());
    let parsed = String::from_utf16_lossy(&units[..units.len() - unparsed]);
    let rest = String::from_utf16_lossy(&units[units.len() - unparsed..]);
    let link_dir = parsed
        .trim_end_matches('\\')
        .rsplit_once('\\')
        .map_or("", |(d, _)| d);
    let target = &e.link.substitute_name;
    if !e.link.is_relative() {
        return Err(Error::InvalidArgument(format!(
            "{path}: absolute symbolic link to {target} leaves the share"
        )));
    }
    Ok(normalize(&format!("{link_dir}\\{target}\\{rest}")))
}

/// How to open a file, after `std::fs::OpenOptions`.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    directory: bool,
    truncate_after_open: bool,
    /// Extra CreateOptions bits.
    pub create_options: u32,
    /// Extra DesiredAccess bits.
    pub desired_access: u32,
}

impl OpenOptions {
    /// Nothing set (like `std::fs::OpenOptions::new`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Open an existing directory for listing.
    pub fn directory() -> Self {
        Self {
            read: true,
            directory: true,
            ..Self::default()
        }
    }

    /// Python's modes: `r`, `r+`, `w`, `w+`, `x`, `x+`, `a`, `a+` (`b` allowed).
    pub fn from_mode(mode: &str) -> Result<Self, Error> {
        let m: String = mode.chars().filter(|c| *c != 'b').collect();
        let plus = m.ends_with('+');
        let mut o = Self::new();
        match m.trim_end_matches('+') {
            "r" => o.read = true,
            "w" => {
                o.write = true;
                o.create = true;
                o.truncate = true;
            }
            "x" => {
                o.write = true;
                o.create_new = true;
            }
            "a" => {
                o.write = true;
                o.append = true;
                o.create = true;
            }
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "open mode {mode:?}: expected r, w, x or a, optionally with +"
                )));
            }
        }
        if plus {
            o.read = true;
            o.write = true;
        }
        Ok(o)
    }

    /// Read access.
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.read = on;
        self
    }

    /// Write access.
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.write = on;
        self
    }

    /// Writes go to the end of the file.
    pub fn append(&mut self, on: bool) -> &mut Self {
        self.append = on;
        self
    }

    /// Truncate an existing file.
    pub fn truncate(&mut self, on: bool) -> &mut Self {
        self.truncate = on;
        self
    }

    /// Create the file if missing.
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.create = on;
        self
    }

    /// Create the file, failing if it exists.
    pub fn create_new(&mut self, on: bool) -> &mut Self {
        self.create_new = on;
        self
    }

    /// The CREATE request for `path` (MS-SMB2 2.2.13).
    pub fn create_request(&self, path: &str) -> Result<CreateRequest, Error> {
        if !self.read && !self.write && !self.append && self.desired_access == 0 {
            return Err(Error::InvalidArgument(
                "open with neither read nor write".into(),
            ));
        }
        let mut acc = self.desired_access | access::FILE_READ_ATTRIBUTES | access::SYNCHRONIZE;
        if self.read {
            acc |= access::GENERIC_READ;
        }
        if self.write || self.append {
            acc |= access::GENERIC_WRITE;
        }
        let disp = match (self.create_new, self.create, self.truncate) {
            (true, _, _) => disposition::CREATE,
            (false, true, true) => disposition::OVERWRITE_IF,
            (false, true, false) => disposition::OPEN_IF,
            (false, false, true) => disposition::OVERWRITE,
            (false, false, false) => disposition::OPEN,
        };
        let kind = if self.directory {
            create_options::DIRECTORY_FILE
        } else {
            create_options::NON_DIRECTORY_FILE
        };
        Ok(create(
            &normalize(path),
            acc,
            disp,
            kind | self.create_options,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pike_core::wire::SYMLINK_FLAG_RELATIVE;

    #[test]
    fn normalize_paths() {
        assert_eq!(normalize("/a//b/./c/"), "a\\b\\c");
        assert_eq!(normalize("a\\b\\..\\c"), "a\\c");
        assert_eq!(normalize("../.."), "");
    }

    #[test]
    fn modes_map_to_dispositions() {
        let d = |m: &str| {
            OpenOptions::from_mode(m)
                .unwrap()
                .create_request("f")
                .unwrap()
        };
        assert_eq!(d("r").create_disposition, disposition::OPEN);
        assert_eq!(d("rb").create_disposition, disposition::OPEN);
        assert_eq!(d("w").create_disposition, disposition::OVERWRITE_IF);
        assert_eq!(d("x").create_disposition, disposition::CREATE);
        assert_eq!(d("a").create_disposition, disposition::OPEN_IF);
        assert_ne!(d("r+").desired_access & access::GENERIC_WRITE, 0);
        assert_eq!(d("r").desired_access & access::GENERIC_WRITE, 0);
        assert!(OpenOptions::from_mode("q").is_err());
        assert!(OpenOptions::new().create_request("f").is_err());
    }

    #[test]
    fn follow_replaces_the_link_component() {
        let e = |unparsed: &str, target: &str| SymlinkError {
            unparsed_path_length: (unparsed.encode_utf16().count() * 2) as u16,
            link: SymlinkReparse {
                substitute_name: target.into(),
                print_name: target.into(),
                flags: SYMLINK_FLAG_RELATIVE,
            },
        };
        assert_eq!(
            follow("d\\link\\x.txt", &e("\\x.txt", "real")).unwrap(),
            "d\\real\\x.txt"
        );
        assert_eq!(follow("d\\link", &e("", "..\\t")).unwrap(), "t");
        let mut abs = e("", "\\??\\C:\\x");
        abs.link.flags = 0;
        assert!(follow("link", &abs).is_err());
    }

    #[test]
    fn filetimes() {
        assert_eq!(filetime_to_system(0), None);
        let t = filetime_to_system(116_444_736_000_000_000 + 10_000_000).unwrap();
        assert_eq!(t, SystemTime::UNIX_EPOCH + Duration::from_secs(1));
    }
}
