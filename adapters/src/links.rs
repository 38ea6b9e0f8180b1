//! Symbolic links on a [`Path`]: creating and reading them (FSCTL_SET_REPARSE_POINT,
//! FSCTL_GET_REPARSE_POINT; MS-FSCC 2.1.2.4) and following the ones a server stops on.
//!
//! A Windows server never follows a link for its client: a CREATE through one fails with
//! STATUS_STOPPED_ON_SYMLINK and a Symbolic Link Error Response (MS-SMB2 2.2.2.2.1), and
//! the client opens the path rebuilt from it (MS-SMB2 2.2.2.2.1.1). Servers that follow
//! links themselves (Samba) never stop, and their links look like plain files.

use std::future::Future;

use bytes::Bytes;
use pike_core::RequestError;
use pike_core::wire::{
    Command, FileAttributeTagInformation, FileId, IO_REPARSE_TAG_SYMLINK, IoctlRequest,
    IoctlResponse, NtStatus, QueryInfoRequest, QueryInfoResponse, SymlinkError, SymlinkReparse,
    access, create_options, disposition, file_attributes, fsctl,
};

use crate::client::{decode_error, parse_info, typed};
use crate::path::{create, normalize};
use crate::{Error, Path};

/// How many links one operation follows before giving up with [`Error::TooManyLinks`].
pub const MAX_LINK_HOPS: usize = 10;
/// Largest reparse data buffer (MS-FSA 2.1.5.10.37).
const MAX_REPARSE_BUFFER: u32 = 16 * 1024;

impl Path {
    /// Runs `op` on this path and, each time the server stops on a symbolic link, again
    /// on the path through the link's target: at most [`MAX_LINK_HOPS`] links.
    pub(crate) async fn follow_links<T, F, Fut>(&self, mut op: F) -> Result<T, Error>
    where
        F: FnMut(Self) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let mut path = self.clone();
        for _ in 0..MAX_LINK_HOPS {
            let stop = match op(path.clone()).await {
                Err(Error::Request(RequestError::Status(s)))
                    if s.status == NtStatus::STOPPED_ON_SYMLINK =>
                {
                    s
                }
                r => return r,
            };
            let link = SymlinkError::from_error(&stop.error)
                .map_err(|e| decode_error(Command::Create, e, &stop.error.error_data))?;
            path = self.tree.path(&path.follow(&link)?);
        }
        // The last hop's target is tried too: a chain of exactly MAX_LINK_HOPS resolves.
        match op(path).await {
            Err(e) if e.status() == Some(NtStatus::STOPPED_ON_SYMLINK) => {
                Err(Error::TooManyLinks {
                    path: self.path.clone(),
                })
            }
            r => r,
        }
    }

    /// The path after replacing the link the server stopped on by its target, if it
    /// stays on this tree.
    fn follow(&self, e: &SymlinkError) -> Result<String, Error> {
        let server = self.tree.raw().with(|c| c.config().server_name.clone());
        rebuild(&self.path, e, &server, self.tree.share()).ok_or_else(|| Error::LinkOutsideShare {
            path: self.path.clone(),
            target: e.link.substitute_name.clone(),
        })
    }

    /// Whether it is a symbolic link (reparse tag IO_REPARSE_TAG_SYMLINK); links before
    /// its last component are followed.
    pub async fn is_symlink(&self) -> Result<bool, Error> {
        let tag = self
            .follow_links(|p| async move {
                let c = create(
                    &p.path,
                    access::FILE_READ_ATTRIBUTES,
                    disposition::OPEN,
                    create_options::OPEN_REPARSE_POINT,
                );
                let q =
                    QueryInfoRequest::for_class::<FileAttributeTagInformation>(FileId::RELATED, 64);
                let (_, mut r) = p.tree.open_do_close(c, vec![q.into()]).await?;
                parse_info::<FileAttributeTagInformation>(typed::<QueryInfoResponse>(r.remove(0))?)
            })
            .await;
        match tag {
            Ok(t) => Ok(t.file_attributes & file_attributes::REPARSE_POINT != 0
                && t.reparse_tag == IO_REPARSE_TAG_SYMLINK),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Makes this path a symbolic link to `target` (relative to the link's directory,
    /// same share), with FSCTL_SET_REPARSE_POINT (MS-FSCC 2.3.81).
    pub async fn symlink_to(&self, target: &str) -> Result<(), Error> {
        self.symlink_with(&SymlinkReparse::relative(&target.replace('/', "\\")), false)
            .await
    }

    /// Makes this path a symbolic link with exactly `link`'s names and flags (absolute
    /// targets such as `\??\UNC\server\share\x`, a print name of one's own); a
    /// `directory` link is what Windows clients traverse to a directory. An existing
    /// entry is left alone (STATUS_OBJECT_NAME_COLLISION).
    pub async fn symlink_with(&self, link: &SymlinkReparse, directory: bool) -> Result<(), Error> {
        let kind = if directory {
            create_options::DIRECTORY_FILE
        } else {
            create_options::NON_DIRECTORY_FILE
        };
        let data = link.to_bytes();
        self.follow_links(|p| {
            let data = data.clone();
            async move {
                let c = create(
                    &p.path,
                    access::FILE_WRITE_ATTRIBUTES | access::FILE_WRITE_DATA | access::DELETE,
                    disposition::CREATE,
                    create_options::OPEN_REPARSE_POINT | kind,
                );
                let set =
                    IoctlRequest::fsctl(fsctl::FSCTL_SET_REPARSE_POINT, FileId::RELATED, data, 0);
                // A failed CREATE made nothing; a failed FSCTL leaves an empty entry.
                let (_, mut r) = p.tree.open_do_close_parts(c, vec![set.into()]).await?;
                match r.pop() {
                    Some(Ok(_)) => Ok(()),
                    Some(Err(e)) => {
                        let _ = p.delete(kind).await;
                        Err(e.into())
                    }
                    None => Err(Error::UnexpectedResponse(Command::Ioctl)),
                }
            }
        })
        .await
    }

    /// The target of this symbolic link (FSCTL_GET_REPARSE_POINT); links before its
    /// last component are followed.
    pub async fn readlink(&self) -> Result<SymlinkReparse, Error> {
        self.follow_links(|p| async move {
            let c = create(
                &p.path,
                access::FILE_READ_ATTRIBUTES,
                disposition::OPEN,
                create_options::OPEN_REPARSE_POINT,
            );
            let get = IoctlRequest::fsctl(
                fsctl::FSCTL_GET_REPARSE_POINT,
                FileId::RELATED,
                Bytes::new(),
                MAX_REPARSE_BUFFER,
            );
            let (_, mut r) = p.tree.open_do_close(c, vec![get.into()]).await?;
            let out: IoctlResponse = typed(r.remove(0))?;
            SymlinkReparse::decode(&out.output)
                .map_err(|e| decode_error(Command::Ioctl, e, &out.output))
        })
        .await
    }

    /// The existing path with every symbolic link the server stops on replaced by its
    /// target (at most [`MAX_LINK_HOPS`]). Links the server follows itself are
    /// invisible to clients and stay as they are.
    pub async fn resolve(&self) -> Result<Self, Error> {
        self.follow_links(|p| async move {
            let c = create(&p.path, access::FILE_READ_ATTRIBUTES, disposition::OPEN, 0);
            p.tree.open_do_close(c, vec![]).await?;
            Ok(p)
        })
        .await
    }
}

/// `path` (as sent) with the link the server stopped on replaced by its target
/// (MS-SMB2 2.2.2.2.1.1), or `None` if the target is off `share` on `server`.
fn rebuild(path: &str, e: &SymlinkError, server: &str, share: &str) -> Option<String> {
    let units: Vec<u16> = path.encode_utf16().collect();
    let unparsed = (usize::from(e.unparsed_path_length) / 2).min(units.len());
    let parsed = String::from_utf16_lossy(&units[..units.len() - unparsed]);
    let rest = String::from_utf16_lossy(&units[units.len() - unparsed..]);
    let target = &e.link.substitute_name;
    if !e.link.is_relative() {
        // An absolute target is a path on the server's machine: only a UNC one to this
        // very share can be followed, and the rest of the path goes after it.
        let on_share = unc_on_share(target, server, share)?;
        return Some(normalize(&format!("{on_share}\\{rest}")));
    }
    // A leading `\` is relative to the root (Windows: of the link's volume; the share's
    // root is the nearest root a client sees), else to the link's directory.
    let dir = if target.starts_with('\\') {
        ""
    } else {
        let link = parsed.trim_end_matches('\\');
        link.rsplit_once('\\').map_or("", |(d, _)| d)
    };
    if escapes(dir, target) {
        return None;
    }
    Some(normalize(&format!("{dir}\\{target}\\{rest}")))
}

/// The share-relative part of `target` if it is a UNC path (`\??\UNC\server\share\…`,
/// `\\?\UNC\…` or `\\server\share\…`) to `share` on `server` (names compared as
/// Windows does, case-insensitively).
fn unc_on_share<'a>(target: &'a str, server: &str, share: &str) -> Option<&'a str> {
    let unc = ["\\??\\UNC\\", "\\\\?\\UNC\\", "\\\\"]
        .iter()
        .find_map(|p| target.strip_prefix(p))?;
    let mut parts = unc.splitn(3, '\\');
    let (s, sh) = (parts.next()?, parts.next()?);
    (s.eq_ignore_ascii_case(server) && sh.eq_ignore_ascii_case(share))
        .then(|| parts.next().unwrap_or(""))
}

/// Whether `target`, relative to `dir`, climbs above the share's root with `..`.
fn escapes(dir: &str, target: &str) -> bool {
    let mut depth = dir.split('\\').filter(|c| !c.is_empty()).count();
    for c in target.split('\\') {
        match c {
            "" | "." => {}
            ".." if depth == 0 => return true,
            ".." => depth -= 1,
            _ => depth += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use pike_core::wire::SYMLINK_FLAG_RELATIVE;

    /// The error a server sends for `path` stopping on a link to `target`, with
    /// `unparsed` left after it.
    fn stop(unparsed: &str, target: &str, flags: u32) -> SymlinkError {
        SymlinkError {
            unparsed_path_length: (unparsed.encode_utf16().count() * 2) as u16,
            link: SymlinkReparse {
                substitute_name: target.into(),
                print_name: target.into(),
                flags,
            },
        }
    }

    #[test]
    fn rebuild_replaces_the_link_component() {
        let rel = |path, unparsed, target| {
            rebuild(
                path,
                &stop(unparsed, target, SYMLINK_FLAG_RELATIVE),
                "fs1",
                "data",
            )
        };
        assert_eq!(
            rel("d\\link\\x.txt", "\\x.txt", "real").as_deref(),
            Some("d\\real\\x.txt")
        );
        assert_eq!(rel("d\\link", "", "..\\t").as_deref(), Some("t"));
        assert_eq!(rel("d\\link", "", "\\t\\u").as_deref(), Some("t\\u"));
        // UnparsedPathLength counts UTF-16 units, not bytes of UTF-8.
        assert_eq!(rel("dé\\lïnk\\ü", "\\ü", "é").as_deref(), Some("dé\\é\\ü"));
        assert_eq!(rel("d\\link", "", "..\\..\\t"), None);
        let abs = |path, unparsed, target| rebuild(path, &stop(unparsed, target, 0), "fs1", "data");
        assert_eq!(
            abs("l\\x", "\\x", "\\??\\UNC\\fs1\\data\\a").as_deref(),
            Some("a\\x")
        );
        assert_eq!(abs("l", "", "\\??\\C:\\data\\a"), None);
        assert_eq!(abs("l", "", "\\??\\UNC\\fs1\\other\\a"), None);
    }

    #[test]
    fn unc_targets_on_this_share_only() {
        let on = |t| unc_on_share(t, "fs1", "data");
        assert_eq!(on("\\??\\UNC\\FS1\\Data\\a\\b"), Some("a\\b"));
        assert_eq!(on("\\\\?\\UNC\\fs1\\data\\a"), Some("a"));
        assert_eq!(on("\\\\fs1\\data"), Some(""));
        assert_eq!(on("\\\\fs1\\other\\a"), None);
        assert_eq!(on("\\\\fs2\\data\\a"), None);
        assert_eq!(on("\\??\\C:\\data\\a"), None);
    }

    #[test]
    fn climbing_above_the_root_escapes() {
        assert!(!escapes("d", "..\\t"));
        assert!(escapes("d", "..\\..\\t"));
        assert!(escapes("", "..\\t"));
        assert!(!escapes("", "a\\..\\t"));
    }
}
