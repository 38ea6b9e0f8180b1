"""A minimal W3C WebDriver client for chromedriver over HTTP (stdlib only), shared by the
demo page's end-to-end test and the browser benchmark."""
import base64
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request

DEADLINE = 120  # seconds for any single wait


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Driver:
    def __init__(self, chromedriver="/usr/bin/chromedriver", chromium="/usr/bin/chromium",
                 downloads=None):
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
            },
        }}}
        if downloads:
            caps["capabilities"]["alwaysMatch"]["goog:chromeOptions"]["prefs"] = {
                "download.default_directory": downloads, "download.prompt_for_download": False}
        self.session = self.call("POST", "/session", caps)["sessionId"]
        self.call("POST", self.s("/timeouts"), {"script": DEADLINE * 1000})
        if downloads:
            # Headless Chromium only saves downloads when told so over CDP.
            self.call("POST", self.s("/goog/cdp/execute"), {
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

    def js_async(self, script, *args):
        """Runs `script`; it ends by calling its last argument with the result."""
        return self.call("POST", self.s("/execute/async"), {"script": script, "args": list(args)})

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
