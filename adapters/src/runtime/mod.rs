//! Runtime glue: TCP connect and a timer per runtime. No protocol logic lives here.

#[cfg(feature = "tokio")]
pub mod tokio;
