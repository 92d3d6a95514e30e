#!/usr/bin/env bash
# Configures and builds the whole tree into ${BUILD_DIR:-build} (Release, Ninja).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
build_type=${BUILD_TYPE:-RelWithDebInfo}
if [[ ! -f "$build_dir/build.ninja" ]]; then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
fi
echo "build: compiling into $build_dir (2 cores: the first build takes a few minutes)"
cmake --build "$build_dir" -j "$(nproc)"
