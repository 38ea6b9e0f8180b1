//! SPNEGO NegTokenInit / NegTokenResp DER parsing: never panics; a parsed NegTokenResp
//! re-encodes to something that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pike_core::auth::spnego::{encode_neg_token_resp, parse_neg_token_init, parse_neg_token_resp};

fuzz_target!(|data: &[u8]| {
    let _ = parse_neg_token_init(data);
    if let Ok(r) = parse_neg_token_resp(data) {
        let again = parse_neg_token_resp(&encode_neg_token_resp(&r)).expect("re-encoded parses");
        assert_eq!(again, r);
    }
});
