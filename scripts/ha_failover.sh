#!/usr/bin/env bash
# Measures HA failover with real processes (docs/ha.md): a real etcd, two
# coordinator replicas, four workers under ElasticBSP (two on each client)
# through a stand-in for the Kubernetes Service; the leader is killed with
# SIGKILL KILLS times (default 10), frozen with SIGSTOP past its lease and
# resumed REPEATS times (default 5), etcd is restarted once, and REPEATS
# rolling updates are done. Prints one JSON line per case (every worker's
# pause, median, max, iterations lost, lease TTL). The pause bound is not
# asserted here (EBSP_HA_PAUSE_BOUND_S=1000): the figures are the point;
# deaths and two leaders at once still fail it.
#   scripts/ha_failover.sh [BUILD_DIR] [KILLS] [REPEATS]
# EBSP_HA_ROUTER=leader routes to the leader only (a health-checking mesh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
kills=${2:-10}
repeats=${3:-5}
report=$(mktemp)
trap 'rm -f "$report"' EXIT
PYTHONPATH="$root/clients/python:$build/protos/python:$root/tests/support/python" \
EBSP_COORDINATOR="$build/service/ebsp-coordinator" \
EBSP_CHAOS_WORKER="$build/tools/chaos/ebsp-chaos-worker" \
EBSP_HA_KILLS="$kills" EBSP_HA_REPEATS="$repeats" \
EBSP_HA_PAUSE_BOUND_S="${EBSP_HA_PAUSE_BOUND_S:-1000}" \
EBSP_HA_REPORT="$report" PYTHONDONTWRITEBYTECODE=1 \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/ha/test_failover.py" || status=$?
cat "$report"
exit "${status:-0}"
