//! A test harness for server conformance tests, usable from plain `cargo test`.
//!
//! A [`Harness`] is built from the `PIKE_*` variables ([`TreeConnect::from_env`]),
//! connects, checks [`Requirements`] (unmet: the test is **skipped** with the reason
//! printed, where Python pike errors), makes a unique temporary directory on the share,
//! runs the test body with a [`Fixture`], removes the directory again (also after a
//! failure or a panic), and judges the result against a per-server table of
//! [`ExpectedFailure`]s.
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # fn demo() {
//! use pike::harness::{Harness, Requirements, expect_status};
//! use pike::pike_core::wire::{Capabilities, CreateRequest, Dialect, NtStatus, disposition};
//!
//! #[test]
//! fn open_missing_file() {
//!     let Some(h) = Harness::from_env("open_missing_file") else { return };
//!     let h = h.require(Requirements::new().min_dialect(Dialect::Smb210));
//!     let rt = pike::runtime::tokio::Tokio;
//!     tokio::runtime::Runtime::new().unwrap().block_on(h.run(rt, |fx| async move {
//!         // Requirements can also be checked (and the test skipped) mid-way.
//!         fx.require(&Requirements::new().capabilities(Capabilities::LEASING))?;
//!         // Tier 1: build the request, edit any field.
//!         let req = fx.tree().request(CreateRequest {
//!             name: fx.rel("missing"),
//!             create_disposition: disposition::OPEN,
//!             ..Default::default()
//!         });
//!         // Tier 2: submit; the future shows the interim state (AsyncId).
//!         let fut = fx.tree().submit(req)?;
//!         // Tier 3: await (here: assert it fails with exactly this status).
//!         expect_status(NtStatus::OBJECT_NAME_NOT_FOUND, fut).await?;
//!         Ok(())
//!     }));
//! }
//! # }
//! ```
//!
//! The body returns a [`TestResult`]: `?` turns a pike [`Error`] or a failed
//! [`expect_status`] into a failure and a [`Skip`] into a skip; `assert!` panics are
//! caught and count as failures too.
//!
//! # Expected failures
//!
//! [`Harness::expected_failures`] takes a table of (server pattern, test, reason). The
//! server is identified by `PIKE_SERVER_ID` (e.g. `samba-4.17.12-Debian`; SMB2 itself
//! never says what the server is) and the protection its session got, as
//! `samba-4.17.12-Debian/encrypted` (or `/signed`, `/plain`), matched against glob
//! patterns such as `samba-4.17*` or `samba-4.17*/plain`.
//! For a listed test on a matching server:
//!
//! - a failure is **expected**: reported as `XFAIL` on stderr, and the test passes;
//! - a pass is **unexpected** (`XPASS`): the test fails, so the stale entry is noticed
//!   and removed (strict, like pytest's `xfail(strict=True)`);
//! - a skip stays a skip.
//!
//! # Variables
//!
//! Those of [`TreeConnect::from_env`], plus `PIKE_SERVER_ID` (the server, for the
//! expected-failure table) and `CI`: without `PIKE_SERVER`, [`Harness::from_env`]
//! returns `None` (the test returns early) unless `CI=true`, where it panics.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pike_core::wire::{AsyncId, Dialect, NtStatus, TreeConnectResponse};
use pike_core::{Instant, NegotiateInfo, RequestError, StatusError};

use crate::runtime::Runtime;
use crate::{Error, Path, ResponseFuture, Timer, Tree, TreeConnect};

/// Why a test did not run: a requirement the server does not meet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    reason: String,
}

impl Skip {
    /// A skip for `reason`.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// The reason.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// Why a test body stopped early.
#[non_exhaustive]
#[derive(Debug)]
pub enum TestError {
    /// A requirement is not met: the test is skipped.
    Skip(Skip),
    /// The test failed (the message says how).
    Fail(String),
}

impl TestError {
    /// A failure with `message`.
    pub fn fail(message: impl Into<String>) -> Self {
        Self::Fail(message.into())
    }
}

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Skip(s) => write!(f, "skipped: {s}"),
            Self::Fail(m) => f.write_str(m),
        }
    }
}

impl From<Skip> for TestError {
    fn from(s: Skip) -> Self {
        Self::Skip(s)
    }
}

impl From<Error> for TestError {
    fn from(e: Error) -> Self {
        Self::Fail(e.to_string())
    }
}

impl From<RequestError> for TestError {
    fn from(e: RequestError) -> Self {
        Self::Fail(e.to_string())
    }
}

/// What a test body returns.
pub type TestResult = Result<(), TestError>;

/// What a server must offer for a test to run. Unset fields require nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requirements {
    min_dialect: Option<Dialect>,
    max_dialect: Option<Dialect>,
    capabilities: u32,
    share_capabilities: u32,
    share_flags: u32,
}

impl Requirements {
    /// No requirements.
    pub fn new() -> Self {
        Self::default()
    }

    /// The negotiated dialect must be at least `d`.
    pub fn min_dialect(mut self, d: Dialect) -> Self {
        self.min_dialect = Some(d);
        self
    }

    /// The negotiated dialect must be at most `d`.
    pub fn max_dialect(mut self, d: Dialect) -> Self {
        self.max_dialect = Some(d);
        self
    }

    /// Global capabilities ([`Capabilities`](pike_core::wire::Capabilities) bits) the
    /// server must grant in NEGOTIATE.
    pub fn capabilities(mut self, bits: u32) -> Self {
        self.capabilities |= bits;
        self
    }

    /// Share capabilities (MS-SMB2 2.2.10 `SMB2_SHARE_CAP_*` bits) the share must have.
    pub fn share_capabilities(mut self, bits: u32) -> Self {
        self.share_capabilities |= bits;
        self
    }

    /// Share flags ([`ShareFlags`](pike_core::wire::ShareFlags) bits) the share must have.
    pub fn share_flags(mut self, bits: u32) -> Self {
        self.share_flags |= bits;
        self
    }

    /// Checks what NEGOTIATE and TREE_CONNECT settled.
    pub fn check(
        &self,
        negotiated: &NegotiateInfo,
        share: &TreeConnectResponse,
    ) -> Result<(), Skip> {
        let d = negotiated.dialect;
        if let Some(min) = self.min_dialect.filter(|m| d < *m) {
            return Err(Skip::new(format!(
                "needs dialect >= {min:?}, negotiated {d:?}"
            )));
        }
        if let Some(max) = self.max_dialect.filter(|m| d > *m) {
            return Err(Skip::new(format!(
                "needs dialect <= {max:?}, negotiated {d:?}"
            )));
        }
        let missing = |what: &str, want: u32, have: u32| {
            (want & !have != 0).then(|| {
                Skip::new(format!(
                    "{what} {:#x} missing (server has {have:#x})",
                    want & !have
                ))
            })
        };
        let gaps = [
            missing("capabilities", self.capabilities, negotiated.capabilities.0),
            missing(
                "share capabilities",
                self.share_capabilities,
                share.capabilities,
            ),
            missing("share flags", self.share_flags, share.share_flags.0),
        ];
        gaps.into_iter().flatten().next().map_or(Ok(()), Err)
    }
}

/// One entry of a per-server expected-failure table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpectedFailure {
    /// Glob (`*` matches any run) over `<PIKE_SERVER_ID>/<protection>`, where the
    /// protection is what the session got: `plain`, `signed` or `encrypted`. E.g.
    /// `samba-4.17*` (any protection) or `samba-4.17*/encrypted`.
    pub server: &'static str,
    /// The test's name as given to [`Harness::from_env`].
    pub test: &'static str,
    /// Why the server behaves differently.
    pub reason: &'static str,
}

/// How a test ended, when it did not fail.
#[non_exhaustive]
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It passed.
    Passed,
    /// A requirement was not met.
    Skipped(Skip),
    /// It failed as the expected-failure table says it does on this server.
    ExpectedFailure {
        /// The table's reason.
        reason: &'static str,
        /// How it failed.
        failure: String,
    },
}

/// One test against the server from `PIKE_*`: requirements, expected failures, and a
/// temporary directory. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Harness {
    test: String,
    connect: TreeConnect,
    requirements: Requirements,
    expected: &'static [ExpectedFailure],
    server_id: Option<String>,
}

impl Harness {
    /// The harness for `test`, from `PIKE_*` and `PIKE_SERVER_ID`. `None` when
    /// `PIKE_SERVER` is unset (the caller returns: skipped), but under `CI=true` a
    /// missing server panics, so CI cannot pass by running nothing.
    ///
    /// # Panics
    ///
    /// If `CI=true` and `PIKE_SERVER` is unset, or a `PIKE_*` variable is malformed.
    pub fn from_env(test: &str) -> Option<Self> {
        let var = |k| std::env::var(k).ok().filter(|v| !v.is_empty());
        if var("PIKE_SERVER").is_none() {
            assert!(
                var("CI").as_deref() != Some("true"),
                "{test}: CI=true but PIKE_SERVER is not set"
            );
            eprintln!("SKIP {test}: set PIKE_SERVER/PIKE_PORT/PIKE_SHARE/PIKE_CREDS to run");
            return None;
        }
        let connect = TreeConnect::from_env().unwrap_or_else(|e| panic!("{test}: {e}"));
        Some(Self::new(test, connect).server_id(var("PIKE_SERVER_ID")))
    }

    /// The harness for `test` against `connect`.
    pub fn new(test: &str, connect: TreeConnect) -> Self {
        Self {
            test: test.to_owned(),
            connect,
            requirements: Requirements::default(),
            expected: &[],
            server_id: None,
        }
    }

    /// What the server must offer; unmet, the test is skipped.
    pub fn require(mut self, requirements: Requirements) -> Self {
        self.requirements = requirements;
        self
    }

    /// The expected-failure table (entries for other tests or servers are ignored).
    pub fn expected_failures(mut self, table: &'static [ExpectedFailure]) -> Self {
        self.expected = table;
        self
    }

    /// The server's identity for the table (default: `PIKE_SERVER_ID`).
    pub fn server_id(mut self, id: Option<String>) -> Self {
        self.server_id = id;
        self
    }

    /// The table entry that applies to this test on this server with `protection`
    /// (`plain`, `signed`, `encrypted`), if any.
    pub fn expected_failure(&self, protection: &str) -> Option<&'static ExpectedFailure> {
        let id = format!("{}/{protection}", self.server_id.as_deref()?);
        self.expected
            .iter()
            .find(|e| e.test == self.test && glob(e.server, &id))
    }

    /// Connects, checks the requirements, makes the temporary directory, runs `body`,
    /// removes the directory and judges the result (see [`judge`](Self::judge)).
    ///
    /// # Panics
    ///
    /// When the test fails unexpectedly or passes unexpectedly: that is how `cargo
    /// test` learns of it.
    pub async fn run<R, F, Fut>(self, rt: R, body: F) -> Outcome
    where
        R: Runtime,
        F: FnOnce(Fixture<R>) -> Fut,
        Fut: Future<Output = TestResult>,
    {
        let mut protection = "plain";
        let result = match self.setup(rt).await {
            Ok(fx) => {
                protection = fx.protection();
                let result = CatchUnwind(Box::pin(body(fx.clone()))).await;
                if let Err(e) = fx.cleanup().await {
                    eprintln!("{}: removing {} failed: {e}", self.test, fx.dir.as_str());
                }
                result
            }
            Err(e) => Ok(Err(e)),
        };
        match self.judge(protection, result) {
            Ok(outcome) => {
                match &outcome {
                    Outcome::Passed => {}
                    Outcome::Skipped(s) => eprintln!("SKIP {}: {s}", self.test),
                    Outcome::ExpectedFailure { reason, failure } => {
                        eprintln!("XFAIL {}: {reason} (failed with: {failure})", self.test);
                    }
                }
                outcome
            }
            Err(message) => panic!("{message}"),
        }
    }

    /// Judges a body's result (`Err` is a panic message) on a session with
    /// `protection`: the outcome, or why the test fails. An expected failure that passes
    /// fails (`XPASS`).
    pub fn judge(
        &self,
        protection: &str,
        result: Result<TestResult, String>,
    ) -> Result<Outcome, String> {
        let failure = match result {
            Ok(Ok(())) => None,
            Ok(Err(TestError::Skip(s))) => return Ok(Outcome::Skipped(s)),
            Ok(Err(TestError::Fail(m))) => Some(m),
            Err(panic) => Some(format!("panicked: {panic}")),
        };
        match (failure, self.expected_failure(protection)) {
            (None, None) => Ok(Outcome::Passed),
            (Some(m), None) => Err(format!("{}: {m}", self.test)),
            (Some(failure), Some(e)) => Ok(Outcome::ExpectedFailure {
                reason: e.reason,
                failure,
            }),
            (None, Some(e)) => Err(format!(
                "XPASS {}: expected to fail on {} ({}), but passed; remove the entry",
                self.test, e.server, e.reason
            )),
        }
    }

    async fn setup<R: Runtime>(&self, rt: R) -> Result<Fixture<R>, TestError> {
        let tree = self.connect.connect(rt.clone()).await?;
        let negotiated = tree
            .session()
            .connection()
            .negotiated()
            .ok_or_else(|| TestError::fail("no NEGOTIATE result"))?;
        self.requirements.check(&negotiated, tree.info())?;
        let dir = tree.path(&unique_name(&self.test));
        dir.mkdir(false, false).await?;
        Ok(Fixture {
            rt,
            connect: self.connect.clone(),
            tree,
            dir,
        })
    }
}

/// What a test body gets: a connected tree, its own directory on the share, and the
/// means to open more connections.
#[derive(Clone, Debug)]
pub struct Fixture<R: Runtime> {
    rt: R,
    connect: TreeConnect,
    tree: Tree,
    dir: Path,
}

impl<R: Runtime> Fixture<R> {
    /// The tree the harness connected.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The runtime.
    pub fn runtime(&self) -> &R {
        &self.rt
    }

    /// The connection settings (`PIKE_*`), to connect differently.
    pub fn tree_connect(&self) -> &TreeConnect {
        &self.connect
    }

    /// Another connection, session and tree to the same share.
    pub async fn connect(&self) -> Result<Tree, Error> {
        self.connect.connect(self.rt.clone()).await
    }

    /// The test's temporary directory (removed with its contents after the test).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `name` inside the temporary directory, on the harness's tree.
    pub fn path(&self, name: &str) -> Path {
        self.dir.join(name)
    }

    /// `name` inside the temporary directory as a share-relative path, for requests
    /// built by hand (e.g. a CREATE's name).
    pub fn rel(&self, name: &str) -> String {
        self.dir.join(name).as_str().to_owned()
    }

    /// What protects the harness's session: `encrypted`, `signed` or `plain`.
    pub fn protection(&self) -> &'static str {
        match self.tree.session().info() {
            Some(i) if i.encrypt_data => "encrypted",
            Some(i) if i.signing_required => "signed",
            _ => "plain",
        }
    }

    /// Checks `requirements` mid-test (`?` turns an unmet one into a skip).
    pub fn require(&self, requirements: &Requirements) -> Result<(), Skip> {
        let negotiated = self
            .tree
            .session()
            .connection()
            .negotiated()
            .ok_or_else(|| Skip::new("not negotiated"))?;
        requirements.check(&negotiated, self.tree.info())
    }

    /// Sleeps for `d`.
    pub async fn sleep(&self, d: Duration) {
        self.rt.timer().sleep_until(Instant::now() + d).await;
    }

    /// Awaits `fut`, failing the test if it takes longer than `within` (`what` names
    /// the wait in the failure): breaks, second opens and the like never hang a run.
    pub async fn within<T>(
        &self,
        within: Duration,
        what: &str,
        fut: impl Future<Output = T>,
    ) -> Result<T, TestError> {
        let mut fut = std::pin::pin!(fut);
        let mut sleep = std::pin::pin!(self.rt.timer().sleep_until(Instant::now() + within));
        std::future::poll_fn(|cx| {
            if let Poll::Ready(v) = fut.as_mut().poll(cx) {
                return Poll::Ready(Ok(v));
            }
            if sleep.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(TestError::fail(format!(
                    "{what}: nothing within {within:?}"
                ))));
            }
            Poll::Pending
        })
        .await
    }

    /// Waits until `fut`'s request went async (the server answered STATUS_PENDING)
    /// and returns its AsyncId; fails after `within`.
    pub async fn wait_interim(
        &self,
        fut: &ResponseFuture,
        within: Duration,
    ) -> Result<AsyncId, TestError> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(id) = fut.async_id() {
                return Ok(id);
            }
            if Instant::now() >= deadline {
                return Err(TestError::fail(format!(
                    "no interim response within {within:?}"
                )));
            }
            self.sleep(Duration::from_millis(5)).await;
        }
    }

    /// Removes the temporary directory and everything in it: through the test's tree,
    /// or a fresh connection when that one is no longer usable (logged off, closed).
    async fn cleanup(&self) -> Result<(), Error> {
        if remove_all(&self.dir).await.is_ok() {
            return Ok(());
        }
        let tree = self.connect().await?;
        remove_all(&tree.path(self.dir.as_str())).await
    }
}

/// Removes `root` and everything below it (directory links are unlinked, not followed).
pub async fn remove_all(root: &Path) -> Result<(), Error> {
    let mut dirs = vec![root.clone()];
    let mut i = 0;
    while let Some(dir) = dirs.get(i).cloned() {
        for e in dir.iterdir().await? {
            if e.metadata.is_dir() && !e.metadata.is_reparse_point() {
                dirs.push(e.path);
            } else {
                e.path.unlink(true).await?;
            }
        }
        i += 1;
    }
    for dir in dirs.iter().rev() {
        match dir.rmdir().await {
            Err(e) if !e.is_not_found() => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Awaits `fut` and checks that it failed with exactly `status`; returns the failed
/// response (header, ERROR body and contexts) for further checks. Otherwise the failure
/// names the expected and the actual status, or shows the unexpected success.
pub async fn expect_status<T, E, F>(status: NtStatus, fut: F) -> Result<Box<StatusError>, TestError>
where
    T: fmt::Debug,
    E: Into<Error>,
    F: Future<Output = Result<T, E>>,
{
    check_status(status, fut.await)
}

/// [`expect_status`] on a result already at hand.
pub fn check_status<T, E>(
    status: NtStatus,
    result: Result<T, E>,
) -> Result<Box<StatusError>, TestError>
where
    T: fmt::Debug,
    E: Into<Error>,
{
    match result.map_err(Into::into) {
        Err(Error::Request(RequestError::Status(s))) if s.status == status => Ok(s),
        Err(Error::Request(RequestError::Status(s))) => Err(TestError::fail(format!(
            "expected {status}, got {} for {}: {s:?}",
            s.status,
            s.command.name()
        ))),
        Err(e) => Err(TestError::fail(format!("expected {status}, got: {e}"))),
        Ok(v) => Err(TestError::fail(format!(
            "expected {status}, but it succeeded: {v:?}"
        ))),
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(text) = text.strip_prefix(head) else {
                return false;
            };
            (0..=text.len())
                .filter(|i| text.is_char_boundary(*i))
                .any(|i| glob(rest, &text[i..]))
        }
    }
}

/// A directory name no other run uses.
fn unique_name(test: &str) -> String {
    let t = web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let safe: String = test
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("pike-test-{safe}-{}-{t}", std::process::id())
}

/// Resolves to the inner future's output, or the message of its panic.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(non-string panic)".into()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pike_core::crypto::SigningAlgorithm;
    use pike_core::wire::{Capabilities, SecurityMode, ShareFlags};

    const TABLE: &[ExpectedFailure] = &[
        ExpectedFailure {
            server: "samba-4.17*",
            test: "quirk",
            reason: "Samba does it differently",
        },
        ExpectedFailure {
            server: "samba-*/encrypted",
            test: "enc_quirk",
            reason: "only when encrypting",
        },
    ];

    fn harness(test: &str, server: Option<&str>) -> Harness {
        Harness::new(test, TreeConnect::new())
            .expected_failures(TABLE)
            .server_id(server.map(Into::into))
    }

    #[test]
    fn expected_failure_semantics() {
        let listed = harness("quirk", Some("samba-4.17.12-Debian"));
        let failed = || Ok(Err(TestError::fail("boom")));
        assert!(matches!(
            listed.judge("plain", failed()),
            Ok(Outcome::ExpectedFailure {
                reason: "Samba does it differently",
                ..
            })
        ));
        assert!(matches!(
            listed.judge("plain", Err("assertion failed".into())),
            Ok(Outcome::ExpectedFailure { .. })
        ));
        let xpass = listed.judge("plain", Ok(Ok(()))).unwrap_err();
        assert!(xpass.starts_with("XPASS quirk"), "{xpass}");
        let skip = Ok(Err(TestError::Skip(Skip::new("no leases"))));
        assert_eq!(
            listed.judge("plain", skip),
            Ok(Outcome::Skipped(Skip::new("no leases")))
        );
        // Protection-specific entries.
        let enc = harness("enc_quirk", Some("samba-4.17.1"));
        assert!(matches!(
            enc.judge("encrypted", failed()),
            Ok(Outcome::ExpectedFailure { .. })
        ));
        assert!(enc.judge("signed", failed()).is_err());
        // Another server, another test, or no server id: the table does not apply.
        for h in [
            harness("quirk", Some("samba-4.18.0")),
            harness("other", Some("samba-4.17.12")),
            harness("quirk", None),
        ] {
            assert_eq!(h.judge("signed", Ok(Ok(()))), Ok(Outcome::Passed));
            assert!(h.judge("signed", failed()).unwrap_err().contains("boom"));
        }
    }

    #[test]
    fn glob_matches_stars() {
        assert!(glob("samba-4.17*", "samba-4.17.12-Debian"));
        assert!(glob("*", ""));
        assert!(glob("win*-2022*", "windows-server-2022-dc"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exact2"));
        assert!(!glob("samba-4.1*", "samba-3.1"));
        assert!(!glob("a*b", "acbx"));
    }

    fn negotiated(dialect: Dialect, caps: u32) -> NegotiateInfo {
        NegotiateInfo {
            dialect,
            security_mode: SecurityMode::default(),
            capabilities: Capabilities(caps),
            server_guid: [0; 16],
            max_transact_size: 0,
            max_read_size: 0,
            max_write_size: 0,
            cipher: None,
            signing_algorithm: SigningAlgorithm::HmacSha256,
            security_buffer: Default::default(),
            system_time: 0,
            compression: None,
        }
    }

    #[test]
    fn requirements_skip_with_a_reason() {
        let share = TreeConnectResponse {
            share_type: 1,
            share_flags: ShareFlags(ShareFlags::ENCRYPT_DATA),
            capabilities: 0,
            maximal_access: 0,
        };
        let n = negotiated(Dialect::Smb302, Capabilities::LEASING);
        let ok = Requirements::new()
            .min_dialect(Dialect::Smb210)
            .max_dialect(Dialect::Smb311)
            .capabilities(Capabilities::LEASING)
            .share_flags(ShareFlags::ENCRYPT_DATA);
        assert_eq!(ok.check(&n, &share), Ok(()));
        for (r, words) in [
            (
                Requirements::new().min_dialect(Dialect::Smb311),
                "dialect >=",
            ),
            (
                Requirements::new().max_dialect(Dialect::Smb210),
                "dialect <=",
            ),
            (
                Requirements::new().capabilities(Capabilities::ENCRYPTION),
                "capabilities 0x40",
            ),
            (
                Requirements::new().share_capabilities(0x10),
                "share capabilities 0x10",
            ),
            (
                Requirements::new().share_flags(ShareFlags::DFS),
                "share flags 0x1",
            ),
        ] {
            let skip = r.check(&n, &share).unwrap_err();
            assert!(skip.reason().contains(words), "{skip}");
        }
    }

    #[test]
    fn unique_names_are_path_safe() {
        let n = unique_name("lock::cancel pending");
        assert!(n.starts_with("pike-test-lock__cancel_pending-"), "{n}");
        assert_ne!(n, unique_name("lock::cancel pending"));
    }
}
