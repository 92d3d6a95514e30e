"""A coordinator that goes away: the worker pauses (never dies) for the outage
budget, trains on within the bound it holds, writes two log lines per outage,
and resumes when the coordinator is back. Real coordinator processes on
127.0.0.1, stopped and restarted on the same port, or frozen with SIGSTOP;
one fake coordinator (an in-process gRPC server) only to see the request ids
a retried Register carries.
"""

import logging
import os
import re
import signal
import threading
import time
from concurrent import futures

import grpc
import pytest

import ebsp
from ebsp._stubs import pb, pb_grpc
from ebsp_test_servers import wait_until

OUTAGE_SECONDS = 20.0  # The case: the time Kubernetes takes to reschedule a pod.
FAST_RETRY = dict(initial_backoff_seconds=0.05, max_backoff_seconds=0.5)


def outage_lines(caplog, worker):
    """The ebsp log lines (WARNING and up) of one worker, as event names."""
    return [r.getMessage().split(" ")[0] for r in caplog.records
            if r.name == "ebsp" and r.levelno >= logging.WARNING
            and f" worker={worker} " in r.getMessage()]


def process_state(pid: int) -> str:
    """R, S, T (stopped), ... from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


class Worker(threading.Thread):
    """Runs BSP rounds with 5 ms iterations until told to stop, then leaves
    (so a partner already at the next barrier is released rather than left
    waiting for it); records when each barrier released and any error (a
    worker must never die)."""

    def __init__(self, client: ebsp.Client):
        super().__init__(daemon=True)
        self.client = client
        self.stop = threading.Event()
        self.released_at = []
        self.results = []
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                time.sleep(0.005)  # The iteration.
                if self.client.step_done(0.005):
                    result = self.client.sync()
                    self.results.append(result)
                    self.released_at.append(time.monotonic())
            self.client.leave()
        except BaseException as err:  # noqa: BLE001 - recorded, asserted below
            self.error = err


def test_a_20_second_outage_pauses_the_workers_and_they_resume(coordinator, job_name, caplog):
    caplog.set_level(logging.WARNING, logger="ebsp")
    retry = ebsp.RetryPolicy(**FAST_RETRY)
    clients = [ebsp.Client(coordinator.target, job_name, name, policy="bsp", retry=retry)
               for name in ("a", "b")]
    workers = [Worker(c) for c in clients]
    for w in workers:
        w.start()
    try:
        wait_until(lambda: all(len(w.released_at) >= 5 for w in workers), 30, "5 rounds each")
        port = coordinator.grpc_port
        coordinator.stop()
        stopped_at = time.monotonic()
        before = [len(w.released_at) for w in workers]
        time.sleep(OUTAGE_SECONDS)  # The outage itself (the fault, not a wait for a condition).
        assert all(w.is_alive() and w.error is None for w in workers), [w.error for w in workers]
        assert [len(w.released_at) for w in workers] == before  # Paused, not failed.
        coordinator.start(grpc_port=port)
        restarted_at = time.monotonic()
        wait_until(lambda: all(len(w.released_at) >= n + 5 for w, n in zip(workers, before)),
                   60, "5 rounds each after the restart")
    finally:
        for w in workers:
            w.stop.set()
        for w in workers:
            w.join(timeout=30)
        for c in clients:
            c.leave()  # Only a worker that failed to stop has not left yet.
    for w, n, name in zip(workers, before, ("a", "b")):
        assert w.error is None, f"worker {name} died: {w.error!r}"
        pause = w.released_at[n] - w.released_at[n - 1]
        resume = w.released_at[n] - restarted_at
        print(f"worker {name}: paused {pause:.1f} s; first barrier {resume:.2f} s after the "
              f"restart; outage {restarted_at - stopped_at:.1f} s")
        assert OUTAGE_SECONDS <= pause < OUTAGE_SECONDS + 15
        assert resume < 10
        assert outage_lines(caplog, name) == ["ebsp_client_outage_started",
                                              "ebsp_client_outage_ended"]
        assert w.client.registrations == 2


def test_a_spent_outage_budget_fails_the_call_saying_how_long_and_why(coordinator, job_name,
                                                                      caplog):
    caplog.set_level(logging.WARNING, logger="ebsp")
    retry = ebsp.RetryPolicy(outage_budget_seconds=1.0, **FAST_RETRY)
    with ebsp.Client(coordinator.target, job_name, "w", policy="bsp", retry=retry) as w:
        coordinator.stop()
        started = time.monotonic()
        with pytest.raises(ebsp.CoordinatorError) as caught:
            w.step_done(0.01)
        elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 6
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    assert caught.value.method == "ReportIteration"
    assert re.fullmatch(r"the coordinator was unreachable for 1\.\d s, which spent the outage "
                        r"budget of 1\.0 s \(\d+ failed attempts\); last status: UNAVAILABLE: .+",
                        caught.value.details), caught.value.details
    assert outage_lines(caplog, "w") == ["ebsp_client_outage_started",
                                         "ebsp_client_outage_gave_up"]


def test_leave_from_another_thread_ends_an_outage_wait_with_usage_error(coordinator, job_name):
    """A shutdown handler leaves while the training thread waits out an
    outage: the wait ends at once, saying so, instead of after the budget."""
    retry = ebsp.RetryPolicy(**FAST_RETRY)
    w = ebsp.Client(coordinator.target, job_name, "w", policy="bsp", retry=retry)
    assert w.step_done(0.01)
    coordinator.stop()
    with futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(w.sync)
        time.sleep(1.0)  # The outage's first retries (the fault, not a wait for a condition).
        assert not waiting.done()
        started = time.monotonic()
        w.leave()
        with pytest.raises(ebsp.UsageError, match="left while Barrier waited"):
            waiting.result(timeout=10)
        assert time.monotonic() - started < 5
    assert w.registrations == 1


def test_a_worker_trains_on_to_its_target_while_the_coordinator_is_frozen(coordinator, job_name,
                                                                         caplog):
    """SIGSTOP: the coordinator keeps its state but answers nothing. The worker
    runs on to its target without answers, then waits; after SIGCONT the kept
    reports go out in order and each counts once."""
    caplog.set_level(logging.WARNING, logger="ebsp")
    with ebsp.AdminClient(coordinator.target) as admin:
        admin.create_job(job_name, "local:H=6")
        retry = ebsp.RetryPolicy(**FAST_RETRY)
        with ebsp.Client(coordinator.target, job_name, "w", retry=retry, call_timeout=0.5) as w, \
                futures.ThreadPoolExecutor(1) as pool:
            assert w.target == 6
            os.kill(coordinator.pid, signal.SIGSTOP)
            try:
                wait_until(lambda: process_state(coordinator.pid) == "T", 10, "the freeze")
                for i in range(1, 6):
                    assert not w.step_done(0.01)
                    assert w.iteration == i
                assert w.unreported == 5
                at_target = pool.submit(w.step_done, 0.01)
                # At its target the worker waits: still waiting while the
                # coordinator stays frozen for a second (the fault's length).
                time.sleep(1.0)
                assert not at_target.done()
            finally:
                os.kill(coordinator.pid, signal.SIGCONT)
            assert at_target.result(timeout=20) is True
            assert w.unreported == 0
            job = admin.get_job(job_name)
            assert [(s.name, s.iterations_in_round) for s in job.workers] == [("w", 6)]
            result = w.sync()
            assert result.synchronized and not result.membership_changed
            assert w.registrations == 1
    assert outage_lines(caplog, "w") == ["ebsp_client_outage_started", "ebsp_client_outage_ended"]


class _RecordingCoordinator(pb_grpc.CoordinatorServicer):
    """Answers Register UNAVAILABLE twice, then as a coordinator would; keeps
    the request ids it saw."""

    def __init__(self):
        self.request_ids = []

    def Register(self, request, context):
        self.request_ids.append(request.request_id)
        if len(self.request_ids) % 3 != 0:
            context.abort(grpc.StatusCode.UNAVAILABLE, "restarting")
        return pb.RegisterResponse(worker_id=len(self.request_ids), round=0, target=1,
                                   state=pb.WORKER_STATE_RUNNING,
                                   policy=pb.Policy(kind=pb.POLICY_KIND_BSP),
                                   heartbeat_timeout_seconds=3600)


def test_register_sends_one_request_id_per_registration_the_same_on_its_retries():
    fake = _RecordingCoordinator()
    server = grpc.server(futures.ThreadPoolExecutor(2))
    pb_grpc.add_CoordinatorServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        retry = ebsp.RetryPolicy(initial_backoff_seconds=0.01, max_backoff_seconds=0.02)
        for name in ("a", "b"):
            ebsp.Client(f"127.0.0.1:{port}", "job", name, retry=retry).leave()
    finally:
        server.stop(grace=None)
    assert len(fake.request_ids) == 6
    first, second = fake.request_ids[:3], fake.request_ids[3:]
    assert len(set(first)) == 1 and len(set(second)) == 1, fake.request_ids
    assert first[0] != second[0]
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", first[0])


def test_create_job_sends_one_request_id_the_same_on_its_retries():
    class Fake(pb_grpc.CoordinatorServicer):
        ids = []

        def CreateJob(self, request, context):
            self.ids.append(request.request_id)
            if len(self.ids) < 3:
                context.abort(grpc.StatusCode.UNAVAILABLE, "restarting")
            return pb.Job(spec=request.spec)

    fake = Fake()
    server = grpc.server(futures.ThreadPoolExecutor(2))
    pb_grpc.add_CoordinatorServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        retry = ebsp.RetryPolicy(initial_backoff_seconds=0.01, max_backoff_seconds=0.02)
        with ebsp.AdminClient(f"127.0.0.1:{port}", retry=retry) as admin:
            admin.create_job("job", "bsp")
    finally:
        server.stop(grace=None)
    assert len(fake.ids) == 3 and len(set(fake.ids)) == 1 and fake.ids[0], fake.ids
