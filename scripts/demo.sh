#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, starts
# ebsp-coordinator on 127.0.0.1, runs ebsp-demo against it (BSP, then
# ElasticBSP, about a minute in all), and stops the coordinator on exit.
# The exit status is the demo's.
#
# Environment: BUILD_DIR (default <repo>/build), EBSP_GRPC_PORT (50051),
# EBSP_METRICS_PORT (9464); a port already taken is replaced by one the
# kernel picks. Arguments are passed to ebsp-demo, e.g.
#   scripts/demo.sh --workers=4 --seconds_per_policy=10 --policies=bsp,ebsp:R=8,ssp:s=3
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" ebsp-coordinator ebsp-demo
build_dir=${BUILD_DIR:-$root/build}
coordinator="$build_dir/service/ebsp-coordinator"
demo="$build_dir/tools/demo/ebsp-demo"

grpc_port=${EBSP_GRPC_PORT:-50051}
metrics_port=${EBSP_METRICS_PORT:-9464}
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if port_taken "$grpc_port"; then
  echo "demo: 127.0.0.1:$grpc_port is taken, letting the kernel pick the gRPC port"
  grpc_port=0
fi
if port_taken "$metrics_port"; then
  echo "demo: 127.0.0.1:$metrics_port is taken, letting the kernel pick the metrics port"
  metrics_port=0
fi

work=$(mktemp -d -t ebsp-demo.XXXXXX)
ready="$work/ready.json"
log="$work/coordinator.log"
"$coordinator" --listen_address="127.0.0.1:$grpc_port" \
  --metrics_address="127.0.0.1:$metrics_port" --ready_file="$ready" 2>"$log" &
coordinator_pid=$!
stop_coordinator() {
  if kill -0 "$coordinator_pid" 2>/dev/null; then
    kill -TERM "$coordinator_pid" 2>/dev/null || true
    wait "$coordinator_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop_coordinator EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The coordinator writes the ready file once it serves (30 s at most).
for ((i = 0; i < 300; i++)); do
  [[ -s "$ready" ]] && break
  if ! kill -0 "$coordinator_pid" 2>/dev/null; then
    echo "demo: ebsp-coordinator exited before serving:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ ! -s "$ready" ]]; then
  echo "demo: ebsp-coordinator did not get ready within 30 s:" >&2
  cat "$log" >&2
  exit 1
fi
grpc_port=$(sed -n 's/.*"grpc_port": *\([0-9]*\).*/\1/p' "$ready")
metrics_port=$(sed -n 's/.*"metrics_port": *\([0-9]*\).*/\1/p' "$ready")
echo "demo: ebsp-coordinator (pid $coordinator_pid) serves gRPC on 127.0.0.1:$grpc_port"
echo "demo: Prometheus metrics at http://127.0.0.1:$metrics_port/metrics (while the demo runs)"

status=0
"$demo" --target="127.0.0.1:$grpc_port" "$@" || status=$?
exit "$status"
