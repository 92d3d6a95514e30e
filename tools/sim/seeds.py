#!/usr/bin/python3
"""Median over seeds of ebsp-sim's throughput over ASP's, as a markdown table.

Runs `ebsp-sim --json` once per seed with the same flags and prints, per
policy and trace, the median throughput over ASP's (and the min-max over the
seeds, and the median max staleness), the form of issue 10's target tables:

    /usr/bin/python3 tools/sim/seeds.py --sim build/tools/sim/ebsp-sim --seeds 1-5 \\
        -- --trace=all --workers=16 --policies=ssp:s=3,ebsp:R=15

Everything after `--` goes to ebsp-sim as it is (add --oracle=false there to
skip the oracle rows). Seeds run one after the other (run it under
`nice -n 19` at 1,000 workers and more).
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Tuple


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sim", default="build/tools/sim/ebsp-sim")
    p.add_argument("--seeds", default="1-5", help="FIRST-LAST or a comma list")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per seed")
    p.add_argument("sim_args", nargs="*", help="flags for ebsp-sim (after --)")
    args = p.parse_args(argv)
    if "-" in args.seeds:
        first, last = args.seeds.split("-")
        args.seed_list = list(range(int(first), int(last) + 1))
    else:
        args.seed_list = [int(s) for s in args.seeds.split(",")]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    # (policy, trace) -> [(seed, ratio, staleness)]
    results: Dict[Tuple[str, str], List[Tuple[int, float, int]]] = {}
    policies: List[str] = []
    traces: List[str] = []
    began = time.monotonic()
    for seed in args.seed_list:
        t0 = time.monotonic()
        cmd = [args.sim, *args.sim_args, f"--seed={seed}", "--json", "--progress=false"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
        if out.returncode != 0:
            sys.exit(f"seeds: {' '.join(cmd)} failed ({out.returncode}): {out.stderr.strip()}")
        for line in out.stdout.splitlines():
            r = json.loads(line)
            if r["policy"] not in policies:
                policies.append(r["policy"])
            if r["trace"] not in traces:
                traces.append(r["trace"])
            results.setdefault((r["policy"], r["trace"]), []).append(
                (seed, r["throughput_vs_asp"], r["max_staleness"]))
        print(f"seeds: seed {seed} done in {time.monotonic() - t0:.0f} s", file=sys.stderr,
              flush=True)
    print(f"`{' '.join(['ebsp-sim', *args.sim_args])}`, seeds "
          f"{args.seed_list[0]}-{args.seed_list[-1]}: median throughput over ASP's "
          "(min-max over seeds) / median max staleness\n")
    print("| policy | " + " | ".join(traces) + " |")
    print("|---|" + "---:|" * len(traces))
    for policy in policies:
        if policy == "asp":
            continue
        cells = []
        for trace in traces:
            rows = results.get((policy, trace), [])
            if not rows:
                cells.append("-")
                continue
            ratios = [r for _, r, _ in rows]
            cells.append(f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})"
                         f" / {statistics.median([s for _, _, s in rows]):g}")
        print(f"| `{policy}` | " + " | ".join(cells) + " |")
    print(f"\n({time.monotonic() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
