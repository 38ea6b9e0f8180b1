//! Newtype identifiers (MS-SMB2 2.2.1, 2.2.14.1).

use core::fmt;

/// SessionId (MS-SMB2 2.2.1.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub u64);

/// TreeId (MS-SMB2 2.2.1.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TreeId(pub u32);

/// AsyncId of a request that went async (MS-SMB2 2.2.1.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AsyncId(pub u64);

/// MessageId (MS-SMB2 2.2.1); `u64::MAX` marks unsolicited oplock/lease breaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub u64);

impl MessageId {
    /// The MessageId of unsolicited server messages (MS-SMB2 3.2.5.19).
    pub const UNSOLICITED: Self = Self(u64::MAX);
}

/// SMB2_FILEID (MS-SMB2 2.2.14.1): persistent and volatile halves.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId {
    pub persistent: u64,
    pub volatile: u64,
}

impl FileId {
    /// The all-ones FileId that related compound requests use for "the previous open"
    /// (MS-SMB2 3.2.4.1.4).
    pub const RELATED: Self = Self {
        persistent: u64::MAX,
        volatile: u64::MAX,
    };

    /// The 16 wire bytes.
    pub fn to_bytes(self) -> [u8; 16] {
        let mut b = [0; 16];
        b[..8].copy_from_slice(&self.persistent.to_le_bytes());
        b[8..].copy_from_slice(&self.volatile.to_le_bytes());
        b
    }

    /// From 16 wire bytes.
    pub fn from_bytes(b: [u8; 16]) -> Self {
        let (p, v) = b.split_at(8);
        // Infallible: both halves are exactly 8 bytes.
        Self {
            persistent: u64::from_le_bytes(p.try_into().unwrap_or_default()),
            volatile: u64::from_le_bytes(v.try_into().unwrap_or_default()),
        }
    }
}

impl fmt::Debug for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileId({:#x}:{:#x})", self.persistent, self.volatile)
    }
}

/// An SMB dialect (MS-SMB2 2.2.3).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dialect {
    /// SMB 2.0.2
    #[default]
    Smb202,
    /// SMB 2.1
    Smb210,
    /// SMB 3.0
    Smb300,
    /// SMB 3.0.2
    Smb302,
    /// SMB 3.1.1
    Smb311,
    /// A dialect revision this crate does not know (e.g. the 0x02FF wildcard).
    Unknown(u16),
}

impl Dialect {
    /// All dialects this crate implements, oldest first.
    pub const ALL: [Self; 5] = [
        Self::Smb202,
        Self::Smb210,
        Self::Smb300,
        Self::Smb302,
        Self::Smb311,
    ];

    /// Wire revision number.
    pub fn revision(self) -> u16 {
        match self {
            Self::Smb202 => 0x0202,
            Self::Smb210 => 0x0210,
            Self::Smb300 => 0x0300,
            Self::Smb302 => 0x0302,
            Self::Smb311 => 0x0311,
            Self::Unknown(v) => v,
        }
    }

    /// From the wire revision number.
    pub fn from_revision(v: u16) -> Self {
        match v {
            0x0202 => Self::Smb202,
            0x0210 => Self::Smb210,
            0x0300 => Self::Smb300,
            0x0302 => Self::Smb302,
            0x0311 => Self::Smb311,
            v => Self::Unknown(v),
        }
    }

    /// Whether this is an SMB 3.x dialect (encryption, AES signing).
    pub fn is_smb3(self) -> bool {
        matches!(self, Self::Smb300 | Self::Smb302 | Self::Smb311)
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Smb202 => f.write_str("2.0.2"),
            Self::Smb210 => f.write_str("2.1"),
            Self::Smb300 => f.write_str("3.0"),
            Self::Smb302 => f.write_str("3.0.2"),
            Self::Smb311 => f.write_str("3.1.1"),
            Self::Unknown(v) => write!(f, "{v:#06x}"),
        }
    }
}
