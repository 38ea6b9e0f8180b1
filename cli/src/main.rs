//! `pike`: an SMB2/3 command-line client on the pike library.
//!
//! Every subcommand connects once (TreeConnect from `PIKE_*` plus the flags), does its
//! work through the library's user API and exits; failures print one line on stderr
//! and exit with a code from [`fail`].

mod fail;
mod format;
mod ops;
mod progress;
mod relay;
mod remote;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use pike::pike_core::wire::Dialect;
use pike::runtime::tokio::Tokio;
use pike::{Tree, TreeConnect};

use crate::fail::{Fail, SmbContext};
use crate::remote::{CredSources, Remote};

const EXIT_CODES: &str = "\
REMOTE is //host[:port]/share/path or smb://[domain;user[:password]@]host[:port]/share/path.
Credentials: -U, the smb:// URL, PIKE_CREDS, else a prompt (needs a terminal).
PIKE_SERVER/PIKE_SHARE are ignored (REMOTE names them); PIKE_PORT, PIKE_SIGN, PIKE_ENCRYPT,
PIKE_MIN_DIALECT, PIKE_MAX_DIALECT and PIKE_TIMEOUT apply unless a flag overrides them.
PIKE_TRACE=1 logs one line per PDU on stderr; PIKE_PCAP=FILE writes the decrypted traffic
as a pcap file for Wireshark or tshark.

Exit codes: 0 ok, 1 other failure (any other NTSTATUS), 2 usage, 3 not found (file, path
or share), 4 logon failure or access denied, 5 no SMB connection (refused, not an SMB
server, connection lost), 6 timeout, 7 local file error, 130 interrupted.";

/// An SMB2/3 client.
#[derive(Debug, Parser)]
#[command(name = "pike", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    #[command(flatten)]
    conn: ConnArgs,
}

/// Connection options; accepted anywhere after the subcommand.
#[derive(Debug, Args)]
struct ConnArgs {
    /// Credentials, smbclient style: [DOMAIN\]USER[%PASSWORD] (no %: prompt).
    #[arg(short = 'U', long = "user", global = true, value_name = "CREDS")]
    user: Option<String>,
    /// Never prompt: empty password, or an anonymous session when no user is given.
    #[arg(short = 'N', long = "no-pass", global = true)]
    no_pass: bool,
    /// Require signing.
    #[arg(long, global = true)]
    sign: bool,
    /// Require encryption.
    #[arg(long, global = true)]
    encrypt: bool,
    /// Lowest dialect to offer (2.0.2, 2.1, 3.0, 3.0.2, 3.1.1).
    #[arg(long, global = true, value_name = "DIALECT", value_parser = dialect)]
    min_dialect: Option<Dialect>,
    /// Highest dialect to offer.
    #[arg(long, global = true, value_name = "DIALECT", value_parser = dialect)]
    max_dialect: Option<Dialect>,
    /// TCP port (default: the REMOTE's, else PIKE_PORT, else 445).
    #[arg(long, global = true)]
    port: Option<u16>,
    /// Deadline in seconds for connecting and for each request [default: 30].
    #[arg(long, global = true, value_name = "SECONDS", value_parser = seconds)]
    timeout: Option<Duration>,
    /// Connections for many small files in get/put/rm -r (Samba serves each
    /// connection in one process, so more connections use more server cores).
    #[arg(long, global = true, value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u8).range(1..=16))]
    connections: u8,
}

fn dialect(s: &str) -> Result<Dialect, String> {
    pike::parse_dialect(s).ok_or_else(|| "expected 2.0.2, 2.1, 3.0, 3.0.2 or 3.1.1".into())
}

fn seconds(s: &str) -> Result<Duration, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0 && *v < 1e9)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| "expected a number of seconds > 0".into())
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// List a directory (or show one file): one entry per line, name first.
    Ls {
        remote: String,
        /// JSON array instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Download a file (or with -r a directory's contents) [LOCAL: ./NAME].
    Get {
        /// Download a directory tree into LOCAL (created).
        #[arg(short, long)]
        recursive: bool,
        remote: String,
        local: Option<PathBuf>,
    },
    /// Upload a file (or with -r a directory's contents into REMOTE, created).
    Put {
        #[arg(short, long)]
        recursive: bool,
        local: PathBuf,
        remote: String,
    },
    /// Write a file to stdout.
    Cat { remote: String },
    /// Create directories.
    Mkdir {
        /// Create missing parents; an existing directory is fine.
        #[arg(short, long)]
        parents: bool,
        #[arg(required = true)]
        remotes: Vec<String>,
    },
    /// Remove files (with -r, directory trees).
    Rm {
        #[arg(short, long)]
        recursive: bool,
        /// A missing file is not an error.
        #[arg(short, long)]
        force: bool,
        #[arg(required = true)]
        remotes: Vec<String>,
    },
    /// Remove empty directories.
    Rmdir {
        #[arg(required = true)]
        remotes: Vec<String>,
    },
    /// Rename; TARGET is a REMOTE on the same share or a share-relative path.
    Mv {
        /// Replace an existing target.
        #[arg(short, long)]
        force: bool,
        remote: String,
        target: String,
    },
    /// Show size, times and attributes.
    Stat {
        remote: String,
        #[arg(long)]
        json: bool,
    },
    /// Relay WebSocket connections to one SMB server, for pike in the browser.
    ///
    /// Every connection goes to TARGET: a page never chooses the server. The relay
    /// sees every byte unless the session is encrypted (the browser client's default).
    Relay {
        /// Address to accept WebSocket connections on, e.g. 127.0.0.1:8090.
        #[arg(long, value_name = "ADDR")]
        listen: String,
        /// The SMB server, host:port.
        #[arg(long, value_name = "HOST:PORT")]
        target: String,
        /// Connections served at once; more get HTTP 503.
        #[arg(long, default_value_t = 64)]
        max_connections: usize,
        /// Largest WebSocket message accepted, in bytes.
        #[arg(long, default_value_t = (16 << 20) + (64 << 10))]
        max_message: u64,
        /// Accept only pages from this Origin (repeatable; default: any).
        #[arg(long = "allow-origin", value_name = "ORIGIN")]
        allow_origins: Vec<String>,
    },
    /// Print changes in a directory (CHANGE_NOTIFY) until interrupted.
    Watch {
        /// Watch the whole subtree.
        #[arg(short, long)]
        recursive: bool,
        remote: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The library logs one line per PDU through `tracing` under PIKE_TRACE; show them.
    if std::env::var("PIKE_TRACE").is_ok_and(|v| pike::parse_bool(&v) == Some(true)) {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_target(false)
            .init();
    }
    // One thread, as smbclient: the driver and the transfer it feeds take turns
    // instead of waking each other across threads (a third less CPU on a bulk get,
    // bench/RESULTS.md); the server, not the client, is the other core's work.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return report(&Fail::local("tokio runtime", e)),
    };
    let r = rt.block_on(async {
        tokio::select! {
            r = run(cli) => r,
            _ = tokio::signal::ctrl_c() => Err(Fail::new(130, "interrupted")),
        }
    });
    // Every result the user sees has been awaited. What is left is detached work
    // (LOGOFF, TREE_DISCONNECT, the CLOSE of an interrupted transfer): the server
    // cleans up when the TCP connection closes, so waiting would only add round trips.
    rt.shutdown_background();
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => report(&f),
    }
}

fn report(f: &Fail) -> ExitCode {
    eprintln!("pike: {}", f.msg);
    ExitCode::from(f.code)
}

async fn run(cli: Cli) -> Result<(), Fail> {
    let c = &cli.conn;
    match cli.cmd {
        Cmd::Relay {
            listen,
            target,
            max_connections,
            max_message,
            allow_origins,
        } => {
            let l = tokio::net::TcpListener::bind(&listen)
                .await
                .map_err(|e| Fail::local(format!("relay: listen on {listen}"), e))?;
            eprintln!(
                "pike relay: ws://{} -> {target}",
                l.local_addr().map_or(listen, |a| a.to_string())
            );
            let config = relay::Config {
                target,
                max_connections,
                max_message,
                allow_origins,
            };
            relay::serve(l, config).await
        }
        Cmd::Ls { remote, json } => {
            let r = Remote::require(&remote)?;
            ops::ls(&connect(c, &r).await?, &r, json).await
        }
        Cmd::Stat { remote, json } => {
            let r = Remote::require(&remote)?;
            ops::stat(&connect(c, &r).await?, &r, json).await
        }
        Cmd::Cat { remote } => {
            let r = Remote::require(&remote)?;
            ops::cat(&connect(c, &r).await?, &r).await
        }
        Cmd::Get {
            recursive,
            remote,
            local,
        } => {
            let r = Remote::require(&remote)?;
            ops::get(&conns(c, &r).await?, &r, local, recursive).await
        }
        Cmd::Put {
            recursive,
            local,
            remote,
        } => {
            let r = Remote::require(&remote)?;
            ops::put(&conns(c, &r).await?, &local, &r, recursive).await
        }
        Cmd::Mkdir { parents, remotes } => {
            let (tree, rs) = connect_all(c, &remotes).await?;
            ops::mkdir(&tree, &rs, parents).await
        }
        Cmd::Rm {
            recursive,
            force,
            remotes,
        } => {
            let rs = same_share(&remotes)?;
            ops::rm(&conns(c, &rs[0]).await?, &rs, recursive, force).await
        }
        Cmd::Rmdir { remotes } => {
            let (tree, rs) = connect_all(c, &remotes).await?;
            ops::rmdir(&tree, &rs).await
        }
        Cmd::Mv {
            force,
            remote,
            target,
        } => {
            let r = Remote::require(&remote)?;
            let target = match Remote::parse(&target)? {
                Some(t) if t.same_share(&r) => t.path,
                Some(t) => {
                    return Err(Fail::usage(format!(
                        "{t}: not on the same share as {r} (SMB renames within one share)"
                    )));
                }
                None => target.trim_matches('/').to_owned(),
            };
            ops::mv(&connect(c, &r).await?, &r, &target, force).await
        }
        Cmd::Watch { recursive, remote } => {
            let r = Remote::require(&remote)?;
            ops::watch(&connect(c, &r).await?, &r, recursive).await
        }
    }
}

/// One connection for several operands, which must share a server and share.
async fn connect_all(c: &ConnArgs, operands: &[String]) -> Result<(Tree, Vec<Remote>), Fail> {
    let rs = same_share(operands)?;
    Ok((connect(c, &rs[0]).await?, rs))
}

/// The operands, which must share a server and share.
fn same_share(operands: &[String]) -> Result<Vec<Remote>, Fail> {
    let rs = operands
        .iter()
        .map(|s| Remote::require(s))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(other) = rs.iter().find(|r| !r.same_share(&rs[0])) {
        return Err(Fail::usage(format!(
            "{other}: all operands must be on the same share as {}",
            rs[0]
        )));
    }
    Ok(rs)
}

/// A connection to the REMOTE's share, able to open `--connections` - 1 more.
async fn conns(c: &ConnArgs, r: &Remote) -> Result<ops::Conns, Fail> {
    let target = target(c, r)?;
    let tree = target.connect().await?;
    Ok(ops::Conns::new(
        tree,
        target,
        usize::from(c.connections) - 1,
    ))
}

/// Connects to the REMOTE's share: `PIKE_*` first, the REMOTE and the flags on top.
async fn connect(c: &ConnArgs, r: &Remote) -> Result<Tree, Fail> {
    target(c, r)?.connect().await
}

/// Where and how to connect, credentials resolved (prompted for at most once).
#[derive(Clone)]
pub(crate) struct Target {
    tc: TreeConnect,
    shown: String,
}

impl Target {
    pub(crate) async fn connect(&self) -> Result<Tree, Fail> {
        self.tc.connect(Tokio).await.smb(&self.shown)
    }
}

fn target(c: &ConnArgs, r: &Remote) -> Result<Target, Fail> {
    let mut tc = TreeConnect::from_env()
        .smb("environment")?
        .server(&r.host)
        .share(&r.share);
    if let Some(p) = c.port.or(r.port) {
        tc = tc.port(p);
    }
    let env_creds = std::env::var("PIKE_CREDS").ok().filter(|v| !v.is_empty());
    let sources = CredSources {
        flag: c.user.as_deref(),
        url: r.user.as_ref(),
        env: env_creds.as_deref(),
        no_pass: c.no_pass,
    };
    let who = sources.resolve(&mut ask)?;
    let account = who.as_ref().map_or_else(
        || "anonymous".to_owned(),
        |w| {
            if w.domain.is_empty() {
                w.user.clone()
            } else {
                format!("{}\\{}", w.domain, w.user)
            }
        },
    );
    if let Some(creds) = who {
        tc = tc.creds(creds);
    }
    if c.sign {
        tc = tc.sign(true);
    }
    if c.encrypt {
        tc = tc.encrypt(true);
    }
    if let Some(d) = c.min_dialect {
        tc = tc.min_dialect(d);
    }
    if let Some(d) = c.max_dialect {
        tc = tc.max_dialect(d);
    }
    // PIKE_TIMEOUT applies unless --timeout is given; the default is the library's 30 s.
    if let Some(t) = c.timeout {
        tc = tc.timeout(t);
    }
    let port = tc.port_number();
    let shown = format!("//{}:{port}/{} as {account}", r.host, r.share);
    Ok(Target { tc, shown })
}

/// Reads an answer from the terminal (without echo for passwords).
fn ask(prompt: &str, echo: bool) -> Result<String, Fail> {
    if !std::io::stdin().is_terminal() {
        return Err(Fail::usage(
            "no credentials: give -U 'DOMAIN\\user%password' or set PIKE_CREDS \
             (stdin is not a terminal, so pike cannot ask); -N for anonymous",
        ));
    }
    let r = if echo {
        eprint!("{prompt}");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    } else {
        rpassword::prompt_password(prompt)
    };
    r.map(|l| l.trim_end_matches(['\r', '\n']).to_owned())
        .map_err(|e| Fail::local("reading from the terminal", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn options_go_before_or_between_operands() {
        let cli = Cli::try_parse_from([
            "pike",
            "put",
            "-r",
            "-U",
            "LAB\\u%p",
            "./dir",
            "--timeout",
            "5",
            "//127.0.0.1:4450/share/dir",
            "--sign",
        ])
        .unwrap();
        let Cmd::Put {
            recursive,
            local,
            remote,
        } = cli.cmd
        else {
            panic!("not put: {:?}", cli.cmd)
        };
        assert!(recursive && cli.conn.sign);
        assert_eq!(cli.conn.connections, 2, "the default");
        assert_eq!(local, PathBuf::from("./dir"));
        assert_eq!(remote, "//127.0.0.1:4450/share/dir");
        assert_eq!(cli.conn.user.as_deref(), Some("LAB\\u%p"));
        assert_eq!(cli.conn.timeout, Some(Duration::from_secs(5)));
        let cli = Cli::try_parse_from(["pike", "ls", "--max-dialect", "3.0.2", "//h/s", "--json"])
            .unwrap();
        assert_eq!(cli.conn.max_dialect, Some(Dialect::Smb302));
        assert!(matches!(cli.cmd, Cmd::Ls { json: true, .. }));
        for bad in [
            &["pike", "ls", "--timeout", "0", "//h/s"][..],
            &["pike", "ls", "--max-dialect", "4.0", "//h/s"],
            &["pike", "rm"],
            &["pike", "get"],
            &["pike", "put", "-r", "--connections", "0", "d", "//h/s"],
            &["pike", "put", "-r", "--connections", "17", "d", "//h/s"],
        ] {
            let e = Cli::try_parse_from(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
    }
}
