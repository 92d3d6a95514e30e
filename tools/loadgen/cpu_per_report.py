#!/usr/bin/python3
"""The coordinator's CPU per report under each policy, at 1,000 and 10,000 workers.

For every (run, workers, policy, coordinator binary), interleaved so that a
slow spell of the shared machine hits all of them alike, it starts a fresh
`ebsp-coordinator` on 127.0.0.1 (port 0, read back from --ready_file), runs
`ebsp-loadgen --server_pid=<its pid>` (N simulated workers reporting back to
back and obeying the directives: Barrier on SYNC_NOW, WaitForClock on WAIT)
for a bounded time, reads the coordinator's ZipLine count and time from
/metrics, stops it, and records

  server CPU seconds in the measured phase (/proc/PID/stat utime + stime)
  / reports answered = CPU per report; p50/p99 report latency; throughput;
  barrier calls; ZipLine runs (ebsp_planning_seconds_count) and their time.

It prints a markdown table of medians over runs, and of ratios taken within
one run (policy / bsp, and binary / the first binary), and writes every
measurement to --csv.

    /usr/bin/python3 tools/loadgen/cpu_per_report.py --coordinators today=build/service/ebsp-coordinator \\
        --loadgen build/tools/loadgen/ebsp-loadgen --workers 1000,10000 --runs 3 --csv out.csv

See tools/loadgen/README.md ("CPU per report") for the figures measured here.
"""

import argparse
import csv
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Dict, List, Tuple

DEFAULT_POLICIES = ("asp;bsp;ebsp:R=15;ebsp:R=15,objective=spread;"
                    "ebsp:R=15,objective=total_wait;ebsp:R=15,objective=idle_rate")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--coordinators", required=True,
                   help="LABEL=PATH[,LABEL=PATH...]: coordinator binaries to compare; the "
                        "first is the reference of the binary ratios")
    p.add_argument("--loadgen", default="build/tools/loadgen/ebsp-loadgen")
    p.add_argument("--workers", default="1000,10000")
    p.add_argument("--policies", default=DEFAULT_POLICIES,
                   help="';'-separated policy texts (they contain commas)")
    p.add_argument("--duration", default="10s", help="loadgen's measured phase")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--channels", type=int, default=4)
    p.add_argument("--csv", default="", help="append every measurement here")
    p.add_argument("--run_timeout", type=float, default=300,
                   help="seconds one loadgen call may take (registration included)")
    args = p.parse_args(argv)
    args.binaries = []
    for item in args.coordinators.split(","):
        label, sep, path = item.partition("=")
        if not sep or not os.access(path, os.X_OK):
            p.error(f"--coordinators: '{item}' is not LABEL=PATH of an executable")
        args.binaries.append((label, path))
    if not os.access(args.loadgen, os.X_OK):
        p.error(f"--loadgen: '{args.loadgen}' is not executable "
                "(cmake --build build --target ebsp-loadgen)")
    args.worker_counts = [int(w) for w in args.workers.split(",")]
    args.policy_list = [x for x in args.policies.split(";") if x.strip()]
    if args.runs < 1:
        p.error("--runs must be >= 1")
    return args


class Coordinator:
    """A coordinator on 127.0.0.1:0 (and metrics on :0), stopped on exit, by PID."""

    def __init__(self, binary: str, max_workers: int, tmp: str):
        self.ready = os.path.join(tmp, f"ready-{time.monotonic_ns()}.json")
        self.log = open(os.path.join(tmp, "coordinator.log"), "ab")
        self.proc = subprocess.Popen(
            [binary, "--listen_address=127.0.0.1:0", "--metrics_address=127.0.0.1:0",
             f"--ready_file={self.ready}", f"--max_workers_per_job={max(max_workers, 10000)}",
             "--heartbeat_timeout=600s", "--peer_rate_limit=0"],
            stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 30
        while not os.path.exists(self.ready) or os.path.getsize(self.ready) == 0:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{binary} exited {self.proc.returncode} before ready")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{binary} not ready within 30 s")
            time.sleep(0.05)
        with open(self.ready) as f:
            ports = json.load(f)
        self.port = ports["grpc_port"]
        self.metrics_port = ports["metrics_port"]

    def planning(self, job: str) -> Tuple[float, float]:
        """(ZipLine runs, their seconds) of `job` from /metrics."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        text = urllib.request.urlopen(url, timeout=10).read().decode()
        count = total = 0.0
        for line in text.splitlines():
            m = re.match(r'ebsp_planning_seconds_(count|sum)\{[^}]*training_job="([^"]*)"[^}]*\}'
                         r'\s+(\S+)', line)
            if m and m.group(2) == job:
                if m.group(1) == "count":
                    count = float(m.group(3))
                else:
                    total = float(m.group(3))
        return count, total

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.log.close()


def measure(args, label: str, binary: str, workers: int, policy: str, run: int,
            tmp: str) -> Dict:
    coordinator = Coordinator(binary, workers, tmp)
    job = f"cpu-{run}-{workers}"
    try:
        out = subprocess.run(
            [args.loadgen, f"--target=127.0.0.1:{coordinator.port}", "--mode=coordinator",
             f"--workers={workers}", f"--duration={args.duration}", f"--policy={policy}",
             f"--job={job}", f"--channels={args.channels}",
             f"--server_pid={coordinator.proc.pid}", "--json"],
            capture_output=True, text=True, timeout=args.run_timeout)
        if out.returncode != 0:
            raise RuntimeError(f"loadgen failed ({out.returncode}): {out.stderr.strip()}")
        r = json.loads(out.stdout)
        plans, plan_s = coordinator.planning(job)
    finally:
        coordinator.stop()
    return {
        "binary": label, "run": run, "workers": workers, "policy": policy,
        "reports_ok": r["reports_ok"], "throughput_rps": r["throughput_rps"],
        "p50_ms": r["latency_ms"]["p50"], "p99_ms": r["latency_ms"]["p99"],
        "server_cpu_s": r["server_cpu_seconds"],
        "cpu_us_per_report": r["server_cpu_us_per_report"],
        "barrier_calls": r["blocking_ok"], "errors": r["errors_total"],
        "zipline_runs": int(plans), "zipline_s": round(plan_s, 4),
        "zipline_us_per_report": round(1e6 * plan_s / max(r["reports_ok"], 1), 3),
        "measured_s": r["measured_seconds"],
        "load_average": os.getloadavg()[0],
    }


def median(values: List[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(args, rows: List[Dict]) -> str:
    first = args.binaries[0][0]
    lines = ["| workers | policy | binary | CPU us/report | vs bsp (same run) | "
             f"vs {first} (same run) | p50 ms | p99 ms | reports/s | ZipLine runs | "
             "ZipLine wall us/report |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    by_key: Dict[Tuple, Dict] = {(r["binary"], r["run"], r["workers"], r["policy"]): r
                                 for r in rows}
    for workers in args.worker_counts:
        for policy in args.policy_list:
            for label, _ in args.binaries:
                mine = [r for r in rows if (r["binary"], r["workers"], r["policy"]) ==
                        (label, workers, policy)]
                if not mine:
                    continue
                vs_bsp, vs_first = [], []
                for r in mine:
                    bsp = by_key.get((label, r["run"], workers, "bsp"))
                    if bsp and bsp["cpu_us_per_report"]:
                        vs_bsp.append(r["cpu_us_per_report"] / bsp["cpu_us_per_report"])
                    ref = by_key.get((first, r["run"], workers, policy))
                    if ref and ref["cpu_us_per_report"]:
                        vs_first.append(r["cpu_us_per_report"] / ref["cpu_us_per_report"])
                cpu = [r["cpu_us_per_report"] for r in mine]
                lines.append(
                    f"| {workers:,} | `{policy}` | {label} | {median(cpu):.1f} "
                    f"({', '.join(f'{c:.1f}' for c in cpu)}) | {median(vs_bsp):.2f} | "
                    f"{median(vs_first):.2f} | {median([r['p50_ms'] for r in mine]):.1f} | "
                    f"{median([r['p99_ms'] for r in mine]):.1f} | "
                    f"{median([r['throughput_rps'] for r in mine]):,.0f} | "
                    f"{median([r['zipline_runs'] for r in mine]):,.0f} | "
                    f"{median([r['zipline_us_per_report'] for r in mine]):.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    rows: List[Dict] = []
    writer = None
    csv_file = open(args.csv, "a", newline="") if args.csv else None
    began = time.monotonic()
    print(f"cpu_per_report: {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="ebsp-cpu.") as tmp:
            for run in range(1, args.runs + 1):
                for workers in args.worker_counts:
                    for policy in args.policy_list:
                        for label, binary in args.binaries:
                            row = measure(args, label, binary, workers, policy, run, tmp)
                            rows.append(row)
                            print(f"  run {run} {workers} {policy} {label}: "
                                  f"{row['cpu_us_per_report']} us/report, "
                                  f"{row['reports_ok']} reports, p50 {row['p50_ms']} ms, "
                                  f"p99 {row['p99_ms']} ms, {row['zipline_runs']} ZipLine, "
                                  f"errors {row['errors']}, load {row['load_average']:.1f}",
                                  flush=True)
                            if csv_file:
                                if writer is None:
                                    writer = csv.DictWriter(csv_file, fieldnames=list(row),
                                                            lineterminator="\n")
                                    if csv_file.tell() == 0:
                                        writer.writeheader()
                                writer.writerow(row)
                                csv_file.flush()
    finally:
        if csv_file:
            csv_file.close()
    print(summarize(args, rows))
    print(f"cpu_per_report: {len(rows)} measurements in {time.monotonic() - began:.0f} s, "
          f"load average now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
