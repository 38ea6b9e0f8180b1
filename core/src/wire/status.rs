//! NTSTATUS values (MS-ERREF 2.3) that SMB2 servers return.

use core::fmt;

/// An NTSTATUS code. Unknown codes are kept as numbers and print in hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NtStatus(pub u32);

#[allow(missing_docs)]
impl NtStatus {
    pub const SUCCESS: Self = Self(0x00000000);
    pub const PENDING: Self = Self(0x00000103);
    pub const NOTIFY_CLEANUP: Self = Self(0x0000010b);
    pub const NOTIFY_ENUM_DIR: Self = Self(0x0000010c);
    pub const BUFFER_OVERFLOW: Self = Self(0x80000005);
    pub const NO_MORE_FILES: Self = Self(0x80000006);
    pub const STOPPED_ON_SYMLINK: Self = Self(0x8000002d);
    pub const UNSUCCESSFUL: Self = Self(0xc0000001);
    pub const NOT_IMPLEMENTED: Self = Self(0xc0000002);
    pub const INVALID_INFO_CLASS: Self = Self(0xc0000003);
    pub const INFO_LENGTH_MISMATCH: Self = Self(0xc0000004);
    pub const INVALID_HANDLE: Self = Self(0xc0000008);
    pub const INVALID_PARAMETER: Self = Self(0xc000000d);
    pub const NO_SUCH_DEVICE: Self = Self(0xc000000e);
    pub const NO_SUCH_FILE: Self = Self(0xc000000f);
    pub const INVALID_DEVICE_REQUEST: Self = Self(0xc0000010);
    pub const END_OF_FILE: Self = Self(0xc0000011);
    pub const MORE_PROCESSING_REQUIRED: Self = Self(0xc0000016);
    pub const NO_MEMORY: Self = Self(0xc0000017);
    pub const ACCESS_DENIED: Self = Self(0xc0000022);
    pub const BUFFER_TOO_SMALL: Self = Self(0xc0000023);
    pub const OBJECT_NAME_INVALID: Self = Self(0xc0000033);
    pub const OBJECT_NAME_NOT_FOUND: Self = Self(0xc0000034);
    pub const OBJECT_NAME_COLLISION: Self = Self(0xc0000035);
    pub const OBJECT_PATH_INVALID: Self = Self(0xc0000039);
    pub const OBJECT_PATH_NOT_FOUND: Self = Self(0xc000003a);
    pub const OBJECT_PATH_SYNTAX_BAD: Self = Self(0xc000003b);
    pub const SHARING_VIOLATION: Self = Self(0xc0000043);
    pub const EAS_NOT_SUPPORTED: Self = Self(0xc000004f);
    pub const EA_TOO_LARGE: Self = Self(0xc0000050);
    pub const NONEXISTENT_EA_ENTRY: Self = Self(0xc0000051);
    pub const NO_EAS_ON_FILE: Self = Self(0xc0000052);
    pub const DELETE_PENDING: Self = Self(0xc0000056);
    pub const PRIVILEGE_NOT_HELD: Self = Self(0xc0000061);
    pub const LOGON_FAILURE: Self = Self(0xc000006d);
    pub const ACCOUNT_RESTRICTION: Self = Self(0xc000006e);
    pub const PASSWORD_EXPIRED: Self = Self(0xc0000071);
    pub const ACCOUNT_DISABLED: Self = Self(0xc0000072);
    pub const NONE_MAPPED: Self = Self(0xc0000073);
    pub const INSUFFICIENT_RESOURCES: Self = Self(0xc000009a);
    pub const FILE_IS_A_DIRECTORY: Self = Self(0xc00000ba);
    pub const NOT_SUPPORTED: Self = Self(0xc00000bb);
    pub const NETWORK_NAME_DELETED: Self = Self(0xc00000c9);
    pub const NETWORK_ACCESS_DENIED: Self = Self(0xc00000ca);
    pub const BAD_NETWORK_NAME: Self = Self(0xc00000cc);
    pub const REQUEST_NOT_ACCEPTED: Self = Self(0xc00000d0);
    pub const INTERNAL_ERROR: Self = Self(0xc00000e5);
    pub const DIRECTORY_NOT_EMPTY: Self = Self(0xc0000101);
    pub const NOT_A_DIRECTORY: Self = Self(0xc0000103);
    pub const CANCELLED: Self = Self(0xc0000120);
    pub const FILE_CLOSED: Self = Self(0xc0000128);
    pub const INVALID_LEVEL: Self = Self(0xc0000148);
    pub const NOT_SAME_DEVICE: Self = Self(0xc00000d4);
    pub const FILE_RENAMED: Self = Self(0xc00000d5);
    pub const LOCK_NOT_GRANTED: Self = Self(0xc0000055);
    pub const FILE_LOCK_CONFLICT: Self = Self(0xc0000054);
    pub const RANGE_NOT_LOCKED: Self = Self(0xc000007e);
    pub const DISK_FULL: Self = Self(0xc000007f);
    pub const ACCOUNT_LOCKED_OUT: Self = Self(0xc0000234);
    pub const USER_SESSION_DELETED: Self = Self(0xc0000203);
    pub const NETWORK_SESSION_EXPIRED: Self = Self(0xc000035c);
    pub const NOT_FOUND: Self = Self(0xc0000225);
    pub const SMB_BAD_CLUSTER_DIALECT: Self = Self(0xc05d0001);
    pub const INVALID_NETWORK_RESPONSE: Self = Self(0xc00000c3);
    pub const IO_TIMEOUT: Self = Self(0xc00000b5);
    pub const FILE_NOT_AVAILABLE: Self = Self(0xc0000467);
    pub const OBJECT_NAME_EXISTS: Self = Self(0x40000000);
    pub const REQUEST_OUT_OF_SEQUENCE: Self = Self(0xc000042a);
    pub const INVALID_DEVICE_STATE: Self = Self(0xc0000184);
    pub const NOT_A_REPARSE_POINT: Self = Self(0xc0000275);
    pub const IO_REPARSE_DATA_INVALID: Self = Self(0xc0000278);
    pub const FS_DRIVER_REQUIRED: Self = Self(0xc000019c);
    pub const OPLOCK_NOT_GRANTED: Self = Self(0xc00000e2);
    pub const INVALID_OPLOCK_PROTOCOL: Self = Self(0xc00000e3);
    pub const CANNOT_DELETE: Self = Self(0xc0000121);
    pub const FILE_DELETED: Self = Self(0xc0000123);
    pub const DUPLICATE_OBJECTID: Self = Self(0xc000022a);
    pub const PATH_NOT_COVERED: Self = Self(0xc0000257);
    pub const BAD_IMPERSONATION_LEVEL: Self = Self(0xc00000a5);
    pub const WRONG_PASSWORD: Self = Self(0xc000006a);
    pub const NO_SUCH_USER: Self = Self(0xc0000064);
    pub const INVALID_LOGON_HOURS: Self = Self(0xc000006f);
    pub const INVALID_WORKSTATION: Self = Self(0xc0000070);
    pub const PASSWORD_MUST_CHANGE: Self = Self(0xc0000224);
    pub const TRUSTED_RELATIONSHIP_FAILURE: Self = Self(0xc000018d);
    pub const SERVER_UNAVAILABLE: Self = Self(0xc0000466);
    pub const INVALID_SMB: Self = Self(0x00010002);
    pub const MEDIA_WRITE_PROTECTED: Self = Self(0xc00000a2);
    pub const TOO_MANY_OPENED_FILES: Self = Self(0xc000011f);
    pub const USER_MAPPED_FILE: Self = Self(0xc0000243);
    pub const DATA_ERROR: Self = Self(0xc000003e);
    pub const UNEXPECTED_NETWORK_ERROR: Self = Self(0xc00000c4);
    pub const INVALID_VIEW_SIZE: Self = Self(0xc000001f);
}

impl NtStatus {
    /// The symbolic name (e.g. `STATUS_LOGON_FAILURE`), if known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00000000 => "STATUS_SUCCESS",
            0x00000103 => "STATUS_PENDING",
            0x0000010b => "STATUS_NOTIFY_CLEANUP",
            0x0000010c => "STATUS_NOTIFY_ENUM_DIR",
            0x80000005 => "STATUS_BUFFER_OVERFLOW",
            0x80000006 => "STATUS_NO_MORE_FILES",
            0x8000002d => "STATUS_STOPPED_ON_SYMLINK",
            0xc0000001 => "STATUS_UNSUCCESSFUL",
            0xc0000002 => "STATUS_NOT_IMPLEMENTED",
            0xc0000003 => "STATUS_INVALID_INFO_CLASS",
            0xc0000004 => "STATUS_INFO_LENGTH_MISMATCH",
            0xc0000008 => "STATUS_INVALID_HANDLE",
            0xc000000d => "STATUS_INVALID_PARAMETER",
            0xc000000e => "STATUS_NO_SUCH_DEVICE",
            0xc000000f => "STATUS_NO_SUCH_FILE",
            0xc0000010 => "STATUS_INVALID_DEVICE_REQUEST",
            0xc0000011 => "STATUS_END_OF_FILE",
            0xc0000016 => "STATUS_MORE_PROCESSING_REQUIRED",
            0xc0000017 => "STATUS_NO_MEMORY",
            0xc0000022 => "STATUS_ACCESS_DENIED",
            0xc0000023 => "STATUS_BUFFER_TOO_SMALL",
            0xc0000033 => "STATUS_OBJECT_NAME_INVALID",
            0xc0000034 => "STATUS_OBJECT_NAME_NOT_FOUND",
            0xc0000035 => "STATUS_OBJECT_NAME_COLLISION",
            0xc0000039 => "STATUS_OBJECT_PATH_INVALID",
            0xc000003a => "STATUS_OBJECT_PATH_NOT_FOUND",
            0xc000003b => "STATUS_OBJECT_PATH_SYNTAX_BAD",
            0xc0000043 => "STATUS_SHARING_VIOLATION",
            0xc000004f => "STATUS_EAS_NOT_SUPPORTED",
            0xc0000050 => "STATUS_EA_TOO_LARGE",
            0xc0000051 => "STATUS_NONEXISTENT_EA_ENTRY",
            0xc0000052 => "STATUS_NO_EAS_ON_FILE",
            0xc0000056 => "STATUS_DELETE_PENDING",
            0xc0000061 => "STATUS_PRIVILEGE_NOT_HELD",
            0xc000006d => "STATUS_LOGON_FAILURE",
            0xc000006e => "STATUS_ACCOUNT_RESTRICTION",
            0xc0000071 => "STATUS_PASSWORD_EXPIRED",
            0xc0000072 => "STATUS_ACCOUNT_DISABLED",
            0xc0000073 => "STATUS_NONE_MAPPED",
            0xc000009a => "STATUS_INSUFFICIENT_RESOURCES",
            0xc00000ba => "STATUS_FILE_IS_A_DIRECTORY",
            0xc00000bb => "STATUS_NOT_SUPPORTED",
            0xc00000c9 => "STATUS_NETWORK_NAME_DELETED",
            0xc00000ca => "STATUS_NETWORK_ACCESS_DENIED",
            0xc00000cc => "STATUS_BAD_NETWORK_NAME",
            0xc00000d0 => "STATUS_REQUEST_NOT_ACCEPTED",
            0xc00000e5 => "STATUS_INTERNAL_ERROR",
            0xc0000101 => "STATUS_DIRECTORY_NOT_EMPTY",
            0xc0000103 => "STATUS_NOT_A_DIRECTORY",
            0xc0000120 => "STATUS_CANCELLED",
            0xc0000128 => "STATUS_FILE_CLOSED",
            0xc0000148 => "STATUS_INVALID_LEVEL",
            0xc00000d4 => "STATUS_NOT_SAME_DEVICE",
            0xc00000d5 => "STATUS_FILE_RENAMED",
            0xc0000055 => "STATUS_LOCK_NOT_GRANTED",
            0xc0000054 => "STATUS_FILE_LOCK_CONFLICT",
            0xc000007e => "STATUS_RANGE_NOT_LOCKED",
            0xc000007f => "STATUS_DISK_FULL",
            0xc0000234 => "STATUS_ACCOUNT_LOCKED_OUT",
            0xc0000203 => "STATUS_USER_SESSION_DELETED",
            0xc000035c => "STATUS_NETWORK_SESSION_EXPIRED",
            0xc0000225 => "STATUS_NOT_FOUND",
            0xc05d0001 => "STATUS_SMB_BAD_CLUSTER_DIALECT",
            0xc00000c3 => "STATUS_INVALID_NETWORK_RESPONSE",
            0xc00000b5 => "STATUS_IO_TIMEOUT",
            0xc0000467 => "STATUS_FILE_NOT_AVAILABLE",
            0x40000000 => "STATUS_OBJECT_NAME_EXISTS",
            0xc000042a => "STATUS_REQUEST_OUT_OF_SEQUENCE",
            0xc0000184 => "STATUS_INVALID_DEVICE_STATE",
            0xc0000275 => "STATUS_NOT_A_REPARSE_POINT",
            0xc0000278 => "STATUS_IO_REPARSE_DATA_INVALID",
            0xc000019c => "STATUS_FS_DRIVER_REQUIRED",
            0xc00000e2 => "STATUS_OPLOCK_NOT_GRANTED",
            0xc00000e3 => "STATUS_INVALID_OPLOCK_PROTOCOL",
            0xc0000121 => "STATUS_CANNOT_DELETE",
            0xc0000123 => "STATUS_FILE_DELETED",
            0xc000022a => "STATUS_DUPLICATE_OBJECTID",
            0xc0000257 => "STATUS_PATH_NOT_COVERED",
            0xc00000a5 => "STATUS_BAD_IMPERSONATION_LEVEL",
            0xc000006a => "STATUS_WRONG_PASSWORD",
            0xc0000064 => "STATUS_NO_SUCH_USER",
            0xc000006f => "STATUS_INVALID_LOGON_HOURS",
            0xc0000070 => "STATUS_INVALID_WORKSTATION",
            0xc0000224 => "STATUS_PASSWORD_MUST_CHANGE",
            0xc000018d => "STATUS_TRUSTED_RELATIONSHIP_FAILURE",
            0xc0000466 => "STATUS_SERVER_UNAVAILABLE",
            0x00010002 => "STATUS_INVALID_SMB",
            0xc00000a2 => "STATUS_MEDIA_WRITE_PROTECTED",
            0xc000011f => "STATUS_TOO_MANY_OPENED_FILES",
            0xc0000243 => "STATUS_USER_MAPPED_FILE",
            0xc000003e => "STATUS_DATA_ERROR",
            0xc00000c4 => "STATUS_UNEXPECTED_NETWORK_ERROR",
            0xc000001f => "STATUS_INVALID_VIEW_SIZE",
            _ => return None,
        })
    }

    /// Severity "error" (top two bits 11).
    pub fn is_error(self) -> bool {
        self.0 >> 30 == 3
    }

    /// Severity "warning" (top two bits 10), e.g. STATUS_BUFFER_OVERFLOW.
    pub fn is_warning(self) -> bool {
        self.0 >> 30 == 2
    }
}

impl fmt::Display for NtStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "NTSTATUS {:#010x}", self.0),
        }
    }
}

impl fmt::Debug for NtStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
