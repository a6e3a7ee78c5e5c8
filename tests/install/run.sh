#!/usr/bin/env bash
# Installs a build tree into a fresh prefix and builds and runs tests/install/ against it, as a bot
# developer would: run.sh BUILD_DIR WORK_DIR config|pkg-config
set -euo pipefail
build_dir=$(realpath "$1") work_dir=$(realpath -m "$2") mode=$3
here=$(cd "$(dirname "$0")" && pwd)

rm -rf "$work_dir"
mkdir -p "$work_dir"
prefix="$work_dir/prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work_dir/install.log"
echo "installed into $prefix:"
(cd "$prefix" && find . -type f | sort)

generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
case "$mode" in
  config) cmake -S "$here" -B "$work_dir/consumer" "${generator[@]}" -DSHARDGATE_FIND=config \
            -DCMAKE_PREFIX_PATH="$prefix" ;;
  pkg-config) PKG_CONFIG_PATH="$(dirname "$(find "$prefix" -name shardgate.pc)")" \
            cmake -S "$here" -B "$work_dir/consumer" "${generator[@]}" -DSHARDGATE_FIND=pkg-config
            echo "pkg-config --libs shardgate-emulator: $(PKG_CONFIG_PATH="$(dirname "$(find "$prefix" -name shardgate.pc)")" pkg-config --libs shardgate-emulator)" ;;
  *) echo "usage: run.sh BUILD_DIR WORK_DIR config|pkg-config" >&2; exit 2 ;;
esac
cmake --build "$work_dir/consumer"
output=$("$work_dir/consumer/consumer")
echo "$output"
for want in "shardgate $(sed -n 's/.*version_string = "\(.*\)";/\1/p' "$prefix/include/shardgate/version.hpp")" \
            "ready 1 message 1 stopped 1" "4004 Authentication failed -> fatal"; do
  grep -qxF "$want" <<<"$output" || { echo "missing from the consumer's output: $want" >&2; exit 1; }
done
