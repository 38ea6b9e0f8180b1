//! Regression tests for core bugs found by the property tests and fuzzers. Each one is
//! kept as a plain test once `core/` is fixed, so the bug cannot come back.

use pike_core::wire::{Dialect, EchoRequest, FrameDecoder, frame_header};
use pike_core::{Request, RequestError};
use pike_proptests::{Pair, ServerConfig};

/// Found by `properties::flipped_bit_in_protected_response_is_never_data`.
///
/// `Connection::check_protection` (core/src/connection/recv.rs, the
/// `let Some(&idx) = self.session_index.get(&h.session_id) else { return Ok(()) }` early
/// return) looks the signing session up by the *response's* SessionId. A response whose
/// SessionId was altered in transit names no known session, so its signature is never
/// verified, and it is then dispatched by MessageId to the pending signed request as data.
/// One flipped bit in a signed response therefore yields `Ok(data)`.
///
/// Fixed: `check_protection` takes the session from the pending request. The fix as
/// proposed: take the session from the pending request (`self.pending[&message_id].session`)
/// when there is one; if a request was sent signed/encrypted or its session requires
/// signing, a response that names another (or no known) session must fail the connection
/// (MS-SMB2 3.2.5.1.3: the response is discarded if the session is not found).
#[test]
fn signed_response_with_unknown_session_id_is_accepted() {
    let server = ServerConfig {
        require_signing: true,
        ..ServerConfig::default()
    };
    let mut c = Pair::client_config();
    c.dialects = vec![Dialect::Smb311];
    let mut p = Pair::new(c, server, 1);
    let sid = p.connect();
    p.drive();
    let id = p.submit(Request::new(EchoRequest).session(sid));
    // Take the ECHO request to the server and its signed answer back by hand.
    let mut out = Vec::new();
    while p.client.poll_transmit(p.now, &mut out).is_some() {}
    p.server.handle_input(&out);
    let mut resp = Vec::new();
    p.server.poll_transmit(&mut resp).expect("echo answered");
    let mut d = FrameDecoder::new(1 << 20);
    d.push(&resp);
    let mut msg = d.next_frame().unwrap().expect("one frame").to_vec();
    assert_ne!(msg[16] & 0x08, 0, "the response is signed");
    msg[40] ^= 0x01; // SessionId, inside the signed region
    let mut framed = frame_header(msg.len()).to_vec();
    framed.extend_from_slice(&msg);
    p.client.handle_input(p.now, &framed);
    p.drain_events();
    let r = p.done.remove(&id).expect("completed");
    assert!(
        matches!(r, Err(RequestError::ConnectionLost(_))),
        "a tampered signed response completed the request with {r:?}"
    );
}
