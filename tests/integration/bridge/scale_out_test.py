#!/usr/bin/env python3
"""Scale-out on NATS JetStream, end to end: real processes, nothing mocked.

A `nats-server -js` on a free loopback port with a temporary store, `shardgate serve` with traffic,
and `shardgate connect --nats --cluster` workers. Each scenario checks what the emulator saw (its
stats and log) and what the stream holds (read back with `shardgate events`).

    scale_out_test.py BINARY failover   3 workers, 32 shards: SIGKILL one, SIGTERM another
    scale_out_test.py BINARY pacing     2 workers, 32 shards, max_concurrency 4: identify spacing
    scale_out_test.py BINARY nats-down  workers started before NATS; NATS restarted mid-run
    scale_out_test.py BINARY freeze     a worker frozen (SIGSTOP) past its lease, then SIGCONT

Every wait has a bound; a failed check exits 1 with what it saw.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
TOKEN = "scale-out-test-token"


def fail(message):
    print("FAIL: " + message, flush=True)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    fail(f"timed out after {timeout} s waiting for {what}")


class Nats:
    """nats-server -js on a free port; restartable on the same port and store."""

    def __init__(self, workdir):
        self.port = free_port()
        self.store = os.path.join(workdir, "jetstream")
        self.log = open(os.path.join(workdir, "nats.log"), "ab")
        self.proc = None

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen(
            [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", self.store],
            stdout=self.log, stderr=self.log)

        def accepting():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                return False
        wait_until("nats-server to accept connections", accepting, 10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Emulator:
    def __init__(self, binary, workdir, args):
        self.out = open(os.path.join(workdir, "serve.out"), "w+b")
        self.proc = subprocess.Popen([binary, "serve", "--token", TOKEN] + args,
                                     stdout=subprocess.PIPE,
                                     stderr=open(os.path.join(workdir, "serve.err"), "wb"))
        first = self.proc.stdout.readline().decode()
        self.http = json.loads(first)["listening"]
        self.ws = self.http.replace("http://", "ws://", 1)

    def get(self, path):
        with urllib.request.urlopen(self.http + path, timeout=5) as r:
            return json.loads(r.read())

    def stats(self):
        return self.get("/_emulator/stats")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Worker:
    def __init__(self, binary, workdir, name, nats_url, ws, shards, extra):
        self.name = name
        self.err_path = os.path.join(workdir, f"worker-{name}.err")
        env = dict(os.environ, DISCORD_TOKEN=TOKEN)
        self.proc = subprocess.Popen(
            [binary, "connect", "--gateway", ws, "--shards", str(shards),
             "--nats", nats_url, "--cluster", "test", "--worker", name,
             "--events", "count", "--log-format", "json"] + extra,
            env=env, stdout=open(os.path.join(workdir, f"worker-{name}.out"), "wb"),
            stderr=open(self.err_path, "wb"))

    def log(self):
        records = []
        with open(self.err_path, "rb") as f:
            for line in f:
                try:
                    records.append(json.loads(line))
                except ValueError:
                    pass
        return records

    def owned(self):
        """Shards this worker runs now, from its log."""
        shards = set()
        for r in self.log():
            msg = r.get("msg", "")
            if "shard" not in r:
                continue
            if "starts here" in msg or "taken over" in msg:
                shards.add(r["shard"])
            elif "handed over" in msg or "dropped" in msg:
                shards.discard(r["shard"])
        return shards

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            fail(f"worker {self.name} did not exit within {timeout} s")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def nats_request(port, subject, payload, timeout=5.0):
    """One request over NATS' text protocol (no client library needed): the first reply, or None."""
    inbox = "_INBOX.scaleout%d" % int(time.monotonic() * 1e6)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.recv(4096)  # INFO
        body = payload.encode()
        s.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\n' +
                  f"SUB {inbox} 1\r\n".encode() +
                  f"PUB {subject} {inbox} {len(body)}\r\n".encode() + body + b"\r\nPING\r\n")
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
            at = data.find(b"MSG " + inbox.encode())
            if at >= 0:
                header_end = data.find(b"\r\n", at)
                if header_end < 0:
                    continue
                size = int(data[at:header_end].split()[-1])
                start = header_end + 2
                if len(data) >= start + size:
                    return json.loads(data[start:start + size])
            if b"PING\r\n" in data:
                s.sendall(b"PONG\r\n")
                data = data.replace(b"PING\r\n", b"")
    return None


def voice_command(emulator, nats, shard):
    """A Voice State Update by request on shard `shard`: the reply says ok, and the emulator saw it."""
    before = commands_seen(emulator, shard)
    guild = 1000 + shard
    reply = nats_request(nats.port, f"shardgate.commands.{shard}",
                         json.dumps({"op": 4, "d": {"guild_id": str(guild), "channel_id": None,
                                                    "self_mute": False, "self_deaf": False}}))
    if not reply or not reply.get("ok"):
        fail(f"command to shard {shard}: reply {reply}")
    wait_until(f"the command on shard {shard} at the emulator",
               lambda: commands_seen(emulator, shard) > before, 10)


def commands_seen(emulator, shard):
    log = emulator.get("/_emulator/log")
    entries = log["entries"] if isinstance(log, dict) else log
    return sum(1 for e in entries if e.get("event") == "command" and e.get("shard") == shard)


def total(stats, key):
    return sum(s.get(key, 0) for s in stats["shards"].values())


def read_stream(binary, nats_url):
    out = subprocess.run([binary, "events", "--nats", nats_url], capture_output=True, timeout=120)
    if out.returncode != 0:
        fail(f"shardgate events exited {out.returncode}: {out.stderr.decode()[:500]}")
    return [json.loads(line) for line in out.stdout.decode().splitlines() if line.strip()]


def check_stream(events, shards):
    """One session per shard, every session's seqs contiguous from 1, no (session, seq) twice."""
    by_shard = {}
    seen = set()
    for e in events:
        key = (e["session"], e["seq"])
        if key in seen:
            fail(f"({e['session']}, {e['seq']}) is in the stream twice")
        seen.add(key)
        by_shard.setdefault(e["shard"], {}).setdefault(e["session"], []).append(e["seq"])
    if sorted(by_shard) != list(range(shards)):
        fail(f"shards in the stream: {sorted(by_shard)}")
    for shard, sessions in by_shard.items():
        if len(sessions) != 1:
            fail(f"shard {shard} has {len(sessions)} sessions in the stream: {list(sessions)}")
        seqs = sorted(next(iter(sessions.values())))
        if seqs != list(range(1, len(seqs) + 1)):
            missing = sorted(set(range(1, seqs[-1] + 1)) - set(seqs))
            fail(f"shard {shard}: sequence not contiguous, missing {missing[:20]}")
    return {shard: max(next(iter(s.values()))) for shard, s in by_shard.items()}


def no_session_ending_close(emulator):
    """No worker ended a session (close 1000/1001): hand-overs and fencing keep them resumable."""
    log = emulator.get("/_emulator/log")
    entries = log["entries"] if isinstance(log, dict) else log
    ending = [e for e in entries if e.get("event") == "client_close" and e.get("code") in (1000, 1001)]
    if ending:
        fail(f"{len(ending)} client closes with 1000/1001, e.g. {ending[0]}")
    kept = sum(1 for e in entries if e.get("event") == "client_close" and e.get("code") == 4900)
    print(f"client closes with 4900 (session kept): {kept}; with 1000/1001: 0", flush=True)


def no_violations(stats):
    for sid, s in stats["shards"].items():
        if s.get("violations"):
            fail(f"emulator saw violations on shard {sid}: {s['violations']}")
        if "4008" in s.get("close_codes_sent", {}):
            fail(f"emulator closed shard {sid} with 4008")


def wait_all_ready(emulator, shards, timeout):
    wait_until(f"{shards} shards identified",
               lambda: total(emulator.stats(), "identifies") >= shards, timeout, 0.2)


def start_emulator(binary, workdir, shards, buckets, traffic, seed, window_ms=1000):
    return Emulator(binary, workdir, [
        "--shards", str(shards), "--max-concurrency", str(buckets),
        "--identify-window-ms", str(window_ms), "--heartbeat-interval-ms", "2000",
        "--traffic", str(traffic), "--seed", str(seed)])


def worker_options(buckets, lease_ms, window_ms=1000, margin_ms=100):
    """What every worker of a scenario is started with (an emulator's short identify window)."""
    options = ["--max-concurrency", str(buckets), "--identify-window-ms", str(window_ms),
               "--lease-ms", str(lease_ms)]
    if margin_ms is not None:
        options += ["--identify-margin-ms", str(margin_ms)]
    return options


def stop_workers(workers, names):
    """SIGTERM in turn (each hands its shards over); each must exit 0."""
    for name in names:
        workers[name].signal(signal.SIGTERM)
        status = workers[name].wait(30)
        if status != 0:
            fail(f"worker {name} exited {status} after SIGTERM")


def scenario_failover(binary, workdir):
    shards = 32
    nats = Nats(workdir)
    nats.start()
    emulator = start_emulator(binary, workdir, shards, buckets=16, traffic=400, seed=7)
    workers = {}
    try:
        extra = worker_options(buckets=16, lease_ms=3000)
        for name in ("a", "b", "c"):
            workers[name] = Worker(binary, workdir, name, nats.url, emulator.ws, shards, extra)
        wait_all_ready(emulator, shards, 60)
        wait_until("every worker owning a share",
                   lambda: all(len(w.owned()) >= 10 for w in workers.values()), 30, 0.2)
        time.sleep(2)
        lost = workers["a"].owned()
        probe = min(lost)
        voice_command(emulator, nats, probe)
        unknown = nats_request(nats.port, f"shardgate.commands.{shards + 5}", '{"op":4,"d":{}}')
        if not unknown or unknown.get("ok") or "unknown shard" not in unknown.get("error", ""):
            fail(f"a command to shard {shards + 5}: reply {unknown}")
        print(f"worker a runs {sorted(lost)}; SIGKILL", flush=True)
        resumes_before = total(emulator.stats(), "resumes")
        killed_at = time.monotonic()
        workers["a"].kill()
        wait_until("a's shards resumed on b and c",
                   lambda: total(emulator.stats(), "resumes") >= resumes_before + len(lost),
                   30, 0.05)
        failover_s = time.monotonic() - killed_at
        print(f"failover: {len(lost)} shards resumed {failover_s:.2f} s after SIGKILL "
              f"(lease 3 s)", flush=True)
        if failover_s > 3 + 2:
            fail(f"failover took {failover_s:.2f} s, more than the lease plus 2 s")
        voice_command(emulator, nats, probe)  # it follows the shard to its new worker
        print(f"commands reach shard {probe} before and after its failover", flush=True)
        time.sleep(2)
        moved = workers["b"].owned()
        resumes_before = total(emulator.stats(), "resumes")
        print(f"worker b runs {sorted(moved)}; SIGTERM", flush=True)
        workers["b"].signal(signal.SIGTERM)
        status = workers["b"].wait(30)
        if status != 0:
            fail(f"worker b exited {status} after SIGTERM")
        wait_until("b's shards resumed on c",
                   lambda: total(emulator.stats(), "resumes") >= resumes_before + len(moved),
                   30, 0.05)
        time.sleep(2)
        workers["c"].signal(signal.SIGTERM)
        if workers["c"].wait(30) != 0:
            fail("worker c did not exit 0 after SIGTERM")
        stats = emulator.stats()
        identifies = total(stats, "identifies")
        no_violations(stats)
        if identifies != shards:
            fail(f"the emulator saw {identifies} identifies, not {shards}")
        no_session_ending_close(emulator)
        events = read_stream(binary, nats.url)
        last = check_stream(events, shards)
        print(f"stream: {len(events)} events, {shards} shards, one session each, contiguous, "
              f"no duplicates; identifies {identifies}; resumes {total(stats, 'resumes')}",
              flush=True)
        del last
    finally:
        for w in workers.values():
            w.kill()
        emulator.stop()
        nats.stop()


def scenario_pacing(binary, workdir):
    shards, buckets, window_ms = 32, 4, 2000
    nats = Nats(workdir)
    nats.start()
    emulator = start_emulator(binary, workdir, shards, buckets, traffic=0, seed=1,
                              window_ms=window_ms)
    workers = []
    try:
        # The default margin: what the 2 % start-up target is measured with.
        extra = worker_options(buckets, lease_ms=3000, window_ms=window_ms, margin_ms=None)
        for name in ("p", "q"):
            workers.append(Worker(binary, workdir, name, nats.url, emulator.ws, shards, extra))
        wait_all_ready(emulator, shards, 90)
        stats = emulator.stats()
        no_violations(stats)
        identifies = total(stats, "identifies")
        if identifies != shards:
            fail(f"{identifies} identifies for {shards} shards (a refused one was repeated)")
        log = emulator.get("/_emulator/log")
        entries = log["entries"] if isinstance(log, dict) else log
        times = sorted(e["t_ms"] for e in entries
                       if e.get("event") == "identify")
        if len(times) != shards:
            fail(f"the log has {len(times)} identifies")
        minimum = (shards // buckets - 1) * window_ms
        took = times[-1] - times[0]
        print(f"start-up: first to last identify {took} ms; minimum {minimum} ms "
              f"({100.0 * (took - minimum) / minimum:+.2f} %)", flush=True)
        if took > minimum * 1.02:
            fail(f"start-up {took} ms is more than 2 % over the minimum {minimum} ms")
    finally:
        for w in workers:
            w.kill()
        emulator.stop()
        nats.stop()


def scenario_freeze(binary, workdir):
    """A worker frozen past its lease: the other resumes its shards; once thawed it notices it lost
    its lease, drops its shards without closing them with 1000, and publishes nothing twice."""
    shards = 8
    nats = Nats(workdir)
    nats.start()
    emulator = start_emulator(binary, workdir, shards, buckets=8, traffic=200, seed=3)
    workers = {}
    try:
        extra = worker_options(buckets=8, lease_ms=3000)
        for name in ("f", "g"):
            workers[name] = Worker(binary, workdir, name, nats.url, emulator.ws, shards, extra)
        wait_all_ready(emulator, shards, 60)
        wait_until("both workers owning a share",
                   lambda: all(len(w.owned()) >= 3 for w in workers.values()), 30, 0.2)
        time.sleep(2)  # a few checkpoint writes (every second; a new session's at once)
        frozen = workers["f"].owned()
        resumes_before = total(emulator.stats(), "resumes")
        workers["f"].signal(signal.SIGSTOP)
        print(f"worker f (shards {sorted(frozen)}) frozen with SIGSTOP", flush=True)
        wait_until("f's shards resumed on g",
                   lambda: total(emulator.stats(), "resumes") >= resumes_before + len(frozen),
                   30, 0.05)
        time.sleep(1)
        workers["f"].signal(signal.SIGCONT)
        wait_until("f noticing it lost its lease",
                   lambda: any("lease lost" in r.get("msg", "") for r in workers["f"].log()), 20)
        time.sleep(4)  # it joins again and takes its share back by hand-over
        stop_workers(workers, ("g", "f"))
        stats = emulator.stats()
        no_violations(stats)
        if total(stats, "identifies") != shards:
            fail(f"{total(stats, 'identifies')} identifies for {shards} shards")
        no_session_ending_close(emulator)
        events = read_stream(binary, nats.url)
        check_stream(events, shards)
        print(f"stream: {len(events)} events, contiguous, no duplicates; identifies "
              f"{total(stats, 'identifies')}", flush=True)
    finally:
        for w in workers.values():
            try:
                w.signal(signal.SIGCONT)
            except ProcessLookupError:
                pass
            w.kill()
        emulator.stop()
        nats.stop()


def scenario_nats_down(binary, workdir):
    """Workers started before NATS wait for it; NATS restarted mid-run loses and duplicates
    nothing."""
    shards = 8
    nats = Nats(workdir)
    emulator = start_emulator(binary, workdir, shards, buckets=8, traffic=200, seed=5)
    workers = {}
    try:
        extra = worker_options(buckets=8, lease_ms=5000)
        for name in ("m", "n"):
            workers[name] = Worker(binary, workdir, name, nats.url, emulator.ws, shards, extra)
        time.sleep(3)
        if total(emulator.stats(), "identifies") != 0:
            fail("a worker identified before NATS was there")
        for w in workers.values():
            if w.proc.poll() is not None:
                fail(f"worker {w.name} exited while NATS was away")
        nats.start()
        wait_all_ready(emulator, shards, 60)
        time.sleep(2)
        nats.stop()
        print("NATS stopped for 2 s mid-run", flush=True)
        time.sleep(2)
        nats.start()
        time.sleep(6)  # what went out on the dying connection is published again after ack_timeout
        stop_workers(workers, ("m", "n"))
        stats = emulator.stats()
        no_violations(stats)
        events = read_stream(binary, nats.url)
        check_stream(events, shards)
        print(f"stream: {len(events)} events, contiguous, no duplicates; identifies "
              f"{total(stats, 'identifies')}, resumes {total(stats, 'resumes')}", flush=True)
    finally:
        for w in workers.values():
            w.kill()
        emulator.stop()
        nats.stop()


SCENARIOS = {"failover": scenario_failover, "pacing": scenario_pacing,
             "freeze": scenario_freeze, "nats-down": scenario_nats_down}


def main():
    binary, name = sys.argv[1], sys.argv[2]
    if not os.path.exists(NATS_SERVER):
        fail(f"{NATS_SERVER} not found: install the nats-server package (scripts/bootstrap)")
    workdir = tempfile.mkdtemp(prefix=f"shardgate-{name}-")
    try:
        SCENARIOS[name](binary, workdir)
    except SystemExit:
        print(f"(logs kept in {workdir})", flush=True)
        raise
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"PASS {name}", flush=True)


if __name__ == "__main__":
    main()
