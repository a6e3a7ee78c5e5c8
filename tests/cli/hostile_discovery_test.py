#!/usr/bin/python3
"""`shardgate connect` against a /gateway/bot that lies (issue 12, items 2, 11 and 12): every answer
must end in a start-up failure (exit status 1) that names what discovery said and what to do, within
a bounded time, without a crash (no bad_alloc, no abort) and without the token.

usage: hostile_discovery_test.py SHARDGATE_BINARY
"""
import http.server
import json
import os
import subprocess
import sys
import threading
import time

BINARY = sys.argv[1]
TOKEN = "hostile-discovery-SECRET-token"
LIMIT = {"total": 1000, "remaining": 1000, "reset_after": 1000, "max_concurrency": 1}

# name -> (status, headers, body, expected substrings of stderr)
CASES = {
    "shards_4294967295": (200, {}, {"url": "ws://127.0.0.1:1", "shards": 4294967295,
                                    "session_start_limit": LIMIT},
                          ["4294967295 shards", "open-file limit"]),
    "shards_1000000": (200, {}, {"url": "ws://127.0.0.1:1", "shards": 1000000,
                                 "session_start_limit": LIMIT},
                       ["1000000 shards", "--shard-ids"]),
    "url_not_websocket": (200, {}, {"url": "https://evil.test/\u001b[2J", "shards": 1,
                                    "session_start_limit": LIMIT},
                          ["/gateway/bot", "https://evil.test/", "ws:// or wss://"]),
    "retry_after_huge_body": (429, {}, {"message": "slow down", "retry_after": 1e12,
                                        "global": True},
                              ["rate limited (429)", "retry_after"]),
    "retry_after_huge_header": (429, {"Retry-After": "99999999999"}, {"message": "slow down"},
                                ["rate limited (429)", "retry_after"]),
}


class Handler(http.server.BaseHTTPRequestHandler):
    case = None
    requests = 0

    def do_GET(self):  # noqa: N802 (the http.server API)
        Handler.requests += 1
        status, headers, body, _ = CASES[Handler.case]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = f"http://127.0.0.1:{server.server_address[1]}/api/v10"
    env = dict(os.environ, DISCORD_TOKEN=TOKEN)
    failures = []
    for name, (_, _, _, expected) in CASES.items():
        Handler.case = name
        Handler.requests = 0
        started = time.monotonic()
        try:
            r = subprocess.run([BINARY, "connect", "--api", api, "--duration", "5",
                                "--events", "count"], env=env, capture_output=True, text=True,
                               timeout=30)
        except subprocess.TimeoutExpired:
            failures.append(f"{name}: no exit within 30 s")
            continue
        took = time.monotonic() - started
        out = r.stdout + r.stderr
        print(f"{name}: exit {r.returncode} in {took:.2f} s, {Handler.requests} request(s): "
              f"{r.stderr.strip()[:300]!r}")
        if r.returncode != 1:
            failures.append(f"{name}: exit status {r.returncode}, want 1 (start-up failure)")
        for s in expected:
            if s not in r.stderr:
                failures.append(f"{name}: stderr lacks {s!r}")
        if TOKEN in out:
            failures.append(f"{name}: the token was printed")
        if "\x1b" in out:
            failures.append(f"{name}: a raw ESC from the network reached the output")
        if took > 10:
            failures.append(f"{name}: took {took:.1f} s")
        if name.startswith("retry_after") and Handler.requests != 1:
            failures.append(f"{name}: {Handler.requests} requests; a wait this long is not waited")
    server.shutdown()
    for f in failures:
        print("FAIL: " + f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
