//! Client configuration shared by every connection of a client.

use std::sync::Arc;
use std::time::Duration;

use crate::compress::CompressionAlgorithm;
use crate::connection::BreakPolicy;
use crate::crypto::{CipherId, CryptoProvider, SigningAlgorithm};
use crate::wire::Dialect;

/// When to encrypt (MS-SMB2 3.2.4.1.8 / 3.2.5.3.1).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EncryptionPolicy {
    /// Encrypt only what the server requires (session or share EncryptData).
    #[default]
    IfRequired,
    /// Encrypt every session where the server supports it.
    Preferred,
    /// Fail sessions that cannot be encrypted; encrypt everything after SESSION_SETUP.
    Required,
}

/// Configuration of a client; connections share it through an `Arc`.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Dialects to offer, any order.
    pub dialects: Vec<Dialect>,
    /// ClientGuid (MS-SMB2 2.2.3). Give each independent client its own.
    pub client_guid: [u8; 16],
    /// Server name for the NETNAME context and tree paths (`\\server\share`).
    pub server_name: String,
    /// Require signing even when the server does not.
    pub require_signing: bool,
    /// Encryption policy.
    pub encryption: EncryptionPolicy,
    /// Ciphers to offer at 3.1.1, preferred first.
    pub ciphers: Vec<CipherId>,
    /// Signing algorithms to offer at 3.1.1, preferred first.
    pub signing_algorithms: Vec<SigningAlgorithm>,
    /// Deadline for each request, from submit to final response.
    pub request_timeout: Duration,
    /// Deadline once a server said STATUS_PENDING (CHANGE_NOTIFY and blocking LOCK
    /// wait without one).
    pub pending_timeout: Duration,
    /// Send ECHO after this much silence; `None` disables keepalives.
    pub echo_interval: Option<Duration>,
    /// Credit window to grow towards (credits requested beyond each charge).
    pub target_credits: u16,
    /// Cap on one READ or WRITE payload, below the server's maximum.
    pub max_io_size: u32,
    /// Signing and encryption primitives.
    pub crypto: Arc<dyn CryptoProvider>,
    /// What each new connection does with oplock and lease breaks (default: acknowledge
    /// as asked); change it per connection with `Connection::set_break_policy`.
    pub break_policy: BreakPolicy,
    /// Accept a guest logon (no signing, no encryption: anyone can tamper).
    pub dangerous_allow_guest: bool,
    /// Accept responses whose signatures are wrong or missing (negative tests only).
    pub dangerous_skip_signature_verification: bool,
    /// Skip FSCTL_VALIDATE_NEGOTIATE_INFO after TREE_CONNECT at 3.0/3.0.2 (loses
    /// downgrade protection; for negative tests).
    pub dangerous_skip_negotiate_validation: bool,
    /// SMB 3.1.1 compression; off by default.
    pub compression: CompressionConfig,
    /// Send whatever is queued even beyond the credits granted (MS-SMB2 3.2.4.1.5),
    /// with MessageIds past the server's window: servers drop such connections
    /// (negative tests only).
    pub dangerous_ignore_credit_limit: bool,
}

/// SMB 3.1.1 compression (MS-SMB2 2.2.3.1.3, 3.1.4.4). Offered only when `algorithms`
/// is not empty; servers that do not implement it (Samba 4.17) ignore the context.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompressionConfig {
    /// Algorithms to offer, preferred first. [`CompressionAlgorithm::PatternV1`] is
    /// only useful with `chained`; LZ4 and unknown ids are never offered (no codec).
    pub algorithms: Vec<CompressionAlgorithm>,
    /// Offer chained compression (SMB2_COMPRESSION_CAPABILITIES_FLAG_CHAINED).
    pub chained: bool,
    /// Compress WRITE requests whose data is at least this large, when the result is
    /// smaller (MS-SMB2 3.2.4.1.9); `None` never compresses what we send.
    pub compress_writes_from: Option<usize>,
    /// Set SMB2_READFLAG_REQUEST_COMPRESSED on READs, asking the server to compress
    /// the data it returns (MS-SMB2 2.2.19, 3.2.4.6).
    pub request_compressed_reads: bool,
}

impl CompressionConfig {
    /// The algorithms this client can decode, in the caller's order, for the context.
    pub(crate) fn offered(&self) -> Vec<CompressionAlgorithm> {
        let mut algs: Vec<CompressionAlgorithm> = Vec::new();
        for &a in &self.algorithms {
            let usable = match a {
                CompressionAlgorithm::Lznt1
                | CompressionAlgorithm::Lz77
                | CompressionAlgorithm::Lz77Huffman => true,
                CompressionAlgorithm::PatternV1 => self.chained,
                _ => false,
            };
            if usable && !algs.contains(&a) {
                algs.push(a);
            }
        }
        algs
    }
}

impl ClientConfig {
    /// Defaults: every dialect, AES-128-GCM first, GMAC first, 30 s deadlines.
    pub fn new(crypto: Arc<dyn CryptoProvider>) -> Self {
        Self {
            dialects: Dialect::ALL.to_vec(),
            client_guid: [0; 16],
            server_name: String::new(),
            require_signing: false,
            encryption: EncryptionPolicy::IfRequired,
            ciphers: vec![
                CipherId::Aes128Gcm,
                CipherId::Aes256Gcm,
                CipherId::Aes128Ccm,
                CipherId::Aes256Ccm,
            ],
            signing_algorithms: vec![
                SigningAlgorithm::AesGmac,
                SigningAlgorithm::AesCmac,
                SigningAlgorithm::HmacSha256,
            ],
            request_timeout: Duration::from_secs(30),
            pending_timeout: Duration::from_secs(300),
            echo_interval: Some(Duration::from_secs(60)),
            target_credits: 512,
            max_io_size: 8 * 1024 * 1024,
            crypto,
            break_policy: BreakPolicy::AutoAck,
            dangerous_allow_guest: false,
            dangerous_skip_signature_verification: false,
            dangerous_skip_negotiate_validation: false,
            compression: CompressionConfig::default(),
            dangerous_ignore_credit_limit: false,
        }
    }
}
