#!/usr/bin/python3
"""BSP against ElasticBSP (or any policies) on the digits example, with one slow worker.

Runs examples/train_digits.py for each policy, --runs times (interleaved, so
a slow spell of the shared machine hits every policy), against one
coordinator it starts, and reports the wall time each run needed to reach
the same test accuracy: the median over runs per policy. Writes

  <out_dir>/accuracy_vs_time.png  test accuracy against wall time, every run
  <out_dir>/results.md            the table, the command and the settings
  <out_dir>/runs.csv              every evaluation of every run

    PYTHONPATH=clients/python:<build>/protos/python /usr/bin/python3 examples/compare.py \\
      --coordinator_binary <build>/service/ebsp-coordinator --out_dir docs/training
"""

import argparse
import csv
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import train_digits  # noqa: E402

COLORS = ["tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange", "tab:brown"]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--coordinator_binary", default=os.environ.get("EBSP_COORDINATOR", ""))
    p.add_argument("--policies", default="bsp,ebsp:R=8",
                   help="comma-separated policies; a comma followed by a parameter "
                        "(objective=...) continues the previous policy")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--slow_worker_factor", type=float, default=2.0)
    p.add_argument("--target_accuracy", type=float, default=0.95)
    p.add_argument("--max_seconds", type=float, default=60.0)
    p.add_argument("--simulated_step_seconds", type=float, default=0.01)
    p.add_argument("--out_dir", default=os.path.join(HERE, "..", "docs", "training"))
    p.add_argument("--run_timeout", type=float, default=300.0,
                   help="kill a training run that takes longer than this (seconds)")
    args = p.parse_args(argv)
    if not args.coordinator_binary:
        p.error("give --coordinator_binary (or set EBSP_COORDINATOR)")
    if args.runs < 1:
        p.error(f"--runs must be >= 1, got {args.runs}")
    return args


def split_policies(text: str) -> List[str]:
    """'bsp,ebsp:R=8,objective=total_wait' -> ['bsp', 'ebsp:R=8,objective=total_wait']:
    a comma starts a new policy only when what follows is a policy kind."""
    kinds = train_digits.ROUND_POLICIES + train_digits.CLOCK_POLICIES
    policies: List[str] = []
    for item in text.replace("/", ",").replace(" ", ",").split(","):
        if not item:
            continue
        if item.split(":")[0] in kinds or not policies:
            policies.append(item)
        else:
            policies[-1] += "," + item
    return policies


def read_trace(path: str) -> List[tuple]:
    with open(path) as f:
        return [(float(r["wall_time_s"]), int(r["iterations"]), int(r["rounds"]),
                 float(r["test_accuracy"])) for r in csv.DictReader(f)]


def run_once(args, coordinator: str, policy: str, run: int, tmp: str) -> Dict:
    stem = os.path.join(tmp, f"{policy.replace(':', '_').replace(',', '_')}-{run}")
    cmd = [sys.executable, os.path.join(HERE, "train_digits.py"),
           f"--coordinator={coordinator}", f"--policy={policy}", f"--run={run}",
           f"--workers={args.workers}", f"--slow_worker_factor={args.slow_worker_factor}",
           f"--target_accuracy={args.target_accuracy}", f"--max_seconds={args.max_seconds}",
           f"--simulated_step_seconds={args.simulated_step_seconds}", f"--seed={run}",
           f"--csv={stem}.csv", f"--summary_json={stem}.json"]
    subprocess.run(cmd, check=True, timeout=args.run_timeout, stdout=subprocess.DEVNULL)
    with open(f"{stem}.json") as f:
        summary = json.load(f)
    summary["trace"] = read_trace(f"{stem}.csv")
    return summary


def fmt_seconds(value) -> str:
    return "not reached" if value is None or value == float("inf") else f"{value:.2f} s"


def write_results(path: str, args, policies: List[str], results: Dict[str, List[Dict]],
                  command: str) -> str:
    roundless = [p for p in policies if p.split(":")[0] in train_digits.CLOCK_POLICIES]
    title = " vs ".join(policies) if len(policies) > 2 else "BSP vs ElasticBSP"
    lines = [
        f"# Digits MLP: time to the same test accuracy, {title}",
        "",
        f"{args.workers} local processes (gloo, CPU) train a 64-64-10 MLP on scikit-learn's "
        f"digits, each on its own shard; rank 0 is slowed {args.slow_worker_factor:g}x. "
        "Every process averages the weights (all-reduce) exactly when the coordinator "
        "tells it to sync" + (
            f"; under {', '.join(roundless)} (no barriers) the processes share a parameter "
            "store instead, pulling the weights before and pushing the gradient after each "
            "iteration, and wait in WaitForClock when told to" if roundless else "") +
        ". Each iteration is padded to "
        f"{args.simulated_step_seconds * 1000:g} ms of compute (the real compute of this "
        "model is well under a millisecond, less than one RPC). Target test accuracy: "
        f"**{args.target_accuracy:.2f}**; median of {args.runs} runs per policy "
        "(seed = run number, same seeds for every policy).",
        "",
        "| policy | time to target (median) | runs (s) | iterations at stop (all workers, median) "
        "| syncs at stop (median) | coordinator idle fraction (median) |",
        "|---|---|---|---|---|---|",
    ]
    medians = {}
    for policy in policies:
        runs = results[policy]
        times = [r["time_to_target_s"] if r["time_to_target_s"] is not None else float("inf")
                 for r in runs]
        medians[policy] = statistics.median(times)
        lines.append(
            f"| `{policy}` | {fmt_seconds(medians[policy])} | "
            f"{', '.join('%.2f' % t if t != float('inf') else '-' for t in times)} | "
            f"{statistics.median(r['iterations'] for r in runs):.0f} | "
            f"{statistics.median(r['rounds'] for r in runs):.0f} | "
            f"{statistics.median(r.get('idle_fraction', 0.0) for r in runs):.3f} |")
    base = policies[0]
    for other in policies[1:]:
        if medians[base] == float("inf") or medians[other] == float("inf"):
            continue
        lines += ["", f"`{other}` reaches {args.target_accuracy:.2f} in "
                      f"{medians[other] / medians[base]:.2f}x the wall time of `{base}` "
                      f"({medians[base] / medians[other]:.2f}x faster)."]
    lines += [
        "",
        "![test accuracy against wall time](accuracy_vs_time.png)",
        "",
        "Reproduce (numbers vary with the machine's load):",
        "",
        "```",
        command,
        "```",
        "",
        f"Measured on {platform.node() or 'localhost'}, {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; 1-minute load average "
        f"{args.load_before:.1f} before and {os.getloadavg()[0]:.1f} after the runs "
        "(the machine was shared with other builds). A run stops one sync after the "
        "first evaluation at the target, so the counts include that last round.",
        "",
    ]
    text = "\n".join(lines)
    with open(path, "w") as f:
        f.write(text)
    return text


def main(argv=None) -> int:
    args = parse_args(argv)
    policies = split_policies(args.policies)
    os.makedirs(args.out_dir, exist_ok=True)
    relative = os.path.relpath(os.path.abspath(args.out_dir), os.path.join(HERE, ".."))
    args.out_dir_label = args.out_dir if relative.startswith("..") else relative
    results: Dict[str, List[Dict]] = {p: [] for p in policies}
    args.load_before = os.getloadavg()[0]
    with train_digits.LocalCoordinator(args.coordinator_binary) as coordinator, \
            tempfile.TemporaryDirectory(prefix="ebsp-compare-") as tmp:
        for run in range(args.runs):
            for policy in policies:
                summary = run_once(args, coordinator.target, policy, run, tmp)
                results[policy].append(summary)
                print(f"{policy} run {run}: time to {args.target_accuracy:.2f} = "
                      f"{fmt_seconds(summary['time_to_target_s'])}, "
                      f"accuracy {summary['test_accuracy']:.3f}, "
                      f"{summary['iterations']} iterations, {summary['rounds']} syncs",
                      flush=True)

    with open(os.path.join(args.out_dir, "runs.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(train_digits.CSV_FIELDS)
        for policy in policies:
            for r in results[policy]:
                ttt = r["time_to_target_s"]
                for wall, iterations, rounds, accuracy in r["trace"]:
                    writer.writerow([policy, r["run"], f"{wall:.4f}", iterations, rounds,
                                     f"{accuracy:.4f}", "" if ttt is None else f"{ttt:.4f}"])
    plot_runs = [{"label": policy, "trace": r["trace"], "color": COLORS[i % len(COLORS)]}
                 for i, policy in enumerate(policies) for r in results[policy]]
    train_digits.plot_runs(
        os.path.join(args.out_dir, "accuracy_vs_time.png"), plot_runs, args.target_accuracy,
        f"digits MLP, {args.workers} workers, rank 0 slowed {args.slow_worker_factor:g}x "
        f"({args.runs} runs each)")
    command = "PYTHONPATH=clients/python:<build>/protos/python /usr/bin/python3 " + \
        " ".join(shlex.quote(a) for a in ["examples/compare.py",
                                          "--coordinator_binary=<build>/service/ebsp-coordinator",
                                          f"--policies={args.policies}", f"--runs={args.runs}",
                                          f"--workers={args.workers}",
                                          f"--slow_worker_factor={args.slow_worker_factor:g}",
                                          f"--target_accuracy={args.target_accuracy:g}",
                                          f"--max_seconds={args.max_seconds:g}",
                                          f"--simulated_step_seconds={args.simulated_step_seconds:g}",
                                          f"--out_dir={args.out_dir_label}"])
    print(write_results(os.path.join(args.out_dir, "results.md"), args, policies, results,
                        command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
