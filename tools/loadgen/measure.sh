#!/usr/bin/env bash
# Measures the coordinator's headline figures on this machine (README.md):
#   1. ReportIteration throughput and latency with N workers (ASP, nobody
#      waits) against ebsp-coordinator, and the same load against the bare
#      ebsp-echo-server; the ratio coordinator / echo; server CPU per request.
#   2. Barrier release latency at 1,000 and 10,000 waiting workers, and the
#      same on the echo server's bare Park barrier (the floor).
#   3. The coordinator's VmRSS at idle and with 10,000 registered workers
#      (and its peak with 10,000 more reporting at once).
# Servers run on 127.0.0.1 with kernel-picked ports; everything is bounded by
# `timeout` and every server is stopped on exit.
#
#   tools/loadgen/measure.sh [BUILD_DIR]
#   env: DURATION=10s WORKERS=1000 BARRIER_SIZES="1000 10000" ROUNDS=5
#        RSS_WORKERS=10000 CHANNELS=4
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${BUILD_DIR:-$root/build}}
duration=${DURATION:-10s}
workers=${WORKERS:-1000}
barrier_sizes=${BARRIER_SIZES:-1000 10000}
rounds=${ROUNDS:-5}
rss_workers=${RSS_WORKERS:-10000}
channels=${CHANNELS:-4}
py=/usr/bin/python3

coordinator=$build/service/ebsp-coordinator
echo_server=$build/tools/loadgen/ebsp-echo-server
loadgen=$build/tools/loadgen/ebsp-loadgen
barrier_bench=$build/tools/loadgen/ebsp-barrier-bench
for bin in "$coordinator" "$echo_server" "$loadgen" "$barrier_bench"; do
  [[ -x $bin ]] || { echo "measure: $bin not built (cmake --build $build)" >&2; exit 2; }
done

tmp=$(mktemp -d /tmp/ebsp-measure.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    # Bounded: SIGKILL after 10 s.
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

# start_server NAME BINARY ARGS...: starts it on 127.0.0.1:0, sets $port, $pid.
start_server() {
  local name=$1 bin=$2
  shift 2
  local ready=$tmp/$name.ready
  "$bin" --listen_address=127.0.0.1:0 --ready_file="$ready" "$@" 2>"$tmp/$name.log" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 300); do
    [[ -s $ready ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/$name.log" >&2; exit 1; }
    sleep 0.1
  done
  [[ -s $ready ]] || { echo "measure: $name not ready in 30 s" >&2; exit 1; }
  port=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["grpc_port"])' "$ready")
}

stop_server() {
  kill -TERM "$1"
  timeout 15 tail --pid="$1" -f /dev/null || kill -KILL "$1"
}

# CPU seconds (user + system) the process has used so far.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

json_field() {  # json_field FILE EXPR (python expression over `r`)
  $py -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== 1. ReportIteration: $workers workers, $duration each, $channels channels"

start_server echo "$echo_server"
cpu0=$(cpu_seconds "$pid")
timeout 120 "$loadgen" --target=127.0.0.1:"$port" --mode=echo --workers="$workers" \
  --duration="$duration" --channels="$channels" --json >"$tmp/echo.json"
echo_cpu=$($py -c "print($(cpu_seconds "$pid") - $cpu0)")
stop_server "$pid"

start_server coordinator "$coordinator" --metrics_address=127.0.0.1:0 \
  --max_workers_per_job=20000 --heartbeat_timeout=600s
coord_pid=$pid
coord_port=$port
cpu0=$(cpu_seconds "$coord_pid")
timeout 120 "$loadgen" --target=127.0.0.1:"$coord_port" --mode=coordinator --policy=asp \
  --job=measure-asp --workers="$workers" --duration="$duration" --channels="$channels" \
  --json >"$tmp/coord.json"
coord_cpu=$($py -c "print($(cpu_seconds "$coord_pid") - $cpu0)")

$py - "$tmp/echo.json" "$tmp/coord.json" "$echo_cpu" "$coord_cpu" <<'PYEOF'
import json, sys
echo, coord = (json.load(open(p)) for p in sys.argv[1:3])
echo_cpu, coord_cpu = float(sys.argv[3]), float(sys.argv[4])
for name, r, cpu in (("echo", echo, echo_cpu), ("coordinator", coord, coord_cpu)):
    l = r["latency_ms"]
    n = r["reports_ok"] + r["drained"]
    print(f"  {name:12s} {r['throughput_rps']:9.0f} req/s  p50 {l['p50']:7.3f} ms  "
          f"p90 {l['p90']:7.3f} ms  p99 {l['p99']:7.3f} ms  errors {r['errors_total']}  "
          f"server CPU {1e6 * cpu / max(n, 1):6.1f} us/request")
print(f"  ratio coordinator/echo: {coord['throughput_rps'] / echo['throughput_rps']:.2f}")
PYEOF

echo "== 2. Barrier release latency (BSP, N-1 waiting, time from last arrival to all N released)"
for n in $barrier_sizes; do
  timeout 600 "$barrier_bench" --target=127.0.0.1:"$coord_port" --workers="$n" \
    --rounds="$rounds" --job="measure-barrier-$n" --json >"$tmp/barrier-$n.json"
  echo "  coordinator N=$n: median $(json_field "$tmp/barrier-$n.json" 'r["median_release_ms"]') ms," \
       "max $(json_field "$tmp/barrier-$n.json" 'r["max_release_ms"]') ms over $rounds rounds" \
       "(registration $(json_field "$tmp/barrier-$n.json" 'round(r["register_seconds"], 2)') s;" \
       "coordinator peak VmHWM so far $(( $(hwm_kib "$coord_pid") / 1024 )) MiB)"
done
stop_server "$coord_pid"

# The floor: the same rounds on a bare callback server that parks the calls
# and finishes them all when the last arrives.
start_server echo-park "$echo_server"
for n in $barrier_sizes; do
  timeout 600 "$barrier_bench" --mode=echo --target=127.0.0.1:"$port" --workers="$n" \
    --rounds="$rounds" --json >"$tmp/park-$n.json"
  echo "  echo Park   N=$n: median $(json_field "$tmp/park-$n.json" 'r["median_release_ms"]') ms," \
       "max $(json_field "$tmp/park-$n.json" 'r["max_release_ms"]') ms over $rounds rounds"
done
stop_server "$pid"

echo "== 3. Memory: VmRSS of a fresh coordinator"
start_server rss "$coordinator" --metrics_address=127.0.0.1:0 \
  --max_workers_per_job=20000 --heartbeat_timeout=600s
idle=$(rss_kib "$pid")
# Register the workers (256 Register calls in flight) and keep them: no
# reports, no Leave, 600 s lease. What remains is the per-worker state.
timeout 300 "$loadgen" --target=127.0.0.1:"$port" --mode=coordinator --policy=asp \
  --job=measure-rss --workers="$rss_workers" --duration=0s --leave=false \
  --json >"$tmp/rss.json"
registered=$(rss_kib "$pid")
echo "  idle: $((idle / 1024)) MiB ($idle KiB)"
echo "  with $rss_workers registered workers: $((registered / 1024)) MiB ($registered KiB)," \
     "$(( (registered - idle) * 1024 / rss_workers )) bytes per worker above idle"
# The same workers all reporting at once (one call each in flight).
timeout 300 "$loadgen" --target=127.0.0.1:"$port" --mode=coordinator --policy=asp \
  --job=measure-rss-load --workers="$rss_workers" --duration=3s --leave=false \
  --channels="$channels" --json >"$tmp/rss-load.json"
echo "  plus $rss_workers more workers reporting for 3 s: peak VmHWM" \
     "$(( $(hwm_kib "$pid") / 1024 )) MiB, VmRSS after $(( $(rss_kib "$pid") / 1024 )) MiB"
stop_server "$pid"
