#!/usr/bin/env python3
"""Plots for docs/BENCHMARKS.md from `shardgate bench --json` and `bench/peers/run.mjs --json`
output (JSON lines, any number of files): events/s per compression (shardgate end to end, the
decode limit, the peers) and resident memory per idle shard. Needs gnuplot (Debian: gnuplot-nox).

    python3 bench/plot.py OUT_DIR results.jsonl [more.jsonl ...]
"""
import json
import os
import subprocess
import sys
import tempfile

out_dir, files = sys.argv[1], sys.argv[2:]
rows = []
for f in files:
    with open(f) as fh:
        rows += [json.loads(l) for l in fh if l.strip().startswith("{")]

modes = ["none", "zlib-stream", "zstd-stream"]


def pick(**want):
    for r in rows:
        if all(r.get(k) == v for k, v in want.items()) and "error" not in r and "skipped" not in r:
            return r
    return None


tmp = tempfile.mkdtemp()
# Throughput: one group per compression; k events/s.
with open(os.path.join(tmp, "flood.dat"), "w") as d:
    for m in modes:
        def k(r):
            return f"{r['events_per_s'] / 1e3:.1f}" if r else "0"
        sg = next((r for r in rows if r.get("test") == "flood" and r.get("compress") == m
                   and r.get("sink", "library") == "library" and r.get("shards", 1) == 1
                   and r.get("peer", "shardgate") == "shardgate"), None)
        d.write(f"{m} {k(sg)} {k(pick(test='limit', compress=m))} "
                f"{k(pick(test='flood', compress=m, peer='discordjs'))} "
                f"{k(pick(test='flood', compress=m, peer='discordeno'))}\n")
# Memory per idle shard against the shard count.
with open(os.path.join(tmp, "idle.dat"), "w") as d:
    for m in ["none", "zlib-stream"]:
        d.write(f'"shardgate {m}"\n')
        for r in sorted((r for r in rows if r.get("test") == "idle" and r.get("compress") == m
                         and r.get("peer", "shardgate") == "shardgate"), key=lambda r: r["shards"]):
            d.write(f"{r['shards']} {r['rss_per_shard_kib']:.1f}\n")
        d.write("\n\n")
    for peer in ["discordjs", "discordeno"]:
        for m in ["none", "zlib-stream"]:
            r = pick(test="idle", compress=m, peer=peer)
            if r:
                d.write(f'"{peer} {m}"\n{r["shards"]} {r["rss_per_shard_kib"]:.1f}\n\n\n')

script = f"""
set terminal svg size 760,380 font 'sans,11' background rgb 'white' noenhanced
set output '{out_dir}/throughput.svg'
set title 'One shard, 200,000 MESSAGE_CREATE of ~1 KB: k events/s'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top right
set yrange [0:1600]
set grid ytics
plot '{tmp}/flood.dat' using 2:xtic(1) title 'shardgate end to end', \\
     '' using 3 title 'limit: decode + simdjson, 1 core', \\
     '' using 4 title '@discordjs/ws 1.2.3', \\
     '' using 5 title '@discordeno/gateway 21'
set output '{out_dir}/idle_memory.svg'
set title 'Resident memory per idle shard (KiB) by shards in one process'
set style data linespoints
set logscale x
set xlabel 'shards'
set key top right
set yrange [0:*]
plot for [i=0:*] '{tmp}/idle.dat' index i using 1:2 with linespoints pointsize 1.5 title columnheader(1)
"""
subprocess.run(["gnuplot"], input=script, text=True, check=True)
print(f"wrote {out_dir}/throughput.svg and {out_dir}/idle_memory.svg")
