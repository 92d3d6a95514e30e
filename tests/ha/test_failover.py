"""High availability with real processes: a real etcd, two or three real
ebsp-coordinator replicas with --ha_etcd_endpoints, four real workers under
ElasticBSP (R=4) in one job, two on each client (tools/chaos's workers: the
C++ ebsp-chaos-worker and chaos_worker.py, which record their history), all
dialing a stand-in for the Kubernetes Service (ready_router.py; mode "any"
as in deploy/k8s/overlays/ha: new connections go to any live replica, and a
standby redirects the client to the leader). Faults come from outside:
SIGKILL of the leader, SIGSTOP of the leader past its lease and SIGCONT, an
etcd restart, and a rolling update (start the new replica, SIGTERM the old
leader).

Every case asserts that no worker process dies, that no two replicas said
SERVING for elasticbsp.v1.Coordinator in the same health sweep (the router
sweeps every replica every 0.1 s), and that every worker's pause stays within
PAUSE_BOUND_S. The pause of a worker: from its last barrier release before
the fault to its first synchronized release after it (after its
re-registration, when the fault cost the leader): the time its training
stack did not synchronize. Also measured: the iterations each worker had run
in the round the failover discarded (the new leader starts with no worker
state; the round in progress at the failover is lost). The figures are
printed and, with EBSP_HA_REPORT=path, written as JSON lines;
scripts/ha_failover.sh runs this with 10 kills and 5 rounds of the other
faults for docs/ha.md.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import grpc
import pytest

from ebsp_test_servers import ServerProcess, wait_until
from etcd_server import EtcdServer
from ready_router import ReadyRouter, serving, wait_for_leader

COORDINATOR = os.environ["EBSP_COORDINATOR"]
CHAOS_WORKER_CPP = os.environ["EBSP_CHAOS_WORKER"]
HERE = os.path.dirname(os.path.abspath(__file__))
CHAOS_WORKER_PY = os.path.join(HERE, "..", "..", "tools", "chaos", "chaos_worker.py")
LEASE_TTL_S = 2.0
# The target is TTL + 2 s; CI allows 3 s more for the shared 2-core machine
# (measured: most pauses 2-3 s, about 1 in 20 workers 5-5.7 s; docs/ha.md).
PAUSE_BOUND_S = float(os.environ.get("EBSP_HA_PAUSE_BOUND_S", LEASE_TTL_S + 5.0))
KILLS = int(os.environ.get("EBSP_HA_KILLS", "3"))
REPEATS = int(os.environ.get("EBSP_HA_REPEATS", "1"))  # SIGSTOP and rolling-update rounds.
ROUTER_MODE = os.environ.get("EBSP_HA_ROUTER", "any")
JOB = "hajob"
# How long a resumed replica's health may still say SERVING (see the SIGSTOP
# case): its election thread's etcd call timeout and a renewal round.
STALE_HEALTH_S = 3.0
# (client, mean iteration ms) of w0..w3.
WORKERS = (("cpp", 50), ("py", 60), ("cpp", 70), ("py", 80))


class Cluster:
    def __init__(self, tmp):
        self.tmp = tmp
        self.etcd = EtcdServer().start()
        self.replicas = []
        self.router = None
        self.workers = []

    def add_replica(self, port=0):
        replica = ServerProcess(COORDINATOR, [
            f"--ha_etcd_endpoints={self.etcd.endpoint}",
            f"--ha_lease_ttl={int(LEASE_TTL_S)}s",
            "--ha_etcd_prefix=/ebsp-test",
            "--heartbeat_timeout=3s",
            "--tick_interval=50ms",
        ]).start(grpc_port=port)
        self.replicas.append(replica)
        self.update_router()
        return replica

    def update_router(self):
        if self.router is not None:
            self.router.set_backends([r.target for r in self.replicas if r.process])

    def start(self, replicas=2):
        for _ in range(replicas):
            self.add_replica()
        self.router = ReadyRouter([r.target for r in self.replicas], mode=ROUTER_MODE).start()
        wait_for_leader(self.router, 20)
        for i, (client, iter_ms) in enumerate(WORKERS):
            history = os.path.join(self.tmp, f"w{i}.jsonl")
            flags = [f"--target={self.router.target}", f"--job={JOB}", f"--name=w{i}",
                     "--policy=ebsp:R=4", f"--iter_ms={iter_ms}", f"--history={history}",
                     f"--control_dir={self.tmp}"]
            command = ([CHAOS_WORKER_CPP, *flags, "--max_runtime=900s"] if client == "cpp" else
                       [sys.executable, CHAOS_WORKER_PY, *flags, "--max_runtime_s=900"])
            with open(os.path.join(self.tmp, f"w{i}.log"), "ab") as log:
                proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            self.workers.append((proc, history))
        wait_until(lambda: all(len(self.releases(i)) >= 3 for i in range(len(WORKERS))), 60,
                   "every worker to pass 3 barriers")
        return self

    def leader(self):
        target = wait_for_leader(self.router, 30)
        return next(r for r in self.replicas if r.process and r.target == target)

    def history(self, i):
        try:
            with open(self.workers[i][1]) as f:
                return [json.loads(line) for line in f if line.endswith("\n")]
        except FileNotFoundError:  # Not started yet.
            return []

    def releases(self, i, after=float("-inf")):
        return [e["t"] for e in self.history(i)
                if e["ev"] == "release" and e.get("synchronized", True) and e["t"] > after]

    def rejoined_at(self, i, after):
        """When worker i first registered again after `after` (None: not yet)."""
        return next((e["t"] for e in self.history(i)
                     if e["t"] > after and e.get("rejoined")), None)

    def assert_workers_alive(self):
        for i, (proc, _) in enumerate(self.workers):
            assert proc.poll() is None, (
                f"worker w{i} died with {proc.returncode}:\n"
                + open(os.path.join(self.tmp, f"w{i}.log")).read()[-3000:])

    def measure(self, t_fault, leader_lost=True):
        """Waits until every worker synchronized again after the fault (after
        registering again, if the fault cost the leader); returns (pause per
        worker, iterations each lost, when each synchronized again)."""
        def resumed_at(i):
            since = self.rejoined_at(i, t_fault) if leader_lost else t_fault
            if since is None:
                return None
            return next(iter(self.releases(i, since)), None)

        wait_until(lambda: all(resumed_at(i) is not None for i in range(len(WORKERS))),
                   PAUSE_BOUND_S + 30, "every worker to synchronize again after the fault",
                   poll_seconds=0.05)
        self.assert_workers_alive()
        pauses, lost, resumed = [], [], []
        for i in range(len(WORKERS)):
            before = max((t for t in self.releases(i) if t <= t_fault), default=t_fault)
            resumed.append(resumed_at(i))
            pauses.append(resumed[-1] - before)
            if leader_lost:
                rejoin = self.rejoined_at(i, t_fault)
                last_sync = max((t for t in self.releases(i) if t < rejoin), default=rejoin)
                lost.append(sum(1 for e in self.history(i)
                                if e["ev"] == "report" and last_sync < e["t"] <= rejoin))
        return pauses, lost, resumed

    def stop(self):
        """Asks every worker to leave; each must exit 0 (it never died)."""
        open(os.path.join(self.tmp, "stop"), "w").close()
        for i, (proc, _) in enumerate(self.workers):
            assert proc.wait(timeout=30) == 0, (
                f"worker w{i} exited with {proc.returncode}:\n"
                + open(os.path.join(self.tmp, f"w{i}.log")).read()[-3000:])

    def close(self):
        open(os.path.join(self.tmp, "stop"), "w").close()
        for proc, _ in self.workers:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self.router is not None:
            self.router.close()
        for r in self.replicas:
            if r.process is not None:
                os.kill(r.pid, signal.SIGCONT)  # A failed SIGSTOP case must not leave it frozen.
            r.close()
        self.etcd.close()


@pytest.fixture
def cluster(request):
    # EBSP_HA_KEEP=1: the work directory (histories, worker logs) is kept and
    # printed, for a look at a worker's timeline.
    keep = os.environ.get("EBSP_HA_KEEP") == "1"
    with tempfile.TemporaryDirectory(prefix="ebsp-ha-") as tmp:
        workdir = tempfile.mkdtemp(prefix=f"ebsp-ha-{request.node.name}-") if keep else tmp
        c = Cluster(workdir)
        try:
            yield c
        finally:
            c.close()
            if keep:
                print(f"kept {workdir}")


def report(name, pauses, lost=(), **extra):
    ordered = sorted(pauses)
    line = {"case": name, "lease_ttl_s": LEASE_TTL_S, "router": ROUTER_MODE,
            "faults": len(pauses) // len(WORKERS) or 1,
            "pause_median_s": round(ordered[len(ordered) // 2], 3),
            "pause_max_s": round(ordered[-1], 3),
            "pauses_s": [round(p, 3) for p in pauses], **extra}
    if lost:
        line["iterations_lost_median"] = sorted(lost)[len(lost) // 2]
        line["iterations_lost_max"] = max(lost)
    print(json.dumps(line))
    path = os.environ.get("EBSP_HA_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(line) + "\n")


def worst_per_fault(pauses):
    """The longest worker pause of each fault (pauses come in groups of 4)."""
    return [max(pauses[i:i + len(WORKERS)]) for i in range(0, len(pauses), len(WORKERS))]


def test_kill9_of_the_leader_fails_over_within_the_bound(cluster):
    cluster.start(replicas=2)
    pauses, lost, elections = [], [], []
    for _ in range(KILLS):
        leader = cluster.leader()
        port = leader.grpc_port
        t_fault = time.monotonic()
        leader.kill()
        wait_until(lambda: cluster.router.current_leader() not in (None, leader.target), 30,
                   "a new leader")
        elections.append(time.monotonic() - t_fault)
        p, l, _ = cluster.measure(t_fault)
        pauses += p
        lost += l
        leader.start(grpc_port=port)  # Back as a standby: two replicas again.
    report("kill9_leader", pauses, lost, rounds_lost_per_fault=1,
           election_median_s=round(sorted(elections)[len(elections) // 2], 3),
           election_max_s=round(max(elections), 3), worst_per_fault_s=worst_per_fault(pauses))
    cluster.stop()
    assert cluster.router.double_leader_sweeps == 0
    assert max(pauses) < PAUSE_BOUND_S, pauses


def test_a_leader_frozen_past_its_lease_never_answers_as_leader_again(cluster):
    cluster.start(replicas=2)
    pauses, lost, resumed_at = [], [], []
    for _ in range(REPEATS):
        old = cluster.leader()
        t_fault = time.monotonic()
        os.kill(old.pid, signal.SIGSTOP)
        try:
            p, l, _ = cluster.measure(t_fault)
            new = cluster.leader()
            assert new is not old
            # Frozen well past its lease (the workers' pause is at least TTL).
            assert time.monotonic() - t_fault > LEASE_TTL_S
        finally:
            os.kill(old.pid, signal.SIGCONT)
            resumed_at.append(time.monotonic())
        pauses += p
        lost += l
        # Fencing: the first thing the resumed replica answers is "not the
        # leader", and its health never says SERVING (the router's sweeps).
        with grpc.insecure_channel(old.target) as channel:
            get_job = channel.unary_unary("/elasticbsp.v1.Coordinator/GetJob")
            with pytest.raises(grpc.RpcError) as error:
                get_job(b"\x0a\x05hajob", timeout=5)
            assert error.value.code() == grpc.StatusCode.UNAVAILABLE, error.value
            assert "not the leader" in error.value.details()
        wait_until(lambda: not serving(old.target, timeout=0.5), STALE_HEALTH_S,
                   "the resumed replica's health to say NOT_SERVING")
        cluster.assert_workers_alive()
    # The API is fenced on every call (above). The health status (and
    # ebsp_ha_leader) is set by the replica's election thread, so after
    # SIGCONT, until that thread has run (its etcd call in flight when it
    # froze must end first), a resumed replica's health may still say
    # SERVING next to the new leader's: seen in about 1 run in 10. Such a
    # sweep must fall within STALE_HEALTH_S of a resume; any other fails.
    stale = [(a, b) for a, b in cluster.router.double_leader_sweep_times
             if any(t - 0.5 <= b and a <= t + STALE_HEALTH_S for t in resumed_at)]
    report("sigstop_leader", pauses, lost, rounds_lost_per_fault=1,
           worst_per_fault_s=worst_per_fault(pauses), stale_health_sweeps_after_sigcont=len(stale))
    cluster.stop()
    assert cluster.router.double_leader_sweeps == len(stale), cluster.router.double_leader_sweep_times
    assert max(pauses) < PAUSE_BOUND_S, pauses


def test_an_etcd_restart_costs_no_worker(cluster):
    cluster.start(replicas=2)
    leader = cluster.leader()
    changes = cluster.router.leader_changes
    t_fault = time.monotonic()
    cluster.etcd.kill()
    time.sleep(1.0)  # The outage being tested: etcd down for one second.
    cluster.etcd.start()
    t_back = time.monotonic()  # etcd healthy again: the fault is over.
    # Whether the leader renewed in time is decided once its lease would have
    # run out. etcd down for 1 s plus its start on a loaded machine can
    # outlast a 2 s lease: then the leader steps down and, since etcd gives
    # every lease a full TTL again when it restarts, a leader is elected a
    # TTL after etcd is back: a failover like the others, counted from then.
    decided = t_back + LEASE_TTL_S + 0.5
    wait_until(lambda: time.monotonic() > decided and cluster.router.current_leader(), 30,
               "a leader after the etcd restart")
    kept = cluster.router.leader_changes == changes  # Never stepped down.
    pauses, lost, resumed = cluster.measure(t_fault, leader_lost=not kept)
    after_back = [t - t_back for t in resumed]
    report("etcd_restart", pauses, lost, leader_kept=kept,
           etcd_down_s=round(t_back - t_fault, 3),
           resumed_after_etcd_back_max_s=round(max(after_back), 3))
    cluster.stop()
    assert cluster.router.double_leader_sweeps == 0
    assert max(after_back) < PAUSE_BOUND_S, after_back


def test_a_rolling_update_hands_over_without_waiting_for_the_lease(cluster):
    cluster.start(replicas=2)
    pauses, lost = [], []
    for _ in range(REPEATS):
        old = cluster.leader()
        cluster.add_replica()  # The new version starts first (maxUnavailable 0)...
        t_fault = time.monotonic()
        assert old.stop() == 0  # ...then the old leader gets SIGTERM and resigns.
        cluster.update_router()
        p, l, _ = cluster.measure(t_fault)
        pauses += p
        lost += l
        cluster.replicas.remove(old)
        old.close()
    report("rolling_update", pauses, lost, rounds_lost_per_fault=1,
           worst_per_fault_s=worst_per_fault(pauses))
    cluster.stop()
    assert cluster.router.double_leader_sweeps == 0
    assert max(pauses) < PAUSE_BOUND_S, pauses
