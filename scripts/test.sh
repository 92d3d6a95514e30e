#!/usr/bin/env bash
# The one test command: installs what is missing, builds everything, runs every test (ctest).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
build_dir=${BUILD_DIR:-$root/build}
cd "$build_dir"
ctest --output-on-failure --timeout 900 -j "${CTEST_JOBS:-2}" "$@"
