//! One-line errors and the exit codes they map to.

use std::fmt;

use pike::pike_core::RequestError;
use pike::pike_core::wire::NtStatus;

/// Any failure not covered by a more specific code (other NTSTATUS values included).
pub(crate) const FAILURE: u8 = 1;
/// Bad command line, REMOTE or `PIKE_*` variable; missing credentials without a terminal.
pub(crate) const USAGE: u8 = 2;
/// The file, directory or share does not exist.
pub(crate) const NOT_FOUND: u8 = 3;
/// Logon failed or access was denied.
pub(crate) const DENIED: u8 = 4;
/// No SMB connection: nothing listening, not an SMB server, connection lost.
pub(crate) const CONNECTION: u8 = 5;
/// Connecting or a request took longer than `--timeout`.
pub(crate) const TIMEOUT: u8 = 6;
/// A local file could not be read or written.
pub(crate) const LOCAL: u8 = 7;

/// A failure: the exit code and the one line printed after `pike: `.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) code: u8,
    pub(crate) msg: String,
}

impl Fail {
    pub(crate) fn new(code: u8, msg: impl Into<String>) -> Self {
        Self {
            code,
            msg: msg.into(),
        }
    }

    pub(crate) fn usage(msg: impl Into<String>) -> Self {
        Self::new(USAGE, msg)
    }

    /// A local file operation on `what` failed.
    pub(crate) fn local(what: impl fmt::Display, e: std::io::Error) -> Self {
        Self::new(LOCAL, format!("{what}: {e}"))
    }

    /// An SMB operation on `what` failed. Server statuses lead the line
    /// (`STATUS_OBJECT_NAME_NOT_FOUND: //h/s/x (CREATE)`) so scripts can match them.
    pub(crate) fn smb(what: impl fmt::Display, e: pike::Error) -> Self {
        if let pike::Error::Request(RequestError::Status(s)) = &e {
            return Self::new(
                status_code(s.status),
                format!("{}: {what} ({})", s.status, s.command.name()),
            );
        }
        let code = match &e {
            e if e.is_timeout() => TIMEOUT,
            pike::Error::Io(_) | pike::Error::Request(RequestError::ConnectionLost(_)) => {
                CONNECTION
            }
            pike::Error::Request(
                RequestError::Auth(_) | RequestError::GuestRefused | RequestError::AnonymousRefused,
            ) => DENIED,
            pike::Error::Config { .. } => USAGE,
            _ => FAILURE,
        };
        Self::new(code, format!("{what}: {e}"))
    }
}

/// The exit code for a server status.
pub(crate) fn status_code(s: NtStatus) -> u8 {
    match s {
        NtStatus::OBJECT_NAME_NOT_FOUND
        | NtStatus::OBJECT_PATH_NOT_FOUND
        | NtStatus::NO_SUCH_FILE
        | NtStatus::NOT_FOUND
        | NtStatus::BAD_NETWORK_NAME => NOT_FOUND,
        NtStatus::LOGON_FAILURE
        | NtStatus::WRONG_PASSWORD
        | NtStatus::NO_SUCH_USER
        | NtStatus::ACCOUNT_DISABLED
        | NtStatus::ACCOUNT_RESTRICTION
        | NtStatus::ACCOUNT_LOCKED_OUT
        | NtStatus::PASSWORD_EXPIRED
        | NtStatus::PASSWORD_MUST_CHANGE
        | NtStatus::INVALID_LOGON_HOURS
        | NtStatus::INVALID_WORKSTATION
        | NtStatus::ACCESS_DENIED
        | NtStatus::NETWORK_ACCESS_DENIED
        | NtStatus::PRIVILEGE_NOT_HELD => DENIED,
        _ => FAILURE,
    }
}

/// `result.smb(what)?`: attach what was being done to a library error.
pub(crate) trait SmbContext<T> {
    fn smb(self, what: impl fmt::Display) -> Result<T, Fail>;
}

impl<T> SmbContext<T> for Result<T, pike::Error> {
    fn smb(self, what: impl fmt::Display) -> Result<T, Fail> {
        self.map_err(|e| Fail::smb(what, e))
    }
}

/// `result.local(what)?` for local I/O.
pub(crate) trait LocalContext<T> {
    fn local(self, what: impl fmt::Display) -> Result<T, Fail>;
}

impl<T> LocalContext<T> for Result<T, std::io::Error> {
    fn local(self, what: impl fmt::Display) -> Result<T, Fail> {
        self.map_err(|e| Fail::local(what, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pike::pike_core::ConnectionError;

    #[test]
    fn codes() {
        assert_eq!(status_code(NtStatus::LOGON_FAILURE), DENIED);
        assert_eq!(status_code(NtStatus::BAD_NETWORK_NAME), NOT_FOUND);
        assert_eq!(status_code(NtStatus::DIRECTORY_NOT_EMPTY), FAILURE);
        let lost = pike::Error::Request(RequestError::ConnectionLost(ConnectionError::Eof));
        let f = Fail::smb("connect h", lost);
        assert_eq!(f.code, CONNECTION);
        assert!(f.msg.starts_with("connect h: "), "{}", f.msg);
        let t = Fail::smb("x", pike::Error::Timeout("connect and NEGOTIATE"));
        assert_eq!(t.code, TIMEOUT);
    }
}
