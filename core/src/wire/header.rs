//! SMB2 packet header (MS-SMB2 2.2.1).

use bytes::BufMut;
use nom::bytes::complete::{tag, take};
use nom::number::complete::{le_u16, le_u32, le_u64};

use super::{AsyncId, DecodeError, MessageId, NtStatus, SessionId, TreeId, parse};

/// Length of the SMB2 header.
pub const HEADER_LEN: usize = 64;
/// ProtocolId of a plain SMB2 message.
pub const PROTOCOL_ID: [u8; 4] = [0xFE, b'S', b'M', b'B'];

/// SMB2 command codes (MS-SMB2 2.2.1.2).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Command {
    #[default]
    Negotiate,
    SessionSetup,
    Logoff,
    TreeConnect,
    TreeDisconnect,
    Create,
    Close,
    Flush,
    Read,
    Write,
    Lock,
    Ioctl,
    Cancel,
    Echo,
    QueryDirectory,
    ChangeNotify,
    QueryInfo,
    SetInfo,
    OplockBreak,
    ServerToClientNotification,
    /// A command code this crate does not know.
    Unknown(u16),
}

impl Command {
    /// Wire code.
    pub fn code(self) -> u16 {
        match self {
            Self::Negotiate => 0x00,
            Self::SessionSetup => 0x01,
            Self::Logoff => 0x02,
            Self::TreeConnect => 0x03,
            Self::TreeDisconnect => 0x04,
            Self::Create => 0x05,
            Self::Close => 0x06,
            Self::Flush => 0x07,
            Self::Read => 0x08,
            Self::Write => 0x09,
            Self::Lock => 0x0A,
            Self::Ioctl => 0x0B,
            Self::Cancel => 0x0C,
            Self::Echo => 0x0D,
            Self::QueryDirectory => 0x0E,
            Self::ChangeNotify => 0x0F,
            Self::QueryInfo => 0x10,
            Self::SetInfo => 0x11,
            Self::OplockBreak => 0x12,
            Self::ServerToClientNotification => 0x13,
            Self::Unknown(v) => v,
        }
    }

    /// From the wire code.
    pub fn from_code(v: u16) -> Self {
        match v {
            0x00 => Self::Negotiate,
            0x01 => Self::SessionSetup,
            0x02 => Self::Logoff,
            0x03 => Self::TreeConnect,
            0x04 => Self::TreeDisconnect,
            0x05 => Self::Create,
            0x06 => Self::Close,
            0x07 => Self::Flush,
            0x08 => Self::Read,
            0x09 => Self::Write,
            0x0A => Self::Lock,
            0x0B => Self::Ioctl,
            0x0C => Self::Cancel,
            0x0D => Self::Echo,
            0x0E => Self::QueryDirectory,
            0x0F => Self::ChangeNotify,
            0x10 => Self::QueryInfo,
            0x11 => Self::SetInfo,
            0x12 => Self::OplockBreak,
            0x13 => Self::ServerToClientNotification,
            v => Self::Unknown(v),
        }
    }

    /// The spec's upper-case name, e.g. `TREE_CONNECT` (for logs and errors).
    pub fn name(self) -> &'static str {
        match self {
            Self::Negotiate => "NEGOTIATE",
            Self::SessionSetup => "SESSION_SETUP",
            Self::Logoff => "LOGOFF",
            Self::TreeConnect => "TREE_CONNECT",
            Self::TreeDisconnect => "TREE_DISCONNECT",
            Self::Create => "CREATE",
            Self::Close => "CLOSE",
            Self::Flush => "FLUSH",
            Self::Read => "READ",
            Self::Write => "WRITE",
            Self::Lock => "LOCK",
            Self::Ioctl => "IOCTL",
            Self::Cancel => "CANCEL",
            Self::Echo => "ECHO",
            Self::QueryDirectory => "QUERY_DIRECTORY",
            Self::ChangeNotify => "CHANGE_NOTIFY",
            Self::QueryInfo => "QUERY_INFO",
            Self::SetInfo => "SET_INFO",
            Self::OplockBreak => "OPLOCK_BREAK",
            Self::ServerToClientNotification => "SERVER_TO_CLIENT_NOTIFICATION",
            Self::Unknown(_) => "UNKNOWN",
        }
    }
}

/// Header Flags (MS-SMB2 2.2.1.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HeaderFlags(pub u32);

impl HeaderFlags {
    pub const SERVER_TO_REDIR: u32 = 0x0000_0001;
    pub const ASYNC_COMMAND: u32 = 0x0000_0002;
    pub const RELATED_OPERATIONS: u32 = 0x0000_0004;
    pub const SIGNED: u32 = 0x0000_0008;
    pub const PRIORITY_MASK: u32 = 0x0000_0070;
    pub const DFS_OPERATIONS: u32 = 0x1000_0000;
    pub const REPLAY_OPERATION: u32 = 0x2000_0000;

    /// Whether all bits of `bits` are set.
    pub fn contains(self, bits: u32) -> bool {
        self.0 & bits == bits
    }
    /// Sets or clears `bits`.
    pub fn set(&mut self, bits: u32, on: bool) {
        if on {
            self.0 |= bits;
        } else {
            self.0 &= !bits;
        }
    }
    /// A response (SERVER_TO_REDIR set).
    pub fn is_response(self) -> bool {
        self.contains(Self::SERVER_TO_REDIR)
    }
    /// ASYNC_COMMAND set.
    pub fn is_async(self) -> bool {
        self.contains(Self::ASYNC_COMMAND)
    }
    /// SIGNED set.
    pub fn is_signed(self) -> bool {
        self.contains(Self::SIGNED)
    }
    /// RELATED_OPERATIONS set.
    pub fn is_related(self) -> bool {
        self.contains(Self::RELATED_OPERATIONS)
    }
}

/// The SMB2 header, sync or async form (MS-SMB2 2.2.1.1, 2.2.1.2).
///
/// In requests the 4 bytes after CreditCharge are ChannelSequence + Reserved; they are
/// kept in `status` as raw bits (`NtStatus(channel_sequence as u32)`), since the wire
/// shares the slot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub credit_charge: u16,
    pub status: NtStatus,
    pub command: Command,
    /// CreditRequest in requests, CreditResponse in responses.
    pub credits: u16,
    pub flags: HeaderFlags,
    pub next_command: u32,
    pub message_id: MessageId,
    /// Sync form: the Reserved (ProcessId) field.
    pub process_id: u32,
    /// Sync form only.
    pub tree_id: TreeId,
    /// Async form only (when `flags` has ASYNC_COMMAND).
    pub async_id: AsyncId,
    pub session_id: SessionId,
    pub signature: [u8; 16],
}

impl Header {
    /// Appends the 64 header bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(HEADER_LEN);
        out.put_slice(&PROTOCOL_ID);
        out.put_u16_le(HEADER_LEN as u16); // StructureSize
        out.put_u16_le(self.credit_charge);
        out.put_u32_le(self.status.0);
        out.put_u16_le(self.command.code());
        out.put_u16_le(self.credits);
        out.put_u32_le(self.flags.0);
        out.put_u32_le(self.next_command);
        out.put_u64_le(self.message_id.0);
        if self.flags.is_async() {
            out.put_u64_le(self.async_id.0);
        } else {
            out.put_u32_le(self.process_id);
            out.put_u32_le(self.tree_id.0);
        }
        out.put_u64_le(self.session_id.0);
        out.put_slice(&self.signature);
    }

    /// Decodes the header at the start of `msg`.
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let (_, (_, size, credit_charge, status, command, credits, flags, next_command)) = parse(
            "SMB2 header",
            msg,
            (
                tag(&PROTOCOL_ID[..]),
                le_u16,
                le_u16,
                le_u32,
                le_u16,
                le_u16,
                le_u32,
                le_u32,
            ),
        )
        .map_err(|_| {
            if msg.len() >= 4 && msg[..4] != PROTOCOL_ID {
                DecodeError::Invalid {
                    what: "SMB2 ProtocolId",
                }
            } else {
                DecodeError::Truncated {
                    what: "SMB2 header",
                }
            }
        })?;
        super::expect_size("SMB2 header", size, HEADER_LEN as u16)?;
        let (_, (message_id, id_slot, session_id, signature)) = parse(
            "SMB2 header",
            &msg[24..],
            (le_u64, take(8usize), le_u64, take(16usize)),
        )?;
        let flags = HeaderFlags(flags);
        let mut h = Self {
            credit_charge,
            status: NtStatus(status),
            command: Command::from_code(command),
            credits,
            flags,
            next_command,
            message_id: MessageId(message_id),
            session_id: SessionId(session_id),
            ..Self::default()
        };
        h.signature.copy_from_slice(signature);
        let slot: [u8; 8] = id_slot.try_into().unwrap_or_default();
        if flags.is_async() {
            h.async_id = AsyncId(u64::from_le_bytes(slot));
        } else {
            h.process_id = u32::from_le_bytes([slot[0], slot[1], slot[2], slot[3]]);
            h.tree_id = TreeId(u32::from_le_bytes([slot[4], slot[5], slot[6], slot[7]]));
        }
        Ok(h)
    }
}
