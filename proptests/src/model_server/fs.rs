//! The in-memory file system and the file commands: CREATE, CLOSE, FLUSH, READ, WRITE,
//! QUERY_DIRECTORY, QUERY_INFO, SET_INFO and LOCK (MS-SMB2 3.3.5.9 - 3.3.5.21, with the
//! object store behaviour of MS-FSA reduced to what a client can observe).
//!
//! Paths are case-insensitive keys (lower-case, no leading `\`). Directories are the
//! explicit ones created with FILE_DIRECTORY_FILE plus every parent of a stored path, so
//! `dir\a.txt` can be created without creating `dir` first.

use pike_core::wire::{
    CreateContext, DirectoryEntry, FileAccessInformation, FileAlignmentInformation,
    FileAllInformation, FileAllocationInformation, FileAttributeTagInformation,
    FileBasicInformation, FileCompressionInformation, FileDispositionInformation,
    FileEaInformation, FileEndOfFileInformation, FileFsAttributeInformation,
    FileFsDeviceInformation, FileFsFullSizeInformation, FileFsSectorSizeInformation,
    FileFsSizeInformation, FileFsVolumeInformation, FileInfoClass, FileInternalInformation,
    FileModeInformation, FileNameInformation, FileNetworkOpenInformation, FilePositionInformation,
    FileRenameInformation, FileStandardInformation, FileStreamInformation, FsInfoClass, InfoBuffer,
    InfoType, Lease, LockElement, LockRequest, LockResponse, QueryDirectoryRequest,
    QueryDirectoryResponse, QueryInfoRequest, QueryInfoResponse, SetInfoRequest, SetInfoResponse,
    StreamEntry, completion_filter, directory_entry_size, encode_directory,
};

use super::*;

/// FILE_ACTION_* of FILE_NOTIFY_INFORMATION (MS-FSCC 2.7.1).
pub(super) mod action {
    pub(crate) const ADDED: u32 = 1;
    pub(crate) const REMOVED: u32 = 2;
    pub(crate) const MODIFIED: u32 = 3;
    pub(crate) const RENAMED_OLD_NAME: u32 = 4;
    pub(crate) const RENAMED_NEW_NAME: u32 = 5;
}

/// STATUS_INVALID_LOCK_RANGE (MS-ERREF 2.3.1).
const INVALID_LOCK_RANGE: NtStatus = NtStatus(0xC000_01A1);

/// Per-file metadata the model keeps beside the data.
#[derive(Clone, Copy, Debug)]
pub(super) struct Meta {
    pub(super) index: u64,
    pub(super) created: u64,
    pub(super) written: u64,
    pub(super) attributes: u32,
}

/// A QUERY_DIRECTORY enumeration in progress on a directory open (MS-SMB2 3.3.5.18):
/// the matching entries taken when the scan (re)started, and how many were returned.
#[derive(Debug)]
pub(super) struct Listing {
    entries: Vec<DirectoryEntry>,
    next: usize,
}

/// One granted byte-range lock.
#[derive(Clone, Debug)]
pub(super) struct ByteLock {
    pub(super) file: String,
    pub(super) owner: FileId,
    pub(super) offset: u64,
    pub(super) length: u64,
    pub(super) exclusive: bool,
}

impl ByteLock {
    fn overlaps(&self, offset: u64, length: u64) -> bool {
        // Zero-length ranges never conflict (MS-FSA 2.1.4.10).
        length > 0
            && self.length > 0
            && offset <= self.offset + (self.length - 1)
            && self.offset <= offset + (length - 1)
    }
}

/// The parent directory key and the last component of a path key.
pub(super) fn split_parent(key: &str) -> (&str, &str) {
    match key.rfind('\\') {
        Some(i) => (&key[..i], &key[i + 1..]),
        None => ("", key),
    }
}

/// `*` and `?` matching (MS-FSA 2.1.4.4, without the DOS_* wildcards), case-insensitive.
fn wildcard(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) => a == b && go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let n: Vec<char> = name.to_lowercase().chars().collect();
    go(&p, &n)
}

impl ModelServer {
    // ----- the name space -----

    /// Whether `key` names a directory (the root, an explicit one or a parent of a path).
    pub(super) fn is_dir(&self, key: &str) -> bool {
        if key.is_empty() || self.dirs.contains(key) {
            return true;
        }
        let prefix = format!("{key}\\");
        let under = |k: &String| k.starts_with(&prefix);
        self.files.keys().any(under) || self.dirs.iter().any(under)
    }

    /// Direct children of directory `key`: (name, is_dir), sorted.
    pub(super) fn children(&self, key: &str) -> Vec<(String, bool)> {
        let prefix = if key.is_empty() {
            String::new()
        } else {
            format!("{key}\\")
        };
        let mut out: BTreeMap<String, bool> = BTreeMap::new();
        let mut add = |k: &str, dir: bool| {
            if let Some(rest) = k.strip_prefix(&prefix) {
                match rest.split_once('\\') {
                    Some((first, _)) => {
                        out.insert(first.to_owned(), true);
                    }
                    None if !rest.is_empty() => {
                        out.entry(rest.to_owned()).or_insert(dir);
                    }
                    None => {}
                }
            }
        };
        for k in self.files.keys() {
            add(k, false);
        }
        for k in &self.dirs {
            add(k, true);
        }
        out.into_iter().collect()
    }

    pub(super) fn meta(&mut self, key: &str) -> Meta {
        let (time, next) = (self.time, &mut self.next_index);
        *self.meta.entry(key.to_owned()).or_insert_with(|| {
            *next += 1;
            Meta {
                index: *next,
                created: time,
                written: time,
                attributes: 0,
            }
        })
    }

    pub(super) fn touch(&mut self, key: &str) {
        self.meta(key);
        let time = self.time;
        if let Some(m) = self.meta.get_mut(key) {
            m.written = time;
        }
    }

    fn entry_for(&mut self, key: &str, name: &str, dir: bool) -> DirectoryEntry {
        let m = self.meta(key);
        let eof = if dir {
            0
        } else {
            self.files.get(key).map_or(0, |d| d.len() as u64)
        };
        let attrs = self.attributes(key, dir, m.attributes);
        DirectoryEntry {
            file_index: 0,
            creation_time: m.created,
            last_access_time: m.written,
            last_write_time: m.written,
            change_time: m.written,
            end_of_file: eof,
            allocation_size: eof.next_multiple_of(4096),
            file_attributes: attrs,
            // The reparse tag in place of EaSize on a reparse point (MS-FSCC 2.4.17).
            ea_size: self.reparse_tag(key).unwrap_or(0),
            short_name: String::new(),
            file_id: m.index,
            file_name: name.to_owned(),
        }
    }

    /// The open behind `fid` and its path key (`""` for the share root).
    fn open_of(&self, fid: FileId) -> Result<(&Open, String), NtStatus> {
        let o = self.opens.get(&fid).ok_or(NtStatus::FILE_CLOSED)?;
        Ok((o, o.name.clone().unwrap_or_default()))
    }

    // ----- CREATE (MS-SMB2 3.3.5.9) -----

    pub(super) fn create(&mut self, h: &Header, c: &CreateRequest) -> Reply {
        let key = case_key(&c.name);
        let want_dir = c.create_options & create_options::DIRECTORY_FILE != 0;
        let want_file = c.create_options & create_options::NON_DIRECTORY_FILE != 0;
        if want_dir && want_file {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        }
        let open_reparse_point = c.create_options & create_options::OPEN_REPARSE_POINT != 0;
        if let Some(stop) = self.link_on_path(&c.name, open_reparse_point) {
            return self.stopped_on_symlink(&stop);
        }
        if self.delete_pending.contains(&key) {
            return Reply::err(NtStatus::DELETE_PENDING);
        }
        let is_dir = self.is_dir(&key);
        let exists = is_dir || self.files.contains_key(&key);
        let mut action = create_action::OPENED;
        let d = c.create_disposition;
        if is_dir || want_dir {
            if want_file && is_dir {
                return Reply::err(NtStatus::FILE_IS_A_DIRECTORY);
            }
            // Any existing name collides, whatever its kind (MS-FSA 2.1.5.1.2; Windows'
            // CreateDirectory over a file fails with ERROR_ALREADY_EXISTS).
            if d == disposition::CREATE && exists {
                return Reply::err(NtStatus::OBJECT_NAME_COLLISION);
            }
            if want_dir && self.files.contains_key(&key) {
                return Reply::err(NtStatus::NOT_A_DIRECTORY);
            }
            match (d, exists) {
                (disposition::OPEN | disposition::OPEN_IF, true) => {}
                (disposition::CREATE, true) => return Reply::err(NtStatus::OBJECT_NAME_COLLISION),
                (disposition::OPEN, false) => return Reply::err(NtStatus::OBJECT_NAME_NOT_FOUND),
                (disposition::CREATE | disposition::OPEN_IF, false) => {
                    self.dirs.insert(key.clone());
                    self.meta(&key);
                    action = create_action::CREATED;
                    self.notify_change(&key, action::ADDED, completion_filter::DIR_NAME);
                }
                _ => return Reply::err(NtStatus::INVALID_PARAMETER),
            }
        } else {
            match (d, exists) {
                (disposition::SUPERSEDE, true) => {
                    self.files.insert(key.clone(), Vec::new());
                    action = create_action::SUPERSEDED;
                }
                (disposition::OPEN | disposition::OPEN_IF, true) => {}
                (disposition::CREATE, true) => return Reply::err(NtStatus::OBJECT_NAME_COLLISION),
                (disposition::OVERWRITE | disposition::OVERWRITE_IF, true) => {
                    self.files.insert(key.clone(), Vec::new());
                    action = create_action::OVERWRITTEN;
                }
                (disposition::OPEN | disposition::OVERWRITE, false) => {
                    return Reply::err(NtStatus::OBJECT_NAME_NOT_FOUND);
                }
                (
                    disposition::SUPERSEDE
                    | disposition::CREATE
                    | disposition::OPEN_IF
                    | disposition::OVERWRITE_IF,
                    false,
                ) => {
                    self.files.insert(key.clone(), Vec::new());
                    action = create_action::CREATED;
                }
                _ => return Reply::err(NtStatus::INVALID_PARAMETER),
            }
            match action {
                create_action::CREATED => {
                    self.meta.remove(&key);
                    self.notify_change(&key, action::ADDED, completion_filter::FILE_NAME);
                }
                create_action::OPENED => {}
                _ => {
                    self.touch(&key);
                    self.notify_change(&key, action::MODIFIED, completion_filter::SIZE);
                }
            }
        }
        let n = self.next_file;
        self.next_file += 1;
        let fid = FileId {
            persistent: n,
            volatile: n ^ 0x5a5a_0000_0000_0000,
        };
        let (oplock, lease, contexts) = if is_dir || want_dir {
            (oplock_level::NONE, None, Vec::new())
        } else {
            self.grant_caching(&key, c, h.session_id.0)
        };
        let m = self.meta(&key);
        let dir = is_dir || want_dir;
        let eof = if dir {
            0
        } else {
            self.files.get(&key).map_or(0, |d| d.len() as u64)
        };
        let attrs = self.attributes(&key, dir, m.attributes);
        self.opens.insert(
            fid,
            Open {
                name: (!key.is_empty()).then_some(key),
                is_dir: dir,
                session: h.session_id.0,
                tree: h.tree_id.0,
                delete_on_close: c.create_options & create_options::DELETE_ON_CLOSE != 0,
                access: c.desired_access,
                oplock,
                oplock_breaking: None,
                lease,
                listing: None,
            },
        );
        Reply::ok(CreateResponse {
            oplock_level: oplock,
            create_action: action,
            creation_time: m.created,
            last_access_time: m.written,
            last_write_time: m.written,
            change_time: m.written,
            allocation_size: eof.next_multiple_of(4096),
            end_of_file: eof,
            file_attributes: attrs,
            file_id: fid,
            contexts,
            ..CreateResponse::default()
        })
    }

    // ----- CLOSE (MS-SMB2 3.3.5.10) -----

    pub(super) fn close_file(&mut self, fid: FileId, c: &CloseRequest) -> Reply {
        let Some(open) = self.close_open(fid) else {
            return Reply::err(NtStatus::FILE_CLOSED);
        };
        let mut r = CloseResponse::default();
        if c.flags & CloseRequest::POSTQUERY_ATTRIB != 0 {
            let key = open.name.clone().unwrap_or_default();
            // A file deleted on this close reports what it was (Windows does the same).
            let eof = self.files.get(&key).map_or(0, |d| d.len() as u64);
            let m = self.meta(&key);
            r = CloseResponse {
                flags: CloseRequest::POSTQUERY_ATTRIB,
                creation_time: m.created,
                last_access_time: m.written,
                last_write_time: m.written,
                change_time: m.written,
                allocation_size: eof.next_multiple_of(4096),
                end_of_file: eof,
                file_attributes: self.attributes(&key, open.is_dir, m.attributes),
            };
        }
        Reply::ok(r)
    }

    /// Removes an open: its locks go (waking blocked LOCKs), its pending CHANGE_NOTIFYs
    /// and LOCKs complete, and a pending delete happens once the last open goes.
    pub(super) fn close_open(&mut self, fid: FileId) -> Option<Open> {
        let open = self.opens.remove(&fid)?;
        self.cleanup_parked(fid);
        let key = open.name.clone().unwrap_or_default();
        if open.delete_on_close && !key.is_empty() {
            self.delete_pending.insert(key.clone());
        }
        let before = self.locks.len();
        self.locks.retain(|l| l.owner != fid);
        if self.locks.len() != before {
            self.retry_blocked_locks(&key);
        }
        let last = !self.opens.values().any(|o| o.name.as_deref() == Some(&key));
        if last && self.delete_pending.remove(&key) {
            self.delete_path(&key);
        }
        // MS-SMB2 3.3.5.10: the lease goes with the last open that holds it (an open of
        // the file without the lease does not keep it).
        if let Some(lk) = open.lease
            && !self.opens.values().any(|o| o.lease == Some(lk))
        {
            self.leases.remove(&lk);
        }
        Some(open)
    }

    fn delete_path(&mut self, key: &str) {
        let was_dir = self.is_dir(key);
        self.files.remove(key);
        self.dirs.remove(key);
        self.meta.remove(key);
        self.links.remove(key);
        let filter = if was_dir {
            completion_filter::DIR_NAME
        } else {
            completion_filter::FILE_NAME
        };
        self.notify_change(key, action::REMOVED, filter);
    }

    // ----- FLUSH, READ, WRITE (MS-SMB2 3.3.5.11 - 3.3.5.13) -----

    pub(super) fn flush(&mut self, fid: FileId) -> Reply {
        match self.opens.get(&fid) {
            Some(_) => Reply::ok(FlushResponse),
            None => Reply::err(NtStatus::FILE_CLOSED),
        }
    }

    pub(super) fn file_of(&self, fid: FileId) -> Result<String, NtStatus> {
        match self.opens.get(&fid) {
            None => Err(NtStatus::FILE_CLOSED),
            Some(o) if o.is_dir => Err(NtStatus::INVALID_DEVICE_REQUEST),
            Some(o) => Ok(o.name.clone().unwrap_or_default()),
        }
    }

    /// Whether another open's lock forbids this access (MS-FSA 2.1.4.11): writes conflict
    /// with any lock, reads only with exclusive ones.
    pub(super) fn lock_conflict(
        &self,
        key: &str,
        fid: FileId,
        offset: u64,
        len: u64,
        write: bool,
    ) -> bool {
        self.locks.iter().any(|l| {
            l.file == key
                && l.owner != fid
                && (write || l.exclusive)
                && l.overlaps(offset, len.max(1))
        })
    }

    pub(super) fn read(&mut self, fid: FileId, r: &ReadRequest) -> Reply {
        if r.length > self.config.max_read {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        }
        let name = match self.file_of(fid) {
            Ok(n) => n,
            Err(s) => return Reply::err(s),
        };
        if r.length > 0 && self.lock_conflict(&name, fid, r.offset, r.length.into(), false) {
            return Reply::err(NtStatus::FILE_LOCK_CONFLICT);
        }
        let data = self.files.get(&name).map(Vec::as_slice).unwrap_or_default();
        let len = data.len() as u64;
        if r.offset >= len && r.length > 0 {
            return Reply::err(NtStatus::END_OF_FILE);
        }
        let start = r.offset.min(len) as usize;
        let end = (r.offset.saturating_add(u64::from(r.length))).min(len) as usize;
        if ((end - start) as u32) < r.minimum_count {
            return Reply::err(NtStatus::END_OF_FILE);
        }
        Reply::ok(ReadResponse {
            data_remaining: 0,
            flags: 0,
            data: Bytes::copy_from_slice(&data[start..end]),
        })
    }

    pub(super) fn write(&mut self, fid: FileId, w: &WriteRequest) -> Reply {
        if w.data.len() > self.config.max_write as usize {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        }
        let name = match self.file_of(fid) {
            Ok(n) => n,
            Err(s) => return Reply::err(s),
        };
        if self.lock_conflict(&name, fid, w.offset, w.data.len() as u64, true) {
            return Reply::err(NtStatus::FILE_LOCK_CONFLICT);
        }
        let file = self.files.entry(name.clone()).or_default();
        let start = w.offset as usize;
        let end = start + w.data.len();
        let grew = file.len() < end;
        if grew {
            file.resize(end, 0);
        }
        file[start..end].copy_from_slice(&w.data);
        self.touch(&name);
        let filter = completion_filter::LAST_WRITE | if grew { completion_filter::SIZE } else { 0 };
        self.notify_change(&name, action::MODIFIED, filter);
        Reply::ok(WriteResponse {
            count: w.data.len() as u32,
            remaining: 0,
        })
    }

    // ----- QUERY_DIRECTORY (MS-SMB2 3.3.5.18) -----

    pub(super) fn query_directory(&mut self, fid: FileId, q: &QueryDirectoryRequest) -> Reply {
        if q.output_buffer_length > self.config.max_transact {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        }
        let (open, key) = match self.open_of(fid) {
            Ok(x) => x,
            Err(s) => return Reply::err(s),
        };
        if !open.is_dir {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        }
        if directory_entry_size(q.info_class).is_none() {
            return Reply::err(NtStatus::INVALID_INFO_CLASS);
        }
        let restart =
            q.flags & (QueryDirectoryRequest::RESTART_SCANS | QueryDirectoryRequest::REOPEN) != 0;
        let first = open.listing.is_none();
        if restart || first {
            let pattern = if q.file_name.is_empty() {
                "*".to_owned()
            } else {
                q.file_name.clone()
            };
            let mut entries = Vec::new();
            for (name, dir) in [(".", true), ("..", true)] {
                if wildcard(&pattern, name) {
                    let k = if name == "." {
                        key.clone()
                    } else {
                        split_parent(&key).0.to_owned()
                    };
                    entries.push(self.entry_for(&k, name, dir));
                }
            }
            for (name, dir) in self.children(&key) {
                if wildcard(&pattern, &name) {
                    let k = if key.is_empty() {
                        name.clone()
                    } else {
                        format!("{key}\\{name}")
                    };
                    entries.push(self.entry_for(&k, &name, dir));
                }
            }
            let none = entries.is_empty();
            if let Some(o) = self.opens.get_mut(&fid) {
                o.listing = Some(Listing { entries, next: 0 });
            }
            if none {
                // Nothing matched the first search (MS-FSA 2.1.5.6.3).
                return Reply::err(NtStatus::NO_SUCH_FILE);
            }
        }
        // Invariant: the listing was set just above or by an earlier query.
        let listing = self
            .opens
            .get_mut(&fid)
            .and_then(|o| o.listing.as_mut())
            .expect("listing");
        let rest = &listing.entries[listing.next..];
        if rest.is_empty() {
            return Reply::err(NtStatus::NO_MORE_FILES);
        }
        let single = q.flags & QueryDirectoryRequest::RETURN_SINGLE_ENTRY != 0;
        // Entries are 8-byte aligned; the last one is not padded.
        let limit = q.output_buffer_length as usize;
        let mut used = 0usize;
        let mut n = 0usize;
        for e in rest {
            // Invariant: the class was checked above.
            let size = encode_directory(q.info_class, std::slice::from_ref(e))
                .expect("directory class")
                .len();
            let at = used.next_multiple_of(8);
            if at + size > limit {
                break;
            }
            used = at + size;
            n += 1;
            if single {
                break;
            }
        }
        if n == 0 {
            // Not even the first entry fits.
            return Reply::err(NtStatus::INFO_LENGTH_MISMATCH);
        }
        let out = encode_directory(q.info_class, &rest[..n]).expect("directory class");
        listing.next += n;
        Reply::ok(QueryDirectoryResponse {
            output: Bytes::from(out),
        })
    }

    // ----- QUERY_INFO (MS-SMB2 3.3.5.20) -----

    pub(super) fn query_info(&mut self, fid: FileId, q: &QueryInfoRequest) -> Reply {
        if q.output_buffer_length > self.config.max_transact
            || q.input.len() > self.config.max_transact as usize
        {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        }
        let (open, key) = match self.open_of(fid) {
            Ok(x) => x,
            Err(s) => return Reply::err(s),
        };
        let dir = open.is_dir;
        let access = open.access;
        let (out, fixed) = match q.info_type {
            InfoType::File => match self.file_info(&key, dir, access, q.file_info_class) {
                Ok(x) => x,
                Err(s) => return Reply::err(s),
            },
            InfoType::FileSystem => match self.fs_info(q.file_info_class) {
                Ok(x) => x,
                Err(s) => return Reply::err(s),
            },
            InfoType::Security => {
                // A minimal self-relative descriptor: no owner or group, an empty DACL
                // (MS-DTYP 2.4.6). Too small a buffer gets the size needed (3.3.5.20.3).
                let sd = security_descriptor();
                if (q.output_buffer_length as usize) < sd.len() {
                    let mut r = Reply::err(NtStatus::BUFFER_TOO_SMALL);
                    r.error_data = Some(Bytes::copy_from_slice(&(sd.len() as u32).to_le_bytes()));
                    return r;
                }
                return Reply::ok(QueryInfoResponse {
                    output: Bytes::from(sd),
                });
            }
            _ => return Reply::err(NtStatus::NOT_SUPPORTED),
        };
        let limit = q.output_buffer_length as usize;
        if out.len() <= limit {
            return Reply::ok(QueryInfoResponse {
                output: Bytes::from(out),
            });
        }
        // Fixed-size classes need the whole buffer; variable ones return what fits
        // with STATUS_BUFFER_OVERFLOW (MS-FSA 2.1.5.11).
        if limit < fixed {
            return Reply::err(NtStatus::INFO_LENGTH_MISMATCH);
        }
        let mut r = Reply::ok(QueryInfoResponse {
            output: Bytes::copy_from_slice(&out[..limit]),
        });
        r.status = NtStatus::BUFFER_OVERFLOW;
        r
    }

    /// The encoded buffer and the size of its fixed part.
    fn file_info(
        &mut self,
        key: &str,
        dir: bool,
        access: u32,
        class: u8,
    ) -> Result<(Vec<u8>, usize), NtStatus> {
        let m = self.meta(key);
        let eof = if dir {
            0
        } else {
            self.files.get(key).map_or(0, |d| d.len() as u64)
        };
        let attrs = self.attributes(key, dir, m.attributes);
        let basic = FileBasicInformation {
            creation_time: m.created,
            last_access_time: m.written,
            last_write_time: m.written,
            change_time: m.written,
            file_attributes: attrs,
        };
        let standard = FileStandardInformation {
            allocation_size: eof.next_multiple_of(4096),
            end_of_file: eof,
            number_of_links: 1,
            delete_pending: self.delete_pending.contains(key),
            directory: dir,
        };
        let name = FileNameInformation {
            file_name: format!("\\{key}"),
        };
        let bytes = |v: &dyn Fn(&mut Vec<u8>)| {
            let mut out = Vec::new();
            v(&mut out);
            out
        };
        Ok(match FileInfoClass::from_code(class) {
            FileInfoClass::Basic => (bytes(&|o| basic.encode(o)), FileBasicInformation::SIZE),
            FileInfoClass::Standard => (
                bytes(&|o| standard.encode(o)),
                FileStandardInformation::SIZE,
            ),
            FileInfoClass::Internal => (
                bytes(&|o| {
                    FileInternalInformation {
                        index_number: m.index,
                    }
                    .encode(o)
                }),
                FileInternalInformation::SIZE,
            ),
            FileInfoClass::Ea => (
                bytes(&|o| FileEaInformation { ea_size: 0 }.encode(o)),
                FileEaInformation::SIZE,
            ),
            FileInfoClass::Access => (
                bytes(&|o| {
                    FileAccessInformation {
                        access_flags: access,
                    }
                    .encode(o)
                }),
                FileAccessInformation::SIZE,
            ),
            FileInfoClass::Position => (
                bytes(&|o| FilePositionInformation::default().encode(o)),
                FilePositionInformation::SIZE,
            ),
            FileInfoClass::Mode => (
                bytes(&|o| FileModeInformation::default().encode(o)),
                FileModeInformation::SIZE,
            ),
            FileInfoClass::Alignment => (
                bytes(&|o| FileAlignmentInformation::default().encode(o)),
                FileAlignmentInformation::SIZE,
            ),
            FileInfoClass::Name => (bytes(&|o| name.encode(o)), 4),
            FileInfoClass::All => {
                let all = FileAllInformation {
                    basic,
                    standard,
                    internal: FileInternalInformation {
                        index_number: m.index,
                    },
                    access: FileAccessInformation {
                        access_flags: access,
                    },
                    name: name.clone(),
                    ..FileAllInformation::default()
                };
                // Everything but the name's characters.
                (bytes(&|o| all.encode(o)), 100)
            }
            FileInfoClass::NetworkOpen => (
                bytes(&|o| {
                    FileNetworkOpenInformation {
                        creation_time: m.created,
                        last_access_time: m.written,
                        last_write_time: m.written,
                        change_time: m.written,
                        allocation_size: eof.next_multiple_of(4096),
                        end_of_file: eof,
                        file_attributes: attrs,
                    }
                    .encode(o)
                }),
                FileNetworkOpenInformation::SIZE,
            ),
            FileInfoClass::AttributeTag => (
                bytes(&|o| {
                    FileAttributeTagInformation {
                        file_attributes: attrs,
                        reparse_tag: self.reparse_tag(key).unwrap_or(0),
                    }
                    .encode(o)
                }),
                FileAttributeTagInformation::SIZE,
            ),
            FileInfoClass::Compression => (
                bytes(&|o| {
                    FileCompressionInformation {
                        compressed_file_size: eof,
                        ..FileCompressionInformation::default()
                    }
                    .encode(o)
                }),
                FileCompressionInformation::SIZE,
            ),
            FileInfoClass::Stream => {
                // A directory has no unnamed data stream.
                let entries = if dir {
                    Vec::new()
                } else {
                    vec![StreamEntry {
                        stream_name: "::$DATA".into(),
                        stream_size: eof,
                        stream_allocation_size: eof.next_multiple_of(4096),
                    }]
                };
                (
                    bytes(&|o| {
                        FileStreamInformation {
                            entries: entries.clone(),
                        }
                        .encode(o)
                    }),
                    24,
                )
            }
            _ => return Err(NtStatus::INVALID_INFO_CLASS),
        })
    }

    fn fs_info(&self, class: u8) -> Result<(Vec<u8>, usize), NtStatus> {
        let mut out = Vec::new();
        let used: u64 = self.files.values().map(|d| d.len() as u64).sum();
        let total = 1u64 << 20; // allocation units of 4 KiB: a 4 GiB volume
        let free = total.saturating_sub(used.div_ceil(4096));
        let fixed = match FsInfoClass::from_code(class) {
            FsInfoClass::Volume => {
                FileFsVolumeInformation {
                    volume_creation_time: 0x01d0_0000_0000_0000,
                    volume_serial_number: 0x5eed_f00d,
                    supports_objects: false,
                    volume_label: "model".into(),
                }
                .encode(&mut out);
                18
            }
            FsInfoClass::Size => {
                FileFsSizeInformation {
                    total_allocation_units: total,
                    available_allocation_units: free,
                    sectors_per_allocation_unit: 8,
                    bytes_per_sector: 512,
                }
                .encode(&mut out);
                FileFsSizeInformation::SIZE
            }
            FsInfoClass::FullSize => {
                FileFsFullSizeInformation {
                    total_allocation_units: total,
                    caller_available_allocation_units: free,
                    actual_available_allocation_units: free,
                    sectors_per_allocation_unit: 8,
                    bytes_per_sector: 512,
                }
                .encode(&mut out);
                FileFsFullSizeInformation::SIZE
            }
            FsInfoClass::Device => {
                // FILE_DEVICE_DISK (MS-FSCC 2.5.10).
                FileFsDeviceInformation {
                    device_type: 0x07,
                    characteristics: 0,
                }
                .encode(&mut out);
                FileFsDeviceInformation::SIZE
            }
            FsInfoClass::Attribute => {
                // FILE_CASE_PRESERVED_NAMES | FILE_UNICODE_ON_DISK.
                FileFsAttributeInformation {
                    file_system_attributes: 0x2 | 0x4,
                    maximum_component_name_length: 255,
                    file_system_name: "MODELFS".into(),
                }
                .encode(&mut out);
                12
            }
            FsInfoClass::SectorSize => {
                FileFsSectorSizeInformation {
                    logical_bytes_per_sector: 512,
                    physical_bytes_per_sector_for_atomicity: 4096,
                    physical_bytes_per_sector_for_performance: 4096,
                    file_system_effective_physical_bytes_per_sector_for_atomicity: 4096,
                    ..FileFsSectorSizeInformation::default()
                }
                .encode(&mut out);
                FileFsSectorSizeInformation::SIZE
            }
            _ => return Err(NtStatus::INVALID_INFO_CLASS),
        };
        Ok((out, fixed))
    }

    // ----- SET_INFO (MS-SMB2 3.3.5.21) -----

    pub(super) fn set_info(&mut self, fid: FileId, s: &SetInfoRequest) -> Reply {
        if s.buffer.len() > self.config.max_transact as usize {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        }
        let (open, key) = match self.open_of(fid) {
            Ok(x) => x,
            Err(st) => return Reply::err(st),
        };
        let dir = open.is_dir;
        if s.info_type != InfoType::File {
            return Reply::err(NtStatus::NOT_SUPPORTED);
        }
        let status = match FileInfoClass::from_code(s.file_info_class) {
            FileInfoClass::Basic => match FileBasicInformation::decode(&s.buffer) {
                Ok(b) => {
                    self.meta(&key);
                    if let Some(m) = self.meta.get_mut(&key) {
                        // 0 leaves a time unchanged, -1 too (MS-FSCC 2.4.7).
                        let set = |t: u64, v: &mut u64| {
                            if t != 0 && t != u64::MAX {
                                *v = t;
                            }
                        };
                        set(b.creation_time, &mut m.created);
                        set(b.last_write_time, &mut m.written);
                        if b.file_attributes != 0 {
                            // Kind and reparse point are not attributes one sets.
                            m.attributes = b.file_attributes
                                & !(file_attributes::DIRECTORY
                                    | file_attributes::ARCHIVE
                                    | file_attributes::REPARSE_POINT);
                        }
                    }
                    self.notify_change(&key, action::MODIFIED, completion_filter::ATTRIBUTES);
                    NtStatus::SUCCESS
                }
                Err(_) => NtStatus::INFO_LENGTH_MISMATCH,
            },
            FileInfoClass::EndOfFile => match FileEndOfFileInformation::decode(&s.buffer) {
                Ok(_) if dir => NtStatus::INVALID_PARAMETER,
                Ok(e) if e.end_of_file > u64::from(u32::MAX) => NtStatus::DISK_FULL,
                Ok(e) => {
                    self.resize(&key, e.end_of_file as usize);
                    NtStatus::SUCCESS
                }
                Err(_) => NtStatus::INFO_LENGTH_MISMATCH,
            },
            FileInfoClass::Allocation => match FileAllocationInformation::decode(&s.buffer) {
                Ok(_) if dir => NtStatus::INVALID_PARAMETER,
                Ok(a) => {
                    // Allocating less than the end of file truncates (MS-FSA 2.1.5.15.1).
                    let eof = self.files.get(&key).map_or(0, Vec::len) as u64;
                    if a.allocation_size < eof {
                        self.resize(&key, a.allocation_size as usize);
                    }
                    NtStatus::SUCCESS
                }
                Err(_) => NtStatus::INFO_LENGTH_MISMATCH,
            },
            FileInfoClass::Disposition => match FileDispositionInformation::decode(&s.buffer) {
                Ok(_) if key.is_empty() => NtStatus::CANNOT_DELETE,
                Ok(d) if d.delete_pending && dir && !self.children(&key).is_empty() => {
                    NtStatus::DIRECTORY_NOT_EMPTY
                }
                Ok(d) => {
                    if d.delete_pending {
                        self.delete_pending.insert(key);
                    } else {
                        self.delete_pending.remove(&key);
                    }
                    NtStatus::SUCCESS
                }
                Err(_) => NtStatus::INFO_LENGTH_MISMATCH,
            },
            FileInfoClass::Rename => match FileRenameInformation::decode(&s.buffer) {
                Ok(r) => self.rename(&key, dir, &r),
                Err(_) => NtStatus::INFO_LENGTH_MISMATCH,
            },
            FileInfoClass::Position | FileInfoClass::Mode => NtStatus::SUCCESS,
            FileInfoClass::Link | FileInfoClass::FullEa => NtStatus::NOT_SUPPORTED,
            _ => NtStatus::INVALID_INFO_CLASS,
        };
        if status == NtStatus::SUCCESS {
            Reply::ok(SetInfoResponse)
        } else {
            Reply::err(status)
        }
    }

    fn resize(&mut self, key: &str, len: usize) {
        let file = self.files.entry(key.to_owned()).or_default();
        file.resize(len, 0);
        self.touch(key);
        self.notify_change(key, action::MODIFIED, completion_filter::SIZE);
    }

    /// FileRenameInformation (MS-FSA 2.1.5.15.14 reduced): the target is share-relative.
    fn rename(&mut self, key: &str, dir: bool, r: &FileRenameInformation) -> NtStatus {
        let target = case_key(&r.file_name);
        if key.is_empty() || target.is_empty() {
            return NtStatus::ACCESS_DENIED;
        }
        if target == key {
            return NtStatus::SUCCESS;
        }
        if dir && target.starts_with(&format!("{key}\\")) {
            return NtStatus::INVALID_PARAMETER;
        }
        // The server follows no link, in a rename target either; one in the target's
        // place is replaced like a file.
        if self.link_on_path(&r.file_name, true).is_some() {
            return NtStatus::OBJECT_PATH_NOT_FOUND;
        }
        let target_is_dir = self.is_dir(&target);
        if target_is_dir || self.files.contains_key(&target) {
            if !r.replace_if_exists {
                return NtStatus::OBJECT_NAME_COLLISION;
            }
            let busy = self
                .opens
                .values()
                .any(|o| o.name.as_deref() == Some(&target));
            if target_is_dir || busy {
                return NtStatus::ACCESS_DENIED;
            }
            self.files.remove(&target);
            self.meta.remove(&target);
            self.links.remove(&target);
        }
        // Move the entry (and, for a directory, everything under it) and its opens.
        let moved = |k: &str| -> Option<String> {
            if k == key {
                Some(target.clone())
            } else {
                k.strip_prefix(&format!("{key}\\"))
                    .map(|rest| format!("{target}\\{rest}"))
            }
        };
        let files: Vec<String> = self
            .files
            .keys()
            .filter_map(|k| moved(k).map(|_| k.clone()))
            .collect();
        for k in files {
            // Invariant: the key was listed just above.
            let data = self.files.remove(&k).expect("listed");
            let to = moved(&k).expect("listed");
            self.files.insert(to, data);
        }
        let dirs: Vec<String> = self
            .dirs
            .iter()
            .filter(|k| moved(k).is_some())
            .cloned()
            .collect();
        for k in dirs {
            self.dirs.remove(&k);
            self.dirs.insert(moved(&k).expect("listed"));
        }
        let metas: Vec<String> = self
            .meta
            .keys()
            .filter(|k| moved(k).is_some())
            .cloned()
            .collect();
        for k in metas {
            let m = self.meta.remove(&k).expect("listed");
            self.meta.insert(moved(&k).expect("listed"), m);
        }
        let links: Vec<String> = self
            .links
            .keys()
            .filter(|k| moved(k).is_some())
            .cloned()
            .collect();
        for k in links {
            let l = self.links.remove(&k).expect("listed");
            self.links.insert(moved(&k).expect("listed"), l);
        }
        for o in self.opens.values_mut() {
            if let Some(to) = o.name.as_deref().and_then(moved) {
                o.name = Some(to);
            }
        }
        for l in &mut self.locks {
            if let Some(to) = moved(&l.file) {
                l.file = to;
            }
        }
        if self.delete_pending.remove(key) {
            self.delete_pending.insert(target.clone());
        }
        let filter = if dir {
            completion_filter::DIR_NAME
        } else {
            completion_filter::FILE_NAME
        };
        // Both names in one response (MS-FSCC 2.7.1).
        let changes = [
            (key.to_owned(), action::RENAMED_OLD_NAME),
            (target, action::RENAMED_NEW_NAME),
        ];
        self.notify_changes(&changes, filter);
        NtStatus::SUCCESS
    }

    // ----- LOCK (MS-SMB2 3.3.5.14) -----

    pub(super) fn lock(&mut self, fid: FileId, l: &LockRequest) -> Reply {
        let key = match self.file_of(fid) {
            Ok(k) => k,
            Err(NtStatus::INVALID_DEVICE_REQUEST) => {
                return Reply::err(NtStatus::INVALID_PARAMETER);
            }
            Err(s) => return Reply::err(s),
        };
        let Some(first) = l.locks.first() else {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        };
        if first.flags & LockElement::UNLOCK != 0 {
            // 3.3.5.14.1: a series of unlocks; done ones are not rolled back.
            for e in &l.locks {
                if e.flags & !LockElement::FAIL_IMMEDIATELY != LockElement::UNLOCK {
                    return Reply::err(NtStatus::INVALID_PARAMETER);
                }
                let pos = self.locks.iter().position(|x| {
                    x.owner == fid && x.file == key && x.offset == e.offset && x.length == e.length
                });
                match pos {
                    Some(i) => drop(self.locks.remove(i)),
                    None => {
                        self.retry_blocked_locks(&key);
                        return Reply::err(NtStatus::RANGE_NOT_LOCKED);
                    }
                }
            }
            self.retry_blocked_locks(&key);
            return Reply::ok(LockResponse);
        }
        // 3.3.5.14.2: more than one element must all fail immediately.
        let all_immediate = l
            .locks
            .iter()
            .all(|e| e.flags & LockElement::FAIL_IMMEDIATELY != 0);
        if l.locks.len() > 1 && !all_immediate {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        }
        for (granted, e) in l.locks.iter().enumerate() {
            let kind = e.flags & !LockElement::FAIL_IMMEDIATELY;
            if kind != LockElement::SHARED && kind != LockElement::EXCLUSIVE {
                self.unlock_last(fid, granted);
                return Reply::err(NtStatus::INVALID_PARAMETER);
            }
            if e.length > 0 && e.offset.checked_add(e.length - 1).is_none() {
                self.unlock_last(fid, granted);
                return Reply::err(INVALID_LOCK_RANGE);
            }
            let exclusive = kind == LockElement::EXCLUSIVE;
            if self.lock_blocked(&key, e.offset, e.length, exclusive) {
                if e.flags & LockElement::FAIL_IMMEDIATELY != 0 {
                    // Locks taken by this request are released again.
                    self.unlock_last(fid, granted);
                    return Reply::err(NtStatus::LOCK_NOT_GRANTED);
                }
                // A blocking lock waits (MS-SMB2 3.3.4.2: go async).
                let mut r = Reply::err(NtStatus::PENDING);
                r.park = Some(Waiting::Lock { fid, element: *e });
                return r;
            }
            self.locks.push(ByteLock {
                file: key.clone(),
                owner: fid,
                offset: e.offset,
                length: e.length,
                exclusive,
            });
        }
        Reply::ok(LockResponse)
    }

    /// Whether a lock of this kind on the range conflicts with any granted lock.
    pub(super) fn lock_blocked(
        &self,
        key: &str,
        offset: u64,
        length: u64,
        exclusive: bool,
    ) -> bool {
        self.locks
            .iter()
            .any(|l| l.file == key && (l.exclusive || exclusive) && l.overlaps(offset, length))
    }

    /// Releases the last `n` locks `fid` took (a failed multi-element request).
    fn unlock_last(&mut self, fid: FileId, mut n: usize) {
        while n > 0 {
            if let Some(i) = self.locks.iter().rposition(|l| l.owner == fid) {
                self.locks.remove(i);
            }
            n -= 1;
        }
    }

    /// Grants a blocked lock, if it can be granted now.
    pub(super) fn try_grant(&mut self, fid: FileId, e: &LockElement) -> bool {
        let Ok(key) = self.file_of(fid) else {
            return false;
        };
        let exclusive = e.flags & LockElement::EXCLUSIVE != 0;
        if self.lock_blocked(&key, e.offset, e.length, exclusive) {
            return false;
        }
        self.locks.push(ByteLock {
            file: key,
            owner: fid,
            offset: e.offset,
            length: e.length,
            exclusive,
        });
        true
    }
}

/// A self-relative SECURITY_DESCRIPTOR with an empty DACL (MS-DTYP 2.4.6, 2.4.5).
fn security_descriptor() -> Vec<u8> {
    let mut sd = Vec::with_capacity(28);
    sd.extend_from_slice(&[1, 0]); // Revision, Sbz1
    sd.extend_from_slice(&0x8004u16.to_le_bytes()); // SE_SELF_RELATIVE | SE_DACL_PRESENT
    sd.extend_from_slice(&[0; 12]); // OffsetOwner, OffsetGroup, OffsetSacl
    sd.extend_from_slice(&20u32.to_le_bytes()); // OffsetDacl
    sd.extend_from_slice(&[2, 0]); // AclRevision, Sbz1
    sd.extend_from_slice(&8u16.to_le_bytes()); // AclSize
    sd.extend_from_slice(&[0; 4]); // AceCount, Sbz2
    sd
}

/// Create contexts the server understands, for [`ModelServer::grant_caching`].
pub(super) fn lease_request(contexts: &[CreateContext]) -> Option<(Lease, bool)> {
    use pike_core::wire::RequestContext;
    contexts
        .iter()
        .filter_map(|c| RequestContext::from_context(c).ok())
        .find_map(|c| match c {
            RequestContext::Lease(l) => Some((l, false)),
            RequestContext::LeaseV2(l) => Some((
                Lease {
                    lease_key: l.lease_key,
                    lease_state: l.lease_state,
                    lease_flags: l.lease_flags,
                    lease_duration: l.lease_duration,
                },
                true,
            )),
            _ => None,
        })
}
