//! Typed create contexts (MS-SMB2 2.2.13.2.x requests, 2.2.14.2.x responses), converted
//! to and from the raw [`CreateContext`] carried by CREATE.

use bytes::{BufMut, Bytes};

use super::info::{EaEntry, FileFullEaInformation, Reader};
use super::{CreateContext, DecodeError, FileId, NtStatus, expect_size};

/// Create context names (MS-SMB2 2.2.13.2).
pub mod context_name {
    pub const EA_BUFFER: &[u8] = b"ExtA";
    pub const SD_BUFFER: &[u8] = b"SecD";
    pub const DURABLE_HANDLE_REQUEST: &[u8] = b"DHnQ";
    pub const DURABLE_HANDLE_RECONNECT: &[u8] = b"DHnC";
    pub const ALLOCATION_SIZE: &[u8] = b"AlSi";
    pub const QUERY_MAXIMAL_ACCESS: &[u8] = b"MxAc";
    pub const TIMEWARP_TOKEN: &[u8] = b"TWrp";
    pub const QUERY_ON_DISK_ID: &[u8] = b"QFid";
    pub const REQUEST_LEASE: &[u8] = b"RqLs";
    pub const DURABLE_HANDLE_REQUEST_V2: &[u8] = b"DH2Q";
    pub const DURABLE_HANDLE_RECONNECT_V2: &[u8] = b"DH2C";
    /// SMB2_CREATE_APP_INSTANCE_ID, 0x45BCA66AEFA7F74A9008FA462E144D74.
    pub const APP_INSTANCE_ID: &[u8] = &[
        0x45, 0xBC, 0xA6, 0x6A, 0xEF, 0xA7, 0xF7, 0x4A, 0x90, 0x08, 0xFA, 0x46, 0x2E, 0x14, 0x4D,
        0x74,
    ];
}

/// LeaseState bits (MS-SMB2 2.2.13.2.8).
pub mod lease_state {
    pub const NONE: u32 = 0x00;
    pub const READ_CACHING: u32 = 0x01;
    pub const HANDLE_CACHING: u32 = 0x02;
    pub const WRITE_CACHING: u32 = 0x04;
}

/// LeaseFlags bits (MS-SMB2 2.2.13.2.10, 2.2.14.2.10).
pub mod lease_flags {
    pub const BREAK_IN_PROGRESS: u32 = 0x02;
    pub const PARENT_LEASE_KEY_SET: u32 = 0x04;
}

/// DH2Q/DH2C flags (MS-SMB2 2.2.13.2.11).
pub mod durable_flags {
    pub const PERSISTENT: u32 = 0x02;
}

/// SMB2_CREATE_REQUEST_LEASE / RESPONSE_LEASE (MS-SMB2 2.2.13.2.8, 2.2.14.2.10), 32 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lease {
    pub lease_key: [u8; 16],
    pub lease_state: u32,
    pub lease_flags: u32,
    pub lease_duration: u64,
}

/// SMB2_CREATE_REQUEST_LEASE_V2 / RESPONSE_LEASE_V2 (MS-SMB2 2.2.13.2.10,
/// 2.2.14.2.11), 52 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeaseV2 {
    pub lease_key: [u8; 16],
    pub lease_state: u32,
    pub lease_flags: u32,
    pub lease_duration: u64,
    pub parent_lease_key: [u8; 16],
    pub epoch: u16,
}

fn put_lease(out: &mut Vec<u8>, key: &[u8; 16], state: u32, flags: u32, duration: u64) {
    out.put_slice(key);
    out.put_u32_le(state);
    out.put_u32_le(flags);
    out.put_u64_le(duration);
}

impl Lease {
    fn to_bytes(self) -> Bytes {
        let mut out = Vec::with_capacity(32);
        put_lease(
            &mut out,
            &self.lease_key,
            self.lease_state,
            self.lease_flags,
            self.lease_duration,
        );
        Bytes::from(out)
    }
}

impl LeaseV2 {
    fn to_bytes(self) -> Bytes {
        let mut out = Vec::with_capacity(52);
        put_lease(
            &mut out,
            &self.lease_key,
            self.lease_state,
            self.lease_flags,
            self.lease_duration,
        );
        out.put_slice(&self.parent_lease_key);
        out.put_u16_le(self.epoch);
        out.put_u16_le(0);
        Bytes::from(out)
    }
}

/// The RqLs data: v2 when at least 52 bytes, else v1 (32 bytes).
enum AnyLease {
    V1(Lease),
    V2(LeaseV2),
}

fn decode_lease(data: &[u8]) -> Result<AnyLease, DecodeError> {
    let mut r = Reader::new(data, "lease context");
    let lease_key = r.array()?;
    let lease_state = r.u32()?;
    let lease_flags = r.u32()?;
    let lease_duration = r.u64()?;
    if data.len() < 52 {
        return Ok(AnyLease::V1(Lease {
            lease_key,
            lease_state,
            lease_flags,
            lease_duration,
        }));
    }
    Ok(AnyLease::V2(LeaseV2 {
        lease_key,
        lease_state,
        lease_flags,
        lease_duration,
        parent_lease_key: r.array()?,
        epoch: r.u16()?,
    }))
}

/// A create context as a client sends it (MS-SMB2 2.2.13.2).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestContext {
    /// MxAc (2.2.13.2.5): optional timestamp.
    MaximalAccess { timestamp: Option<u64> },
    /// QFid (2.2.13.2.9): no data.
    QueryOnDiskId,
    /// RqLs v1 (2.2.13.2.8).
    Lease(Lease),
    /// RqLs v2 (2.2.13.2.10).
    LeaseV2(LeaseV2),
    /// DHnQ (2.2.13.2.3): 16 reserved bytes.
    DurableHandle,
    /// DHnC (2.2.13.2.4).
    DurableReconnect { file_id: FileId },
    /// DH2Q (2.2.13.2.11).
    DurableHandleV2 {
        /// Milliseconds; 0 lets the server choose.
        timeout: u32,
        /// [`durable_flags`].
        flags: u32,
        create_guid: [u8; 16],
    },
    /// DH2C (2.2.13.2.12).
    DurableReconnectV2 {
        file_id: FileId,
        create_guid: [u8; 16],
        flags: u32,
    },
    /// AlSi (2.2.13.2.6).
    AllocationSize(u64),
    /// ExtA (2.2.13.2.1): FILE_FULL_EA_INFORMATION list.
    ExtendedAttributes(Vec<EaEntry>),
    /// SecD (2.2.13.2.2): a self-relative security descriptor, raw.
    SecurityDescriptor(Bytes),
    /// TWrp (2.2.13.2.7): a FILETIME of the snapshot to open.
    Timewarp(u64),
    /// SMB2_CREATE_APP_INSTANCE_ID (2.2.13.2.13).
    AppInstanceId([u8; 16]),
    /// Any other context, raw.
    Unknown(CreateContext),
}

impl RequestContext {
    /// The raw context to put in [`CreateRequest::contexts`](super::CreateRequest).
    pub fn to_context(&self) -> CreateContext {
        use context_name as n;
        let (name, data): (&[u8], Bytes) = match self {
            Self::MaximalAccess { timestamp } => (
                n::QUERY_MAXIMAL_ACCESS,
                timestamp.map_or_else(Bytes::new, |t| Bytes::copy_from_slice(&t.to_le_bytes())),
            ),
            Self::QueryOnDiskId => (n::QUERY_ON_DISK_ID, Bytes::new()),
            Self::Lease(l) => (n::REQUEST_LEASE, l.to_bytes()),
            Self::LeaseV2(l) => (n::REQUEST_LEASE, l.to_bytes()),
            Self::DurableHandle => (n::DURABLE_HANDLE_REQUEST, Bytes::from(vec![0; 16])),
            Self::DurableReconnect { file_id } => (
                n::DURABLE_HANDLE_RECONNECT,
                Bytes::copy_from_slice(&file_id.to_bytes()),
            ),
            Self::DurableHandleV2 {
                timeout,
                flags,
                create_guid,
            } => {
                let mut out = Vec::with_capacity(32);
                out.put_u32_le(*timeout);
                out.put_u32_le(*flags);
                out.put_u64_le(0);
                out.put_slice(create_guid);
                (n::DURABLE_HANDLE_REQUEST_V2, Bytes::from(out))
            }
            Self::DurableReconnectV2 {
                file_id,
                create_guid,
                flags,
            } => {
                let mut out = Vec::with_capacity(36);
                out.put_slice(&file_id.to_bytes());
                out.put_slice(create_guid);
                out.put_u32_le(*flags);
                (n::DURABLE_HANDLE_RECONNECT_V2, Bytes::from(out))
            }
            Self::AllocationSize(v) => {
                (n::ALLOCATION_SIZE, Bytes::copy_from_slice(&v.to_le_bytes()))
            }
            Self::ExtendedAttributes(eas) => {
                let mut out = Vec::new();
                FileFullEaInformation::encode_entries(eas, &mut out);
                (n::EA_BUFFER, Bytes::from(out))
            }
            Self::SecurityDescriptor(sd) => (n::SD_BUFFER, sd.clone()),
            Self::Timewarp(t) => (n::TIMEWARP_TOKEN, Bytes::copy_from_slice(&t.to_le_bytes())),
            Self::AppInstanceId(id) => {
                let mut out = Vec::with_capacity(20);
                out.put_u16_le(20);
                out.put_u16_le(0);
                out.put_slice(id);
                (n::APP_INSTANCE_ID, Bytes::from(out))
            }
            Self::Unknown(c) => return c.clone(),
        };
        CreateContext::new(name, data)
    }

    /// Types a raw request context; unknown names give [`RequestContext::Unknown`], known
    /// names with short data are errors.
    pub fn from_context(c: &CreateContext) -> Result<Self, DecodeError> {
        use context_name as n;
        let d = &c.data[..];
        let mut r = Reader::new(d, "create context data");
        Ok(match &c.name[..] {
            n::QUERY_MAXIMAL_ACCESS => Self::MaximalAccess {
                timestamp: if d.is_empty() { None } else { Some(r.u64()?) },
            },
            n::QUERY_ON_DISK_ID => Self::QueryOnDiskId,
            n::REQUEST_LEASE => match decode_lease(d)? {
                AnyLease::V1(l) => Self::Lease(l),
                AnyLease::V2(l) => Self::LeaseV2(l),
            },
            n::DURABLE_HANDLE_REQUEST => Self::DurableHandle,
            n::DURABLE_HANDLE_RECONNECT => Self::DurableReconnect {
                file_id: FileId::from_bytes(r.array()?),
            },
            n::DURABLE_HANDLE_REQUEST_V2 => {
                let timeout = r.u32()?;
                let flags = r.u32()?;
                r.u64()?;
                Self::DurableHandleV2 {
                    timeout,
                    flags,
                    create_guid: r.array()?,
                }
            }
            n::DURABLE_HANDLE_RECONNECT_V2 => Self::DurableReconnectV2 {
                file_id: FileId::from_bytes(r.array()?),
                create_guid: r.array()?,
                flags: r.u32()?,
            },
            n::ALLOCATION_SIZE => Self::AllocationSize(r.u64()?),
            n::EA_BUFFER => Self::ExtendedAttributes(FileFullEaInformation::decode_entries(d)?),
            n::SD_BUFFER => Self::SecurityDescriptor(c.data.clone()),
            n::TIMEWARP_TOKEN => Self::Timewarp(r.u64()?),
            n::APP_INSTANCE_ID => {
                let size = r.u16()?;
                expect_size("SMB2_CREATE_APP_INSTANCE_ID", size, 20)?;
                r.u16()?;
                Self::AppInstanceId(r.array()?)
            }
            _ => Self::Unknown(c.clone()),
        })
    }

    /// Converts a list to raw contexts.
    pub fn to_contexts(list: &[Self]) -> Vec<CreateContext> {
        list.iter().map(Self::to_context).collect()
    }
}

/// A create context as a server returns it (MS-SMB2 2.2.14.2).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseContext {
    /// MxAc (2.2.14.2.5).
    MaximalAccess {
        query_status: NtStatus,
        maximal_access: u32,
    },
    /// QFid (2.2.14.2.9): DiskFileId (8), VolumeId (8), Reserved (16, kept raw).
    QueryOnDiskId {
        disk_file_id: u64,
        volume_id: u64,
        reserved: Bytes,
    },
    /// RqLs v1 (2.2.14.2.10).
    Lease(Lease),
    /// RqLs v2 (2.2.14.2.11).
    LeaseV2(LeaseV2),
    /// DHnQ (2.2.14.2.3): 8 reserved bytes.
    DurableHandle,
    /// DH2Q (2.2.14.2.12).
    DurableHandleV2 { timeout: u32, flags: u32 },
    /// Any other context, raw.
    Unknown(CreateContext),
}

impl ResponseContext {
    /// The raw context (what a server puts in [`CreateResponse::contexts`](super::CreateResponse)).
    pub fn to_context(&self) -> CreateContext {
        use context_name as n;
        let mut out = Vec::new();
        let name: &[u8] = match self {
            Self::MaximalAccess {
                query_status,
                maximal_access,
            } => {
                out.put_u32_le(query_status.0);
                out.put_u32_le(*maximal_access);
                n::QUERY_MAXIMAL_ACCESS
            }
            Self::QueryOnDiskId {
                disk_file_id,
                volume_id,
                reserved,
            } => {
                out.put_u64_le(*disk_file_id);
                out.put_u64_le(*volume_id);
                out.put_slice(reserved);
                n::QUERY_ON_DISK_ID
            }
            Self::Lease(l) => return CreateContext::new(n::REQUEST_LEASE, l.to_bytes()),
            Self::LeaseV2(l) => return CreateContext::new(n::REQUEST_LEASE, l.to_bytes()),
            Self::DurableHandle => {
                out.put_u64_le(0);
                n::DURABLE_HANDLE_REQUEST
            }
            Self::DurableHandleV2 { timeout, flags } => {
                out.put_u32_le(*timeout);
                out.put_u32_le(*flags);
                n::DURABLE_HANDLE_REQUEST_V2
            }
            Self::Unknown(c) => return c.clone(),
        };
        CreateContext::new(name, out)
    }

    /// Types a raw response context; unknown names give [`ResponseContext::Unknown`],
    /// known names with short data are errors.
    pub fn from_context(c: &CreateContext) -> Result<Self, DecodeError> {
        use context_name as n;
        let d = &c.data[..];
        let mut r = Reader::new(d, "create context data");
        Ok(match &c.name[..] {
            n::QUERY_MAXIMAL_ACCESS => Self::MaximalAccess {
                query_status: NtStatus(r.u32()?),
                maximal_access: r.u32()?,
            },
            n::QUERY_ON_DISK_ID => Self::QueryOnDiskId {
                disk_file_id: r.u64()?,
                volume_id: r.u64()?,
                reserved: Bytes::copy_from_slice(r.rest),
            },
            n::REQUEST_LEASE => match decode_lease(d)? {
                AnyLease::V1(l) => Self::Lease(l),
                AnyLease::V2(l) => Self::LeaseV2(l),
            },
            n::DURABLE_HANDLE_REQUEST => Self::DurableHandle,
            n::DURABLE_HANDLE_REQUEST_V2 => Self::DurableHandleV2 {
                timeout: r.u32()?,
                flags: r.u32()?,
            },
            _ => Self::Unknown(c.clone()),
        })
    }

    /// Types every context of a CREATE response.
    pub fn from_contexts(list: &[CreateContext]) -> Result<Vec<Self>, DecodeError> {
        list.iter().map(Self::from_context).collect()
    }
}
