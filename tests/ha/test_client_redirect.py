"""The Python client against two real coordinator replicas sharing a real etcd
(lease TTL 2 s), as tests/ha/client_redirect_test.cc does for C++: a
standby's leader hint is followed at once (worker and admin client), the
client goes back to its configured target when the leader it was sent to
dies, waits as an outage while no leader is elected, leaves a frozen
(SIGSTOPped) leader within seconds, and two servers naming each other cannot
make it loop (two in-process gRPC servers on 127.0.0.1 that only redirect).
"""

import logging
import os
import signal
import threading
import time
from concurrent import futures

import grpc
import pytest

import ebsp
from ebsp_test_servers import ServerProcess, wait_until
from etcd_server import EtcdServer

COORDINATOR = os.environ["EBSP_COORDINATOR"]
LEASE_TTL_S = 2.0
# Election (TTL + a 250 ms poll) plus the client's way there: a backoff of at
# most 3 s (2 s + 50 % jitter), or the probe's 1 s interval + 2 s deadline;
# with margin for a loaded 2-core machine.
FAILOVER_BOUND_S = LEASE_TTL_S + 6.0
JOB = "hajob"


def probe(target):
    """(code, leader hint) of GetJob of a job nobody created."""
    with grpc.insecure_channel(target) as channel:
        get_job = channel.unary_unary("/elasticbsp.v1.Coordinator/GetJob")
        try:
            get_job(b"\x0a\x0bno-such-job", timeout=1)
        except grpc.RpcError as err:
            hint = dict(err.trailing_metadata() or ()).get("ebsp-leader")
            return err.code(), hint
    return grpc.StatusCode.OK, None


class Pair:
    def __init__(self):
        self.etcd = EtcdServer().start()
        self.replicas = []
        self.leader = self.standby = None

    def start_replica(self):
        replica = ServerProcess(COORDINATOR, [
            f"--ha_etcd_endpoints={self.etcd.endpoint}",
            f"--ha_lease_ttl={int(LEASE_TTL_S)}s",
            "--ha_etcd_prefix=/ebsp-py-redirect",
            "--heartbeat_timeout=3s",
            "--tick_interval=50ms",
        ]).start()
        self.replicas.append(replica)
        return replica

    def start(self):
        a, b = self.start_replica(), self.start_replica()

        def elected():
            (code_a, hint_a), (code_b, hint_b) = probe(a.target), probe(b.target)
            if code_a == grpc.StatusCode.NOT_FOUND and hint_b == a.target:
                return a, b
            if code_b == grpc.StatusCode.NOT_FOUND and hint_a == b.target:
                return b, a
            return None

        self.leader, self.standby = wait_until(elected, 20, "a leader named by the standby", 0.05)
        return self

    def close(self):
        for r in self.replicas:
            if r.process is not None:
                os.kill(r.pid, signal.SIGCONT)
            r.close()
        self.etcd.close()


@pytest.fixture
def pair():
    p = Pair()
    try:
        yield p
    finally:
        p.close()


def outage_lines(caplog, event):
    return [r for r in caplog.records if r.name == "ebsp" and event in r.getMessage()]


def live_workers(target):
    with ebsp.AdminClient(target) as admin:
        return len(admin.get_job(JOB).workers)


def step(client):
    """One iteration of a one-worker BSP job: every one ends at the barrier."""
    if client.step_done(compute_seconds=0.001):
        return client.sync()
    return None


def test_a_standby_sends_the_client_to_the_leader_at_once_without_an_outage(pair, caplog):
    caplog.set_level(logging.WARNING, logger="ebsp")
    pair.start()
    started = time.monotonic()
    with ebsp.Client(pair.standby.target, job=JOB, worker_name="w0", policy="bsp") as client:
        assert time.monotonic() - started < 2.0  # No backoff: followed within the attempt.
        for _ in range(5):
            step(client)
        assert client.registrations == 1
        assert live_workers(pair.leader.target) == 1
        # The admin client follows the hint too (its metadata goes along).
        with ebsp.AdminClient(pair.standby.target) as admin:
            assert len(admin.get_job(JOB).workers) == 1
    assert outage_lines(caplog, "ebsp_client_outage_started") == []


def test_goes_back_to_the_configured_target_when_the_leader_it_was_sent_to_dies(pair, caplog):
    caplog.set_level(logging.WARNING, logger="ebsp")
    pair.start()
    with ebsp.Client(pair.standby.target, job=JOB, worker_name="w0", policy="bsp") as client:
        step(client)
        killed = time.monotonic()
        pair.leader.kill()
        # The standby names the dead leader until its lease ends, then leads.
        while client.registrations < 2:
            assert time.monotonic() - killed < FAILOVER_BOUND_S
            step(client)
        assert time.monotonic() - killed < FAILOVER_BOUND_S
        assert live_workers(pair.standby.target) == 1
        step(client)
    assert len(outage_lines(caplog, "ebsp_client_outage_started")) == 1
    assert len(outage_lines(caplog, "ebsp_client_outage_ended")) == 1


def test_waits_as_an_outage_while_no_leader_is_elected(pair, caplog):
    caplog.set_level(logging.WARNING, logger="ebsp")
    pair.etcd.kill()  # The replica serves, as a standby that knows no leader.
    replica = pair.start_replica()
    assert probe(replica.target) == (grpc.StatusCode.UNAVAILABLE, None)
    result = {}

    def connect():
        try:
            result["client"] = ebsp.Client(replica.target, job=JOB, worker_name="w0",
                                           policy="bsp")
        except Exception as err:  # noqa: BLE001 (reported by the assertion below)
            result["error"] = err

    thread = threading.Thread(target=connect)
    thread.start()
    wait_until(lambda: outage_lines(caplog, "ebsp_client_outage_started"), 10,
               "the outage to begin")
    pair.etcd.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert "error" not in result, result
    with result["client"] as client:
        step(client)
        assert client.registrations == 1
    assert len(outage_lines(caplog, "ebsp_client_outage_started")) == 1
    assert len(outage_lines(caplog, "ebsp_client_outage_ended")) == 1


def test_a_worker_parked_on_a_frozen_leader_moves_to_the_new_one(pair):
    pair.start()
    w0 = ebsp.Client(pair.standby.target, job=JOB, worker_name="w0", policy="bsp")
    w1 = ebsp.Client(pair.standby.target, job=JOB, worker_name="w1", policy="bsp")
    old = pair.leader
    try:
        assert w0.step_done(compute_seconds=0.001)
        result = {}
        waiter = threading.Thread(target=lambda: result.update(sync=w0.sync()))
        waiter.start()
        with ebsp.AdminClient(old.target) as admin:
            wait_until(lambda: len(admin.get_job(JOB).barrier.arrived_worker_ids) == 1, 10,
                       "w0 to wait at the barrier")
        frozen = time.monotonic()
        os.kill(old.pid, signal.SIGSTOP)
        try:
            waiter.join(timeout=FAILOVER_BOUND_S)
            took = time.monotonic() - frozen
        finally:
            os.kill(old.pid, signal.SIGCONT)
        waiter.join(timeout=30)
        print(f"frozen leader left after {took:.2f} s (probe)")
        assert took < FAILOVER_BOUND_S
        assert result["sync"].synchronized is False  # Registered again at the new leader.
        assert w0.registrations == 2
        assert live_workers(pair.standby.target) == 1
        # The thawed replica never answers as the leader again.
        assert probe(old.target)[0] == grpc.StatusCode.UNAVAILABLE
        wait_until(lambda: probe(old.target) == (grpc.StatusCode.UNAVAILABLE,
                                                 pair.standby.target), 10,
                   "the thawed replica to name the new leader")
    finally:
        w0.leave()
        w1.leave()


class _Redirector:
    """A gRPC server on 127.0.0.1 that answers every Coordinator call the way
    a standby does, naming ``other`` as the leader; counts the calls."""

    def __init__(self):
        self.other = None
        self.calls = 0
        self._lock = threading.Lock()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.port = self.server.add_insecure_port("127.0.0.1:0")

        def answer(request, context):
            with self._lock:
                self.calls += 1
            context.set_trailing_metadata((("ebsp-leader", self.other),))
            context.abort(grpc.StatusCode.UNAVAILABLE,
                          f"not the leader; the leader is at {self.other}")

        handler = grpc.unary_unary_rpc_method_handler(answer)
        self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
            "elasticbsp.v1.Coordinator", {"Register": handler}),))
        self.server.start()

    @property
    def target(self):
        return f"127.0.0.1:{self.port}"


def test_two_servers_naming_each_other_cannot_make_the_client_loop(caplog):
    caplog.set_level(logging.WARNING, logger="ebsp")
    a, b = _Redirector(), _Redirector()
    a.other, b.other = b.target, a.target
    try:
        retry = ebsp.RetryPolicy(outage_budget_seconds=1.0)
        with pytest.raises(ebsp.CoordinatorError) as error:
            ebsp.Client(a.target, job=JOB, worker_name="w0", retry=retry)
        assert error.value.code == grpc.StatusCode.UNAVAILABLE
        assert "outage budget" in str(error.value)
        attempts = int(outage_lines(caplog, "ebsp_client_outage_gave_up")[0].getMessage()
                       .split("failed_attempts=")[1].split()[0])
        # Each attempt: the configured target and at most two redirects.
        assert a.calls + b.calls <= 3 * attempts, (a.calls, b.calls, attempts)
        assert attempts <= 10  # Backed off between attempts (50 ms doubling, 1 s budget).
        assert len(outage_lines(caplog, "ebsp_client_outage_started")) == 1
    finally:
        a.server.stop(0)
        b.server.stop(0)
