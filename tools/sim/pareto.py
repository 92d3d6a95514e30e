#!/usr/bin/python3
"""Pareto view: throughput against staleness for every policy and parameter.

Runs `ebsp-sim --json` over every suite trace with a sweep of each policy's
parameter (SSP's s, DSSP's s and r_max, local steps' H, ElasticBSP's R for
its default and for every objective), and writes per trace

  <out_dir>/<trace>.csv             one row per policy: throughput over ASP's,
                                    max staleness, idle fraction, rounds,
                                    actual and predicted round wait, pareto=1
                                    on the front
  <out_dir>/<trace>.png             throughput over ASP's against max
                                    staleness, one labelled point per policy,
                                    the Pareto front joined
  <out_dir>/prediction.csv          per trace and ElasticBSP policy (R = 15 by
                                    default, real forecasts and the oracle):
                                    how ZipLine's predicted round wait compares
                                    with the actual one, round by round
  <out_dir>/prediction_<trace>.png  predicted against actual wait of every
                                    round of those policies
  <out_dir>/summary.md              the best policy within each staleness
                                    budget, ElasticBSP by R and objective, the
                                    prediction summary: markdown tables

    /usr/bin/python3 tools/sim/pareto.py --sim build/tools/sim/ebsp-sim --out_dir docs/pareto

See docs/pareto/README.md for how to read the figures and how long it takes.
"""

import argparse
import csv
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Sequence, Tuple

TRACES = ["static", "transient", "periodic", "noise", "mix"]
# ElasticBSP is swept with its default (`ebsp:R=..`, whatever that means in
# the build) and with each of these parameter suffixes.
DEFAULT_VARIANTS = "objective=spread;objective=total_wait;objective=idle_rate"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sim", default=os.environ.get("EBSP_SIM", "build/tools/sim/ebsp-sim"),
                   help="the ebsp-sim binary")
    p.add_argument("--out_dir", default="docs/pareto")
    p.add_argument("--traces", default=",".join(TRACES))
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--duration", default="300s")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--lookaheads", default="2,4,8,15,30,60", help="ElasticBSP R values")
    p.add_argument("--ebsp_variants", default=DEFAULT_VARIANTS,
                   help="';'-separated ElasticBSP parameter suffixes swept besides the "
                        "default, e.g. 'objective=spread;objective=idle_rate,binding=plan'")
    p.add_argument("--ssp", default="0,1,2,3,4,5,6,8", help="SSP s values")
    p.add_argument("--dssp", default="1:4,3:6,3:12,3:24",
                   help="DSSP s:r_max pairs")
    p.add_argument("--local", default="2,4,8", help="local-steps H values")
    p.add_argument("--prediction_R", type=int, default=15,
                   help="the R whose rounds the prediction view shows")
    p.add_argument("--extra_policies", default="",
                   help="more policy texts, ';'-separated, added to the sweep as they are")
    p.add_argument("--label", default="",
                   help="what built --sim, shown on the figures (default: the git commit here)")
    p.add_argument("--timeout", type=float, default=1800,
                   help="seconds one ebsp-sim call may take")
    args = p.parse_args(argv)
    if not os.access(args.sim, os.X_OK):
        p.error(f"--sim: '{args.sim}' is not an executable ebsp-sim "
                "(cmake --build build --target ebsp-sim)")
    if not args.label:
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True)
        args.label = f"commit {git.stdout.strip()}" if git.returncode == 0 else "unknown build"
    return args


def ints(text: str) -> List[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def ebsp_text(R: int, variant: str) -> str:
    return f"ebsp:R={R}" + (f",{variant}" if variant else "")


def variants(args) -> List[str]:
    return [""] + [v.strip() for v in args.ebsp_variants.split(";") if v.strip()]


def sweep_policies(args) -> List[str]:
    policies = ["bsp", "asp"]
    policies += [f"ssp:s={s}" for s in ints(args.ssp)]
    for pair in args.dssp.split(","):
        if pair.strip():
            s, r = pair.split(":")
            policies.append(f"dssp:s={int(s)},r={int(r)}")
    policies += [f"local:H={h}" for h in ints(args.local)]
    for variant in variants(args):
        policies += [ebsp_text(R, variant) for R in ints(args.lookaheads)]
    policies += [p for p in args.extra_policies.split(";") if p.strip()]
    return policies


def run_sim(args, trace: str, policies: Sequence[str], oracle: bool,
            rounds_csv: str = "") -> List[dict]:
    cmd = [args.sim, f"--trace={trace}", f"--workers={args.workers}",
           f"--duration={args.duration}", f"--seed={args.seed}",
           "--policies=" + ",".join(policies), f"--oracle={'true' if oracle else 'false'}",
           "--json", "--progress=false"]
    if rounds_csv:
        cmd.append(f"--rounds_csv={rounds_csv}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    if out.returncode != 0:
        sys.exit(f"pareto: {' '.join(cmd)} failed ({out.returncode}): {out.stderr.strip()}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def family(policy: str) -> Tuple[str, str]:
    """(series name, short point label) of a policy text."""
    kind, _, params = policy.partition(":")
    fields = dict(kv.split("=", 1) for kv in params.split(",") if "=" in kv)
    if kind in ("ebsp", "ebsp-oracle"):
        named = [fields[k] for k in ("objective", "predictor") if k in fields]
        if fields.get("binding", "") == "plan":
            named.append("binding=plan")
        series = kind + (" " + " ".join(named) if named else " (default)")
        return series, f"R={fields.get('R', '?')}"
    if kind == "ssp":
        return "ssp", f"s={fields['s']}"
    if kind == "dssp":
        return "dssp", f"s={fields['s']},r={fields['r']}"
    if kind == "local":
        return "local", f"H={fields['H']}"
    return kind, kind


def pareto_front(rows: List[dict]) -> set:
    """Policies no other row beats on both axes (higher throughput, lower staleness)."""
    front = set()
    for r in rows:
        dominated = any(
            q["throughput_vs_asp"] >= r["throughput_vs_asp"]
            and q["max_staleness"] <= r["max_staleness"]
            and (q["throughput_vs_asp"] > r["throughput_vs_asp"]
                 or q["max_staleness"] < r["max_staleness"])
            for q in rows)
        if not dominated:
            front.add(r["policy"])
    return front


CSV_KEYS = ["policy", "series", "label", "throughput_vs_asp", "max_staleness", "idle_fraction",
            "mean_wait_s", "rounds", "round_wait_s_total", "round_predicted_wait_s_total",
            "max_total_lead", "pareto"]


def write_trace_csv(path: str, rows: List[dict], front: set) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(CSV_KEYS)
        for r in rows:
            series, label = family(r["policy"])
            w.writerow([r["policy"], series, label, f"{r['throughput_vs_asp']:.4f}",
                        r["max_staleness"], f"{r['idle_fraction']:.4f}",
                        f"{r['mean_wait_s']:.5f}", r["rounds"],
                        f"{r['round_wait_s_total']:.3f}",
                        f"{r['round_predicted_wait_s_total']:.3f}", r["max_total_lead"],
                        1 if r["policy"] in front else 0])


STYLE = {  # series -> (color, marker)
    "bsp": ("black", "s"), "asp": ("grey", "D"), "ssp": ("tab:orange", "^"),
    "dssp": ("tab:brown", "v"), "local": ("tab:olive", "P"),
    "ebsp (default)": ("blue", "o"),
}
OBJECTIVE_COLORS = {"spread": "tab:cyan", "total_wait": "tab:purple", "idle_rate": "tab:green"}


def style(series: str) -> Tuple[str, str]:
    """(color, marker): ElasticBSP colored by objective, a star when binding=plan."""
    if series in STYLE:
        return STYLE[series]
    color = next((c for o, c in OBJECTIVE_COLORS.items() if o in series), "tab:red")
    return color, "*" if "binding=plan" in series else "o"


def plot_trace(plt, path: str, trace: str, rows: List[dict], front: set, subtitle: str) -> None:
    fig, ax = plt.subplots(figsize=(11, 7))
    seen = set()
    for r in rows:
        series, label = family(r["policy"])
        color, marker = style(series)
        x = max(r["max_staleness"], 1)
        default = series == "ebsp (default)"
        # The default is drawn hollow and larger: it coincides with one objective.
        ax.scatter([x], [r["throughput_vs_asp"]], marker=marker, s=90 if default else 36,
                   facecolors="none" if default else color, edgecolors=color,
                   label=None if series in seen else series, zorder=3, alpha=0.85)
        seen.add(series)
        ax.annotate(label, (x, r["throughput_vs_asp"]), textcoords="offset points",
                    xytext=(4, 3), fontsize=6.5, color=color)
    pts = sorted((max(r["max_staleness"], 1), r["throughput_vs_asp"])
                 for r in rows if r["policy"] in front)
    if pts:
        ax.plot([p[0] for p in pts], [p[1] for p in pts], color="red", lw=1, ls="--",
                zorder=2, label="Pareto front")
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=140, facecolors="none",
                   edgecolors="red", zorder=4)
    ax.set_xscale("log")
    ax.set_xlabel("max staleness (iterations; log scale)")
    ax.set_ylabel("throughput / ASP's")
    ax.set_title(f"trace {trace}: throughput against staleness\n{subtitle}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def read_rounds(path: str) -> Dict[str, List[Tuple[float, float, int]]]:
    """policy -> (predicted wait, actual wait, ZipLine runs) of every round."""
    by_policy: Dict[str, List[Tuple[float, float, int]]] = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            by_policy.setdefault(r["policy"], []).append(
                (float(r["predicted_wait_s"]), float(r["actual_wait_s"]), int(r["plans"])))
    return by_policy


def prediction_summary(trace: str, policy: str, rounds: List[Tuple[float, float, int]]) -> dict:
    pairs = [(p, a) for p, a, _ in rounds]
    pred = [p for p, _ in pairs]
    act = [a for _, a in pairs]
    errors = [abs(p - a) for p, a in pairs]
    corr = ""
    if len(pairs) > 2 and statistics.pstdev(pred) > 0 and statistics.pstdev(act) > 0:
        corr = f"{statistics.correlation(pred, act):.3f}"
    under = sum(1 for p, a in pairs if a > p + 1e-9)
    return {
        "trace": trace, "policy": policy, "rounds": len(pairs),
        "predicted_wait_s_total": f"{sum(pred):.3f}", "actual_wait_s_total": f"{sum(act):.3f}",
        "actual_over_predicted": f"{sum(act) / sum(pred):.3f}" if sum(pred) > 0 else "",
        "median_abs_error_s": f"{statistics.median(errors):.4f}" if errors else "",
        "p90_abs_error_s": f"{sorted(errors)[int(0.9 * (len(errors) - 1))]:.4f}" if errors else "",
        "share_rounds_actual_above_predicted": f"{under / len(pairs):.3f}" if pairs else "",
        "correlation": corr,
        "plans_per_round": f"{sum(n for _, _, n in rounds) / len(rounds):.2f}" if rounds else "",
    }


def plot_prediction(plt, path: str, trace: str,
                    by_policy: Dict[str, List[Tuple[float, float, int]]], subtitle: str) -> None:
    policies = list(by_policy)
    fig, axes = plt.subplots(2, max(1, math.ceil(len(policies) / 2)), figsize=(14, 7),
                             squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax, policy in zip(flat, policies):
        pairs = [(p, a) for p, a, _ in by_policy[policy]]
        series, _ = family(policy)
        color = style(series.replace("ebsp-oracle", "ebsp"))[0]
        ax.scatter([p for p, _ in pairs], [a for _, a in pairs], s=6, alpha=0.5, color=color)
        hi = max([max(p, a) for p, a in pairs] + [1e-3])
        ax.plot([0, hi], [0, hi], color="black", lw=0.8, ls="--")
        s = prediction_summary(trace, policy, by_policy[policy])
        ax.set_title(f"{policy}\n{s['rounds']} rounds, actual/predicted "
                     f"{s['actual_over_predicted'] or '-'}, r={s['correlation'] or '-'}",
                     fontsize=8)
        ax.set_xlabel("predicted round wait (worker-s)", fontsize=8)
        ax.set_ylabel("actual round wait (worker-s)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    for ax in flat[len(policies):]:
        ax.axis("off")
    fig.suptitle(f"trace {trace}: ZipLine's predicted against actual wait per round "
                 f"(dashed: exact)\n{subtitle}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


BUDGETS = [1, 2, 4, 8, 16, 32, 64]


def write_summary(path: str, args, all_rows: Dict[str, List[dict]], summaries: List[dict],
                  command: str, seconds: float) -> None:
    traces = list(all_rows)
    out = [f"# Pareto view: summary ({args.label})", "",
           f"Generated by `{command}` in {seconds:.0f} s "
           f"({args.workers} workers, {args.duration} of virtual time per run, seed "
           f"{args.seed}). See README.md for how to read it.", "",
           "## Best throughput over ASP's within a staleness budget", "",
           "Highest `throughput_vs_asp` among the policies whose max staleness is at most the "
           "budget (ASP excluded).", "",
           "| max staleness <= | " + " | ".join(traces) + " |",
           "|---:|" + "---|" * len(traces)]
    for budget in BUDGETS:
        cells = []
        for trace in traces:
            fit = [r for r in all_rows[trace]
                   if r["policy"] != "asp" and r["max_staleness"] <= budget]
            if fit:
                best = max(fit, key=lambda r: (r["throughput_vs_asp"], -r["max_staleness"]))
                cells.append(f"{best['throughput_vs_asp']:.3f} `{best['policy']}`")
            else:
                cells.append("-")
        out.append(f"| {budget} | " + " | ".join(cells) + " |")
    out += ["", "## ElasticBSP by R: throughput over ASP's / max staleness", "",
            "| policy | " + " | ".join(traces) + " |", "|---|" + "---:|" * len(traces)]
    policies = [r["policy"] for r in all_rows[traces[0]]]
    for policy in policies:
        if not policy.startswith("ebsp"):
            continue
        cells = []
        for trace in traces:
            row = next((r for r in all_rows[trace] if r["policy"] == policy), None)
            cells.append(f"{row['throughput_vs_asp']:.3f} / {row['max_staleness']}" if row
                         else "-")
        out.append(f"| `{policy}` | " + " | ".join(cells) + " |")
    out += ["", f"## Prediction: R = {args.prediction_R}", "",
            "Per round: ZipLine's predicted wait of the round's last plan against the sum of "
            "the members' actual waits (prediction.csv has every column).", "",
            "| trace | policy | rounds | ZipLine runs per round | actual / predicted (sums) | "
            "median abs error (worker-s) | p90 abs error | rounds above prediction | "
            "correlation |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s_ in summaries:
        out.append(f"| {s_['trace']} | `{s_['policy']}` | {s_['rounds']} | "
                   f"{s_['plans_per_round']} | {s_['actual_over_predicted'] or '-'} | "
                   f"{s_['median_abs_error_s']} | {s_['p90_abs_error_s']} | "
                   f"{s_['share_rounds_actual_above_predicted']} | {s_['correlation'] or '-'} |")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main(argv=None) -> int:
    args = parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(args.out_dir, exist_ok=True)
    policies = sweep_policies(args)
    prediction_policies = [ebsp_text(args.prediction_R, v) for v in variants(args)]
    subtitle = (f"{args.workers} workers, {args.duration} virtual, seed {args.seed}; "
                f"{args.label}")
    began = time.monotonic()
    summaries = []
    all_rows: Dict[str, List[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="ebsp-pareto.") as tmp:
        for trace in args.traces.split(","):
            t0 = time.monotonic()
            rows = run_sim(args, trace, policies, oracle=False)
            front = pareto_front(rows)
            all_rows[trace] = rows
            write_trace_csv(os.path.join(args.out_dir, f"{trace}.csv"), rows, front)
            plot_trace(plt, os.path.join(args.out_dir, f"{trace}.png"), trace, rows, front,
                       subtitle)
            # Real forecasts for every variant; the oracle for the default only.
            rounds_path = os.path.join(tmp, f"{trace}-rounds.csv")
            oracle_path = os.path.join(tmp, f"{trace}-oracle-rounds.csv")
            run_sim(args, trace, prediction_policies, oracle=False, rounds_csv=rounds_path)
            run_sim(args, trace, prediction_policies[:1], oracle=True, rounds_csv=oracle_path)
            by_policy = read_rounds(rounds_path)
            by_policy.update({p: r for p, r in read_rounds(oracle_path).items()
                              if p.startswith("ebsp-oracle")})
            for policy, pairs in by_policy.items():
                summaries.append(prediction_summary(trace, policy, pairs))
            plot_prediction(plt, os.path.join(args.out_dir, f"prediction_{trace}.png"), trace,
                            by_policy, subtitle)
            best = max(rows, key=lambda r: r["throughput_vs_asp"] if r["policy"] != "asp" else -1)
            print(f"pareto: {trace}: {len(rows)} policies, front: "
                  f"{', '.join(sorted(front))}; best non-ASP {best['policy']} "
                  f"{best['throughput_vs_asp']:.3f} ({time.monotonic() - t0:.1f} s)",
                  flush=True)
    with open(os.path.join(args.out_dir, "prediction.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summaries[0].keys()) if summaries else ["trace"],
                           lineterminator="\n")
        w.writeheader()
        w.writerows(summaries)
    command = shlex.join(["/usr/bin/python3", "tools/sim/pareto.py"] +
                         (argv if argv is not None else sys.argv[1:]))
    write_summary(os.path.join(args.out_dir, "summary.md"), args, all_rows, summaries, command,
                  time.monotonic() - began)
    print(f"pareto: wrote {args.out_dir} in {time.monotonic() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
