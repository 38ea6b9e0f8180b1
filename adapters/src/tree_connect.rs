//! [`TreeConnect`]: everything needed to reach a share, from code or from `PIKE_*`
//! environment variables (pike's test convention).

use std::time::Duration;

use pike_core::auth::Credentials;
use pike_core::wire::Dialect;
use pike_core::{ClientConfig, EncryptionPolicy};

use futures_io::{AsyncRead, AsyncWrite};

use crate::runtime::{MaybeSend, Runtime};
use crate::{Client, Connection, Error, Tree};

/// Parses a dialect: `2.0.2`, `2.1`, `3.0`, `3.0.2`, `3.1.1`, or pike's names
/// (`DIALECT_SMB2_002`, `DIALECT_SMB2_1`, `DIALECT_SMB3_0`, `DIALECT_SMB3_0_2`,
/// `DIALECT_SMB3_1_1`).
pub fn parse_dialect(s: &str) -> Option<Dialect> {
    Some(match s.trim() {
        "2.0.2" | "2.02" | "DIALECT_SMB2_002" => Dialect::Smb202,
        "2.1" | "2.10" | "DIALECT_SMB2_1" => Dialect::Smb210,
        "3.0" | "3.00" | "DIALECT_SMB3_0" => Dialect::Smb300,
        "3.0.2" | "3.02" | "DIALECT_SMB3_0_2" => Dialect::Smb302,
        "3.1.1" | "3.11" | "DIALECT_SMB3_1_1" => Dialect::Smb311,
        _ => return None,
    })
}

/// Parses `yes/true/1` and `no/false/0` (any case).
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" => Some(true),
        "no" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// Parses `DOMAIN\user%password` (smbclient's `-U` form; the domain and the password
/// part are optional: `user`, `user%pw`, `DOM\user`, `DOM/user%pw`).
pub fn parse_creds(s: &str) -> Credentials {
    let (account, password) = s.split_once('%').unwrap_or((s, ""));
    let (domain, user) = account.split_once(['\\', '/']).unwrap_or(("", account));
    Credentials::new(user, domain, password)
}

/// How to reach one share: server, port, credentials, share and security options.
///
/// Explicit setters override what [`from_env`](Self::from_env) read.
///
/// ```no_run
/// # async fn demo() -> Result<(), pike::Error> {
/// let tree = pike::TreeConnect::from_env()?
///     .share("scratch")
///     .connect(pike::runtime::tokio::Tokio)
///     .await?;
/// tree.path("hello.txt").write_bytes(b"hi").await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct TreeConnect {
    server: Option<String>,
    port: Option<u16>,
    creds: Option<Credentials>,
    share: Option<String>,
    sign: bool,
    encrypt: bool,
    min_dialect: Option<Dialect>,
    max_dialect: Option<Dialect>,
    timeout: Option<Duration>,
    client_guid: Option<[u8; 16]>,
    config: Option<ClientConfig>,
}

impl TreeConnect {
    /// An empty description: set at least the server and the share.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `PIKE_SERVER`, `PIKE_PORT` (445), `PIKE_CREDS` (`DOMAIN\user%password`),
    /// `PIKE_SHARE`, `PIKE_SIGN`, `PIKE_ENCRYPT` (yes/true/1, no/false/0),
    /// `PIKE_MIN_DIALECT`, `PIKE_MAX_DIALECT` and `PIKE_TIMEOUT` (seconds). Unset or
    /// empty variables are left unset; a malformed one is an [`Error::Config`].
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// [`from_env`](Self::from_env) over any variable source (for tests and CLIs).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let var = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let bad = |name: &'static str, value: String, expected: &'static str| Error::Config {
            name,
            value,
            expected,
        };
        let mut tc = Self::new();
        tc.server = var("PIKE_SERVER");
        tc.share = var("PIKE_SHARE");
        tc.creds = var("PIKE_CREDS").map(|c| parse_creds(&c));
        if let Some(p) = var("PIKE_PORT") {
            tc.port = Some(
                p.trim()
                    .parse()
                    .map_err(|_| bad("PIKE_PORT", p, "a TCP port (1-65535)"))?,
            );
        }
        for (name, slot) in [
            ("PIKE_SIGN", &mut tc.sign),
            ("PIKE_ENCRYPT", &mut tc.encrypt),
        ] {
            if let Some(v) = var(name) {
                *slot = parse_bool(&v).ok_or_else(|| bad(name, v, "yes/true/1 or no/false/0"))?;
            }
        }
        for (name, slot) in [
            ("PIKE_MIN_DIALECT", &mut tc.min_dialect),
            ("PIKE_MAX_DIALECT", &mut tc.max_dialect),
        ] {
            if let Some(v) = var(name) {
                *slot = Some(parse_dialect(&v).ok_or_else(|| {
                    bad(
                        name,
                        v,
                        "2.0.2, 2.1, 3.0, 3.0.2, 3.1.1 or DIALECT_SMB3_1_1 style",
                    )
                })?);
            }
        }
        if let Some(t) = var("PIKE_TIMEOUT") {
            let secs: f64 = t
                .trim()
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s > 0.0)
                .ok_or_else(|| bad("PIKE_TIMEOUT", t, "seconds > 0"))?;
            tc.timeout = Some(Duration::from_secs_f64(secs));
        }
        Ok(tc)
    }

    /// Server host name or address.
    pub fn server(mut self, server: impl Into<String>) -> Self {
        self.server = Some(server.into());
        self
    }

    /// TCP port (default 445).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// NTLM credentials.
    pub fn creds(mut self, creds: Credentials) -> Self {
        self.creds = Some(creds);
        self
    }

    /// Share name (without the server part).
    pub fn share(mut self, share: impl Into<String>) -> Self {
        self.share = Some(share.into());
        self
    }

    /// Require signing (MS-SMB2 SIGNING_REQUIRED).
    pub fn sign(mut self, on: bool) -> Self {
        self.sign = on;
        self
    }

    /// Require encryption of the session (fails against servers without it).
    pub fn encrypt(mut self, on: bool) -> Self {
        self.encrypt = on;
        self
    }

    /// Lowest dialect to offer.
    pub fn min_dialect(mut self, d: Dialect) -> Self {
        self.min_dialect = Some(d);
        self
    }

    /// Highest dialect to offer.
    pub fn max_dialect(mut self, d: Dialect) -> Self {
        self.max_dialect = Some(d);
        self
    }

    /// Deadline for connecting and for each request (default 30 s).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }

    /// A fixed ClientGuid (tests); by default each connect gets a random one.
    pub fn client_guid(mut self, guid: [u8; 16]) -> Self {
        self.client_guid = Some(guid);
        self
    }

    /// A base configuration (ciphers, signing algorithms, credits, `dangerous_*`
    /// switches); the builder's own settings are applied on top of it.
    pub fn base_config(mut self, config: ClientConfig) -> Self {
        self.config = Some(config);
        self
    }

    /// The server, if set.
    pub fn server_name(&self) -> Option<&str> {
        self.server.as_deref()
    }

    /// The share, if set.
    pub fn share_name(&self) -> Option<&str> {
        self.share.as_deref()
    }

    /// The TCP port.
    pub fn port_number(&self) -> u16 {
        self.port.unwrap_or(445)
    }

    /// The client configuration these settings describe.
    pub fn config(&self) -> Result<ClientConfig, Error> {
        let mut c = match &self.config {
            Some(c) => c.clone(),
            None => ClientConfig::new(crate::default_crypto()),
        };
        c.dialects.retain(|d| {
            self.min_dialect.is_none_or(|m| *d >= m) && self.max_dialect.is_none_or(|m| *d <= m)
        });
        if c.dialects.is_empty() {
            return Err(Error::InvalidArgument(
                "no dialect between the minimum and maximum dialect".into(),
            ));
        }
        c.require_signing |= self.sign;
        if self.encrypt {
            c.encryption = EncryptionPolicy::Required;
        }
        if let Some(t) = self.timeout {
            c.request_timeout = t;
        }
        if let Some(g) = self.client_guid {
            c.client_guid = g;
        }
        if let Some(s) = &self.server {
            c.server_name.clone_from(s);
        }
        Ok(c)
    }

    /// Connects, authenticates and connects the tree, on `runtime`.
    pub async fn connect<R: Runtime>(&self, runtime: R) -> Result<Tree, Error> {
        self.connect_with(&self.client(runtime)?).await
    }

    /// The [`Client`] [`connect`](Self::connect) would use: add hooks to it (they then
    /// see NEGOTIATE and SESSION_SETUP too), then [`connect_with`](Self::connect_with).
    pub fn client<R: Runtime>(&self, runtime: R) -> Result<Client<R>, Error> {
        let client = Client::with_config(runtime, self.config()?);
        Ok(match self.client_guid {
            Some(_) => client,
            None => client.random_client_guid(),
        })
    }

    /// Connects, authenticates and connects the tree through `client` (its settings
    /// and hooks; this builder's server, port, credentials and share).
    pub async fn connect_with<R: Runtime>(&self, client: &Client<R>) -> Result<Tree, Error> {
        let (server, _) = self.names()?;
        let conn = client.connect(server, self.port_number()).await?;
        self.login(conn).await
    }

    /// Like [`connect`](Self::connect), over `stream`, an open byte stream to the server
    /// (see [`Client::connect_stream`]); the port is not used.
    pub async fn connect_stream<R, S>(&self, runtime: R, stream: S) -> Result<Tree, Error>
    where
        R: Runtime,
        S: AsyncRead + AsyncWrite + Unpin + MaybeSend + 'static,
    {
        let (server, _) = self.names()?;
        let conn = self.client(runtime)?.connect_stream(server, stream).await?;
        self.login(conn).await
    }

    /// The server and the share, both required.
    fn names(&self) -> Result<(&str, &str), Error> {
        let missing = |name| Error::Config {
            name,
            value: String::new(),
            expected: "a value (set it or the PIKE_* variable)",
        };
        let server = self.server.as_deref().ok_or(missing("PIKE_SERVER"))?;
        let share = self.share.as_deref().ok_or(missing("PIKE_SHARE"))?;
        Ok((server, share))
    }

    /// Authenticates on `conn` and connects the share.
    async fn login(&self, conn: Connection) -> Result<Tree, Error> {
        let (_, share) = self.names()?;
        let session = match &self.creds {
            Some(c) => conn.login(c.clone()).await?,
            None => conn.login_anonymous().await?,
        };
        session.tree_connect(share).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn env_values_parse_and_setters_override() {
        let tc = TreeConnect::from_vars(vars(&[
            ("PIKE_SERVER", "srv"),
            ("PIKE_PORT", "4450"),
            ("PIKE_CREDS", "LAB\\bob%s3cret%x"),
            ("PIKE_SHARE", "data"),
            ("PIKE_SIGN", "Yes"),
            ("PIKE_ENCRYPT", "0"),
            ("PIKE_MIN_DIALECT", "DIALECT_SMB3_0"),
            ("PIKE_MAX_DIALECT", "3.0.2"),
        ]))
        .unwrap();
        assert_eq!(tc.server_name(), Some("srv"));
        assert_eq!(tc.port_number(), 4450);
        let c = tc.creds.as_ref().unwrap();
        assert_eq!((c.domain.as_str(), c.user.as_str()), ("LAB", "bob"));
        assert_eq!(c.password, "s3cret%x");
        let cfg = tc.config().unwrap();
        assert!(cfg.require_signing);
        assert_eq!(cfg.encryption, EncryptionPolicy::IfRequired);
        assert_eq!(cfg.dialects, vec![Dialect::Smb300, Dialect::Smb302]);
        let tc = tc.share("other").port(1).encrypt(true);
        assert_eq!(tc.share_name(), Some("other"));
        assert_eq!(tc.port_number(), 1);
        assert_eq!(tc.config().unwrap().encryption, EncryptionPolicy::Required);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (k, v) in [
            ("PIKE_PORT", "70000"),
            ("PIKE_SIGN", "maybe"),
            ("PIKE_MAX_DIALECT", "SMB4"),
            ("PIKE_TIMEOUT", "-1"),
        ] {
            let e = TreeConnect::from_vars(vars(&[(k, v)])).unwrap_err();
            assert!(
                matches!(e, Error::Config { name, .. } if name == k),
                "{k}: {e}"
            );
            assert!(e.to_string().contains(v), "{e}");
        }
        let e = TreeConnect::new()
            .min_dialect(Dialect::Smb311)
            .max_dialect(Dialect::Smb202)
            .config()
            .unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)));
    }

    #[test]
    fn dialect_and_bool_spellings() {
        for (s, d) in [
            ("2.0.2", Dialect::Smb202),
            ("DIALECT_SMB2_002", Dialect::Smb202),
            ("DIALECT_SMB2_1", Dialect::Smb210),
            ("3.0", Dialect::Smb300),
            ("DIALECT_SMB3_0_2", Dialect::Smb302),
            (" 3.1.1 ", Dialect::Smb311),
        ] {
            assert_eq!(parse_dialect(s), Some(d), "{s}");
        }
        assert_eq!(parse_dialect("3.1"), None);
        for (s, b) in [
            ("yes", true),
            ("TRUE", true),
            ("1", true),
            ("No", false),
            ("0", false),
        ] {
            assert_eq!(parse_bool(s), Some(b));
        }
        assert_eq!(parse_bool("2"), None);
        let c = parse_creds("alice");
        assert_eq!(
            (c.user.as_str(), c.domain.as_str(), c.password.as_str()),
            ("alice", "", "")
        );
    }
}
