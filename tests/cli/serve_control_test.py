#!/usr/bin/python3
"""`shardgate serve` and its control API on the network: the first stdout line carries the port
actually bound (with `--listen HOST:0`), `--control-token` guards every `/_emulator/` route (401
without `Authorization: Bearer TOKEN`, 200 with it) and is never printed, and listening beyond
loopback without a control token is refused as bad usage (exit 2, naming `--control-token`).

usage: serve_control_test.py SHARDGATE_BINARY [loopback|any_address|refused]
"""
import json
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BINARY = sys.argv[1]
WHICH = sys.argv[2] if len(sys.argv) > 2 else "loopback"
TOKEN = "ctl-SECRET-4f1d9a"
LINE_RE = re.compile(r'^\{"listening":"http://127\.0\.0\.1:(\d+)"\}$')


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def get(port, path, authorization=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if authorization is not None:
        req.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers


class Serve:
    """`shardgate serve ARGS` with stdout and stderr in files."""

    def __init__(self, args):
        self.out = tempfile.NamedTemporaryFile("w+")
        self.err = tempfile.NamedTemporaryFile("w+")
        self.proc = subprocess.Popen([BINARY, "serve", *args], stdout=self.out, stderr=self.err)

    def text(self):
        with open(self.out.name) as o, open(self.err.name) as e:
            return o.read(), e.read()

    def first_line(self, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            out, _ = self.text()
            if "\n" in out:
                return out.split("\n", 1)[0]
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        fail(f"no first line from serve: {self.text()}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("serve did not stop within 15 s of SIGTERM")


def port_of(line):
    m = LINE_RE.match(line)
    if not m:
        fail(f"first line {line!r} is not the listening contract")
    port = int(m.group(1))
    if port == 0:
        fail("serve printed port 0, not the port it bound")
    return port


def check_guarded(port):
    for auth in (None, "Bearer wrong", "Bearer " + TOKEN + "x", "Bot " + TOKEN, TOKEN):
        for path in ("/_emulator/stats", "/_emulator/log"):
            status, body, headers = get(port, path, auth)
            if status != 401:
                fail(f"GET {path} with {auth!r}: {status} {body}, expected 401")
            if headers.get("WWW-Authenticate") != "Bearer":
                fail(f"401 without WWW-Authenticate: Bearer: {dict(headers)}")
    status, body, _ = get(port, "/_emulator/stats", "Bearer " + TOKEN)
    if status != 200 or "totals" not in json.loads(body):
        fail(f"GET /_emulator/stats with the token: {status} {body}")
    status, body, _ = get(port, "/api/v10/gateway")
    if status != 200:
        fail(f"discovery needs no control token: {status} {body}")


def never_printed(serve):
    out, err = serve.text()
    if TOKEN in out or TOKEN in err:
        fail(f"the control token was printed:\n{out}\n{err}")


def main():
    if WHICH == "refused":
        for listen in ("0.0.0.0:0", "[::]:0"):
            try:
                p = subprocess.run([BINARY, "serve", "--listen", listen], capture_output=True,
                                   text=True, timeout=10)
            except subprocess.TimeoutExpired:
                fail(f"serve --listen {listen} without --control-token started")
            if p.returncode != 2 or "--control-token" not in p.stderr:
                fail(f"serve --listen {listen}: exit {p.returncode}, stderr {p.stderr!r}")
            if p.stdout:
                fail(f"serve --listen {listen} refused but printed {p.stdout!r}")
        return
    listen = "127.0.0.1:0" if WHICH == "loopback" else "0.0.0.0:0"
    serve = Serve(["--listen", listen, "--control-token", TOKEN])
    try:
        port = port_of(serve.first_line())
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # the printed port is the one bound
        check_guarded(port)
        if WHICH == "any_address":
            # Where it really listens is said on stderr (the first line stays a usable URL).
            _, err = serve.text()
            if f"0.0.0.0:{port}" not in err:
                fail(f"stderr does not name the bound address 0.0.0.0:{port}:\n{err}")
        never_printed(serve)
    finally:
        status = serve.stop()
    if status != 0:
        fail(f"serve exited {status} after SIGTERM: {serve.text()}")
    never_printed(serve)


main()
print("ok")
