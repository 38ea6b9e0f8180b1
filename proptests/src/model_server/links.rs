//! Symbolic links as Windows keeps them: a reparse point (MS-FSCC 2.1.2.4) on a file or
//! an empty directory, set and read with FSCTL_SET_REPARSE_POINT / FSCTL_GET_REPARSE_POINT
//! (MS-FSCC 2.3.81, 2.3.27; MS-FSA 2.1.5.10.37, 2.1.5.10.14). The server never follows
//! a link: a CREATE whose path runs through one fails with STATUS_STOPPED_ON_SYMLINK and
//! the Symbolic Link Error Response (MS-SMB2 2.2.2.2.1), and the client follows it.

use pike_core::wire::{
    IO_REPARSE_TAG_SYMLINK, IoctlRequest, IoctlResponse, SymlinkError, SymlinkReparse, access,
    completion_filter,
};

use super::fs::action;
use super::*;

/// SMB2_ERROR_ID_DEFAULT (MS-SMB2 2.2.2.1).
const ERROR_ID_DEFAULT: u32 = 0;
/// Largest REPARSE_DATA_BUFFER FSCTL_SET_REPARSE_POINT takes (MS-FSA 2.1.5.10.37).
const MAX_REPARSE_BUFFER: usize = 16 * 1024;
/// ReparseTag, ReparseDataLength and Reserved (MS-FSCC 2.1.2.2).
const REPARSE_HEADER: usize = 8;

impl ModelServer {
    /// The first link on the path of a CREATE of `name`, with the length of the path
    /// after it (MS-SMB2 2.2.2.2.1 UnparsedPathLength: UTF-16 bytes, separator
    /// included). A final-component link opens as itself under FILE_OPEN_REPARSE_POINT;
    /// links among the parents stop the open whatever the options.
    pub(super) fn link_on_path(
        &self,
        name: &str,
        open_reparse_point: bool,
    ) -> Option<SymlinkError> {
        let path = name.trim_start_matches('\\');
        let mut end = 0;
        for component in path.split('\\') {
            end += component.len();
            let last = end == path.len();
            if let Some(link) = self.links.get(&case_key(&path[..end]))
                && !(last && open_reparse_point)
            {
                let unparsed = path[end..].encode_utf16().count() * 2;
                return Some(SymlinkError {
                    unparsed_path_length: u16::try_from(unparsed).unwrap_or(u16::MAX),
                    link: link.clone(),
                });
            }
            end += 1;
        }
        None
    }

    /// STATUS_STOPPED_ON_SYMLINK with its error response: at 3.1.1 inside an error
    /// context (MS-SMB2 2.2.2, 2.2.2.1), else as the ErrorData itself.
    pub(super) fn stopped_on_symlink(&self, stop: &SymlinkError) -> Reply {
        let data = stop.to_bytes();
        let mut r = Reply::err(NtStatus::STOPPED_ON_SYMLINK);
        if self.dialect() == Some(Dialect::Smb311) {
            let mut ctx = Vec::with_capacity(8 + data.len());
            ctx.extend_from_slice(&(data.len() as u32).to_le_bytes());
            ctx.extend_from_slice(&ERROR_ID_DEFAULT.to_le_bytes());
            ctx.extend_from_slice(&data);
            r.error_context_count = 1;
            r.error_data = Some(ctx.into());
        } else {
            r.error_data = Some(data);
        }
        r
    }

    /// FILE_ATTRIBUTE_* of `key`: what SET_INFO stored, its kind, and REPARSE_POINT on a
    /// link (MS-FSCC 2.6).
    pub(super) fn attributes(&self, key: &str, dir: bool, stored: u32) -> u32 {
        let kind = if dir {
            file_attributes::DIRECTORY
        } else {
            file_attributes::ARCHIVE
        };
        stored
            | kind
            | self
                .reparse_tag(key)
                .map_or(0, |_| file_attributes::REPARSE_POINT)
    }

    /// The reparse tag of `key`, if it is a link.
    pub(super) fn reparse_tag(&self, key: &str) -> Option<u32> {
        self.links
            .contains_key(key)
            .then_some(IO_REPARSE_TAG_SYMLINK)
    }

    /// FSCTL_SET_REPARSE_POINT (MS-FSA 2.1.5.10.37, reduced to symbolic links).
    pub(super) fn set_reparse_point(&mut self, fid: FileId, req: &IoctlRequest) -> Reply {
        let Some(open) = self.opens.get(&fid) else {
            return Reply::err(NtStatus::FILE_CLOSED);
        };
        let writes = access::FILE_WRITE_DATA
            | access::FILE_WRITE_ATTRIBUTES
            | access::GENERIC_WRITE
            | access::GENERIC_ALL
            | access::MAXIMUM_ALLOWED;
        if open.access & writes == 0 {
            return Reply::err(NtStatus::ACCESS_DENIED);
        }
        let (key, dir) = (open.name.clone().unwrap_or_default(), open.is_dir);
        let input = &req.input;
        if input.len() < REPARSE_HEADER || input.len() > MAX_REPARSE_BUFFER {
            return Reply::err(NtStatus::IO_REPARSE_DATA_INVALID);
        }
        let tag = u32::from_le_bytes([input[0], input[1], input[2], input[3]]);
        let data_len = usize::from(u16::from_le_bytes([input[4], input[5]]));
        if input.len() != data_len + REPARSE_HEADER {
            return Reply::err(NtStatus::IO_REPARSE_DATA_INVALID);
        }
        if tag != IO_REPARSE_TAG_SYMLINK {
            // The model's object store implements symbolic links only.
            return Reply::err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        let Ok(link) = SymlinkReparse::decode(input) else {
            return Reply::err(NtStatus::IO_REPARSE_DATA_INVALID);
        };
        if key.is_empty() {
            return Reply::err(NtStatus::INVALID_PARAMETER);
        }
        if dir && !self.children(&key).is_empty() {
            return Reply::err(NtStatus::DIRECTORY_NOT_EMPTY);
        }
        self.links.insert(key.clone(), link);
        self.touch(&key);
        self.notify_change(&key, action::MODIFIED, completion_filter::ATTRIBUTES);
        Reply::ok(ioctl_out(req, fid, Bytes::new()))
    }

    /// FSCTL_GET_REPARSE_POINT (MS-FSA 2.1.5.10.14): the REPARSE_DATA_BUFFER, truncated
    /// with STATUS_BUFFER_OVERFLOW past the header when the output buffer is short.
    pub(super) fn get_reparse_point(&mut self, fid: FileId, req: &IoctlRequest) -> Reply {
        let Some(open) = self.opens.get(&fid) else {
            return Reply::err(NtStatus::FILE_CLOSED);
        };
        let key = open.name.clone().unwrap_or_default();
        let Some(link) = self.links.get(&key) else {
            return Reply::err(NtStatus::NOT_A_REPARSE_POINT);
        };
        let buf = link.to_bytes();
        let max = req.max_output_response as usize;
        if max < REPARSE_HEADER {
            return Reply::err(NtStatus::BUFFER_TOO_SMALL);
        }
        if max < buf.len() {
            let mut r = Reply::ok(ioctl_out(req, fid, buf.slice(..max)));
            r.status = NtStatus::BUFFER_OVERFLOW;
            return r;
        }
        Reply::ok(ioctl_out(req, fid, buf))
    }
}

fn ioctl_out(req: &IoctlRequest, fid: FileId, output: Bytes) -> IoctlResponse {
    IoctlResponse {
        ctl_code: req.ctl_code,
        file_id: fid,
        input: Bytes::new(),
        output,
        flags: 0,
    }
}
