//! REMOTE operands (`//host[:port]/share/path`, `smb://[domain;user[:pass]@]host[:port]/share/path`)
//! and where the credentials come from.

use std::fmt;

use pike::pike_core::auth::Credentials;

use crate::fail::Fail;

/// A parsed REMOTE operand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Remote {
    /// Host name or address (IPv6 without the brackets).
    pub(crate) host: String,
    /// The port, if the operand named one.
    pub(crate) port: Option<u16>,
    pub(crate) share: String,
    /// Share-relative, `/`-separated, no leading or trailing separator; empty for the root.
    pub(crate) path: String,
    /// The operand ended in a separator (`//h/s/dir/`): it names a directory.
    pub(crate) dir_hint: bool,
    /// `smb://domain;user:password@host/...` credentials.
    pub(crate) user: Option<UrlUser>,
}

/// The user part of an `smb://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UrlUser {
    pub(crate) domain: String,
    pub(crate) user: String,
    pub(crate) password: Option<String>,
}

impl Remote {
    /// Parses a REMOTE operand; `None` when it is not one (a local path).
    pub(crate) fn parse(s: &str) -> Result<Option<Self>, Fail> {
        let bad = |why: &str| Fail::usage(format!("{s:?}: {why}"));
        let (rest, url) = if s.len() >= 6 && s[..6].eq_ignore_ascii_case("smb://") {
            (&s[6..], true)
        } else if let Some(r) = s.strip_prefix("//").or_else(|| s.strip_prefix("\\\\")) {
            (r, false)
        } else {
            return Ok(None);
        };
        // UNC spelling: backslashes are separators too.
        let rest = if url {
            rest.to_owned()
        } else {
            rest.replace('\\', "/")
        };
        let (authority, tail) = rest.split_once('/').unwrap_or((&rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) if url => (Some(u), h),
            Some(_) => return Err(bad("user@ is only allowed in smb:// URLs")),
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport).ok_or_else(|| bad("bad host[:port]"))?;
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let decode = |c: &str| {
            if url {
                percent_decode(c).ok_or_else(|| bad("bad %-escape"))
            } else {
                Ok(c.to_owned())
            }
        };
        let mut parts = tail.split('/').filter(|c| !c.is_empty());
        let share = decode(parts.next().ok_or_else(|| bad("no share name"))?)?;
        let path = parts.map(decode).collect::<Result<Vec<_>, _>>()?.join("/");
        let user = match userinfo {
            Some(u) => Some(parse_userinfo(u).ok_or_else(|| bad("bad user part"))?),
            None => None,
        };
        Ok(Some(Self {
            host: host.to_owned(),
            port,
            share,
            dir_hint: path.is_empty() || tail.ends_with('/'),
            path,
            user,
        }))
    }

    /// Like [`parse`](Self::parse) but the operand must be remote.
    pub(crate) fn require(s: &str) -> Result<Self, Fail> {
        Self::parse(s)?.ok_or_else(|| {
            Fail::usage(format!(
                "{s:?} is not a REMOTE (//host[:port]/share/path or smb://host/share/path)"
            ))
        })
    }

    /// The last path component (empty at the share root).
    pub(crate) fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or("")
    }

    /// Whether `other` is on the same server and share (one connection serves both).
    pub(crate) fn same_share(&self, other: &Self) -> bool {
        self.host.eq_ignore_ascii_case(&other.host)
            && self.port == other.port
            && self.share.eq_ignore_ascii_case(&other.share)
    }
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(f, "//{host}")?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "/{}", self.share)?;
        if !self.path.is_empty() {
            write!(f, "/{}", self.path)?;
        }
        Ok(())
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`; a bare IPv6 address (several colons)
/// has no port.
fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    if let Some(r) = s.strip_prefix('[') {
        let (host, after) = r.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            p => Some((host, Some(parse_port(p.strip_prefix(':')?)?))),
        };
    }
    match s.split_once(':') {
        Some((h, p)) if !p.contains(':') => Some((h, Some(parse_port(p)?))),
        _ => Some((s, None)),
    }
}

fn parse_port(p: &str) -> Option<u16> {
    p.parse().ok().filter(|p| *p != 0)
}

/// `[domain;]user[:password]` (RFC-draft smb URL syntax), %-decoded.
fn parse_userinfo(u: &str) -> Option<UrlUser> {
    let (domain, rest) = u.split_once(';').unwrap_or(("", u));
    let (user, password) = match rest.split_once(':') {
        Some((u, p)) => (u, Some(percent_decode(p)?)),
        None => (rest, None),
    };
    if user.is_empty() {
        return None;
    }
    Some(UrlUser {
        domain: percent_decode(domain)?,
        user: percent_decode(user)?,
        password,
    })
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// What the user gave for credentials, strongest first: `-U`, the URL, `PIKE_CREDS`.
#[derive(Clone, Debug, Default)]
pub(crate) struct CredSources<'a> {
    pub(crate) flag: Option<&'a str>,
    pub(crate) url: Option<&'a UrlUser>,
    pub(crate) env: Option<&'a str>,
    /// `-N`: never prompt; no user at all means an anonymous session.
    pub(crate) no_pass: bool,
}

/// A question for the user: (prompt, echo?). Returns the line typed.
pub(crate) type Ask<'a> = &'a mut dyn FnMut(&str, bool) -> Result<String, Fail>;

impl CredSources<'_> {
    /// The credentials to log on with (`None`: anonymous), asking for what is missing.
    pub(crate) fn resolve(&self, ask: Ask<'_>) -> Result<Option<Credentials>, Fail> {
        let (domain, user, password) = if let Some(flag) = self.flag {
            // smbclient's convention: `-U user` without `%` means "ask for the password".
            let c = pike::parse_creds(flag);
            let pw = flag.contains('%').then(|| c.password.clone());
            (c.domain.clone(), c.user.clone(), pw)
        } else if let Some(u) = self.url {
            (u.domain.clone(), u.user.clone(), u.password.clone())
        } else if let Some(env) = self.env {
            let c = pike::parse_creds(env);
            (c.domain.clone(), c.user.clone(), Some(c.password.clone()))
        } else if self.no_pass {
            return Ok(None);
        } else {
            let account = ask("User (DOMAIN\\user): ", true)?;
            let c = pike::parse_creds(account.trim());
            if c.user.is_empty() {
                return Err(Fail::usage("no user name given"));
            }
            (c.domain.clone(), c.user.clone(), None)
        };
        let password = match password {
            Some(p) => p,
            None if self.no_pass => String::new(),
            None => {
                let who = if domain.is_empty() {
                    user.clone()
                } else {
                    format!("{domain}\\{user}")
                };
                ask(&format!("Password for {who}: "), false)?
            }
        };
        Ok(Some(Credentials::new(&user, &domain, &password)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Remote {
        Remote::require(s).unwrap()
    }

    #[test]
    fn unc_forms() {
        let x = r("//nas/data/a/b.txt");
        assert_eq!(
            (x.host.as_str(), x.port, x.share.as_str(), x.path.as_str()),
            ("nas", None, "data", "a/b.txt")
        );
        assert!(!x.dir_hint);
        assert_eq!(x.name(), "b.txt");
        let x = r("//127.0.0.1:4450/share/");
        assert_eq!(
            (x.port, x.path.as_str(), x.dir_hint),
            (Some(4450), "", true)
        );
        let x = r("\\\\srv\\s\\dir\\f");
        assert_eq!((x.share.as_str(), x.path.as_str()), ("s", "dir/f"));
        let x = r("//h/s//a//b/");
        assert_eq!((x.path.as_str(), x.dir_hint), ("a/b", true));
        assert_eq!(x.to_string(), "//h/s/a/b");
        let x = r("//[::1]:445/s/f");
        assert_eq!((x.host.as_str(), x.port), ("::1", Some(445)));
        assert_eq!(x.to_string(), "//[::1]:445/s/f");
        let x = r("//fe80::1/s");
        assert_eq!((x.host.as_str(), x.port), ("fe80::1", None));
    }

    #[test]
    fn smb_urls() {
        let x = r("smb://LAB;bob@nas:4450/data/dir%20x/f.txt");
        assert_eq!(
            (x.host.as_str(), x.port, x.share.as_str(), x.path.as_str()),
            ("nas", Some(4450), "data", "dir x/f.txt")
        );
        let u = x.user.unwrap();
        assert_eq!((u.domain.as_str(), u.user.as_str()), ("LAB", "bob"));
        assert_eq!(u.password, None);
        let x = r("SMB://alice:p%40ss@h/s");
        let u = x.user.unwrap();
        assert_eq!(
            (u.domain.as_str(), u.user.as_str(), u.password.as_deref()),
            ("", "alice", Some("p@ss"))
        );
        // Userinfo with an '@' in the password must be escaped; the last '@' splits.
        assert_eq!(r("smb://u:a@b@h/s").host, "h");
    }

    #[test]
    fn not_remote_or_malformed() {
        assert_eq!(Remote::parse("./local/file").unwrap(), None);
        assert_eq!(Remote::parse("/abs/path").unwrap(), None);
        assert_eq!(Remote::parse("C:\\x").unwrap(), None);
        for bad in [
            "//",
            "//host",
            "//host/",
            "//:445/s",
            "//h:0/s",
            "//h:99999/s",
            "//h:x/s",
            "//u@h/s",
            "smb://h/s/%zz",
            "smb://;@h/s",
            "//[::1/s",
        ] {
            let e = Remote::parse(bad).unwrap_err();
            assert_eq!(e.code, crate::fail::USAGE, "{bad}");
            assert!(e.msg.contains(bad), "{bad}: {}", e.msg);
        }
        assert!(Remote::require("local.txt").is_err());
    }

    #[test]
    fn same_share_ignores_case_and_path() {
        assert!(r("//H/S/a").same_share(&r("//h/s/b/c")));
        assert!(!r("//h/s/a").same_share(&r("//h:1/s/a")));
        assert!(!r("//h/s/a").same_share(&r("//h/t/a")));
    }

    fn resolve(src: CredSources<'_>, answers: &[&str]) -> (Option<Credentials>, Vec<String>) {
        let mut asked = Vec::new();
        let mut answers = answers.iter();
        let mut ask = |q: &str, _echo: bool| {
            asked.push(q.to_owned());
            answers
                .next()
                .map(|a| a.to_string())
                .ok_or_else(|| Fail::usage("no terminal"))
        };
        let c = src.resolve(&mut ask).unwrap();
        (c, asked)
    }

    fn triple(c: &Credentials) -> (&str, &str, &str) {
        (&c.domain, &c.user, &c.password)
    }

    #[test]
    fn credential_precedence_and_prompts() {
        let url = UrlUser {
            domain: "D".into(),
            user: "u".into(),
            password: Some("urlpw".into()),
        };
        // -U beats the URL and the environment.
        let (c, asked) = resolve(
            CredSources {
                flag: Some("LAB\\bob%pw%x"),
                url: Some(&url),
                env: Some("E\\e%e"),
                no_pass: false,
            },
            &[],
        );
        assert_eq!(triple(&c.unwrap()), ("LAB", "bob", "pw%x"));
        assert!(asked.is_empty());
        // The URL beats the environment.
        let (c, _) = resolve(
            CredSources {
                url: Some(&url),
                env: Some("E\\e%e"),
                ..Default::default()
            },
            &[],
        );
        assert_eq!(triple(&c.unwrap()), ("D", "u", "urlpw"));
        // PIKE_CREDS alone; an empty password is a password.
        let (c, asked) = resolve(
            CredSources {
                env: Some("E/e"),
                ..Default::default()
            },
            &[],
        );
        assert_eq!(triple(&c.unwrap()), ("E", "e", ""));
        assert!(asked.is_empty());
        // -U without '%' asks for the password, naming the account.
        let (c, asked) = resolve(
            CredSources {
                flag: Some("LAB\\bob"),
                ..Default::default()
            },
            &["typed"],
        );
        assert_eq!(triple(&c.unwrap()), ("LAB", "bob", "typed"));
        assert_eq!(asked, ["Password for LAB\\bob: "]);
        // -N: no prompt, empty password; nothing given at all means anonymous.
        let (c, _) = resolve(
            CredSources {
                flag: Some("bob"),
                no_pass: true,
                ..Default::default()
            },
            &[],
        );
        assert_eq!(triple(&c.unwrap()), ("", "bob", ""));
        let (c, _) = resolve(
            CredSources {
                no_pass: true,
                ..Default::default()
            },
            &[],
        );
        assert!(c.is_none());
        // Nothing given: ask for the account, then the password.
        let (c, asked) = resolve(CredSources::default(), &["W\\w", "pw"]);
        assert_eq!(triple(&c.unwrap()), ("W", "w", "pw"));
        assert_eq!(asked.len(), 2);
    }

    #[test]
    fn no_terminal_is_a_clear_error() {
        let mut ask = |_: &str, _: bool| Err(Fail::usage("stdin is not a terminal"));
        let e = CredSources::default().resolve(&mut ask).unwrap_err();
        assert_eq!(e.code, crate::fail::USAGE);
    }
}
