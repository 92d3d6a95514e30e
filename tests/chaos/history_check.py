"""The chaos suite's invariant checker over the workers' recorded histories
(JSON lines written by tools/chaos/chaos_worker.{py,cc}).

    violations = check(events, coordinator_starts, jobs)

`events`: every worker's events (load_histories reads the files);
`coordinator_starts`: CLOCK_MONOTONIC times at which a coordinator process
was launched (round numbers restart with each one, so a barrier is named by
(coordinator run, job, round)); `jobs`: {job: JobRules(lookahead=R,
staleness=s)}. The result lists every violation as a readable sentence; empty
means the history holds:

  barrier agreement  all workers released from one barrier (same coordinator
                     run, job and round left) enter the same round with the
                     same membership epoch, fingerprint and live count, and
                     no more of them were released than that count;
  target bound       no target exceeds R, no iteration exceeds its target,
                     and a worker told to sync has done exactly its target;
  counted once       within one registration and round a worker's counted
                     iterations are exactly 1, 2, 3, ... (never repeated,
                     never skipped);
  SSP bound          (jobs with a staleness) whenever a worker proceeds past
                     its clock k, every other worker had *sent* at least
                     k - s reports: an upper bound of the clock the coordinator
                     saw, so a flagged release is a real violation.

A release that came with a re-registration (the worker was forgotten and
joined again), or that the client marks unsynchronized (no barrier: nobody
else synchronizes then), is not a release from the barrier it waited at and
is left out of the agreement check; its round starts a new registration.
"""

import bisect
import collections
import dataclasses
import json
from typing import Dict, Iterable, List, Optional, Sequence


@dataclasses.dataclass(frozen=True)
class JobRules:
    lookahead: Optional[int] = None   # R of ElasticBSP (the bound on targets).
    staleness: Optional[int] = None   # s of SSP.


def load_histories(paths: Iterable[str]) -> List[dict]:
    """Every complete line of the files (a kill -9 may cut the last one)."""
    events = []
    for path in paths:
        with open(path) as f:
            for line in f:
                if not line.endswith("\n"):
                    break
                events.append(json.loads(line))
    events.sort(key=lambda e: e["t"])
    return events


def _by_process(events):
    processes = collections.defaultdict(list)
    for event in events:
        processes[(event["job"], event["worker"], event["pid"])].append(event)
    return processes


def _segments(history):
    """Splits one process's events at each registration: lists of
    (round, iteration, event) counted in that registration."""
    segments = []
    current = None
    for event in history:
        ev = event["ev"]
        if ev == "registered":
            current = []
            segments.append(current)
        elif ev == "report" and current is not None:
            if event.get("rejoined"):
                current = []
                segments.append(current)
                # The Python client counts the report again in the round it
                # re-joined; the C++ client drops it (iteration 0).
                if event["iteration"] >= 1:
                    current.append((event.get("now_round", event["round"]),
                                    event["iteration"], event))
                continue
            current.append((event["round"], event["iteration"], event))
        elif ev == "release" and (event.get("rejoined") or not event.get("synchronized", True)):
            current = []
            segments.append(current)
    return segments


def _check_barriers(events, coordinator_starts, out):
    groups = collections.defaultdict(list)
    for event in events:
        if (event["ev"] != "release" or event.get("rejoined")
                or not event.get("synchronized", True)):
            continue
        run = bisect.bisect_right(coordinator_starts, event["t"])
        groups[(run, event["job"], event["from_round"])].append(event)
    for (run, job, from_round), releases in sorted(groups.items()):
        where = f"job {job}, coordinator run {run}, barrier of round {from_round}"
        for field in ("round", "epoch", "fingerprint", "live"):
            values = {r.get(field) for r in releases}
            if field == "fingerprint":
                values.discard(None)
            if len(values) > 1:
                who = ", ".join(f"{r['worker']}={r.get(field)}" for r in releases)
                out.append(f"barrier agreement: {where}: workers disagree on {field}: {who}")
        for r in releases:
            if r["round"] <= from_round:
                out.append(f"barrier agreement: {where}: {r['worker']} released into round "
                           f"{r['round']}, not a later one")
        live = min(r["live"] for r in releases)
        workers = {r["worker"] for r in releases}
        if len(releases) != len(workers) or len(workers) > live:
            out.append(f"barrier agreement: {where}: {len(releases)} releases of "
                       f"{len(workers)} workers, but {live} live workers")


def _check_targets(events, jobs, out):
    for event in events:
        rules = jobs.get(event["job"])
        if rules is None or rules.lookahead is None:
            continue
        R = rules.lookahead
        ev = event["ev"]
        who = f"job {event['job']} worker {event['worker']}"
        if ev in ("release", "registered", "report") and event.get("target", 0) > R:
            out.append(f"target bound: {who}: {ev} in round {event.get('round')} has target "
                       f"{event['target']} > R={R}")
        if ev == "report" and not event.get("rejoined"):
            if event["iteration"] > event["target"]:
                out.append(f"target bound: {who}: iteration {event['iteration']} of round "
                           f"{event['round']} beyond its target {event['target']}")
            if event["directive"] == "sync" and event["iteration"] != event["target"]:
                out.append(f"target bound: {who}: told to sync after {event['iteration']} "
                           f"iterations of round {event['round']}, target {event['target']}")


def _check_counted_once(events, out):
    for (job, worker, pid), history in _by_process(events).items():
        for segment in _segments(history):
            expected = {}
            for round_, iteration, event in segment:
                want = expected.get(round_, 1)
                if iteration != want:
                    kind = "counted twice" if iteration < want else "skipped"
                    out.append(f"counted once: job {job} worker {worker} (pid {pid}): round "
                               f"{round_} iteration {iteration} where {want} was next "
                               f"({kind})")
                expected[round_] = max(want, iteration) + 1


def _check_ssp(events, jobs, out):
    for job, rules in jobs.items():
        if rules.staleness is None:
            continue
        s = rules.staleness
        job_events = [e for e in events if e["job"] == job]
        processes = _by_process(job_events)
        unstable = [w for (_, w, _), h in processes.items()
                    if sum(e["ev"] == "registered" for e in h) != 1
                    or any(e.get("rejoined") for e in h)]
        if unstable or len({w for (_, w, _) in processes}) != len(processes):
            out.append(f"SSP bound: job {job}: the check needs one registration per worker, "
                       f"but {sorted(unstable) or 'a worker name'} registered again")
            continue
        sent = {}     # worker -> sorted send times of its reports
        end = {}      # worker -> time of its last event (it stopped or was stopped)
        for (_, worker, _), history in processes.items():
            sent[worker] = sorted(e["sent"] for e in history if e["ev"] == "report")
            end[worker] = history[-1]["t"]
        # A worker joining a running SSP job starts at the slowest clock, not
        # at 0: its sent reports bound its clock only if it joined first.
        first_report = min((t for times in sent.values() for t in times), default=None)
        late = sorted(w for (_, w, _), h in processes.items()
                      if first_report is not None
                      and next(e["t"] for e in h if e["ev"] == "registered") > first_report)
        if late:
            out.append(f"SSP bound: job {job}: the check needs every worker registered before "
                       f"the first report, but {late} registered later")
            continue
        for (_, worker, _), history in processes.items():
            for event in history:
                if event["ev"] != "report":
                    continue
                clock = event["iteration"]
                for other, times in sent.items():
                    if other == worker or event["t"] > end[other]:
                        continue
                    upper = bisect.bisect_left(times, event["t"])
                    if clock - upper > s:
                        out.append(f"SSP bound: job {job}: {worker} went past clock {clock} "
                                   f"at t={event['t']:.3f} while {other} had sent only "
                                   f"{upper} reports (s={s})")


def check(events: Sequence[dict], coordinator_starts: Sequence[float],
          jobs: Dict[str, JobRules]) -> List[str]:
    """Every violation of the invariants in the module docstring."""
    out: List[str] = []
    events = sorted(events, key=lambda e: e["t"])
    _check_barriers(events, sorted(coordinator_starts), out)
    _check_targets(events, jobs, out)
    _check_counted_once(events, out)
    _check_ssp(events, jobs, out)
    return out
