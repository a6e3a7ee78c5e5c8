#!/usr/bin/python3
"""`--metrics HOST:PORT` on `demo`, `serve` and `connect`: /metrics is scraped while each runs and
must parse with the Prometheus client library's own parser (Debian's python3-prometheus-client) and
pass `promtool check metrics` (Debian's prometheus: the format and naming lint). The families each
issue-5 figure lives in must be there with the right type. Also: the demo's JSON summary reports 0
lost and 0 duplicated, `--log-format json` writes one JSON object per stderr line, and no token
appears anywhere in what the commands print.

usage: metrics_test.py SHARDGATE_BINARY [demo|serve_connect]
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

BINARY = sys.argv[1]
WHICH = sys.argv[2] if len(sys.argv) > 2 else "demo"
DEADLINE = time.monotonic() + 100
URL_RE = re.compile(r"http://127\.0\.0\.1:(\d+)/")


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


class Process:
    """A child with stderr in a file; `wait_for` polls the file (bounded)."""

    def __init__(self, args, env=None):
        self.err = tempfile.NamedTemporaryFile("w+", delete=False)
        self.out = tempfile.NamedTemporaryFile("w+", delete=False)
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=self.err, env=env)

    def stderr(self):
        with open(self.err.name) as f:
            return f.read()

    def stdout(self):
        with open(self.out.name) as f:
            return f.read()

    def wait_for(self, pattern, text=None, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < min(end, DEADLINE):
            m = re.search(pattern, (text or self.stderr)())
            if m:
                return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        fail(f"no {pattern!r} in output of {self.proc.args}:\n{self.stderr()}\n{self.stdout()}")

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail(f"{self.proc.args} did not stop within {timeout} s of SIGINT")


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        ctype = r.headers.get("Content-Type", "")
        if not ctype.startswith("text/plain; version=0.0.4"):
            fail(f"/metrics Content-Type is {ctype!r}")
        return r.read().decode()


def check_exposition(text, expected):
    """Parses `text` and lints it; `expected` maps family name -> type."""
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name, kind in expected.items():
        # The parser drops `_total` from counter family names (OpenMetrics style).
        key = name[: -len("_total")] if kind == "counter" and name.endswith("_total") else name
        if key not in families:
            fail(f"family {name} missing; have {sorted(families)}")
        if families[key].type != kind:
            fail(f"{name} is a {families[key].type}, not a {kind}")
    for f in families.values():
        if not f.name.startswith("shardgate_"):
            fail(f"{f.name} lacks the shardgate_ prefix")
    lint = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                          capture_output=True, timeout=30)
    if lint.returncode != 0:
        fail(f"promtool check metrics: {lint.stdout}{lint.stderr}")
    return families


CLUSTER_FAMILIES = {
    "shardgate_num_shards": "gauge",
    "shardgate_shards": "gauge",
    "shardgate_shard_state": "gauge",
    "shardgate_heartbeat_latency_seconds": "histogram",
    "shardgate_dispatches_total": "counter",
    "shardgate_received_bytes_total": "counter",
    "shardgate_received_decompressed_bytes_total": "counter",
    "shardgate_sent_bytes_total": "counter",
    "shardgate_reconnects_total": "counter",
    "shardgate_identifies_total": "counter",
    "shardgate_resumes_total": "counter",
    "shardgate_replayed_dispatches_total": "counter",
    "shardgate_decode_errors_total": "counter",
    "shardgate_identify_budget_remaining": "gauge",
    "shardgate_send_limiter_waits_total": "counter",
}
EMULATOR_FAMILIES = {
    "shardgate_emulator_open_connections": "gauge",
    "shardgate_emulator_identifies_total": "counter",
    "shardgate_emulator_closes_sent_total": "counter",
}


def value(families, name, **labels):
    key = name[: -len("_total")] if name.endswith("_total") else name
    for s in families[key].samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    fail(f"no sample {name}{labels}")


def demo():
    p = Process([BINARY, "demo", "--shards", "4", "--duration", "8", "--fault-every", "0.5",
                 "--json", "--metrics", "127.0.0.1:0", "--log-format", "json", "--log-level",
                 "debug"])
    port = p.wait_for(URL_RE).group(1)
    p.wait_for(r'"kind":"fault"|injected', timeout=20)
    time.sleep(1.5)  # a recovery or two after the first fault
    families = check_exposition(scrape(port), {**CLUSTER_FAMILIES, **EMULATOR_FAMILIES,
                                               "shardgate_demo_faults_total": "counter",
                                               "shardgate_event_latency_seconds": "histogram"})
    if value(families, "shardgate_identifies_total") < 4:
        fail("fewer identifies than shards")
    if value(families, "shardgate_demo_lost_events_total") != 0:
        fail("the demo lost events")
    status = p.proc.wait(timeout=30)
    if status != 0:
        fail(f"demo exited {status}: {p.stderr()}")
    summary = json.loads(p.stdout())
    for key in ("dispatches", "resumes", "identifies", "faults", "lost", "duplicated", "p50_ms",
                "p99_ms"):
        if key not in summary:
            fail(f"summary lacks {key}: {summary}")
    if summary["lost"] != 0 or summary["duplicated"] != 0:
        fail(f"lost or duplicated events: {summary}")
    if summary["faults"] < 5 or summary["resumes"] < 3 or summary["dispatches"] <= 0:
        fail(f"too little happened: {summary}")
    for line in p.stderr().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            fail(f"--log-format json wrote a line that is not JSON: {line!r}")
        if not {"ts", "level", "msg"} <= record.keys():
            fail(f"log record without ts/level/msg: {line}")
    if "shardgate-demo-token" in p.stdout() + p.stderr():
        fail("the demo's token was printed")
    print("demo:", json.dumps(summary))


def serve_connect():
    token = "metrics-test-token-SECRET-123"
    s = Process([BINARY, "serve", "--listen", "127.0.0.1:0", "--shards", "2", "--max-concurrency",
                 "2", "--identify-window-ms", "200", "--traffic", "20", "--token", token,
                 "--metrics", "127.0.0.1:0"])
    listening = s.wait_for(r'\{"listening":"http://127\.0\.0\.1:(\d+)"\}', text=s.stdout)
    serve_metrics = s.wait_for(URL_RE).group(1)
    env = dict(os.environ, DISCORD_TOKEN=token)
    c = Process([BINARY, "connect", "--gateway", f"ws://127.0.0.1:{listening.group(1)}",
                 "--shards", "2", "--max-concurrency", "2", "--events", "count", "--metrics",
                 "127.0.0.1:0", "--log-level", "debug"], env=env)
    connect_metrics = c.wait_for(URL_RE).group(1)
    c.wait_for(r"shard 1: ready")
    families = check_exposition(scrape(connect_metrics), CLUSTER_FAMILIES)
    if value(families, "shardgate_shards", state="active") != 2:
        fail("connect: not both shards active")
    families = check_exposition(scrape(serve_metrics), EMULATOR_FAMILIES)
    if value(families, "shardgate_emulator_open_connections") != 2:
        fail("serve: not 2 open connections")
    with urllib.request.urlopen(f"http://127.0.0.1:{serve_metrics}/status.json", timeout=10) as r:
        status = json.loads(r.read())
    if [x["id"] for x in status["shards"]] != [0, 1] or status["mode"] != "serve":
        fail(f"serve status: {status}")
    # The emulator's own account of the connections reaches the page's feed (replayed on connect).
    with urllib.request.urlopen(f"http://127.0.0.1:{serve_metrics}/events", timeout=10) as r:
        seen = ""
        while "READY: new session" not in seen:
            line = r.readline().decode()
            if not line:
                fail(f"/events ended without the READY entry: {seen}")
            seen += line
    if c.stop() != 0 or s.stop() != 0:
        fail("connect or serve did not exit 0 after SIGINT")
    printed = c.stdout() + c.stderr() + s.stdout() + s.stderr()
    if token in printed:
        fail("the token was printed")
    print("serve and connect metrics parse and pass promtool")


if __name__ == "__main__":
    {"demo": demo, "serve_connect": serve_connect}[WHICH]()
