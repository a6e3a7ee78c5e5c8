#!/bin/sh
# `shardgate connect` against `shardgate serve` on 127.0.0.1: one case per run.
#
#   connect_against_serve.sh SHARDGATE_BINARY CASE
#
# CASE: jsonl | wrong_token | discovery_failure | discovery | count | count_zstd | sigterm
#
# POSIX sh and coreutils only (CI machines are Debian minbase): no curl, no python. The emulator's
# first stdout line gives the port. Every wait is bounded. Every case also checks that neither
# token appears anywhere in what connect printed (stdout and stderr).
set -u

bin=${1:?usage: connect_against_serve.sh SHARDGATE_BINARY CASE}
case_name=${2:?usage: connect_against_serve.sh SHARDGATE_BINARY CASE}
good_token=secret-XYZ
wrong_token=wrong-token-QRS

dir=$(mktemp -d "${TMPDIR:-/tmp}/connect-test.XXXXXX") || exit 1
serve_pid=
connect_pid=
cleanup() {
    [ -n "$connect_pid" ] && kill -KILL "$connect_pid" 2>/dev/null
    [ -n "$serve_pid" ] && kill -TERM "$serve_pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
    echo "FAIL ($case_name): $*" >&2
    for f in "$dir"/connect.out "$dir"/connect.err "$dir"/serve.err; do
        [ -f "$f" ] || continue
        echo "--- $(basename "$f") (last 20 lines) ---" >&2
        tail -n 20 "$f" >&2
    done
    exit 1
}

# Starts the emulator; sets $port.
start_serve() {
    "$bin" serve --token "$good_token" --traffic 50 --heartbeat-interval-ms 1000 \
        --max-concurrency 2 --identify-window-ms 500 "$@" \
        >"$dir/serve.out" 2>"$dir/serve.err" &
    serve_pid=$!
    i=0
    port=
    while [ $i -lt 100 ]; do
        port=$(sed -n '1s/^{"listening":"http:\/\/127\.0\.0\.1:\([0-9][0-9]*\)"}$/\1/p' \
            "$dir/serve.out" 2>/dev/null)
        [ -n "$port" ] && return 0
        kill -0 "$serve_pid" 2>/dev/null || fail "shardgate serve exited early"
        sleep 0.1
        i=$((i + 1))
    done
    fail "shardgate serve printed no listening line within 10 s"
}

# Runs connect in the foreground with a hard time limit; sets $status.
run_connect() {
    token=$1
    shift
    DISCORD_TOKEN=$token timeout 60 "$bin" connect "$@" >"$dir/connect.out" 2>"$dir/connect.err"
    status=$?
}

count_lines() { # PATTERN FILE: how many lines match (0 when none, or no file yet)
    n=$(grep -c -- "$1" "$2" 2>/dev/null)
    echo "${n:-0}"
}

expect_status() {
    [ "$status" -eq "$1" ] || fail "exit status $status, expected $1"
}

# Every stdout line is one JSON object with a type (a grep-level sanity check).
expect_json_lines() {
    [ -s "$dir/connect.out" ] || fail "stdout is empty"
    bad=$(grep -c -v '^{"type":"[a-z]*",.*}$' "$dir/connect.out" || true)
    [ "$bad" -eq 0 ] || fail "$bad stdout line(s) are not JSON objects: $(grep -v '^{.*}$' "$dir/connect.out" | head -n 3)"
}

# The token test: neither token anywhere in connect's output.
expect_no_token() {
    cat "$dir/connect.out" "$dir/connect.err" >"$dir/all"
    for t in "$good_token" "$wrong_token"; do
        n=$(count_lines "$t" "$dir/all")
        [ "$n" -eq 0 ] || fail "the token $t appears in $n line(s) of connect's output"
    done
}

case $case_name in
jsonl)
    start_serve
    run_connect "$good_token" --gateway "ws://127.0.0.1:$port" --shards 2 --max-concurrency 2 \
        --events jsonl --duration 3
    expect_status 0
    expect_json_lines
    for s in 0 1; do
        n=$(count_lines "^{\"type\":\"lifecycle\",\"shard\":$s,\"event\":\"ready\"" "$dir/connect.out")
        [ "$n" -ge 1 ] || fail "no ready line for shard $s"
    done
    n=$(count_lines '^{"type":"dispatch","shard":[01],"seq":[0-9]*,"t":"[A-Z_]*","d":' "$dir/connect.out")
    [ "$n" -ge 1 ] || fail "no dispatch lines"
    expect_no_token
    ;;
wrong_token)
    start_serve
    run_connect "$wrong_token" --gateway "ws://127.0.0.1:$port" --shards 1 --events jsonl \
        --duration 30
    expect_status 3
    expect_json_lines
    n=$(count_lines '"event":"fatal","code":4004,"name":"[^"]*","remedy":"[^"][^"]*"' "$dir/connect.out")
    [ "$n" -ge 1 ] || fail "no fatal 4004 line with a remedy"
    expect_no_token
    ;;
discovery_failure)
    start_serve
    run_connect "$wrong_token" --api "http://127.0.0.1:$port/api/v10" --events jsonl --duration 30
    expect_status 1
    n=$(count_lines 'token rejected' "$dir/connect.err")
    [ "$n" -ge 1 ] || fail "stderr does not say 'token rejected'"
    expect_no_token
    ;;
discovery)
    start_serve --shards 2
    run_connect "$good_token" --api "http://127.0.0.1:$port/api/v10" --events count --duration 3
    expect_status 0
    expect_json_lines
    grep -q '^{"type":"summary","dispatches":[1-9][0-9]*,.*"shards":2,' "$dir/connect.out" ||
        fail "discovery did not bring up the 2 recommended shards with dispatches"
    expect_no_token
    ;;
count | count_zstd)
    compress=zlib-stream
    [ "$case_name" = count_zstd ] && compress=zstd-stream
    start_serve
    run_connect "$good_token" --gateway "ws://127.0.0.1:$port" --shards 2 --max-concurrency 2 \
        --compress "$compress" --events count --duration 3
    expect_status 0
    expect_json_lines
    [ "$(wc -l <"$dir/connect.out")" -eq 1 ] || fail "count printed more than one line"
    grep -q '^{"type":"summary","dispatches":[1-9][0-9]*,"first_ms":[0-9]*,"last_ms":[0-9]*,' \
        "$dir/connect.out" || fail "no summary line with dispatches > 0"
    expect_no_token
    ;;
sigterm)
    start_serve
    DISCORD_TOKEN=$good_token "$bin" connect --gateway "ws://127.0.0.1:$port" --shards 1 \
        --events jsonl >"$dir/connect.out" 2>"$dir/connect.err" &
    connect_pid=$!
    i=0
    while [ "$(count_lines '"event":"ready"' "$dir/connect.out")" -eq 0 ]; do
        [ $i -lt 150 ] || fail "no ready line within 15 s"
        kill -0 "$connect_pid" 2>/dev/null || fail "connect exited before ready"
        sleep 0.1
        i=$((i + 1))
    done
    kill -TERM "$connect_pid"
    i=0
    while kill -0 "$connect_pid" 2>/dev/null; do
        [ $i -lt 100 ] || fail "connect still running 10 s after SIGTERM"
        sleep 0.1
        i=$((i + 1))
    done
    wait "$connect_pid"
    status=$?
    connect_pid=
    expect_status 0
    expect_json_lines
    n=$(count_lines '"event":"closed","code":1000' "$dir/connect.out")
    [ "$n" -ge 1 ] || echo "note ($case_name): no closed 1000 line after SIGTERM" >&2
    expect_no_token
    ;;
*)
    echo "unknown case: $case_name" >&2
    exit 2
    ;;
esac
echo "ok ($case_name)"
exit 0
