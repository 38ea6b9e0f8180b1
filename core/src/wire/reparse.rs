//! Symbolic links: the reparse data buffer (MS-FSCC 2.1.2.4) and the symbolic link
//! error response (MS-SMB2 2.2.2.2.1) a server returns with STATUS_STOPPED_ON_SYMLINK.

use bytes::{BufMut, Bytes};

use super::info::Reader;
use super::{DecodeError, ErrorResponse, from_utf16le, len16, len32, utf16le};

/// IO_REPARSE_TAG_SYMLINK (MS-FSCC 2.1.2.1).
pub const IO_REPARSE_TAG_SYMLINK: u32 = 0xA000_000C;
/// SYMLINK_FLAG_RELATIVE (MS-FSCC 2.1.2.4): the substitute name is relative to the link.
pub const SYMLINK_FLAG_RELATIVE: u32 = 0x0000_0001;
/// SymLinkErrorTag "SYML" (MS-SMB2 2.2.2.2.1).
const SYMLINK_ERROR_TAG: u32 = 0x4C4D_5953;

/// A symbolic link's target, as stored in its reparse point.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SymlinkReparse {
    /// The path the link resolves to (`\??\C:\x` for absolute, `a\b` for relative).
    pub substitute_name: String,
    /// The path to show users.
    pub print_name: String,
    /// SYMLINK_FLAG_RELATIVE and others.
    pub flags: u32,
}

impl SymlinkReparse {
    /// A relative link to `target` (print and substitute names alike).
    pub fn relative(target: &str) -> Self {
        Self {
            substitute_name: target.into(),
            print_name: target.into(),
            flags: SYMLINK_FLAG_RELATIVE,
        }
    }

    /// Whether the target is relative to the link's directory.
    pub fn is_relative(&self) -> bool {
        self.flags & SYMLINK_FLAG_RELATIVE != 0
    }

    /// The REPARSE_DATA_BUFFER for FSCTL_SET_REPARSE_POINT (MS-FSCC 2.1.2.4).
    pub fn to_bytes(&self) -> Bytes {
        let sub = utf16le(&self.substitute_name);
        let print = utf16le(&self.print_name);
        let mut out = Vec::with_capacity(20 + sub.len() + print.len());
        out.put_u32_le(IO_REPARSE_TAG_SYMLINK);
        out.put_u16_le(len16(12 + sub.len() + print.len())); // ReparseDataLength
        out.put_u16_le(0);
        self.put_names(&mut out, &sub, &print);
        Bytes::from(out)
    }

    /// Names and flags: the part shared by the reparse buffer and the error response.
    fn put_names(&self, out: &mut Vec<u8>, sub: &[u8], print: &[u8]) {
        out.put_u16_le(0); // SubstituteNameOffset
        out.put_u16_le(len16(sub.len()));
        out.put_u16_le(len16(sub.len())); // PrintNameOffset
        out.put_u16_le(len16(print.len()));
        out.put_u32_le(self.flags);
        out.put_slice(sub);
        out.put_slice(print);
    }

    /// Decodes a REPARSE_DATA_BUFFER (FSCTL_GET_REPARSE_POINT output).
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf, "symlink reparse buffer");
        if r.u32()? != IO_REPARSE_TAG_SYMLINK {
            return Err(DecodeError::Invalid {
                what: "reparse tag (not a symbolic link)",
            });
        }
        let len = r.u16()? as usize;
        r.take(2)?;
        Self::decode_names(r.take(len)?)
    }

    /// Offsets/lengths, flags, then PathBuffer (offsets are relative to PathBuffer).
    fn decode_names(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf, "symlink names");
        let (so, sl, po, pl) = (r.u16()?, r.u16()?, r.u16()?, r.u16()?);
        let flags = r.u32()?;
        let path = r.take(buf.len().saturating_sub(12))?;
        let name = |off: u16, len: u16| {
            path.get(off as usize..off as usize + len as usize)
                .map(from_utf16le)
                .ok_or(DecodeError::OutOfBounds {
                    what: "symlink name",
                })
        };
        Ok(Self {
            substitute_name: name(so, sl)?,
            print_name: name(po, pl)?,
            flags,
        })
    }
}

/// The Symbolic Link Error Response (MS-SMB2 2.2.2.2.1): where path parsing stopped
/// and the link found there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SymlinkError {
    /// Bytes (UTF-16) at the end of the opened path that were not parsed yet.
    pub unparsed_path_length: u16,
    /// The link's target.
    pub link: SymlinkReparse,
}

impl SymlinkError {
    /// Encodes the error data (as a server would send it).
    pub fn to_bytes(&self) -> Bytes {
        let sub = utf16le(&self.link.substitute_name);
        let print = utf16le(&self.link.print_name);
        let mut out = Vec::new();
        out.put_u32_le(len32(24 + sub.len() + print.len())); // SymLinkLength
        out.put_u32_le(SYMLINK_ERROR_TAG);
        out.put_u32_le(IO_REPARSE_TAG_SYMLINK);
        out.put_u16_le(len16(12 + sub.len() + print.len())); // ReparseDataLength
        out.put_u16_le(self.unparsed_path_length);
        self.link.put_names(&mut out, &sub, &print);
        Bytes::from(out)
    }

    /// Decodes the error data itself.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf, "symbolic link error response");
        let len = r.u32()? as usize;
        if len < 12 || r.u32()? != SYMLINK_ERROR_TAG || r.u32()? != IO_REPARSE_TAG_SYMLINK {
            return Err(DecodeError::Invalid {
                what: "symbolic link error response",
            });
        }
        let data_len = r.u16()? as usize;
        let unparsed_path_length = r.u16()?;
        Ok(Self {
            unparsed_path_length,
            link: SymlinkReparse::decode_names(r.take(data_len)?)?,
        })
    }

    /// Finds it in a STATUS_STOPPED_ON_SYMLINK response: inside an error context at
    /// 3.1.1 (MS-SMB2 2.2.2.1), else as the ErrorData itself.
    pub fn from_error(e: &ErrorResponse) -> Result<Self, DecodeError> {
        if e.error_context_count == 0 {
            return Self::decode(&e.error_data);
        }
        let contexts = e.contexts()?;
        contexts
            .iter()
            .find_map(|c| Self::decode(&c.data).ok())
            .ok_or(DecodeError::Invalid {
                what: "error contexts (no symbolic link)",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reparse_buffer_round_trips() {
        let l = SymlinkReparse::relative("dir\\target.txt");
        let b = l.to_bytes();
        assert_eq!(b.len(), 20 + 2 * 2 * "dir\\target.txt".len());
        assert_eq!(SymlinkReparse::decode(&b).unwrap(), l);
        assert!(l.is_relative());
    }

    #[test]
    fn error_response_round_trips_plain_and_in_context() {
        let e = SymlinkError {
            unparsed_path_length: 8,
            link: SymlinkReparse {
                substitute_name: "\\??\\C:\\x".into(),
                print_name: "C:\\x".into(),
                flags: 0,
            },
        };
        let data = e.to_bytes();
        assert_eq!(SymlinkError::decode(&data).unwrap(), e);
        let plain = ErrorResponse {
            error_context_count: 0,
            error_data: data.clone(),
        };
        assert_eq!(SymlinkError::from_error(&plain).unwrap(), e);
        let mut ctx = Vec::new();
        ctx.put_u32_le(len32(data.len()));
        ctx.put_u32_le(0);
        ctx.put_slice(&data);
        let with_ctx = ErrorResponse {
            error_context_count: 1,
            error_data: ctx.into(),
        };
        assert_eq!(SymlinkError::from_error(&with_ctx).unwrap(), e);
    }

    #[test]
    fn lying_lengths_are_errors() {
        let mut b = SymlinkReparse::relative("a").to_bytes().to_vec();
        b[8..10].copy_from_slice(&500u16.to_le_bytes()); // SubstituteNameOffset
        assert!(SymlinkReparse::decode(&b).is_err());
        assert!(SymlinkError::decode(&[0; 10]).is_err());
        assert!(SymlinkReparse::decode(&b[..5]).is_err());
    }
}
