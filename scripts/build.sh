#!/usr/bin/env bash
# Configures and builds into ${BUILD_DIR:-build} (RelWithDebInfo, Ninja): the
# whole tree, or only the targets named as arguments (e.g. ebsp-coordinator).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
build_type=${BUILD_TYPE:-RelWithDebInfo}
if [[ ! -f "$build_dir/build.ninja" ]]; then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
fi
echo "build: compiling into $build_dir (2 cores: the first build takes a few minutes)"
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}"
