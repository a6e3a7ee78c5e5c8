#!/usr/bin/env python3
"""`shardgate bench` end to end on small sizes: every scenario prints its figures as JSON, each
flood delivers every event, and bad usage exits 2. Figures themselves are for docs/BENCHMARKS.md;
nothing here is timed."""
import json
import subprocess
import sys

exe = sys.argv[1]


def bench(*args, timeout=240):
    r = subprocess.run([exe, "bench", *args, "--json"], capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, f"bench {args}: exit {r.returncode}: {r.stderr}"
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


lines = bench("flood", "output", "threads", "--events", "4000", "--compress", "zlib-stream",
              "--repeat", "1")
floods = [l for l in lines if l["test"] == "flood"]
limits = [l for l in lines if l["test"] == "limit"]
outputs = [l for l in lines if l["test"] == "output"]
assert len(floods) == 3, lines  # zlib-stream, then threads 1 and 2 (4 shards)
assert len(limits) == 1 and limits[0]["events"] == 4000, limits
assert {o["sink"] for o in outputs} == {"count", "jsonl"}, outputs
for f in floods + outputs:
    assert f["events"] == 4000 and f["events_per_s"] > 0 and f["peak_rss_kib"] > 0, f
assert limits[0]["mean_event_bytes"] > 500, limits  # MESSAGE_CREATE with content

idle = bench("idle", "--idle-shards", "20", "--idle-seconds", "1", "--compress", "none,zlib-stream")
assert [l["compress"] for l in idle] == ["none", "zlib-stream"], idle
for l in idle:
    assert l["shards"] == 20 and l["rss_per_shard_kib"] > 0, l

start = bench("startup", "--startup-shards", "8", "--startup-concurrency", "4",
              "--startup-window-ms", "200")
assert start[0]["minimum_s"] == 0.2 and start[0]["seconds"] >= 0.2, start

bad = subprocess.run([exe, "bench", "nonsense"], capture_output=True, text=True, timeout=30)
assert bad.returncode == 2 and "unknown scenario" in bad.stderr, bad
print("bench smoke: ok")
