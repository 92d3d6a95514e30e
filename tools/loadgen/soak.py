#!/usr/bin/python3
"""The soak: a real coordinator under 10,000 simulated ElasticBSP workers with
churn (ebsp-loadgen --churn_interval) for a fixed time. Run through
scripts/soak.sh; see docs/soak/README.md for the measured result.

Every --sample_every (10 s) it records the coordinator's VmRSS and, from its
/metrics, the job's live workers, rounds, evictions, registrations and the
oldest waiting Barrier into a CSV. It passes when:
  - the load generator saw no status but OK (errors, Leave errors, retired
    workers all 0): churn uses only Leave, Register and lease expiry, so no
    call of a live worker may fail;
  - every worker that went silent was evicted, and nobody else
    (ebsp_evictions_total == the silenced count once a lease has passed);
  - no barrier waited past the coordinator's --barrier_deadline (the oldest
    wait at every sample is below it, and no DEADLINE_EXCEEDED above);
  - VmRSS stays below --max_rss_mib, and the RSS slope (least squares over
    the samples after --warmup, default the first fifth of the run) is below
    --max_slope_kib_per_min when that is given.
Prints the figures; --plot PNG draws the RSS curve (matplotlib).
--replot CSV: only reads a CSV this script wrote, prints its slope after
--warmup and draws --plot (no run).
"""
import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "support", "python"))
from ebsp_test_servers import ServerProcess  # noqa: E402

JOB = "soak"
FIELDS = ["elapsed_s", "rss_kib", "live_workers", "rounds", "evictions", "registrations",
          "oldest_wait_s"]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def job_metrics(metrics_port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                  timeout=10).read().decode()

    def total(name):
        pattern = re.compile(r"^" + name + r"\{[^}]*training_job=\"" + JOB + r"\"[^}]*\} (\S+)$",
                             re.M)
        return sum(float(v) for v in pattern.findall(text))

    return {"live_workers": total("ebsp_job_live_workers"),
            "rounds": total("ebsp_job_rounds_total"),
            "evictions": total("ebsp_evictions_total"),
            "registrations": total("ebsp_registrations_total"),
            "oldest_wait_s": total("ebsp_barrier_oldest_wait_seconds")}


def slope_per_minute(points):
    """Least-squares slope of (seconds, value) points, per minute."""
    n = len(points)
    if n < 2:
        return float("nan")
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in points)
    return 60.0 * sxy / sxx if sxx > 0 else float("nan")


def plot(rows, slope, warmup, png, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = [r["elapsed_s"] for r in rows]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(t, [r["rss_kib"] / 1024 for r in rows], marker="o", label="coordinator VmRSS")
    ax.set_xlabel("seconds since the load started")
    ax.set_ylabel("MiB")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax2 = ax.twinx()
    ax2.plot(t, [r["live_workers"] for r in rows], color="gray", alpha=0.5, label="live workers")
    ax2.set_ylabel("live workers")
    ax2.set_ylim(bottom=0)
    ax.axvline(warmup, color="gray", linestyle=":", label=f"end of warm-up ({warmup:g} s)")
    ax.set_title(f"{title}\nRSS slope after {warmup:g} s: {slope:+.1f} KiB/min", fontsize=10)
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], loc="lower right")
    fig.tight_layout()
    fig.savefig(png, dpi=100)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--coordinator", help="ebsp-coordinator binary")
    ap.add_argument("--loadgen", help="ebsp-loadgen binary")
    ap.add_argument("--duration", type=int, default=600, help="seconds of load")
    ap.add_argument("--workers", type=int, default=10000)
    ap.add_argument("--policy", default="ebsp:R=4")
    ap.add_argument("--think", type=float, default=30.0,
                    help="seconds each simulated iteration takes (10,000 / 30 s = 333 reports/s)")
    ap.add_argument("--churn_interval", type=float, default=5.0, help="seconds")
    ap.add_argument("--churn_workers", type=int, default=10,
                    help="workers that leave, and as many that go silent, per churn event")
    ap.add_argument("--lease", type=float, default=180.0,
                    help="the coordinator's --heartbeat_timeout, seconds")
    ap.add_argument("--barrier_deadline", type=float, default=600.0,
                    help="seconds (the coordinator's default)")
    ap.add_argument("--concurrency", type=int, default=0,
                    help="most reports in flight (0: one per worker)")
    ap.add_argument("--sample_every", type=float, default=10.0, help="seconds")
    ap.add_argument("--max_slope_kib_per_min", type=float,
                    help="fail above this RSS slope (a run of minutes; a short run is warm-up)")
    ap.add_argument("--max_rss_mib", type=float, default=1024.0, help="fail above this VmRSS")
    ap.add_argument("--warmup", type=float, help="seconds left out of the slope")
    ap.add_argument("--csv")
    ap.add_argument("--replot", help="analyse and plot this CSV instead of running")
    ap.add_argument("--plot", help="PNG of the RSS curve")
    args = ap.parse_args()
    warmup = args.duration / 5 if args.warmup is None else args.warmup
    if args.replot:
        with open(args.replot) as f:
            rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]
        slope = slope_per_minute([(r["elapsed_s"], r["rss_kib"]) for r in rows
                                  if r["elapsed_s"] >= warmup])
        print(f"soak: {args.replot}: RSS slope after {warmup:g} s: {slope:+.1f} KiB/min")
        if args.plot:
            plot(rows, slope, warmup, args.plot,
                 f"{args.workers} workers, {args.policy}, churn {args.churn_workers}+"
                 f"{args.churn_workers} every {args.churn_interval:g} s, {args.duration} s")
        return 0
    if not (args.coordinator and args.loadgen and args.csv):
        ap.error("--coordinator, --loadgen and --csv are required for a run")

    coordinator, loadgen = args.coordinator, args.loadgen
    flags = [f"--heartbeat_timeout={args.lease}s", f"--barrier_deadline={args.barrier_deadline}s",
             f"--max_workers_per_job={args.workers}"]
    failures = []
    rows = []
    with ServerProcess(coordinator, flags) as server:
        cmd = [loadgen, f"--target={server.target}", f"--workers={args.workers}",
               f"--job={JOB}", f"--policy={args.policy}", f"--duration={args.duration}s",
               f"--churn_interval={args.churn_interval}s",
               f"--churn_workers={args.churn_workers}", f"--lease={args.lease}s",
               f"--concurrency={args.concurrency}", f"--think={args.think}s",
               # Longer than any legitimate wait, shorter than the run.
               f"--rpc_timeout={args.barrier_deadline + 10}s", "--connect_timeout=30s", "--json"]
        print("soak: coordinator", " ".join([coordinator] + flags), flush=True)
        print("soak: load", " ".join(cmd), flush=True)
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Bounded: the run, its drain and Leave of every worker, and a margin.
        hard_end = started + args.duration + 2 * args.barrier_deadline + 60
        next_sample = started
        while proc.poll() is None and time.monotonic() < hard_end:
            now = time.monotonic()
            if now >= next_sample:
                row = {"elapsed_s": round(now - started, 1), "rss_kib": rss_kib(server.pid)}
                row.update(job_metrics(server.metrics_port))
                rows.append(row)
                print("soak: " + ", ".join(f"{k}={row[k]:g}" for k in FIELDS), flush=True)
                next_sample += args.sample_every
            time.sleep(min(0.5, max(0.0, next_sample - time.monotonic())))
        if proc.poll() is None:
            proc.kill()
            failures.append(f"the load generator did not stop within {hard_end - started:.0f} s")
        out, err = proc.communicate(timeout=30)
        if proc.returncode != 0:
            failures.append(f"ebsp-loadgen exited {proc.returncode}: {err.strip()}")
            result = {}
        else:
            result = json.loads(out)
        # The last silent workers are evicted a lease after their last call.
        silenced = result.get("churn", {}).get("silenced", 0)
        evictions_by = time.monotonic() + args.lease + 5.0
        final = job_metrics(server.metrics_port)
        while final["evictions"] < silenced and time.monotonic() < evictions_by:
            time.sleep(1.0)
            final = job_metrics(server.metrics_port)
        coordinator_rc = server.stop()
        if coordinator_rc != 0:
            failures.append(f"the coordinator exited {coordinator_rc} on SIGTERM")

    with open(args.csv, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{row[k]:g}" if isinstance(row[k], float) else row[k])
                             for k in FIELDS})
    warm = [r for r in rows if r["elapsed_s"] >= warmup]
    slope = slope_per_minute([(r["elapsed_s"], r["rss_kib"]) for r in warm])
    oldest = max((r["oldest_wait_s"] for r in rows), default=0.0)
    churn = result.get("churn", {})
    if result:
        print(f"soak: load: {result['reports_ok']} reports ({result['throughput_rps']:.0f}/s), "
              f"{result['blocking_ok']} barrier calls (p99 {result['blocking_p99_ms']} ms), "
              f"churn {churn}", flush=True)
        for key in ("errors_total", "leave_errors", "workers_retired"):
            if result[key] != 0:
                failures.append(f"{key} = {result[key]} (errors by code: {result['errors']})")
        if churn.get("events", 0) == 0 or churn.get("silenced", 0) == 0:
            failures.append(f"no churn happened: {churn}")
        if final["evictions"] != churn.get("silenced"):
            failures.append(f"{final['evictions']:g} evictions, but {churn.get('silenced')} "
                            "workers went silent: a live worker was evicted or a silent one kept")
    if oldest >= args.barrier_deadline:
        failures.append(f"a barrier waited {oldest:g} s, past the {args.barrier_deadline:g} s deadline")
    if args.max_slope_kib_per_min is not None and not slope < args.max_slope_kib_per_min:
        failures.append(f"RSS slope {slope:+.1f} KiB/min is not below {args.max_slope_kib_per_min}")
    rss = [r["rss_kib"] for r in rows]
    if max(rss, default=0) > args.max_rss_mib * 1024:
        failures.append(f"VmRSS reached {max(rss) / 1024:.1f} MiB, above {args.max_rss_mib:g} MiB")
    print(f"soak: {len(rows)} samples in {args.csv}; VmRSS min {min(rss, default=0) / 1024:.1f} "
          f"max {max(rss, default=0) / 1024:.1f} MiB; slope after {warmup:g} s: "
          f"{slope:+.1f} KiB/min; oldest barrier wait {oldest:g} s "
          f"(deadline {args.barrier_deadline:g} s); evictions {final['evictions']:g}; "
          f"rounds {final['rounds']:g}", flush=True)
    if args.plot:
        plot(rows, slope, warmup, args.plot,
             f"{args.workers} workers, {args.policy}, churn {args.churn_workers}+"
             f"{args.churn_workers} every {args.churn_interval:g} s, {args.duration} s")
    if failures:
        print("soak: FAILED: " + "; ".join(failures), flush=True)
        return 1
    print("soak: passed (0 unexpected statuses, only silent workers evicted, no stuck barrier, "
          "RSS within bounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
