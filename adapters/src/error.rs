//! The adapter's error type: API misuse, a failed request, or transport trouble.

use core::fmt;

use pike_core::wire::{Command, NtStatus};
use pike_core::{ConnectionError, RequestError, UsageError};

/// Why an operation failed.
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// The request failed (server status, timeout, connection lost, ...).
    Request(RequestError),
    /// The API was used wrongly; nothing was sent.
    Usage(UsageError),
    /// Connecting the transport failed (nothing listening, unreachable, ...).
    Io(std::io::Error),
    /// A deadline passed (what was waited for).
    Timeout(&'static str),
    /// A `PIKE_*` variable or builder value is malformed.
    Config {
        /// The variable or setting.
        name: &'static str,
        /// The value given.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// An argument the server would never accept (bad open mode, a `**` glob).
    InvalidArgument(String),
    /// The server answered `command` with another command's body.
    UnexpectedResponse(Command),
    /// Following `path` met more than [`MAX_LINK_HOPS`](crate::MAX_LINK_HOPS) symbolic
    /// links in a row (most likely a loop).
    TooManyLinks {
        /// The path as given.
        path: String,
    },
    /// A symbolic link on `path` leads off this tree (another share or server, or a
    /// path on the server's own disks), where pike does not follow it.
    LinkOutsideShare {
        /// The path as given.
        path: String,
        /// The link's target (substitute name).
        target: String,
    },
}

impl Error {
    /// The NTSTATUS, if the server answered with an error.
    pub fn status(&self) -> Option<NtStatus> {
        match self {
            Self::Request(e) => e.status(),
            _ => None,
        }
    }

    /// Whether the server said the file or a path component does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.status(),
            Some(NtStatus::OBJECT_NAME_NOT_FOUND | NtStatus::OBJECT_PATH_NOT_FOUND)
                | Some(NtStatus::NO_SUCH_FILE)
        )
    }

    /// Whether a deadline passed: connecting, a request's, or the keepalive's.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Self::Timeout(_)
                | Self::Request(
                    RequestError::Timeout { .. }
                        | RequestError::ConnectionLost(ConnectionError::KeepaliveTimeout)
                )
        )
    }

    /// Why the connection failed, if it did.
    pub fn connection_error(&self) -> Option<&ConnectionError> {
        match self {
            Self::Request(RequestError::ConnectionLost(e)) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Request(e) => e.fmt(f),
            Self::Usage(e) => e.fmt(f),
            Self::Io(e) => write!(f, "transport: {e}"),
            Self::Timeout(what) => write!(f, "{what} timed out"),
            Self::Config {
                name,
                value,
                expected,
            } => write!(f, "{name}={value:?}: expected {expected}"),
            Self::InvalidArgument(what) => f.write_str(what),
            Self::UnexpectedResponse(c) => write!(f, "server answered {} wrongly", c.name()),
            Self::TooManyLinks { path } => write!(
                f,
                "{path}: more than {} symbolic links",
                crate::MAX_LINK_HOPS
            ),
            Self::LinkOutsideShare { path, target } => {
                write!(f, "{path}: symbolic link to {target} leaves the share")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Request(e) => Some(e),
            Self::Usage(e) => Some(e),
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<RequestError> for Error {
    fn from(e: RequestError) -> Self {
        Self::Request(e)
    }
}

impl From<UsageError> for Error {
    fn from(e: UsageError) -> Self {
        Self::Usage(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        use std::io::ErrorKind;
        let kind = match &e {
            Error::Io(io) => io.kind(),
            Error::Timeout(_) => ErrorKind::TimedOut,
            _ if e.is_not_found() => ErrorKind::NotFound,
            _ if e.status() == Some(NtStatus::ACCESS_DENIED) => ErrorKind::PermissionDenied,
            _ if e.connection_error().is_some() => ErrorKind::ConnectionAborted,
            _ => ErrorKind::Other,
        };
        Self::new(kind, e)
    }
}
