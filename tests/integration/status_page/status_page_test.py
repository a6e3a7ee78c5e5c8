#!/usr/bin/python3
"""The status page in headless Chromium against a running `shardgate demo --metrics`.

    status_page_test.py --shardgate PATH_TO_BINARY --screenshot OUT.png
    status_page_test.py --url http://127.0.0.1:PORT/ --screenshot OUT.png   (a server already running)
    status_page_test.py --stub --screenshot OUT.png                         (spawns stub_server.mjs)

Optional: --shards N (default 8), --chromium PATH (default /usr/bin/chromium), --chromedriver PATH
(default /usr/bin/chromedriver).

Checks: one grid cell per shard and a live event stream; an injected fault and the shard's recovery in
the feed; every shard active at least once (then a full-page screenshot); /metrics is Prometheus text
and /status.json lists the shards; no errors in the page's console; the server exits within 10 s of
SIGINT. Exit 0 on pass, 1 on failure (with a screenshot of the page as it was, when it was open),
2 on bad usage. Only Debian packages: python3, python3-selenium, chromium, chromium-driver. See
README.md.
"""

import argparse
import base64
import collections
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TIME_LIMIT_S = 90  # the whole run; ctest's TIMEOUT (150) is the backstop
STARTED = time.monotonic()


def say(msg):
    print(f"[{time.monotonic() - STARTED:.1f} s] {msg}", flush=True)


class Failure(Exception):
    pass


def fail(msg):
    raise Failure(msg)


def parse_args():
    usage = "status_page_test.py (--shardgate BIN | --url URL | --stub) --screenshot OUT.png [--shards N]"
    p = argparse.ArgumentParser(usage=usage, description="The status page in headless Chromium.")
    server = p.add_mutually_exclusive_group(required=True)
    server.add_argument("--shardgate", help="spawn BIN demo --metrics 127.0.0.1:0")
    server.add_argument("--url", help="use a server that is already running (nothing is spawned or stopped)")
    server.add_argument("--stub", action="store_true", help="spawn stub_server.mjs (needs node)")
    p.add_argument("--screenshot", required=True)
    p.add_argument("--shards", type=int, default=8)
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    return p.parse_args()  # exits 2 on bad usage


# ---- the server: spawn it and read its URL from stderr, or take --url

class Server:
    def __init__(self):
        self.proc = None
        self.log = collections.deque(maxlen=40)  # last lines of its output, printed on failure
        self.url_found = threading.Event()
        self.url = None

    def start(self, opt):
        if opt.url:
            return opt.url if opt.url.endswith("/") else opt.url + "/"
        if opt.stub:
            node = shutil.which("node") or shutil.which("nodejs")
            if not node:
                fail("--stub needs node on PATH to run stub_server.mjs")
            cmd = [node, os.path.join(HERE, "stub_server.mjs"), "--shards", str(opt.shards), "--fault-every", "2"]
        else:
            cmd = [os.path.abspath(opt.shardgate), "demo", "--shards", str(opt.shards), "--duration", "40",
                   "--fault-every", "2", "--metrics", "127.0.0.1:0"]
        say("spawning " + " ".join(cmd))
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True, errors="replace")
        except OSError as err:
            fail(f"could not start {cmd[0]}: {err}")
        # Both pipes are drained for the whole run: a full pipe would block the child.
        for stream, is_stderr in ((self.proc.stdout, False), (self.proc.stderr, True)):
            threading.Thread(target=self._drain, args=(stream, is_stderr), daemon=True).start()
        deadline = time.monotonic() + 20
        while not self.url_found.wait(0.1):
            if self.proc.poll() is not None:
                self.url_found.wait(0.5)  # the reader may still be on the last lines
                if self.url:
                    break
                fail(f"the server exited ({describe_exit(self.proc.returncode)}) before it logged its status page URL")
            if time.monotonic() > deadline:
                fail("no http://127.0.0.1:PORT/ line on the server's stderr within 20 s")
        return self.url

    def _drain(self, stream, is_stderr):
        for line in stream:
            line = line.rstrip("\n")
            self.log.append(line)
            m = is_stderr and re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            if m and not self.url_found.is_set():
                self.url = f"http://127.0.0.1:{m.group(1)}/"
                self.url_found.set()

    def stop(self):
        """SIGINT, then up to 10 s for the exit; SIGKILL after that. Returns the exit status, or None
        when it had to be killed."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                pass
            return None

    def dump_log(self):
        if self.log:
            print(f"--- last {len(self.log)} lines of the server's output ---")
            for line in list(self.log):
                print("  " + line)


def describe_exit(returncode):
    if returncode is not None and returncode < 0:
        return f"signal {signal.Signals(-returncode).name}"
    return f"code {returncode}"


# ---- the browser

class Browser:
    def __init__(self, opt):
        self.driver = None
        self.profile = tempfile.mkdtemp(prefix="status_page_chromium_")
        self.driver_log = os.path.join(self.profile, "chromedriver.log")
        self.opt = opt

    def start(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = self.opt.chromium
        # As root Chromium needs --no-sandbox. The closed network refuses the background connections
        # (component updates, sync, QUIC probes) that a default profile would make, so they are off,
        # and a fresh profile keeps runs independent.
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,800",
                    f"--user-data-dir={os.path.join(self.profile, 'profile')}"):
            options.add_argument(arg)
        options.page_load_strategy = "eager"  # DOMContentLoaded; the SSE stream never "finishes"
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console messages and page errors
        # The driver is given explicitly, so selenium never looks for (or downloads) one.
        service = Service(executable_path=self.opt.chromedriver, log_path=self.driver_log)
        try:
            self.driver = webdriver.Chrome(service=service, options=options)
        except Exception as err:  # selenium raises WebDriverException subclasses with long messages
            tail = ""
            if os.path.exists(self.driver_log):
                with open(self.driver_log, errors="replace") as f:
                    tail = "".join(f.readlines()[-15:])
            fail(f"{self.opt.chromedriver} and {self.opt.chromium} did not start: {str(err).strip()}\n--- chromedriver log ---\n{tail}")
        self.driver.set_page_load_timeout(10)
        self.driver.set_script_timeout(10)
        # The viewport the page sees, independent of window decorations.
        self.cdp("Emulation.setDeviceMetricsOverride",
                 {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})

    def cdp(self, cmd, params):
        return self.driver.execute_cdp_cmd(cmd, params)

    def run(self, script, *args):
        return self.driver.execute_script(script, *args)

    def wait_for(self, what, seconds, script, *args):
        """Polls `script` every 100 ms until it returns something truthy, which is returned."""
        deadline = time.monotonic() + seconds
        while True:
            value = self.run(script, *args)
            if value:
                return value
            if time.monotonic() >= deadline:
                fail(f"{what}: not within {seconds:g} s")
            time.sleep(0.1)

    def screenshot(self, path):
        """A full-page PNG: the whole document, not only the viewport."""
        size = self.cdp("Page.getLayoutMetrics", {})["cssContentSize"]
        shot = self.cdp("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))

    def errors(self):
        """Errors the page logged: uncaught exceptions and console.error (SEVERE), failed loads."""
        return [f"{e.get('source', 'console')}: {e.get('message')}"
                for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"]

    def kill(self):
        """Last resort when quit() hangs: end chromedriver (Chromium goes with its pipe)."""
        try:
            if self.driver and self.driver.service.process:
                self.driver.service.process.kill()
        except Exception:
            pass

    def quit(self):
        if self.driver:
            try:
                self.driver.quit()
            except Exception as err:
                print(f"(closing the browser: {str(err).splitlines()[0] if str(err) else err!r})")
            self.driver = None
        shutil.rmtree(self.profile, ignore_errors=True)


def http_get(url):
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.headers.get("content-type", ""), resp.read().decode("utf-8", "replace")


# ---- the checks

GRID_IS = """
const n = arguments[0];
const ids = [...document.querySelectorAll('#grid [data-shard]')].map(c => c.dataset.shard);
return ids.length === n && ids.every((id, i) => id === String(i));
"""

FIRST_FAULT = """
const f = document.querySelector('#feed .entry[data-kind="fault"]');
return f && { shard: f.dataset.shardId, text: f.innerText.replace(/\\s+/g, ' ') };
"""

# Newest entries are on top: for a fault, look above it for the same shard's resumed/ready/closed.
RECOVERY = """
const entries = [...document.querySelectorAll('#feed .entry')];
for (let i = 0; i < entries.length; i++) {
  if (entries[i].dataset.kind !== 'fault') continue;
  const shard = entries[i].dataset.shardId;
  const after = entries.slice(0, i).reverse().find(e => e.dataset.shardId === shard && ['resumed', 'ready', 'closed'].includes(e.dataset.kind));
  if (after) return { fault: entries[i].innerText.replace(/\\s+/g, ' '), after: after.innerText.replace(/\\s+/g, ' ') };
}
return null;
"""

# Remembered in the page between polls, so a shard that was active once counts.
ALL_ACTIVE_ONCE = """
const n = arguments[0];
const seen = (window.__seenActive ??= new Set());
for (const c of document.querySelectorAll('#grid [data-shard][data-state="active"]')) seen.add(c.dataset.shard);
return seen.size >= n;
"""


def run(opt, server, browser, screenshot):
    n = opt.shards
    url = server.start(opt)
    say(f"status page at {url}")

    browser.start()
    browser.driver.get(url)
    status = browser.run("const nav = performance.getEntriesByType('navigation')[0];"
                         "return nav ? nav.responseStatus : null;")
    if not status:  # 0 or missing: Chromium shows its own error page
        fail(f"GET {url}: no HTTP answer (connection refused or reset)")
    if not 200 <= status <= 299:
        fail(f"GET {url} answered {status}")

    # (1) one cell per shard, ids 0..N-1, and the event stream is live
    browser.wait_for(f"the grid showing exactly {n} cells [data-shard] with ids 0..{n - 1}", 15, GRID_IS, n)
    say(f"(1) grid: {n} cells, ids 0..{n - 1}")
    conn = browser.run("return document.querySelector('#conn')?.getAttribute('data-status') ?? null;")
    if conn != "live":
        fail(f'#conn shows "{conn}" while the event stream should be open')

    # (2) an injected fault, then (above it: newest on top) the same shard resumed, re-identified or closed
    fault_deadline = time.monotonic() + 20
    fault = browser.wait_for('a lifecycle entry data-kind="fault" in #feed', 20, FIRST_FAULT)
    say(f"(2) fault in the feed: {fault['text']}")
    left = max(1.0, fault_deadline - time.monotonic())
    recovery = browser.wait_for(
        f'a "resumed", "ready" or "closed" entry after a fault, for the same shard (first fault: {fault["text"]})',
        round(left, 1), RECOVERY)
    say(f"(2) recovery: {recovery['after']}")

    # (3) every shard active at least once, then the screenshot
    browser.wait_for(f'all {n} shards shown data-state="active" at least once', 20, ALL_ACTIVE_ONCE, n)
    say("(3) every shard has been active")
    browser.screenshot(screenshot)

    # (4) /metrics and /status.json from the page's origin
    code, ctype, body = http_get(url + "metrics")
    if code != 200:
        fail(f"GET /metrics answered {code}")
    if not ctype.startswith("text/plain"):
        fail(f'GET /metrics content-type is "{ctype}", not text/plain')
    if not re.search(r"^shardgate_\w+", body, re.M):
        fail(f"GET /metrics has no shardgate_ lines:\n{body[:500]}")
    samples = sum(1 for line in body.split("\n") if line.startswith("shardgate_"))
    say(f"(4) /metrics: {ctype}, {samples} shardgate_ samples")
    _, _, snap = http_get(url + "status.json")
    shards = json.loads(snap).get("shards")
    if not isinstance(shards, list) or len(shards) != n:
        fail(f"GET /status.json has {len(shards) if isinstance(shards, list) else shards} shards, not {n}")

    # (5) nothing went wrong in the page
    errors = browser.errors()
    if errors:
        fail("the page reported errors:\n  " + "\n  ".join(errors))


def main():
    opt = parse_args()
    screenshot = os.path.abspath(opt.screenshot)
    if importlib.util.find_spec("selenium") is None:  # Debian's python3-selenium
        print(f"FAIL: {sys.executable} cannot import selenium; run scripts/bootstrap --tests (Debian package python3-selenium)")
        return 1
    for what, path, package in (("Chromium", opt.chromium, "chromium"), ("chromedriver", opt.chromedriver, "chromium-driver")):
        if not os.access(path, os.X_OK):
            print(f"FAIL: no {what} at {path}; run scripts/bootstrap --tests (Debian package {package})")
            return 1

    server, browser = Server(), Browser(opt)

    # The overall limit interrupts whatever is running in the main thread; the failure path below
    # then still saves a screenshot and stops the server.
    def over_time(signum, frame):
        raise Failure(f"overall time limit of {TIME_LIMIT_S} s exceeded")
    signal.signal(signal.SIGALRM, over_time)
    signal.alarm(TIME_LIMIT_S)

    failed = False
    try:
        run(opt, server, browser, screenshot)
    except Failure as err:
        failed = True
        print(f"FAIL: {err}")
    except Exception as err:  # selenium, urllib, json: report with the cause, then clean up as for a failure
        failed = True
        print(f"FAIL: {type(err).__name__}: {str(err).strip()}")
    finally:
        signal.alarm(0)

    # Cleanup gets its own bound: after it, whatever still runs is killed.
    def cleanup_over_time(signum, frame):
        raise Failure("cleanup took longer than 25 s")
    signal.signal(signal.SIGALRM, cleanup_over_time)
    signal.alarm(25)
    try:
        if failed:
            server.dump_log()
            if browser.driver:
                try:
                    browser.screenshot(screenshot)
                    print(f"screenshot of the failing page: {screenshot}")
                    errors = browser.errors()
                    if errors:
                        print("the page's errors:\n  " + "\n  ".join(errors))
                except Exception as err:
                    print(f"(no screenshot: {str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__})")
        browser.quit()
        if server.proc:
            code = server.stop()
            if code is None:
                print("FAIL: the server did not exit within 10 s of SIGINT (killed)")
                failed = True
            else:
                say(f"server exited ({describe_exit(code)})")
    except Failure as err:
        print(f"FAIL: {err}")
        failed = True
        browser.kill()
        if server.proc and server.proc.poll() is None:
            server.proc.kill()
    finally:
        signal.alarm(0)

    if failed:
        return 1
    say(f"PASS; screenshot: {screenshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
