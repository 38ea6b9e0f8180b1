//! `PIKE_PCAP` and `PIKE_TRACE` through the `pike` binary against the Samba from
//! `PIKE_*` (skipped without `PIKE_SERVER`, failing under `CI=true` without it or without
//! tshark): a signed (and, where the server encrypts, encrypted) upload whose capture
//! tshark dissects as plain SMB2 with no more problems than it finds in smbclient's own
//! traffic with the same server.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

struct Target {
    server: String,
    port: String,
    share: String,
    creds: String,
}

/// The server from `PIKE_*`, or `None` (test skipped) without `PIKE_SERVER`.
fn target(test: &str) -> Option<Target> {
    let server = std::env::var("PIKE_SERVER").unwrap_or_default();
    let ci = std::env::var("CI").as_deref() == Ok("true");
    if server.is_empty() {
        assert!(!ci, "{test}: CI=true but PIKE_SERVER is not set");
        eprintln!("skipping {test}: set PIKE_SERVER/PIKE_PORT/PIKE_SHARE/PIKE_CREDS to run");
        return None;
    }
    let has_tshark = Command::new("tshark")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_tshark {
        assert!(!ci, "{test}: CI=true but tshark is not installed");
        eprintln!("skipping {test}: install tshark to run");
        return None;
    }
    Some(Target {
        server,
        port: std::env::var("PIKE_PORT").unwrap_or_else(|_| "445".into()),
        share: std::env::var("PIKE_SHARE").expect("PIKE_SHARE"),
        creds: std::env::var("PIKE_CREDS").expect("PIKE_CREDS"),
    })
}

fn encrypting() -> bool {
    std::env::var("PIKE_ENCRYPT").is_ok_and(|v| pike::parse_bool(&v) == Some(true))
}

fn scratch() -> std::path::PathBuf {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let d = std::env::temp_dir().join(format!("pike-pcap-{}-{t}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `tshark -r FILE ARGS`, which must succeed; stdout.
fn tshark(file: &Path, args: &[&str]) -> String {
    let o = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(args)
        .output()
        .expect("run tshark");
    assert!(
        o.status.success(),
        "tshark {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("UTF-8")
}

/// Expert messages of error severity or in the Malformed group (a dissector exception
/// is both); `port` is the server's when it is not 445 (where tshark dissects SMB2 by
/// itself). Checksums are checked in synthetic captures only: a live loopback capture
/// has none (offloaded).
fn problems(file: &Path, port: Option<&str>, checksums: bool) -> BTreeSet<String> {
    let decode_as = port.map(|p| format!("tcp.port=={p},nbss"));
    let check = if checksums { "TRUE" } else { "FALSE" };
    let (ip, tcp) = (
        format!("ip.check_checksum:{check}"),
        format!("tcp.check_checksum:{check}"),
    );
    let mut args = vec![
        "-o",
        &ip,
        "-o",
        &tcp,
        "-Y",
        "_ws.expert",
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=|",
        "-e",
        "_ws.expert.message",
        "-e",
        "_ws.expert.severity",
        "-e",
        "_ws.expert.group",
    ];
    if let Some(d) = &decode_as {
        args.extend(["-d", d]);
    }
    let mut out = BTreeSet::new();
    for line in tshark(file, &args).lines() {
        let f: Vec<Vec<&str>> = line.split('\t').map(|c| c.split('|').collect()).collect();
        let [messages, severities, groups] = &f[..] else {
            panic!("tshark fields: {line:?}");
        };
        for ((m, s), g) in messages.iter().zip(severities).zip(groups) {
            // Severity Error is 0x00800000, group Malformed 0x07000000 (epan/proto.h).
            let n = |v: &str| match v.strip_prefix("0x") {
                Some(hex) => u32::from_str_radix(hex, 16).unwrap_or(0),
                None => v.parse().unwrap_or(0),
            };
            if n(s) >= 0x0080_0000 || n(g) == 0x0700_0000 {
                out.insert((*m).to_owned());
            }
        }
    }
    out
}

/// smbclient's traffic with the same server and protection, captured on loopback, or
/// `None` where this user cannot capture (then nothing is forgiven).
fn smbclient_problems(
    t: &Target,
    local: &Path,
    name: &str,
    dir: &Path,
) -> Option<BTreeSet<String>> {
    let file = dir.join("smbclient.pcap");
    let mut cap = Command::new("tshark")
        .args([
            "-i",
            "lo",
            "-q",
            "-f",
            &format!("tcp port {}", t.port),
            "-w",
        ])
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let (tx, rx) = mpsc::channel();
    let stderr = cap.stderr.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut said = Vec::new();
    let started = loop {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(l) if l.contains("Capturing on") => break true,
            Ok(l) => said.push(l),
            Err(_) => break false,
        }
    };
    if !started {
        let _ = cap.kill();
        let _ = cap.wait();
        eprintln!("note: cannot capture smbclient's traffic on lo: {said:?}");
        return None;
    }
    let protection = if encrypting() { "encrypt" } else { "sign" };
    let o = Command::new("smbclient")
        .arg(format!("//{}/{}", t.server, t.share))
        .args(["-p", &t.port, "-U", &t.creds])
        .arg(format!("--client-protection={protection}"))
        .arg("-c")
        .arg(format!("put {} {name}; rm {name}", local.display()))
        .output();
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill")
        .args(["-INT", &cap.id().to_string()])
        .status();
    let _ = cap.wait();
    match o {
        Ok(o) if o.status.success() => {}
        other => {
            eprintln!("note: smbclient failed, nothing forgiven: {other:?}");
            return None;
        }
    }
    Some(problems(&file, Some(&t.port), false))
}

/// The SMB2 commands a capture shows, as (command code, is response), and whether any
/// frame is still encrypted (a TRANSFORM_HEADER, ProtocolId 0xFD 'S' 'M' 'B').
fn commands(file: &Path) -> (BTreeSet<(u16, bool)>, bool) {
    let out = tshark(
        file,
        &[
            "-Y",
            "smb2",
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
            "-e",
            "smb2.cmd",
            "-e",
            "smb2.flags.response",
            "-e",
            "smb2.protocol_id",
        ],
    );
    let mut seen = BTreeSet::new();
    let mut sealed = false;
    for line in out.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        sealed |= f.get(2).is_some_and(|p| p.contains("0xfd534d42"));
        let cmds = f[0].split(',').filter(|s| !s.is_empty());
        let resp = f.get(1).map_or("", |s| s).split(',');
        for (c, r) in cmds.zip(resp) {
            seen.insert((c.parse().expect("smb2.cmd"), r == "1" || r == "True"));
        }
    }
    (seen, sealed)
}

/// `pike put --sign`, plus `--encrypt` where `PIKE_ENCRYPT` says the server encrypts
/// (the `encrypted` rows of CI's matrix): a signed and encrypted session there.
#[test]
fn pcap_of_a_cli_run_dissects_like_smbclients_traffic() {
    let test = "pcap_of_a_cli_run_dissects_like_smbclients_traffic";
    let Some(t) = target(test) else { return };
    let dir = scratch();
    // 300 KB: WRITEs above 64 KiB, so frames span several TCP segments.
    let local = dir.join("upload.bin");
    std::fs::write(
        &local,
        (0..300_000u32).map(|i| (i * 7) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    let name = format!("pike-pcap-{}.bin", std::process::id());
    let remote = format!("//{}:{}/{}/{name}", t.server, t.port, t.share);
    let pcap = dir.join("pike.pcap");
    let mut args = vec!["put", "--sign"];
    if encrypting() {
        args.push("--encrypt");
    }
    let o = Command::new(env!("CARGO_BIN_EXE_pike"))
        .args(&args)
        .arg(&local)
        .arg(&remote)
        .env("PIKE_PCAP", &pcap)
        .env("PIKE_TRACE", "1")
        .stdin(Stdio::null())
        .output()
        .expect("spawn pike");
    let trace = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "pike {args:?}: {trace}");
    let rm = Command::new(env!("CARGO_BIN_EXE_pike"))
        .args(["rm", &remote])
        .stdin(Stdio::null())
        .status()
        .expect("spawn pike");
    assert!(rm.success());

    // PIKE_TRACE: one line per PDU, both ways.
    let names = [
        "NEGOTIATE",
        "SESSION_SETUP",
        "TREE_CONNECT",
        "CREATE",
        "WRITE",
        "CLOSE",
    ];
    for n in names {
        assert!(
            trace.contains(&format!("C->S {n} mid=")),
            "no {n} request in {trace}"
        );
        assert!(
            trace.contains(&format!("S->C {n} STATUS_")),
            "no {n} response in {trace}"
        );
    }
    if encrypting() {
        assert!(
            trace
                .lines()
                .any(|l| l.contains("C->S WRITE") && l.contains(" encrypted")),
            "{trace}"
        );
    }

    // PIKE_PCAP: every step decrypted, no transform left, a TCP stream without gaps.
    let (seen, sealed) = commands(&pcap);
    assert!(!sealed, "encrypted frames in the capture");
    // NEGOTIATE 0, SESSION_SETUP 1, TREE_CONNECT 3, CREATE 5, CLOSE 6, WRITE 9.
    for code in [0u16, 1, 3, 5, 6, 9] {
        for response in [false, true] {
            assert!(
                seen.contains(&(code, response)),
                "{code}/{response}: {seen:?}"
            );
        }
    }
    let tcp = tshark(
        &pcap,
        &[
            "-Y",
            "tcp.analysis.flags",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ],
    );
    assert!(tcp.trim().is_empty(), "TCP analysis flags in frames {tcp}");
    let segments = tshark(
        &pcap,
        &["-Y", "tcp.len > 65000", "-T", "fields", "-e", "tcp.len"],
    );
    assert!(!segments.trim().is_empty(), "no full-size segment");

    // Nothing tshark does not also report on smbclient's traffic (Samba 4.17's
    // NEGOTIATE negHints, say).
    let ours = problems(&pcap, None, true);
    let forgiven = smbclient_problems(&t, &local, &name, &dir).unwrap_or_default();
    eprintln!("tshark on pike's capture: {ours:?}; on smbclient's: {forgiven:?}");
    let extra: Vec<_> = ours.difference(&forgiven).collect();
    assert!(
        extra.is_empty(),
        "only in pike's capture: {extra:?} (smbclient's: {forgiven:?})"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
