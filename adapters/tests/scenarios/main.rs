//! Python pike's server scenarios (`src/pike/test/*.py`), ported onto
//! [`pike::harness`]: each test connects from `PIKE_*`, skips when the server lacks
//! what it needs, works in its own temporary directory and is judged against
//! [`EXPECTED_FAILURES`]. On the runtime `PIKE_TEST_RUNTIME` names.

#[path = "../common/mod.rs"]
mod common;

mod breaks;
mod changenotify;
mod compound;
mod credits;
mod invalid;
mod lock;
mod negotiate;
mod query;
mod session;
mod set;
mod tree;

use pike::harness::ExpectedFailure;
use pike::pike_core::wire::{CreateRequest, access, disposition, share_access};

/// Where Samba 4.17 behaves differently from what the scenarios (and Windows) expect.
/// Keyed by `PIKE_SERVER_ID/<protection>` (`.ci/run` sets `samba-<smbd --version>`).
pub(crate) const EXPECTED_FAILURES: &[ExpectedFailure] = &[
    // Signed, the same request gets USER_SESSION_DELETED: Samba checks the SessionId
    // when it must verify a signature, and encrypted it trusts the transform's.
    ExpectedFailure {
        server: "samba-4.17*/plain",
        test: "invalid_session_ioctl",
        reason: "Samba answers an unsigned FSCTL_QUERY_NETWORK_INTERFACE_INFO without \
                 looking up the SessionId: STATUS_SUCCESS, not USER_SESSION_DELETED",
    },
    ExpectedFailure {
        server: "samba-4.17*/encrypted",
        test: "invalid_session_ioctl",
        reason: "Samba takes the session from the TRANSFORM_HEADER and ignores the inner \
                 SessionId: STATUS_SUCCESS, not USER_SESSION_DELETED",
    },
    ExpectedFailure {
        server: "samba-4.17*",
        test: "invalid_tree_ioctl",
        reason: "Samba answers FSCTL_QUERY_NETWORK_INTERFACE_INFO (FileId all ones) without \
                 looking up the TreeId: STATUS_SUCCESS, not NETWORK_NAME_DELETED",
    },
    ExpectedFailure {
        server: "samba-4.17*",
        test: "negotiate_cipher_preference",
        reason: "Samba picks the cipher by its own `smb3 encryption algorithms` order \
                 (AES-128-GCM first), not the client's: offered AES-256-GCM or AES-128-CCM \
                 first, it still answers AES-128-GCM (MS-SMB2 3.3.5.2.5.2 leaves the choice \
                 to the server)",
    },
];

/// One scenario: `scenario!(name, requirements, |fx| { body returning TestResult })`.
macro_rules! scenario {
    ($name:ident, $req:expr, |$fx:ident| $body:block) => {
        #[test]
        fn $name() {
            use crate::common;
            let Some(h) = pike::harness::Harness::from_env(stringify!($name)) else {
                return;
            };
            let h = h.require($req).expected_failures(crate::EXPECTED_FAILURES);
            crate::on_runtime!(|rt| h.run(rt, |$fx| async move { $body }));
        }
    };
}
pub(crate) use scenario;

/// A CREATE for `name` with read/write/delete access, sharing everything.
pub(crate) fn create(name: String, create_disposition: u32) -> CreateRequest {
    CreateRequest {
        impersonation_level: 2,
        desired_access: access::GENERIC_READ | access::GENERIC_WRITE | access::DELETE,
        share_access: share_access::ALL,
        create_disposition,
        name,
        ..Default::default()
    }
}

/// A CREATE that opens the directory `name` for listing and watching.
pub(crate) fn open_dir(name: String) -> CreateRequest {
    CreateRequest {
        desired_access: access::FILE_LIST_DIRECTORY
            | access::FILE_READ_ATTRIBUTES
            | access::SYNCHRONIZE,
        create_options: pike::pike_core::wire::create_options::DIRECTORY_FILE,
        ..create(name, disposition::OPEN)
    }
}
