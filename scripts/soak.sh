#!/usr/bin/env bash
# The soak (issue 8): a real coordinator under 10,000 simulated ElasticBSP
# workers with churn; samples its RSS every 10 s into a CSV and fails on any
# unexpected status, a barrier past its deadline or a rising RSS.
#   scripts/soak.sh [--duration=SECONDS (600)] [--out=DIR (build/soak)] [tools/loadgen/soak.py flags]
# Writes DIR/rss.csv and DIR/rss.png. Builds the two binaries it needs first.
# The measured 10-minute run is in docs/soak/README.md; ctest `soak.ci` runs 60 s.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
out=$build_dir/soak
duration=600
extra=()
for arg in "$@"; do
  case $arg in
    --duration=*) duration=${arg#*=} ;;
    --out=*) out=${arg#*=} ;;
    *) extra+=("$arg") ;;
  esac
done
[[ ${EBSP_SOAK_NO_BUILD:-0} == 1 ]] ||
  BUILD_DIR=$build_dir "$root/scripts/build.sh" ebsp-coordinator ebsp-loadgen >/dev/null
mkdir -p "$out"
echo "soak: $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
exec /usr/bin/python3 "$root/tools/loadgen/soak.py" \
  --coordinator="$build_dir/service/ebsp-coordinator" --loadgen="$build_dir/tools/loadgen/ebsp-loadgen" \
  --duration="$duration" --csv="$out/rss.csv" --plot="$out/rss.png" "${extra[@]}"
