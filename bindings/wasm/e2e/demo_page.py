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
import os
import sys
import time
import urllib.parse

from webdriver import DEADLINE, Driver

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
