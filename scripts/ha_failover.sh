#!/usr/bin/env bash
# Measures HA failover with real processes (docs/ha.md): a real etcd, two
# coordinator replicas, four Python-client workers under ElasticBSP; the
# leader is killed with SIGKILL KILLS times (default 10), then frozen with
# SIGSTOP past its lease, etcd is restarted, and a rolling update is done.
# Prints one JSON line per case (pauses, median, max, lease TTL).
#   scripts/ha_failover.sh [BUILD_DIR] [KILLS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
kills=${2:-10}
report=$(mktemp)
trap 'rm -f "$report"' EXIT
PYTHONPATH="$root/clients/python:$build/protos/python:$root/tests/support/python" \
EBSP_COORDINATOR="$build/service/ebsp-coordinator" EBSP_HA_KILLS="$kills" \
EBSP_HA_REPORT="$report" PYTHONDONTWRITEBYTECODE=1 \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/ha/test_failover.py" || status=$?
cat "$report"
exit "${status:-0}"
