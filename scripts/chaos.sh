#!/usr/bin/env bash
# The chaos suite outside ctest: builds what it needs, runs every case
# (tests/chaos/chaos_suite.py; --long adds the 120 s coordinator outage) and
# prints the table of docs/chaos.md. Other arguments go to the suite
# (--case=NAME, --clients=cpp, --keep, --json_out=FILE).
#   bash scripts/chaos.sh [--long] [suite flags]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
BUILD_DIR=$build_dir bash "$root/scripts/build.sh" ebsp-coordinator ebsp-chaos-worker \
  ebsp_proto_python >/dev/null
PYTHONPATH="$root/clients/python:$build_dir/protos/python" PYTHONDONTWRITEBYTECODE=1 \
  exec /usr/bin/python3 "$root/tests/chaos/chaos_suite.py" \
  --coordinator="$build_dir/service/ebsp-coordinator" \
  --cpp_worker="$build_dir/tools/chaos/ebsp-chaos-worker" "$@"
