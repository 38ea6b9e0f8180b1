//! The remaining response decoders (CLOSE, WRITE, TREE_CONNECT, CHANGE_NOTIFY,
//! OPLOCK_BREAK, ERROR): never panic on arbitrary messages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pike_core::wire::{
    ChangeNotifyResponse, CloseResponse, ErrorResponse, OplockBreak, TreeConnectResponse,
    WriteResponse,
};

fuzz_target!(|data: &[u8]| {
    let Some((&which, msg)) = data.split_first() else {
        return;
    };
    match which % 6 {
        0 => drop(CloseResponse::decode(msg)),
        1 => drop(WriteResponse::decode(msg)),
        2 => drop(TreeConnectResponse::decode(msg)),
        3 => {
            if let Ok(r) = ChangeNotifyResponse::decode(msg) {
                let _ = format!("{r:?}");
            }
        }
        4 => {
            if let Ok(b) = OplockBreak::decode(msg) {
                let _ = (b.oplock(), b.lease());
            }
        }
        _ => {
            if let Ok(e) = ErrorResponse::decode(msg) {
                let _ = e.contexts();
            }
        }
    }
});
