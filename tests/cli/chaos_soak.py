#!/usr/bin/python3
"""The chaos soak (issue 12): `shardgate demo --chaos`: 64 shards under seeded random faults (every
non-fatal close code, op 7, op 9 both ways, zombies silent and not, TCP drops, op 1 requests) at
several per second while traffic flows. Asserts: every sequence once and in order per shard (0 lost,
0 duplicated), no fatal stop, no violation at the emulator (no 4008 for a send over the limit, no
identify over the buckets), and resident memory flat after warm-up (< 5 % growth from the end of
the warm-up to the end of the run).

usage: chaos_soak.py SHARDGATE_BINARY [SECONDS] [SHARDS] [FAULT_EVERY]
(CI runs 300 s; the closing note of issue 12 gives a 30-minute run's figures.)
"""
import json
import subprocess
import sys
import tempfile
import time

BINARY = sys.argv[1]
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 300
SHARDS = int(sys.argv[3]) if len(sys.argv) > 3 else 64
FAULT_EVERY = float(sys.argv[4]) if len(sys.argv) > 4 else 0.25
WARM_UP = 0.4  # of the run: connections, buffers and the emulator's stores reach their sizes


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def main():
    args = [BINARY, "demo", "--shards", str(SHARDS), "--chaos", "--fault-every", str(FAULT_EVERY),
            "--duration", str(SECONDS), "--json", "--log-level", "warn"]
    print("$ " + " ".join(args), flush=True)
    started = time.monotonic()
    # Files, not pipes: nobody reads a pipe until the end, and a long run's status lines on stderr
    # would fill it (64 KiB) and block the demo.
    out_file = tempfile.TemporaryFile(mode="w+")
    err_file = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(args, stdout=out_file, stderr=err_file, text=True)
    samples = []  # (seconds since start, KiB)
    while proc.poll() is None:
        kib = rss_kib(proc.pid)
        if kib is not None:
            samples.append((time.monotonic() - started, kib))
        if time.monotonic() - started > SECONDS + 120:
            proc.kill()
            err_file.seek(0)
            print("FAIL: the demo did not end; its stderr ends with:\n" + err_file.read()[-2000:],
                  file=sys.stderr)
            return 1
        time.sleep(1)
    out_file.seek(0)
    err_file.seek(0)
    out, err = out_file.read(), err_file.read()
    failures = []
    if proc.returncode != 0:
        failures.append(f"exit status {proc.returncode}: {err.strip()[-500:]}")
    summary = json.loads(out.strip().splitlines()[-1])
    print(json.dumps(summary))
    for key in ("lost", "duplicated", "fatal"):
        if summary.get(key) != 0:
            failures.append(f"{key} = {summary.get(key)}")
    if summary.get("emulator_violations"):
        failures.append(f"violations at the emulator: {summary['emulator_violations']}")
    expected_faults = SECONDS * (1 - WARM_UP) / FAULT_EVERY / 4
    if summary["faults"] < expected_faults:
        failures.append(f"only {summary['faults']} faults (want at least {expected_faults:.0f})")
    if summary["resumes"] == 0 or summary["identifies"] <= SHARDS:
        failures.append("no resume or no identify afresh: the faults did not bite")
    warm = [k for t, k in samples if WARM_UP * 0.75 * SECONDS <= t <= WARM_UP * SECONDS]
    end = [k for t, k in samples if t >= 0.9 * SECONDS]
    if not warm or not end:
        failures.append("too few memory samples")
    else:
        growth = max(end) / max(warm) - 1
        print(f"resident memory: {max(warm) / 1024:.1f} MiB after warm-up, "
              f"{max(end) / 1024:.1f} MiB at the end: {growth * 100:+.1f} %; "
              f"peak {max(k for _, k in samples) / 1024:.1f} MiB; "
              f"{summary['faults']} faults, {summary['dispatches']} events, "
              f"{summary['resumes']} resumes, {summary['identifies']} identifies")
        if growth >= 0.05:
            failures.append(f"resident memory grew {growth * 100:.1f} % after warm-up")
    curve = [f"{t:.0f}s {k / 1024:.1f}" for t, k in samples[::max(1, len(samples) // 12)]]
    print("resident memory (MiB) over the run: " + ", ".join(curve))
    for f in failures:
        print("FAIL: " + f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
