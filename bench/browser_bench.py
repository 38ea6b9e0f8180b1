#!/usr/bin/env python3
"""pike in the browser vs pike native, same Samba, same run: by hand, as root, from the
repository root.

    python3 bench/browser_bench.py                      # 256 MiB, 3 repetitions
    BENCH_BIG_MIB=32 BENCH_REPS=1 python3 bench/browser_bench.py --out /tmp/b.md

For each config (plain: no signing or encryption; encrypted: AES-128-GCM required) it
starts a Samba whose share is on tmpfs, two relays pinned to it (websockify and
`pike relay`) and a static server for the demo page, then rotates the native `pike` CLI
(release, tokio) and pike-wasm (release, in headless Chromium driven over WebDriver)
through each relay, putting and getting the same file. The browser side generates its data in memory and is timed inside the page
(performance.now(), around writeFile/readFile only); the native side is timed around the
CLI process (connect included, so the ratio slightly favours the browser on small
files: use a large BENCH_BIG_MIB). Every transfer is checked by size and sha256.
The table goes into the "Browser vs native" section of bench/RESULTS.md (or --out).

Needs: what scripts/browser-tests.sh needs (samba, websockify, chromium, chromedriver,
wasm-bindgen at the Cargo.lock version), cargo; python3 (stdlib only).
"""

import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bindings/wasm/e2e"))
from bench import CREDS, MIB, PASS, PORT, ROOT, TMPFS, USER, Lab, sha256, timed  # noqa: E402
from webdriver import Driver, free_port  # noqa: E402

BIG_MIB = int(os.environ.get("BENCH_BIG_MIB", "256"))
REPS = int(os.environ.get("BENCH_REPS", "3"))
# name, samba-up.sh environment, pike CLI flags, browser `encrypt` option
CONFIGS = [
    ("plain", {"SMB_ENCRYPT": "off"}, [], False),
    ("encrypted", {"SMB_ENCRYPT": "required", "SMB3_CIPHERS": "AES-128-GCM"}, ["--encrypt"], True),
]
SECTION = "## Browser vs native"
# The browser's relays, pinned to the Samba port: Debian's websockify and `pike relay`.
RELAYS = {
    "websockify": ["websockify", "127.0.0.1:{listen}", "127.0.0.1:{target}"],
    "pike relay": ["{pike}", "relay", "--listen", "127.0.0.1:{listen}", "--target", "127.0.0.1:{target}"],
}

# Runs in the page: connect, put, get, check, delete; reports page-side timings.
BROWSER_RUN = """
const [relay, opts, size, name, done] = arguments;
(async () => {
  const share = await window.pike.connect(relay, opts);
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
  const want = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  let t = performance.now();
  await share.writeFile(name, data);
  const put = (performance.now() - t) / 1000;
  t = performance.now();
  const back = await share.readFile(name);
  const get = (performance.now() - t) / 1000;
  const got = new Uint8Array(await crypto.subtle.digest("SHA-256", back));
  const same = back.length === size && want.every((b, i) => b === got[i]);
  await share.remove(name);
  const encrypted = share.encrypted;
  await share.close();
  share.free();
  done({ put, get, same, encrypted });
})().catch((e) => done({ error: `${e.code ?? e.name}: ${e.message}` }));
"""


def build(target):
    subprocess.run(["cargo", "build", "--release", "-p", "pike-cli"], check=True, cwd=ROOT)
    subprocess.run(["cargo", "build", "--release", "-p", "pike-wasm", "--target", "wasm32-unknown-unknown"],
                   check=True, cwd=ROOT)
    www = "/tmp/pike-bench-www"
    shutil.rmtree(www, ignore_errors=True)
    shutil.copytree(os.path.join(ROOT, "bindings/wasm/www"), www)
    wasm = os.path.join(target, "wasm32-unknown-unknown/release/pike_wasm.wasm")
    subprocess.run(["wasm-bindgen", "--target", "web", "--out-dir", f"{www}/pkg", wasm], check=True)
    return os.path.join(target, "release", "pike"), www


def wait_port(port, secs=10):
    import socket

    end = time.time() + secs
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    ap.add_argument("--profile", action="store_true",
                    help="also print the page's hottest functions (CDP sampling profiler) per config")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: run as root (smbd needs it)")
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    pike, www = build(target)
    local = os.path.join(TMPFS, "pike-bench-browser")
    shutil.rmtree(local, ignore_errors=True)
    os.makedirs(local)
    with open(f"{local}/big.bin", "wb") as f:
        for _ in range(BIG_MIB):
            f.write(os.urandom(MIB))
    big_sha = sha256(f"{local}/big.bin")
    size = BIG_MIB * MIB

    http_port = free_port()
    http = subprocess.Popen(["/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", www,
                             str(http_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    driver = None
    results = {}  # (config, op, side) -> [seconds]
    started = datetime.datetime.now(datetime.timezone.utc)
    try:
        wait_port(http_port)
        driver = Driver()
        driver.go(f"http://127.0.0.1:{http_port}/index.html")
        driver.wait("the module", "return document.body.dataset.ready === '1'")
        for name, senv, pflags, encrypt in CONFIGS:
            lab = Lab(f"browser-{name}", senv)
            relays = {}  # side -> (process, url)
            try:
                for side, argv in RELAYS.items():
                    port = free_port()
                    proc = subprocess.Popen([a.format(pike=pike, listen=port, target=PORT) for a in argv],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    relays[side] = (proc, f"ws://127.0.0.1:{port}/")
                    wait_port(port)
                remote = f"//127.0.0.1:{PORT}/share"
                opts = {"server": "pikelab", "share": "share", "domain": "LAB", "user": USER,
                        "password": PASS, "encrypt": encrypt, "timeoutMs": 120000}
                if args.profile:
                    for side, (_, url) in relays.items():
                        profile(driver, url, opts, size, f"{name} via {side}")
                sides = ["native", *relays]
                for rep in range(REPS):
                    # Rotate who goes first: caches and CPU frequency favour nobody.
                    for side in sides[rep % len(sides):] + sides[:rep % len(sides)]:
                        if side == "native":
                            put, _, _ = timed([pike, "put", f"{local}/big.bin", f"{remote}/n.bin", "-U", CREDS] + pflags)
                            got = os.path.join(lab.share, "n.bin")
                            assert sha256(got) == big_sha, "native put: sha256"
                            get, _, _ = timed([pike, "get", f"{remote}/n.bin", f"{local}/back.bin", "-U", CREDS] + pflags)
                            assert sha256(f"{local}/back.bin") == big_sha, "native get: sha256"
                            os.remove(got)
                            os.remove(f"{local}/back.bin")
                        else:
                            r = driver.js_async(BROWSER_RUN, relays[side][1], opts, size, "b.bin")
                            if "error" in r:
                                raise SystemExit(f"browser via {side}: {r['error']}")
                            assert r["same"], "browser: data came back different"
                            assert r["encrypted"] == encrypt, f"browser: encrypted={r['encrypted']}"
                            put, get = r["put"], r["get"]
                        results.setdefault((name, "put", side), []).append(put)
                        results.setdefault((name, "get", side), []).append(get)
                        print(f"{name:9} rep {rep + 1} {side:10} put {size / MIB / put:7.1f} MiB/s"
                              f"  get {size / MIB / get:7.1f} MiB/s", flush=True)
            finally:
                for proc, _ in relays.values():
                    proc.terminate()
                lab.down()
    finally:
        if driver:
            driver.quit()
        http.terminate()
        shutil.rmtree(local, ignore_errors=True)
    write_section(args.out, results, started)


def profile(driver, relay, opts, size, name):
    """One browser put+get under Chromium's sampling profiler; prints self time by function."""
    cdp = lambda cmd, **params: driver.call("POST", driver.s("/goog/cdp/execute"), {"cmd": cmd, "params": params})  # noqa: E731
    cdp("Profiler.enable")
    cdp("Profiler.setSamplingInterval", interval=200)
    cdp("Profiler.start")
    r = driver.js_async(BROWSER_RUN, relay, opts, size, "p.bin")
    prof = cdp("Profiler.stop")["profile"]
    if "error" in r:
        raise SystemExit(f"browser: {r['error']}")
    nodes = {n["id"]: n["callFrame"]["functionName"] or "(anonymous)" for n in prof["nodes"]}
    self_us = {}
    for node, dt in zip(prof["samples"], prof["timeDeltas"]):
        self_us[nodes[node]] = self_us.get(nodes[node], 0) + dt
    total = sum(self_us.values()) or 1
    print(f"--- {name}: hottest functions (self time), put {size / MIB / r['put']:.1f} MiB/s,"
          f" get {size / MIB / r['get']:.1f} MiB/s")
    for fn, us in sorted(self_us.items(), key=lambda kv: -kv[1])[:25]:
        print(f"{100 * us / total:5.1f}%  {fn[:110]}")


def write_section(path, results, started):
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    chromium = subprocess.run(["chromium", "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        SECTION,
        "",
        f"`python3 bench/browser_bench.py` on {started:%Y-%m-%d %H:%M} UTC: {BIG_MIB} MiB, median of {REPS}; "
        f"{os.cpu_count()} cores ({cpu}); {chromium}; relays on loopback; Samba share on tmpfs.",
        "Browser: pike-wasm (release) in headless Chromium, timed in the page around `writeFile`/`readFile`. "
        "Native: the `pike` CLI (release, tokio), timed around the process. Target: browser ≥ 0.5 × native.",
        "",
        "| config | op | native MiB/s | via websockify MiB/s | ratio | via pike relay MiB/s | ratio |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, *_ in CONFIGS:
        for op in ("get", "put"):
            n = statistics.median(results[(name, op, "native")])
            cells = [f"{BIG_MIB / n:.1f}"]
            for side in RELAYS:
                b = statistics.median(results[(name, op, side)])
                cells += [f"{BIG_MIB / b:.1f}", f"{n / b:.2f}"]
            lines.append(f"| {name} | {op} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    old = open(path).read() if os.path.exists(path) else ""
    if SECTION in old:
        head, _, rest = old.partition(SECTION)
        tail = rest[rest.find("\n## "):] if "\n## " in rest else ""
        new = head + text + tail
    else:
        new = old.rstrip("\n") + ("\n\n" if old else "") + text
    with open(path, "w") as f:
        f.write(new)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
