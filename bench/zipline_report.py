#!/usr/bin/python3
"""Runs ebsp-bench-zipline and prints a markdown table of ZipLine planning
time against the sort baseline and the paper's basic ZipLine.

    /usr/bin/python3 bench/zipline_report.py --bench /tmp/build/bench/ebsp-bench-zipline

Medians over --repetitions runs of CPU time (--clock=cpu, the default: on a
shared machine wall time mostly measures the other processes) or wall time
(--clock=real). The paper's figures (Zhao et al., basic
ZipLine, spread objective, Xeon E5-2620 v3) exist for n in {10, 100, 1000}.
"""

import argparse
import json
import subprocess
import sys

# (n, R) -> microseconds, basic ZipLine in the paper.
PAPER_US = {
    (10, 15): 149.0,
    (10, 150): 1320.0,
    (100, 15): 6400.0,
    (100, 150): 50000.0,
    (1000, 15): 253000.0,
    (1000, 150): 2380000.0,
}
DEFAULT_SIZES = "10x15,10x150,100x15,100x150,1000x15,1000x150,4096x15,4096x150"
OBJECTIVES = ("spread", "total_wait")
TO_US = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}


def parse_sizes(text):
    sizes = []
    for item in text.split(","):
        n, r = item.lower().split("x")
        sizes.append((int(n), int(r)))
    return sizes


def run_benchmark(bench, sizes, repetitions, min_time):
    size_regex = "|".join(f"{n}/{r}" for n, r in sizes)
    cmd = [
        bench,
        f"--benchmark_filter=^BM_(PlanTargets/({'|'.join(OBJECTIVES)})|SortPoints)/({size_regex})$",
        f"--benchmark_repetitions={repetitions}",
        "--benchmark_report_aggregates_only=true",
        f"--benchmark_min_time={min_time}",
        "--benchmark_format=json",
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=1800)
    return json.loads(out.stdout)


def medians_us(report, clock):
    """run_name -> median time in microseconds."""
    result = {}
    for b in report["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median":
            result[b["run_name"]] = b[f"{clock}_time"] * TO_US[b["time_unit"]]
    return result


def fmt_us(us):
    if us is None:
        return "-"
    if us >= 1e6:
        return f"{us / 1e6:.2f} s"
    if us >= 1e3:
        return f"{us / 1e3:.2f} ms"
    return f"{us:.1f} us"


def table(sizes, medians):
    lines = [
        "| n | R | objective | ours (median) | sort baseline | ours/sort | paper (basic ZipLine) | speed-up vs paper |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for n, r in sizes:
        sort_us = medians.get(f"BM_SortPoints/{n}/{r}")
        for objective in OBJECTIVES:
            ours = medians.get(f"BM_PlanTargets/{objective}/{n}/{r}")
            if ours is None or sort_us is None:
                raise SystemExit(f"missing benchmark result for {objective} n={n} R={r}")
            paper = PAPER_US.get((n, r))
            speedup = f"{paper / ours:,.0f}x" if paper else "-"
            lines.append(
                f"| {n} | {r} | {objective} | {fmt_us(ours)} | {fmt_us(sort_us)} | "
                f"{ours / sort_us:.2f} | {fmt_us(paper)} | {speedup} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", required=True, help="path to ebsp-bench-zipline")
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="comma-separated NxR")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--min_time", type=float, default=0.2, help="seconds per repetition")
    parser.add_argument("--clock", choices=("cpu", "real"), default="cpu")
    parser.add_argument("--json_out", help="also write the raw benchmark JSON here")
    args = parser.parse_args()

    sizes = parse_sizes(args.sizes)
    report = run_benchmark(args.bench, sizes, args.repetitions, args.min_time)
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
    ctx = report.get("context", {})
    print(f"host: {ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu')} MHz, "
          f"load avg {ctx.get('load_avg')}; "
          f"{args.repetitions} repetitions, min_time {args.min_time}s, {args.clock} time")
    print()
    print(table(sizes, medians_us(report, args.clock)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
