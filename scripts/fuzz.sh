#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (-fsanitize=fuzzer,address,
# undefined) in their own build directory (${FUZZ_BUILD_DIR:-build-fuzz}; the
# main build is GCC) and runs each over its committed seed corpus
# (tests/fuzz/corpus/<target>), for --seconds N each (default 15) or
# --runs N executions each (given both, whichever comes first). New inputs go
# to a scratch copy of the corpus; a crash or a broken invariant fails the
# script and leaves its input in ${FUZZ_BUILD_DIR}/artifacts/. Usage:
#   scripts/fuzz.sh [--seconds N] [--runs N] [--target job_state|service_handlers]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${FUZZ_BUILD_DIR:-$root/build-fuzz}
limit=()
targets=(job_state service_handlers)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) limit+=(-max_total_time="$2"); shift 2 ;;
    --runs) limit+=(-runs="$2"); shift 2 ;;
    --target) targets=("$2"); shift 2 ;;
    *) echo "fuzz.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ ${#limit[@]} -gt 0 ]] || limit=(-max_total_time=15)
command -v clang++-14 >/dev/null || { echo "fuzz.sh: clang++-14 is missing (scripts/setup.sh installs it)" >&2; exit 1; }
sanitize="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
if [[ ! -f "$build_dir/build.ninja" ]]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build_dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEBSP_FUZZ=ON \
    -DCMAKE_CXX_FLAGS="$sanitize" -DCMAKE_C_FLAGS="$sanitize" >/dev/null
fi
for t in "${targets[@]}"; do
  cmake --build "$build_dir" -j 2 --target "ebsp_fuzz_$t" >/dev/null
done
mkdir -p "$build_dir/artifacts"
status=0
for t in "${targets[@]}"; do
  work="$build_dir/corpus/$t"
  mkdir -p "$work"
  cp -n "$root/tests/fuzz/corpus/$t/"* "$work/" 2>/dev/null || true
  echo "fuzz.sh: $t (${limit[*]})"
  if ! "$build_dir/tests/fuzz/ebsp_fuzz_$t" "${limit[@]}" -print_final_stats=1 \
      -artifact_prefix="$build_dir/artifacts/$t-" "$work" 2>"$build_dir/$t.log"; then
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|^(==|SUMMARY|invariant broken|service_handlers: broken)" \
    "$build_dir/$t.log" || true
done
exit $status
