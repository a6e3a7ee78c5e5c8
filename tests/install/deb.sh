#!/usr/bin/env bash
# Builds the Debian package of a build tree with cpack and checks it: deb.sh BUILD_DIR WORK_DIR.
# Prints the control fields and the contents (CI's log shows them).
set -euo pipefail
build_dir=$(realpath "$1") work_dir=$(realpath -m "$2")
rm -rf "$work_dir"
mkdir -p "$work_dir"
cpack -G DEB --config "$build_dir/CPackConfig.cmake" -B "$work_dir" >"$work_dir/cpack.log" \
  || { cat "$work_dir/cpack.log"; exit 1; }
deb=$(find "$work_dir" -maxdepth 1 -name 'shardgate_*.deb')
[ -n "$deb" ] || { echo "cpack made no shardgate_*.deb"; cat "$work_dir/cpack.log"; exit 1; }
echo "== $deb"
dpkg-deb --info "$deb"
echo "== contents"
dpkg-deb --contents "$deb" | awk '{ print $6 }' | tee "$work_dir/contents.txt"

depends=$(dpkg-deb --field "$deb" Depends)
fail=0
# What the binary links, as Debian packages (dpkg-shlibdeps).
for pkg in libc6 libstdc++6 libssl3 zlib1g libzstd1 libsimdjson14 libboost-json1.81.0; do
  grep -q "\b$pkg\b" <<<"$depends" || { echo "Depends lacks $pkg: $depends"; fail=1; }
done
for file in ./usr/bin/shardgate ./usr/share/man/man1/shardgate.1 \
            ./usr/include/shardgate/io/cluster.hpp ./usr/include/shardgate/version.hpp; do
  grep -qxF "$file" "$work_dir/contents.txt" || { echo "the package lacks $file"; fail=1; }
done
for pattern in '/cmake/shardgate/shardgateConfig\.cmake$' '/pkgconfig/shardgate\.pc$' '/libshardgate_io\.'; do
  grep -q "$pattern" "$work_dir/contents.txt" || { echo "the package lacks $pattern"; fail=1; }
done
exit $fail
