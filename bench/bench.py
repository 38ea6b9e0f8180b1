#!/usr/bin/env python3
"""pike vs smbclient on loopback Samba: run by hand, as root, from the repository root.

    python3 bench/bench.py                  # full run: 1 GiB, 1000 x 4 KiB, 5 repetitions
    BENCH_BIG_MIB=64 BENCH_REPS=1 python3 bench/bench.py --out /tmp/smoke.md   # smoke run

BENCH_PIKE=PATH uses that pike binary instead of building the release one (CI's smoke
run uses its debug build: it checks the bench still works, not how fast anything is).

For each server config (plain; signing mandatory; encryption required, AES-128-GCM) it
starts a throw-away Samba (scripts/samba-up.sh) whose share lives on tmpfs (/dev/shm),
then runs `pike` (release build) and `smbclient` interleaved, alternating which goes
first, BENCH_REPS times each: get the big file, put it, upload the small files, list
them, delete them, connect only. Every run is checked (sizes, sha256, file counts).
Per cell it reports the median wall time, the median client CPU (user+sys of the
client process, from wait4), throughput, and the pike/smbclient ratios; the table and
the environment go to bench/RESULTS.md (or --out).

Needs: root, samba, smbclient, samba-vfs-modules, cargo; python3 (stdlib only).
"""

import argparse
import datetime
import hashlib
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20
BIG_MIB = int(os.environ.get("BENCH_BIG_MIB", "1024"))
SMALL_N = int(os.environ.get("BENCH_SMALL_N", "1000"))
SMALL_SIZE = 4096
REPS = int(os.environ.get("BENCH_REPS", "5"))
PORT = int(os.environ.get("BENCH_PORT", "24650"))
USER, PASS = "pike", "pike-pass"
CREDS = f"LAB\\{USER}%{PASS}"
TMPFS = os.environ.get("BENCH_TMPFS", "/dev/shm")

# name, samba-up.sh environment, pike flags, smbclient flags
CONFIGS = [
    ("plain", {"SMB_ENCRYPT": "off"}, [], []),
    ("signed", {"SERVER_SIGNING": "mandatory"}, ["--sign"], ["--client-protection=sign"]),
    (
        "encrypted",
        {"SMB_ENCRYPT": "required", "SMB3_CIPHERS": "AES-128-GCM"},
        ["--encrypt"],
        ["--client-protection=encrypt"],
    ),
]
OPS = ["get", "put", "upload", "list", "delete", "connect"]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * MIB):
            h.update(chunk)
    return h.hexdigest()


def warm_memory(mib):
    """Writes and deletes `mib` MiB on tmpfs, so that the next run reuses memory the
    guest still holds. This VM hands freed memory back to its host (free page
    reporting); allocating 1 GiB of tmpfs pages after that took 0.9 to 2.7 s here,
    against 0.4 s right after a free, and would land on whichever tool runs next."""
    path = os.path.join(TMPFS, "pike-bench-warm")
    block = bytes(MIB)
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(block)
    os.remove(path)


def timed(argv):
    """Runs argv; returns (wall seconds, user+sys CPU seconds of the child, stdout)."""
    t = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    # wait4 gives this child's own rusage (communicate() would reap it first), so the
    # pipes are drained by threads.
    chunks = {"out": [], "err": []}

    def pump(stream, key):
        chunks[key].append(stream.read())

    ts = [threading.Thread(target=pump, args=(p.stdout, "out")), threading.Thread(target=pump, args=(p.stderr, "err"))]
    for th in ts:
        th.start()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    for th in ts:
        th.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    out, err = b"".join(chunks["out"]), b"".join(chunks["err"])
    if p.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} failed ({p.returncode}): {err.decode(errors='replace')}")
    return wall, ru.ru_utime + ru.ru_stime, out.decode(errors="replace")


class Lab:
    def __init__(self, name, senv):
        self.name = name
        self.lab = f"/tmp/pike-bench-{name}"
        self.share = os.path.join(TMPFS, f"pike-bench-share-{name}")
        shutil.rmtree(self.lab, ignore_errors=True)
        shutil.rmtree(self.share, ignore_errors=True)
        os.makedirs(self.share)
        env = dict(os.environ, SMB_PORT=str(PORT), SHARE_DIR=self.share, SMB_USER=USER, SMB_PASS=PASS, **senv)
        for k in ("SERVER_SIGNING", "SMB_ENCRYPT", "SMB3_CIPHERS"):
            if k not in senv:
                env.pop(k, None)
        sh(["bash", os.path.join(ROOT, "scripts/samba-up.sh"), self.lab], env=env)

    def down(self):
        subprocess.run(["bash", os.path.join(ROOT, "scripts/samba-down.sh"), self.lab], capture_output=True)
        shutil.rmtree(self.lab, ignore_errors=True)
        shutil.rmtree(self.share, ignore_errors=True)

    def smbd(self):
        """The pid of this lab's parent smbd (the oldest with its smb.conf)."""
        conf = os.path.join(self.lab, "smb.conf")
        out = subprocess.run(["pgrep", "-of", f"smbd.*{conf}"], capture_output=True, text=True).stdout
        return int(out.split()[0])

    def server_cpu(self, known=None):
        """CPU seconds of the smbd processes that served connections so far: the parent's
        reaped children (one per connection). With `known` (the children before an
        operation), first waits (at most 2 s) for the operation's own children to exit
        and be reaped."""
        parent = self.smbd()
        deadline = time.monotonic() + 2
        while known is not None and time.monotonic() < deadline and Lab.children(parent) - known:
            time.sleep(0.01)
        with open(f"/proc/{parent}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # cutime and cstime: fields 16 and 17 of proc(5), 14 and 15 after "(comm)".
        return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def children(parent):
        out = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout
        return set(out.split())

    def own(self, path):
        shutil.chown(path, USER, None)


def commands(tool, pike, pflags, sflags, local):
    """The argv of each operation for one tool."""
    remote = f"//127.0.0.1:{PORT}/share"
    # Each tool has its own names, so the operations interleave without interfering.
    put, small = f"put_{tool}.bin", f"small_{tool}"
    if tool == "pike":
        p = [pike]
        extra = ["-U", CREDS] + pflags
        return {
            "get": p + ["get", f"{remote}/big.bin", f"{local}/got_{tool}.bin"] + extra,
            "put": p + ["put", f"{local}/big.bin", f"{remote}/{put}"] + extra,
            "upload": p + ["put", "-r", f"{local}/small", f"{remote}/{small}"] + extra,
            "list": p + ["ls", f"{remote}/{small}"] + extra,
            "delete": p + ["rm", "-r", f"{remote}/{small}"] + extra,
            "connect": p + ["stat", f"{remote}/"] + extra,
        }
    s = ["smbclient", "//127.0.0.1/share", "-p", str(PORT), "-U", CREDS] + sflags + ["-c"]
    return {
        "get": s + [f"get big.bin {local}/got_{tool}.bin"],
        "put": s + [f"put {local}/big.bin {put}"],
        "upload": s + [f"mkdir {small}; cd {small}; lcd {local}/small; prompt off; mput *"],
        "list": s + [f"ls {small}/*"],
        "delete": s + [f"deltree {small}"],
        "connect": s + ["exit"],
    }


def verify(op, lab, local, out, big_sha, tool):
    """Checks what an operation produced; raises on any mismatch."""
    if op == "get":
        got = f"{local}/got_{tool}.bin"
        assert os.path.getsize(got) == BIG_MIB * MIB, "get: size"
        assert sha256(got) == big_sha, "get: sha256"
        os.remove(got)
    elif op == "put":
        put = os.path.join(lab.share, f"put_{tool}.bin")
        assert os.path.getsize(put) == BIG_MIB * MIB, "put: size"
        assert sha256(put) == big_sha, "put: sha256"
        os.remove(put)
    elif op == "upload":
        d = os.path.join(lab.share, f"small_{tool}")
        names = os.listdir(d)
        assert len(names) == SMALL_N, f"upload: {len(names)} files"
        assert all(os.path.getsize(os.path.join(d, n)) == SMALL_SIZE for n in names), "upload: sizes"
        for n in names[:10]:
            with open(os.path.join(d, n), "rb") as a, open(os.path.join(local, "small", n), "rb") as b:
                assert a.read() == b.read(), f"upload: {n} differs"
    elif op == "list":
        listed = sum(1 for line in out.splitlines() if "small-" in line)
        assert listed == SMALL_N, f"list: {listed} entries"
    elif op == "delete":
        assert not os.path.exists(os.path.join(lab.share, f"small_{tool}")), "delete: directory still there"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    ap.add_argument("--configs", default=",".join(c[0] for c in CONFIGS))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: run as root (smbd needs it)")
    pike = os.environ.get("BENCH_PIKE")
    if not pike:
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        build = ["cargo", "build", "--release", "-p", "pike-cli"]
        subprocess.run(build, check=True, cwd=ROOT)
        pike = os.path.join(target, "release", "pike")

    local = os.path.join(TMPFS, "pike-bench-local")
    shutil.rmtree(local, ignore_errors=True)
    os.makedirs(os.path.join(local, "small"))
    with open(f"{local}/big.bin", "wb") as f:
        for _ in range(BIG_MIB):
            f.write(os.urandom(MIB))
    big_sha = sha256(f"{local}/big.bin")
    for i in range(SMALL_N):
        with open(os.path.join(local, "small", f"small-{i:04}"), "wb") as f:
            f.write(os.urandom(SMALL_SIZE))

    results = {}  # (config, op, tool) -> [(wall, cpu)]
    started = datetime.datetime.now(datetime.timezone.utc)
    for name, senv, pflags, sflags in CONFIGS:
        if name not in args.configs.split(","):
            continue
        lab = Lab(name, senv)
        try:
            shutil.copyfile(f"{local}/big.bin", os.path.join(lab.share, "big.bin"))
            lab.own(os.path.join(lab.share, "big.bin"))
            cmds = {t: commands(t, pike, pflags, sflags, local) for t in ("pike", "smbclient")}
            for rep in range(REPS):
                # Alternate who goes first: caches and CPU frequency favour neither.
                order = ["pike", "smbclient"] if rep % 2 == 0 else ["smbclient", "pike"]
                for op in OPS:
                    for tool in order:
                        if op in ("get", "put"):
                            # Room for the copy the client (get) or smbd (put) writes.
                            warm_memory(BIG_MIB + BIG_MIB // 4)
                        known = Lab.children(lab.smbd())
                        before = lab.server_cpu()
                        wall, cpu, out = timed(cmds[tool][op])
                        server = lab.server_cpu(known) - before
                        verify(op, lab, local, out, big_sha, tool)
                        results.setdefault((name, op, tool), []).append((wall, cpu, server))
                        print(
                            f"{name:9} rep {rep + 1} {tool:9} {op:8} {wall:8.3f} s  cpu {cpu:6.3f} s  smbd {server:6.3f} s",
                            flush=True,
                        )
        finally:
            lab.down()
    shutil.rmtree(local, ignore_errors=True)
    write_report(args.out, results, started, pike)


def rate(op, wall):
    if op in ("get", "put"):
        return f"{BIG_MIB / wall:,.0f} MiB/s"
    if op in ("upload", "list", "delete"):
        return f"{SMALL_N / wall:,.0f} files/s"
    return f"{wall * 1000:.0f} ms"


# The crates on pike's hot paths, whose versions RESULTS.md records.
CRATES = ["bytes", "nom", "tokio", "ring", "aes-gcm", "aes", "polyval", "hmac", "cmac", "sha2"]


def crate_versions():
    """`name version` of each of CRATES, from Cargo.lock (all versions if several)."""
    found = {}
    with open(os.path.join(ROOT, "Cargo.lock")) as f:
        for block in f.read().split("[[package]]")[1:]:
            fields = dict(
                line.split(" = ", 1) for line in block.strip().splitlines() if " = " in line
            )
            name, version = fields.get("name", "").strip('"'), fields.get("version", "").strip('"')
            if name in CRATES:
                found.setdefault(name, []).append(version)
    return ", ".join(f"{c} {'/'.join(found[c])}" for c in CRATES if c in found)


def write_report(path, results, started, pike):
    def ver(argv):
        try:
            return sh(argv).strip().splitlines()[0]
        except Exception as e:  # noqa: BLE001 - informational only
            return f"? ({e})"

    cpu_model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30)
    commit = ver(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    lines = [
        "# pike vs smbclient",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC with `python3 bench/bench.py` (bench/bench.py at commit {commit}).",
        "",
        f"- Machine: {cpu_model}, {os.cpu_count()} CPUs, {mem_gib:.0f} GiB RAM, {platform.platform()}",
        f"- Load average at the end: {os.getloadavg()[0]:.2f} (the machine is shared; see notes)",
        f"- Samba: {ver(['smbd', '--version'])}; smbclient: {ver(['smbclient', '--version'])}",
        f"- pike: {ver([pike, '--version'])} ({'given by BENCH_PIKE' if os.environ.get('BENCH_PIKE') else 'release build'}, tokio current-thread, ring AES-GCM); {ver(['rustc', '--version'])}",
        f"- Crates: {crate_versions()}",
        f"- Sizes: big file {BIG_MIB} MiB; {SMALL_N} small files of {SMALL_SIZE} B; {REPS} repetitions per cell, "
        "pike and smbclient interleaved (alternating first).",
        "- Share and local files on tmpfs; Samba on 127.0.0.1, SMB 3.1.1.",
        "",
        "Cells: median wall time (throughput), median client CPU (user+sys). Ratios: throughput",
        "pike/smbclient (higher is better for pike; for connect, time pike/smbclient, lower is better)",
        "and CPU pike/smbclient (lower is better). CPU floor: (client CPU + smbd CPU) / CPUs, the",
        "shortest wall time this machine allows for that much work (see notes).",
        "",
        "| config | operation | pike | smbclient | speed ratio | pike CPU | smbclient CPU | CPU ratio | smbd CPU (pike / smbclient) | CPU floor (pike / smbclient) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    cpus = os.cpu_count() or 1
    configs = sorted({k[0] for k in results}, key=[c[0] for c in CONFIGS].index)
    for name in configs:
        for op in OPS:
            p = results.get((name, op, "pike"))
            s = results.get((name, op, "smbclient"))
            if not p or not s:
                continue
            pw, pc, pv = (statistics.median(x[i] for x in p) for i in range(3))
            sw, sc, sv = (statistics.median(x[i] for x in s) for i in range(3))
            speed = pw / sw if op == "connect" else sw / pw
            lines.append(
                f"| {name} | {op} | {pw:.3f} s ({rate(op, pw)}) | {sw:.3f} s ({rate(op, sw)}) | "
                f"{speed:.2f}x | {pc:.3f} s | {sc:.3f} s | {pc / sc if sc else float('inf'):.2f}x | "
                f"{pv:.3f} / {sv:.3f} s | {(pc + pv) / cpus:.3f} / {(sc + sv) / cpus:.3f} s |"
            )
    cmds = commands("pike", "pike", ["[--sign|--encrypt]"], [], "$LOCAL")
    scmds = commands("smbclient", "pike", [], ["[--client-protection=sign|encrypt]"], "$LOCAL")
    lines += ["", "## Exact commands", "", "```"]
    for op in OPS:
        lines.append(f"# {op}")
        lines.append(shlex.join(cmds[op]))
        lines.append(shlex.join(scmds[op]))
    lines += [
        "```",
        "",
        "Server configs (scripts/samba-up.sh environment): plain `SMB_ENCRYPT=off`; signed",
        "`SERVER_SIGNING=mandatory`; encrypted `SMB_ENCRYPT=required SMB3_CIPHERS=AES-128-GCM`.",
        "`connect` is connect + NEGOTIATE + SESSION_SETUP + TREE_CONNECT + one request + disconnect",
        "(pike: `stat` of the share root, a CREATE + CLOSE compound; smbclient: `exit`,",
        "which also connects to IPC$; neither sends LOGOFF before closing the connection).",
        "",
        "`smbd CPU` is the server's CPU (user+sys) for the operation: the connection's smbd",
        "process, read from its parent's reaped-children times. The CPU floor adds the client's",
        "CPU and divides by the number of CPUs: even with client and server perfectly",
        "overlapped on every core, the operation cannot take less wall time. A wall time close",
        "to its floor is bound by CPU, not by latency; smbd's share of that CPU is the server's",
        "work, which no client can take away.",
        "",
        "## Raw samples (wall s / client CPU s / smbd CPU s)",
        "",
    ]
    for (name, op, tool), xs in sorted(results.items()):
        lines.append(f"- {name} {op} {tool}: " + ", ".join(f"{w:.3f}/{c:.3f}/{v:.3f}" for w, c, v in xs))
    lines.append("")
    notes = os.environ.get("BENCH_NOTES_FILE")
    if notes and os.path.exists(notes):
        lines += ["## Notes", "", open(notes).read().strip(), ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
