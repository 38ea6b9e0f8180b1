#!/usr/bin/env python3
"""End-to-end test of the demo page (bindings/wasm/www) in real headless Chromium.

Drives the page through chromedriver's W3C WebDriver HTTP API (no client library):
connect with a typed password, upload a random file through the page's <input type=file>,
download it back through the page's Download button, compare the bytes, delete it, and
save a screenshot. Exits non-zero on any failure.

Environment: PIKE_PAGE_URL (the served page), PIKE_RELAY_URL, PIKE_SHARE, PIKE_CREDS
(DOMAIN\\user%password), PIKE_E2E_DIR (scratch + artifacts: screenshot, downloads),
CHROMEDRIVER (default /usr/bin/chromedriver), CHROMIUM (default /usr/bin/chromium).
"""
import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

DEADLINE = 120  # seconds for any single wait


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Driver:
    def __init__(self, chromedriver, chromium, downloads):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [chromedriver, f"--port={self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        self._wait_up()
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--no-first-run",
                         "--disable-quic", "--window-size=1200,900"],
                "prefs": {"download.default_directory": downloads,
                          "download.prompt_for_download": False},
            },
        }}}
        self.session = self.call("POST", "/session", caps)["sessionId"]
        # Headless Chromium only saves downloads when told so over CDP.
        self.call("POST", f"/session/{self.session}/goog/cdp/execute", {
            "cmd": "Browser.setDownloadBehavior",
            "params": {"behavior": "allow", "downloadPath": downloads}})

    def _wait_up(self):
        end = time.time() + 20
        while time.time() < end:
            try:
                urllib.request.urlopen(self.base + "/status", timeout=2).read()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("chromedriver did not start")

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=DEADLINE) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise SystemExit(f"webdriver {method} {path}: {e.code} {e.read()[:500]!r}")

    def s(self, path):
        return f"/session/{self.session}{path}"

    def go(self, url):
        self.call("POST", self.s("/url"), {"url": url})

    def js(self, script, *args):
        return self.call("POST", self.s("/execute/sync"), {"script": script, "args": list(args)})

    def find(self, css):
        el = self.call("POST", self.s("/element"), {"using": "css selector", "value": css})
        return next(iter(el.values()))

    def click(self, css):
        self.call("POST", self.s(f"/element/{self.find(css)}/click"), {})

    def type(self, css, text):
        self.call("POST", self.s(f"/element/{self.find(css)}/value"), {"text": text})

    def wait(self, what, script, *args):
        end = time.time() + DEADLINE
        while time.time() < end:
            v = self.js(script, *args)
            if v:
                return v
            err = self.js("return document.body.dataset.lastError || null")
            if err:
                status = self.js("return document.getElementById('status').textContent")
                raise SystemExit(f"page error while waiting for {what}: {status}")
            time.sleep(0.1)
        raise SystemExit(f"timed out waiting for {what}")

    def screenshot(self, path):
        png = base64.b64decode(self.call("GET", self.s("/screenshot")))
        with open(path, "wb") as f:
            f.write(png)

    def quit(self):
        try:
            self.call("DELETE", self.s(""))
        finally:
            self.proc.terminate()
            self.proc.wait(10)


def main():
    page = os.environ["PIKE_PAGE_URL"]
    relay = os.environ["PIKE_RELAY_URL"]
    share = os.environ.get("PIKE_SHARE", "share")
    creds = os.environ.get("PIKE_CREDS", "LAB\\pike%pike-pass")
    user_part, _, password = creds.partition("%")
    domain, _, user = user_part.rpartition("\\")
    work = os.environ["PIKE_E2E_DIR"]
    downloads = os.path.join(work, "downloads")
    os.makedirs(downloads, exist_ok=True)

    name = f"e2e-{os.getpid()}.bin"
    upload = os.path.join(work, name)
    data = os.urandom(5 * 1024 * 1024 + 321)
    with open(upload, "wb") as f:
        f.write(data)

    d = Driver(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"),
               os.environ.get("CHROMIUM", "/usr/bin/chromium"), downloads)
    try:
        query = urllib.parse.urlencode(
            {"relay": relay, "server": "pikelab", "share": share, "domain": domain, "user": user})
        d.go(f"{page}?{query}")
        d.wait("the module to load", "return document.body.dataset.ready === '1'")
        d.type("#password", password)
        d.click("#connect")
        d.wait("connect", "return document.body.dataset.connected === '1'")
        session = d.js("return document.getElementById('session').textContent")
        print(f"connected: {session}")
        if "encrypted" not in session:
            raise SystemExit(f"the page's session is not encrypted: {session!r}")

        d.type("#upload-file", upload)
        d.click("#upload")
        d.wait("upload", "return document.body.dataset.uploaded === arguments[0]", name)
        progress = d.js("return [document.getElementById('progress').value,"
                        " document.getElementById('progress').max]")
        if progress != [len(data), len(data)]:
            raise SystemExit(f"upload progress bar ended at {progress}, want {len(data)}")
        d.wait("the uploaded file in the listing",
               "return !!document.querySelector(`tr[data-name='${arguments[0]}']`)", name)

        d.click(f"tr[data-name='{name}'] button.download")
        d.wait("download", "return document.body.dataset.downloaded === arguments[0]", name)
        got_path = os.path.join(downloads, name)
        end = time.time() + DEADLINE
        while not (os.path.exists(got_path) and os.path.getsize(got_path) == len(data)):
            if time.time() > end:
                raise SystemExit(f"the browser did not save {got_path}")
            time.sleep(0.1)
        with open(got_path, "rb") as f:
            back = f.read()
        if back != data:
            raise SystemExit("downloaded file differs from the uploaded one")
        print(f"uploaded and downloaded {len(data)} bytes through the page: identical")

        shot = os.path.join(work, "demo-page.png")
        d.screenshot(shot)
        print(f"screenshot: {shot}")

        d.click(f"tr[data-name='{name}'] button.delete")
        d.wait("delete", "return !document.querySelector(`tr[data-name='${arguments[0]}']`)", name)
        print("deleted through the page")
    finally:
        d.quit()


if __name__ == "__main__":
    sys.exit(main())
