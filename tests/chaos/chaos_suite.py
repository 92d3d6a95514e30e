"""The chaos suite: real processes, faults injected from outside.

For each case it starts a real ebsp-coordinator (127.0.0.1, port 0, ready
file), one job per client with WORKERS real worker processes each
(tools/chaos/chaos_worker.cc on the C++ client, chaos_worker.py on the
Python one) under ElasticBSP R=4 (the SSP case: SSP s=2), in the network
cases worker w0 of each job behind its own netfault proxy (tools/netfault),
and injects one fault:

  kill_mid_iteration   kill -9 a worker held inside an iteration
  kill_at_barrier      kill -9 a worker waiting at the barrier (a straggler
                       holds the barrier open)
  kill_registering     kill -9 a fifth worker after the coordinator applied
                       its Register but before the reply reached it (its
                       proxy delays the replies 3 s)
  sigstop_past_lease   SIGSTOP a worker until the coordinator evicted it, SIGCONT
  coordinator_kill_1s  kill -9 the coordinator, start it again 1 s later
  coordinator_kill_20s ... 20 s later (coordinator_kill_120s: --long only)
  rolling_update       SIGTERM the coordinator, start the next one 0.5 s after
                       the old exited
  netfault_blackhole   black-hole w0's connection for 6 s (past its lease)
  netfault_blackhole_15s  ... for 15 s (past a call's 10 s deadline)
  netfault_delay       delay w0's traffic by 400 ms each way for 6 s
  ssp_delay            SSP s=2 job, w0's traffic delayed 400 ms for 6 s; the
                       SSP bound is checked at every release

Every case asserts: no worker process dies except the one the case kills;
every live worker makes progress (a barrier release or a registration; under
SSP a report) within PROGRESS_BOUND_S after the fault ends; the invariant checker
(history_check.py) finds nothing in the recorded histories. It prints one
table row per (case, client): pause (the longest time any live worker made no
progress around the fault), time to progress after the fault ended, deaths,
violations.

    chaos_suite.py --coordinator=BIN --cpp_worker=BIN [--case=NAME ...] [--long]

Every wait is on a condition with a deadline; processes are stopped by the
PIDs this driver started; the work directory (histories and logs) is removed
unless --keep or a case failed.
"""

import argparse
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "support", "python"))
sys.path.insert(0, os.path.join(ROOT, "tools", "netfault"))

import history_check  # noqa: E402
from ebsp_test_servers import ServerProcess, wait_until  # noqa: E402
from netfault import Control  # noqa: E402

WORKERS = 4
LOOKAHEAD = 4
STALENESS = 2
LEASE_S = 3.0          # --heartbeat_timeout of the coordinator.
ITER_MS = (40, 50, 60, 70)
# After a fault ends, every live worker must make progress within this. The
# longest legitimate chain: a dead or evicted member's lease runs out (3 s)
# plus a tick (0.1 s), a client in backoff wakes (at most 2 s nominal, +50 %
# jitter for Python: 3 s), it registers again and runs up to a round
# (R x 70 ms x 1.3 = 0.4 s) to reach the barrier: 6.5 s. 10 s leaves 3.5 s
# for a noisy 2-core machine running two suites side by side.
PROGRESS_BOUND_S = 10.0
WARMUP_RELEASES = 2
AFTER_PROGRESS = 3     # Progress events each live worker shows after the fault.
STARTUP_S = 60.0
SETTLE_S = 45.0
STOP_S = 30.0
WORKER_MAX_RUNTIME_S = 400
# Progress of a worker: a barrier release (policies with rounds: the job moved
# on, not only this worker), a report (SSP), or a registration.
ROUND_PROGRESS = ("release", "registered")
CLOCK_PROGRESS = ("report", "registered")


@dataclasses.dataclass
class Fault:
    start: float
    end: float                       # When the fault was over (progress is measured from here).
    killed: List["Worker"] = dataclasses.field(default_factory=list)
    note: str = ""


class HistoryReader:
    """Reads a worker's history file incrementally (complete lines only)."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.events: List[dict] = []

    def poll(self) -> List[dict]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return self.events
        self.offset += len(data)
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        self.events.extend(json.loads(line) for line in lines if line)
        return self.events


class Worker:
    def __init__(self, client, job, name, history, proc, proxy=None, rounds=True):
        self.client = client
        self.progress_events = ROUND_PROGRESS if rounds else CLOCK_PROGRESS
        self.job = job
        self.name = name
        self.reader = HistoryReader(history)
        self.proc = proc
        self.proxy: Optional[Control] = proxy
        self.expected_dead = False
        self.died = False  # Exited by itself, unexpectedly.

    def events(self) -> List[dict]:
        return self.reader.poll()

    def last(self) -> Optional[dict]:
        events = self.events()
        return events[-1] if events else None

    def progress_times(self) -> List[float]:
        return [e["t"] for e in self.events() if e["ev"] in self.progress_events]

    def count(self, ev: str, after: float = 0.0) -> int:
        return sum(1 for e in self.events() if e["ev"] == ev and e["t"] > after)

    def __repr__(self):
        return f"{self.job}/{self.name}"


class Case:
    # proxied: worker w0 of each job talks through a netfault proxy (only
    # where the case needs one: it is one more process on a busy machine).
    def __init__(self, name, inject, policy=f"ebsp:R={LOOKAHEAD}", proxied=False):
        self.name = name
        self.proxied = proxied
        self.inject = inject
        self.policy = policy


class Run:
    """One case's processes; close() stops every one of them by PID."""

    def __init__(self, cfg, case: Case, workdir: str):
        self.cfg = cfg
        self.case = case
        self.workdir = workdir
        self.coordinator: Optional[ServerProcess] = None
        self.coordinator_starts: List[float] = []
        self.proxies: List[subprocess.Popen] = []
        self.workers: List[Worker] = []
        self.jobs: Dict[str, str] = {}          # client -> job
        self.control_dirs: Dict[str, str] = {}  # client -> directory
        self.stopping = False
        self.closed = False  # close() killed what was left: not deaths.
        self.admin = None    # ebsp.AdminClient, made on first use.

    # -- processes ----------------------------------------------------------

    def start_coordinator(self, port=0):
        self.coordinator_starts.append(time.monotonic())
        self.coordinator.start(grpc_port=port)

    def start_proxy(self, tag) -> Control:
        ready = os.path.join(self.workdir, f"proxy-{tag}.json")
        with open(os.path.join(self.workdir, f"proxy-{tag}.log"), "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, os.path.join(ROOT, "tools", "netfault", "netfault.py"),
                 f"--upstream={self.coordinator.target}", f"--ready_file={ready}",
                 f"--max_runtime_s={WORKER_MAX_RUNTIME_S}"],
                stdout=log, stderr=subprocess.STDOUT)
        self.proxies.append(proc)

        def ready_info():
            if proc.poll() is not None:
                raise AssertionError(f"netfault {tag} exited with {proc.returncode}")
            try:
                with open(ready) as f:
                    return json.load(f)
            except (FileNotFoundError, json.JSONDecodeError):
                return None

        info = wait_until(ready_info, 20.0, f"netfault {tag}'s ready file")
        control = Control(info["control_port"])
        control.port = info["port"]
        return control

    def start_worker(self, client, index, proxy: Optional[Control] = None,
                     wait_go=False) -> Worker:
        job = self.jobs[client]
        name = f"{client}-w{index}"
        history = os.path.join(self.workdir, f"{job}.{name}.jsonl")
        target = f"127.0.0.1:{proxy.port}" if proxy else self.coordinator.target
        iter_ms = ITER_MS[index % len(ITER_MS)]
        common = [f"--target={target}", f"--job={job}", f"--name={name}",
                  f"--policy={self.case.policy}", f"--iter_ms={iter_ms}",
                  f"--history={history}", f"--control_dir={self.control_dirs[client]}"]
        if wait_go:
            common.append("--wait_go")
        if client == "cpp":
            argv = [self.cfg.cpp_worker, *common, f"--max_runtime={WORKER_MAX_RUNTIME_S}s"]
        else:
            argv = [sys.executable, os.path.join(ROOT, "tools", "chaos", "chaos_worker.py"),
                    *common, f"--max_runtime_s={WORKER_MAX_RUNTIME_S}"]
        with open(os.path.join(self.workdir, f"{job}.{name}.log"), "wb") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        worker = Worker(client, job, name, history, proc, proxy,
                        rounds=not self.case.policy.startswith("ssp"))
        self.workers.append(worker)
        return worker

    def worker(self, client, index) -> Worker:
        name = f"{client}-w{index}"
        return next(w for w in self.workers if w.client == client and w.name == name)

    def live(self) -> List[Worker]:
        """Workers that should be running: neither killed by the case nor dead."""
        self.scan_deaths()
        return [w for w in self.workers if not w.expected_dead and not w.died]

    def kill(self, worker: Worker):
        worker.expected_dead = True
        worker.proc.send_signal(signal.SIGKILL)
        worker.proc.wait(timeout=10)

    def scan_deaths(self) -> List[Worker]:
        """Marks and returns the workers that exited by themselves although no
        fault killed them and no stop was requested (or exited non-zero)."""
        for w in self.workers:
            if self.closed or w.expected_dead or w.died or w.proc.poll() is None:
                continue
            if not self.stopping or w.proc.returncode != 0:
                w.died = True
        return [w for w in self.workers if w.died]

    def death_report(self) -> List[str]:
        return [f"worker {w} died (exit {w.proc.returncode}): "
                f"{[e.get('message') for e in w.events() if e['ev'] == 'error']}"
                for w in self.scan_deaths()]

    def wait(self, predicate: Callable[[], bool], timeout: float, what: str):
        # A death does not end the case: the others are still measured, and
        # the death fails it at the end.
        return wait_until(predicate, timeout, what, poll_seconds=0.02)

    def hold(self, worker: Worker, on: bool):
        path = os.path.join(self.control_dirs[worker.client], f"hold.{worker.name}")
        if on:
            open(path, "w").close()
        elif os.path.exists(path):
            os.remove(path)

    def touch(self, client, name):
        open(os.path.join(self.control_dirs[client], name), "w").close()

    def admin_workers(self, client) -> List[str]:
        """The worker names the coordinator lists in the client's job ([] if
        it cannot say). One channel for the run: a poll is one GetJob."""
        import ebsp
        if self.admin is None:
            self.admin = ebsp.AdminClient(self.coordinator.target, call_timeout=2.0,
                                          retry=ebsp.RetryPolicy(max_attempts=1))
        try:
            return [w.name for w in self.admin.get_job(self.jobs[client]).workers]
        except ebsp.CoordinatorError:
            return []

    def close(self):
        self.scan_deaths()
        self.stopping = True
        self.closed = True
        for w in self.workers:
            if w.proc.poll() is None:
                try:
                    os.kill(w.proc.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
                w.proc.kill()
            w.proc.wait(timeout=10)
        for proc in self.proxies:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        if self.admin is not None:
            self.admin.close()
        if self.coordinator is not None:
            self.coordinator.stop()


# -- faults --------------------------------------------------------------------

def _each_client(run: Run):
    return list(run.jobs)


def kill_mid_iteration(run: Run) -> Fault:
    victims = [run.worker(c, 3) for c in _each_client(run)]
    for v in victims:
        run.hold(v, True)
    run.wait(lambda: all(v.last()["ev"] == "held" for v in victims), 20.0,
             "the victims held inside an iteration")
    start = time.monotonic()
    for v in victims:
        run.kill(v)
        run.hold(v, False)
    return Fault(start, start, victims, "killed inside compute (last event: held)")


def kill_at_barrier(run: Run) -> Fault:
    victims, stragglers = [], []
    for c in _each_client(run):
        victims.append(run.worker(c, 3))
        stragglers.append(run.worker(c, 2))
        run.hold(stragglers[-1], True)

    def victims_waiting():
        for v, s in zip(victims, stragglers):
            held, last = s.last(), v.last()
            if held["ev"] != "held" or last["ev"] != "sync_start":
                return False
            if last["round"] != held["round"]:
                return False
        return True

    run.wait(victims_waiting, 20.0, "the victims waiting at a barrier held open by a straggler")
    start = time.monotonic()
    for v in victims:
        run.kill(v)
    for s in stragglers:
        run.hold(s, False)
    return Fault(start, start, victims, "killed at the barrier (last event: sync_start)")


def kill_registering(run: Run) -> Fault:
    victims = []
    for c in _each_client(run):
        proxy = run.start_proxy(f"{c}-w4")
        # Only the replies are late: the Register goes through at once, its
        # answer 3 s later. The first chunk (the coordinator's HTTP/2
        # settings) passes, or the client's connect timeout would be the test.
        proxy.send("delay down 3000 spare 1")
        victims.append(run.start_worker(c, 4, proxy))
    # Each is killed the moment the coordinator lists it: its reply is then
    # 3 s away (the Python one starts later than the C++ one).
    start = None

    def kill_registered():
        nonlocal start
        for v in victims:
            if not v.expected_dead and v.name in run.admin_workers(v.client):
                run.kill(v)
                start = start or time.monotonic()
        return all(v.expected_dead for v in victims)

    run.wait(kill_registered, 30.0, "the coordinator to register the fifth workers")
    end = time.monotonic()
    late = [v for v in victims if v.count("registered")]
    if late:
        raise AssertionError(f"{late} saw their registration reply before the kill: the case "
                             "did not kill them while registering")
    return Fault(start, end, victims, "killed after the coordinator registered them, "
                 "before the reply arrived")


def sigstop_past_lease(run: Run) -> Fault:
    victims = [run.worker(c, 3) for c in _each_client(run)]
    start = time.monotonic()
    for v in victims:
        v.proc.send_signal(signal.SIGSTOP)
    run.wait(lambda: all(v.name not in run.admin_workers(v.client) for v in victims),
             LEASE_S + 10.0, "the coordinator to evict the stopped workers")
    evicted = time.monotonic()
    for v in victims:
        v.proc.send_signal(signal.SIGCONT)
    end = time.monotonic()
    return Fault(start, end, [], f"stopped {evicted - start:.1f} s (evicted), then SIGCONT")


def coordinator_kill(down_s: float):
    def inject(run: Run) -> Fault:
        port = run.coordinator.grpc_port
        start = time.monotonic()
        run.coordinator.kill()
        # The outage itself: not a wait for a condition, the fault's length.
        time.sleep(down_s)
        run.start_coordinator(port)
        return Fault(start, time.monotonic(), [], f"down {down_s:g} s")
    return inject


def rolling_update(run: Run) -> Fault:
    port = run.coordinator.grpc_port
    start = time.monotonic()
    run.coordinator.stop()  # SIGTERM, waits for the exit.
    # The replacement starts a moment after the old one is gone, as when a
    # Deployment's endpoint moves to the new pod; it also keeps the replies of
    # the old run and the new apart in time.
    time.sleep(0.5)
    run.start_coordinator(port)
    return Fault(start, time.monotonic(), [], "SIGTERM, replacement 0.5 s after the exit")


def netfault(command: str, length_s: float):
    def inject(run: Run) -> Fault:
        proxies = [run.worker(c, 0).proxy for c in _each_client(run)]
        start = time.monotonic()
        for proxy in proxies:
            proxy.send(command)
        time.sleep(length_s)  # The fault's length.
        for proxy in proxies:
            proxy.send("pass")
        return Fault(start, time.monotonic(), [], f"w0 '{command}' for {length_s:g} s")
    return inject


CASES = {c.name: c for c in [
    Case("kill_mid_iteration", kill_mid_iteration),
    Case("kill_at_barrier", kill_at_barrier),
    Case("kill_registering", kill_registering),
    Case("sigstop_past_lease", sigstop_past_lease),
    Case("coordinator_kill_1s", coordinator_kill(1.0)),
    Case("coordinator_kill_20s", coordinator_kill(20.0)),
    Case("coordinator_kill_120s", coordinator_kill(120.0)),
    Case("rolling_update", rolling_update),
    Case("netfault_blackhole", netfault("hold", 6.0), proxied=True),
    Case("netfault_blackhole_15s", netfault("hold", 15.0), proxied=True),
    Case("netfault_delay", netfault("delay 400", 6.0), proxied=True),
    Case("ssp_delay", netfault("delay 400", 6.0), policy=f"ssp:s={STALENESS}", proxied=True),
]}
LONG_ONLY = {"coordinator_kill_120s"}


# -- one case ------------------------------------------------------------------

def _measure(run: Run, fault: Fault, client: str) -> dict:
    """Pause and time to progress of the live workers of one client's job."""
    pause, to_progress = 0.0, 0.0
    for w in run.live():
        if w.client != client:
            continue
        times = sorted(w.progress_times())
        after = [t for t in times if t > fault.end]
        first_after = after[0] if after else float("inf")
        to_progress = max(to_progress, first_after - fault.end)
        # The longest stretch without progress that overlaps the fault.
        for a, b in zip(times, times[1:]):
            if b >= fault.start and a <= first_after:
                pause = max(pause, b - a)
    return {"pause_s": pause, "progress_s": to_progress}


def run_case(cfg, case: Case, workdir: str) -> List[dict]:
    run = Run(cfg, case, workdir)
    rows: List[dict] = []
    error: Optional[str] = None
    fault: Optional[Fault] = None
    run.coordinator = ServerProcess(
        cfg.coordinator, [f"--heartbeat_timeout={LEASE_S:g}s"], workdir=workdir)
    began = time.monotonic()

    def phase(what):  # Where the time went, for a failure on a loaded machine.
        print(f"[{case.name}] {time.monotonic() - began:6.1f} s {what}", file=sys.stderr)

    try:
        run.start_coordinator()
        for client in cfg.clients:
            run.jobs[client] = f"{case.name}-{client}".replace("_", "-")
            run.control_dirs[client] = os.path.join(workdir, f"ctl-{client}")
            os.makedirs(run.control_dirs[client])
            proxy = run.start_proxy(f"{client}-w0") if case.proxied else None
            for i in range(WORKERS):
                run.start_worker(client, i, proxy if i == 0 else None, wait_go=True)
        # The workers start iterating together once all registered: the start
        # is not the fault under test (and the SSP check needs every clock
        # to start at 0).
        run.wait(lambda: all(w.count("registered") for w in run.workers), STARTUP_S,
                 "every worker to register")
        for client in cfg.clients:
            run.touch(client, "go")
        phase("all registered, go")
        if case.policy.startswith("ssp"):
            run.wait(lambda: all(w.count("report") >= 10 for w in run.workers), STARTUP_S,
                     "10 reports of every worker")
        else:
            run.wait(lambda: all(w.count("release") >= WARMUP_RELEASES for w in run.workers),
                     STARTUP_S, f"{WARMUP_RELEASES} barrier releases of every worker")
        phase("warm, injecting the fault")
        fault = case.inject(run)
        phase(f"fault over ({fault.note})")
        try:
            run.wait(lambda: all(any(t > fault.end for t in w.progress_times())
                                 for w in run.live()),
                     PROGRESS_BOUND_S, "every live worker to make progress after the fault")
        except AssertionError as err:
            stuck = [w for w in run.live()
                     if not any(t > fault.end for t in w.progress_times())]
            raise AssertionError(f"{err}: no progress from {stuck}") from None
        run.wait(lambda: all(sum(t > fault.end for t in w.progress_times()) >= AFTER_PROGRESS
                             for w in run.live()),
                 SETTLE_S, f"{AFTER_PROGRESS} progress events of every live worker")
        phase("every live worker progressed; stopping")
        run.stopping = True
        for client in cfg.clients:
            run.touch(client, "stop")
        run.wait(lambda: all(w.proc.poll() is not None for w in run.live()), STOP_S,
                 "every live worker to stop")
    except AssertionError as err:
        error = str(err)
    finally:
        death_report = run.death_report()
        run.close()
    events = [e for w in run.workers for e in w.events()]
    rules = {}
    for client, job in run.jobs.items():
        if case.policy.startswith("ssp"):
            rules[job] = history_check.JobRules(staleness=STALENESS)
        else:
            rules[job] = history_check.JobRules(lookahead=LOOKAHEAD)
    violations = history_check.check(events, run.coordinator_starts, rules)
    for client, job in run.jobs.items():
        deaths = [w for w in run.workers if w.client == client and w.died]
        measured = _measure(run, fault, client) if fault else {"pause_s": float("nan"),
                                                               "progress_s": float("nan")}
        rows.append({"case": case.name, "client": client, **measured,
                     "deaths": len(deaths),
                     "violations": sum(f"job {job}" in v for v in violations),
                     "note": fault.note if fault else ""})
    ok = error is None and not violations and all(r["deaths"] == 0 for r in rows) and all(
        r["progress_s"] <= PROGRESS_BOUND_S for r in rows)
    for r in rows:
        r["ok"] = ok
    if error:
        print(f"[{case.name}] FAILED: {error}", file=sys.stderr)
    for death in death_report:
        print(f"[{case.name}] {death}", file=sys.stderr)
    for v in violations:
        print(f"[{case.name}] violation: {v}", file=sys.stderr)
    return rows


def format_table(rows: List[dict]) -> str:
    lines = ["| fault | client | pause (s) | progress after fault (s) | worker deaths "
             "| invariant violations | ok |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        progress = (f"{r['progress_s']:.2f}" if r["progress_s"] != float("inf")
                    else f"none in {PROGRESS_BOUND_S:g}")
        lines.append(f"| {r['case']} | {r['client']} | {r['pause_s']:.2f} | "
                     f"{progress} | {r['deaths']} | {r['violations']} | "
                     f"{'yes' if r['ok'] else 'NO'} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coordinator", required=True)
    parser.add_argument("--cpp_worker", required=True)
    parser.add_argument("--case", action="append", default=[],
                        help=f"one of {sorted(CASES)} (repeatable); default: all")
    parser.add_argument("--clients", default="cpp,py")
    parser.add_argument("--long", action="store_true", help="also the 120 s outage")
    parser.add_argument("--json_out", default="")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    cfg = parser.parse_args(argv)
    cfg.clients = [c for c in cfg.clients.split(",") if c]
    names = cfg.case or [n for n in CASES if cfg.long or n not in LONG_ONLY]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; known: {sorted(CASES)}")
    for binary in (cfg.coordinator, cfg.cpp_worker):
        if not os.access(binary, os.X_OK):
            parser.error(f"{binary} is not an executable")
    root = tempfile.mkdtemp(prefix="ebsp-chaos-")
    rows = []
    keep_failed = False
    try:
        for name in names:
            started = time.monotonic()
            workdir = os.path.join(root, name)
            os.makedirs(workdir)
            case_rows = run_case(cfg, CASES[name], workdir)
            print(f"[{name}] {time.monotonic() - started:.1f} s, "
                  f"{'ok' if case_rows[0]['ok'] else 'FAILED'}", file=sys.stderr)
            if not case_rows[0]["ok"]:
                keep_failed = True
            rows.extend(case_rows)
    finally:
        if cfg.keep or keep_failed:
            # Histories and logs of a failed case: what to look at.
            print(f"work directory kept: {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(format_table(rows))
    if cfg.json_out:
        with open(cfg.json_out, "w") as f:
            json.dump(rows, f, indent=1)
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
