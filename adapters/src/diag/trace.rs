//! `PIKE_TRACE`: one `tracing` event per PDU (target `pike::pdu`, level INFO) naming
//! the direction, command, status, ids and credits.

use std::fmt::Write;

use pike_core::wire::Header;
use pike_core::{Hook, HookEvent};

/// ProtocolId of a TRANSFORM_HEADER (MS-SMB2 2.2.41).
const TRANSFORM_ID: &[u8] = b"\xfdSMB";

pub(super) fn hook() -> Hook {
    // Received runs just before the same frame's BeforeDecode: it says how it came.
    let mut sealed_rx = false;
    Hook::new(move |e| match e {
        HookEvent::AfterSend { frame, plaintext } => {
            let how = protection(frame.starts_with(TRANSFORM_ID));
            for (h, len) in super::headers(plaintext) {
                tracing::info!(target: "pike::pdu", "{}", line("C->S", &h, len, how));
            }
        }
        HookEvent::Received(frame) => sealed_rx = frame.starts_with(TRANSFORM_ID),
        HookEvent::BeforeDecode(plaintext) => {
            let how = protection(sealed_rx);
            for (h, len) in super::headers(plaintext) {
                tracing::info!(target: "pike::pdu", "{}", line("S->C", &h, len, how));
            }
        }
        _ => {}
    })
}

fn protection(sealed: bool) -> &'static str {
    if sealed { "encrypted" } else { "" }
}

/// `C->S CREATE mid=5 sid=0x… tid=0x… credits=1/+32 signed len=120`: for requests
/// `credits` is charge/requested, for responses `charge/+granted` and the status follows
/// the command.
fn line(dir: &str, h: &Header, len: usize, how: &str) -> String {
    let mut s = format!("{dir} {}", h.command.name());
    if h.flags.is_response() {
        let _ = write!(s, " {}", h.status);
    }
    let _ = write!(s, " mid={}", h.message_id.0);
    if h.flags.is_async() {
        let _ = write!(s, " async={:#x}", h.async_id.0);
    } else {
        let _ = write!(s, " tid={:#x}", h.tree_id.0);
    }
    let _ = write!(s, " sid={:#x}", h.session_id.0);
    let sign = if h.flags.is_response() { "+" } else { "" };
    let _ = write!(s, " credits={}/{sign}{}", h.credit_charge, h.credits);
    if h.flags.is_signed() {
        s.push_str(" signed");
    }
    if !how.is_empty() {
        let _ = write!(s, " {how}");
    }
    if h.flags.is_related() {
        s.push_str(" related");
    }
    let _ = write!(s, " len={len}");
    s
}

#[cfg(test)]
mod tests {
    use pike_core::wire::{AsyncId, Command, HeaderFlags, MessageId, NtStatus, SessionId, TreeId};

    use super::*;

    #[test]
    fn lines_name_command_status_ids_and_credits() {
        let mut h = Header {
            command: Command::Create,
            credit_charge: 1,
            credits: 32,
            message_id: MessageId(5),
            tree_id: TreeId(7),
            session_id: SessionId(0x2c00_0001),
            flags: HeaderFlags(HeaderFlags::SIGNED),
            ..Header::default()
        };
        assert_eq!(
            line("C->S", &h, 120, ""),
            "C->S CREATE mid=5 tid=0x7 sid=0x2c000001 credits=1/32 signed len=120"
        );
        h.flags = HeaderFlags(HeaderFlags::SERVER_TO_REDIR | HeaderFlags::ASYNC_COMMAND);
        h.status = NtStatus::PENDING;
        h.async_id = AsyncId(9);
        assert_eq!(
            line("S->C", &h, 72, "encrypted"),
            "S->C CREATE STATUS_PENDING mid=5 async=0x9 sid=0x2c000001 credits=1/+32 encrypted len=72"
        );
    }
}
