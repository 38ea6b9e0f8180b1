//! Authentication mechanisms, each a pure function of the tokens it sees.
//!
//! An [`Authenticator`] turns server tokens into client tokens for SESSION_SETUP and,
//! once done, yields the session key. NTLMv2 and SPNEGO live here; a Kerberos mechanism
//! can implement the same trait with its KDC traffic done by the caller, outside core.

use core::fmt;

use crate::rng::Rng;

pub mod der;
pub mod ntlm;
pub mod spnego;

pub use ntlm::{Credentials, Ntlm};
pub use spnego::Spnego;

/// Windows FILETIME: 100-nanosecond intervals since 1601-01-01 UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileTime(pub u64);

impl FileTime {
    /// Converts Unix time (seconds and nanoseconds since 1970) to FILETIME.
    pub fn from_unix(secs: u64, nanos: u32) -> Self {
        const EPOCH_DIFF_SECS: u64 = 11_644_473_600;
        Self((secs + EPOCH_DIFF_SECS) * 10_000_000 + u64::from(nanos) / 100)
    }
}

/// What an authenticator may use besides the tokens: entropy and, optionally, wall time.
pub struct AuthContext<'a> {
    /// Randomness for client challenges and exported session keys.
    pub rng: &'a mut Rng,
    /// Wall-clock time supplied by the caller; NTLMv2 uses the server's MsvAvTimestamp
    /// when present and falls back to this.
    pub wall_time: Option<FileTime>,
}

/// The next move of an authenticator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthStep {
    /// Send this token in the next SESSION_SETUP request.
    Send(Vec<u8>),
    /// Authentication is complete on the client side.
    Done,
}

/// An authentication failure.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// A server token could not be parsed; the string says which part.
    Malformed(&'static str),
    /// The server rejected every mechanism we offered (SPNEGO reject).
    Rejected,
    /// The server offered no mechanism we implement.
    NoCommonMechanism,
    /// The server's mechListMIC or other integrity check failed.
    IntegrityCheckFailed,
    /// A step was called out of order.
    UnexpectedToken,
    /// No timestamp in the CHALLENGE and no wall time supplied.
    NoTimestamp,
    /// The server selected a variant this client refuses (e.g. NTLMv1); the string says which.
    Unsupported(&'static str),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "malformed authentication token: {what}"),
            Self::Rejected => f.write_str("server rejected authentication"),
            Self::NoCommonMechanism => f.write_str("no common authentication mechanism"),
            Self::IntegrityCheckFailed => f.write_str("authentication integrity check failed"),
            Self::UnexpectedToken => f.write_str("unexpected authentication token"),
            Self::NoTimestamp => {
                f.write_str("server sent no timestamp and no wall time was supplied")
            }
            Self::Unsupported(what) => write!(f, "unsupported authentication variant: {what}"),
        }
    }
}

impl std::error::Error for AuthError {}

/// A sans-IO authentication mechanism driving SESSION_SETUP (MS-SMB2 3.2.5.3).
///
/// The connection calls [`step`](Self::step) first with the security buffer of the
/// NEGOTIATE response (possibly empty), then with each SESSION_SETUP response's buffer
/// (STATUS_MORE_PROCESSING_REQUIRED), and finally with the buffer of the successful
/// response, where the mechanism verifies whatever the server sent (e.g. mechListMIC)
/// and returns [`AuthStep::Done`].
pub trait Authenticator: Send + fmt::Debug {
    /// Consumes one server token and produces the next client move.
    fn step(
        &mut self,
        ctx: &mut AuthContext<'_>,
        server_token: &[u8],
    ) -> Result<AuthStep, AuthError>;
    /// The session key (MS-SMB2 3.2.5.3: the first 16 bytes of the GSS session key),
    /// available once the last client token was produced.
    fn session_key(&self) -> Option<&[u8]>;
    /// Whether this is an anonymous logon (no signing keys then).
    fn is_anonymous(&self) -> bool {
        false
    }
}
