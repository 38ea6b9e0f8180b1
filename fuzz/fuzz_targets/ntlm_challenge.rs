//! NTLM CHALLENGE_MESSAGE parsing (and the AV pairs inside): never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pike_core::auth::ntlm::{ChallengeMessage, parse_av_pairs};

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = ChallengeMessage::parse(data) {
        let _ = parse_av_pairs(&c.target_info);
        let _ = c.encode();
    }
    let _ = parse_av_pairs(data);
});
