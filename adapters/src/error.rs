//! The adapter's error type: API misuse, a failed request, or transport trouble.

use core::fmt;

use pike_core::{RequestError, UsageError};

/// Why an operation failed.
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// The request failed (server status, timeout, connection lost, ...).
    Request(RequestError),
    /// The API was used wrongly; nothing was sent.
    Usage(UsageError),
    /// Connecting the transport failed.
    Io(std::io::Error),
}

impl Error {
    /// The NTSTATUS, if the server answered with an error.
    pub fn status(&self) -> Option<pike_core::wire::NtStatus> {
        match self {
            Self::Request(e) => e.status(),
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
        }
    }
}

impl std::error::Error for Error {}

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
