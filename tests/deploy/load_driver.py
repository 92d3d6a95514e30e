"""A small ElasticBSP training job against a real coordinator, to give the
dashboard and the rules real data: worker threads with different iteration
times register, report each iteration and pass barriers through the
generated gRPC stubs, and heartbeat in the background as the real clients
do; one worker goes silent once (no calls, no heartbeats) for longer than the
heartbeat timeout, is evicted, and registers again (a flap).

Needs the generated stubs: EBSP_PYTHON_GEN_DIR (or PYTHONPATH) must hold
elasticbsp/v1/coordinator_pb2{,_grpc}.py.
"""
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

sys.path.insert(0, os.environ.get("EBSP_PYTHON_GEN_DIR", ""))
import grpc  # noqa: E402
from elasticbsp.v1 import coordinator_pb2 as pb  # noqa: E402
from elasticbsp.v1 import coordinator_pb2_grpc as pb_grpc  # noqa: E402

CALL_TIMEOUT_S = 5.0
# Barrier waits for the slowest worker, and for an eviction during the flap.
BARRIER_TIMEOUT_S = 15.0
MAX_REGISTRATIONS_PER_WORKER = 20
# Well inside the 2 s lease the tests give the coordinator.
HEARTBEAT_INTERVAL_S = 0.4


@dataclass
class DriverStats:
    iterations: int = 0
    barriers: int = 0
    registrations: int = 0
    flaps: int = 0
    errors: List[str] = field(default_factory=list)


class LoadDriver:
    """Runs `workers` worker threads on job `job` until stop() or `duration_s`."""

    def __init__(self, target: str, job: str, workers: int = 4,
                 duration_s: float = 20.0, base_iteration_s: float = 0.02,
                 lookahead: int = 4, flap_after_s: Optional[float] = 4.0,
                 flap_silence_s: float = 3.5):
        self._channel = grpc.insecure_channel(target)
        self._stub = pb_grpc.CoordinatorStub(self._channel)
        self._job = job
        self._workers = workers
        self._duration_s = duration_s
        self._base_iteration_s = base_iteration_s
        self._lookahead = lookahead
        self._flap_after_s = flap_after_s
        self._flap_silence_s = flap_silence_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: List[threading.Thread] = []
        # worker index -> id its heartbeat thread keeps alive (absent: silent).
        self._heartbeat_ids: Dict[int, int] = {}
        self.stats = DriverStats()

    def start(self) -> None:
        self._started = time.monotonic()
        for index in range(self._workers):
            thread = threading.Thread(target=self._run_worker, args=(index,),
                                      name=f"ebsp-driver-w{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, join_timeout_s: float = 30.0) -> DriverStats:
        """Stops the workers (they Leave) and returns the totals; idempotent."""
        if self._stop.is_set():
            return self.stats
        self._stop.set()
        deadline = time.monotonic() + join_timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        self._channel.close()
        assert not alive, f"driver threads did not stop: {alive}"
        return self.stats

    def finished(self) -> bool:
        return time.monotonic() - self._started >= self._duration_s

    def _count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self.stats, name, getattr(self.stats, name) + amount)

    def _running(self) -> bool:
        return not self._stop.is_set() and not self.finished()

    def _set_heartbeat(self, index: int, worker_id: Optional[int]) -> None:
        with self._lock:
            if worker_id is None:
                self._heartbeat_ids.pop(index, None)
            else:
                self._heartbeat_ids[index] = worker_id

    def _heartbeat_loop(self, index: int, done: threading.Event) -> None:
        # Keeps the lease while the worker blocks in Barrier behind a slower one.
        while not done.wait(HEARTBEAT_INTERVAL_S):
            with self._lock:
                worker_id = self._heartbeat_ids.get(index)
            if worker_id is None:
                continue
            try:
                self._stub.Heartbeat(pb.HeartbeatRequest(job=self._job, worker_id=worker_id),
                                     timeout=CALL_TIMEOUT_S)
            except grpc.RpcError:
                pass  # The worker's own next call sees the same error and acts.

    def _run_worker(self, index: int) -> None:
        done = threading.Event()
        heartbeat = threading.Thread(target=self._heartbeat_loop, args=(index, done),
                                     name=f"ebsp-driver-hb{index}", daemon=True)
        heartbeat.start()
        try:
            self._work(index)
        finally:
            done.set()
            heartbeat.join(CALL_TIMEOUT_S + 1)

    def _work(self, index: int) -> None:
        name = f"driver-w{index}"
        # Heterogeneous: worker i is (1 + 0.5 i) times slower than worker 0.
        iteration_s = self._base_iteration_s * (1 + 0.5 * index)
        flap_pending = self._flap_after_s is not None and index == self._workers - 1
        worker_id = None
        for _ in range(MAX_REGISTRATIONS_PER_WORKER):
            if not self._running():
                break
            try:
                worker_id = None
                worker_id, round_, _ = self._register(index, name)
                while self._running():
                    if flap_pending and time.monotonic() - self._started >= self._flap_after_s:
                        flap_pending = False
                        self._count("flaps")
                        # Silent past the lease: the coordinator evicts us and
                        # our next call fails with NOT_FOUND.
                        self._set_heartbeat(index, None)
                        self._stop.wait(self._flap_silence_s)
                    round_ = self._run_round(worker_id, round_, iteration_s)
            except grpc.RpcError as error:
                code = error.code()
                if code == grpc.StatusCode.NOT_FOUND:
                    continue  # Evicted: register again, as real clients do.
                if not self._running():
                    break
                with self._lock:
                    self.stats.errors.append(f"{name}: {code.name}: {error.details()}")
                self._leave(worker_id)  # Start clean: the name must be free.
                worker_id = None
        self._set_heartbeat(index, None)
        self._leave(worker_id)

    def _leave(self, worker_id: Optional[int]) -> None:
        if worker_id is None:
            return
        try:
            self._stub.Leave(pb.LeaveRequest(job=self._job, worker_id=worker_id),
                             timeout=CALL_TIMEOUT_S)
        except grpc.RpcError:
            pass  # Already evicted or the coordinator is gone: nothing to undo.

    def _register(self, index: int, name: str):
        policy = pb.Policy(kind=pb.POLICY_KIND_ELASTIC_BSP, lookahead=self._lookahead)
        reply = self._stub.Register(
            pb.RegisterRequest(job=self._job, worker_name=name, policy_if_created=policy),
            timeout=CALL_TIMEOUT_S)
        self._count("registrations")
        self._set_heartbeat(index, reply.worker_id)
        round_, target = reply.round, reply.target
        if reply.state == pb.WORKER_STATE_PENDING:
            # Joined mid-round: wait for the current round to end.
            released = self._stub.Barrier(
                pb.BarrierRequest(job=self._job, worker_id=reply.worker_id, round=round_ - 1),
                timeout=BARRIER_TIMEOUT_S)
            round_, target = released.round, released.target
        return reply.worker_id, round_, target

    def _run_round(self, worker_id: int, round_: int, iteration_s: float) -> int:
        """Iterates until told to sync, passes the barrier; returns the next round."""
        iteration = 0
        while self._running():
            self._stop.wait(iteration_s)  # The "compute" of one iteration.
            iteration += 1
            reply = self._stub.ReportIteration(
                pb.ReportIterationRequest(job=self._job, worker_id=worker_id, round=round_,
                                          iteration=iteration, compute_seconds=iteration_s),
                timeout=CALL_TIMEOUT_S)
            self._count("iterations")
            if reply.directive == pb.DIRECTIVE_SYNC_NOW:
                released = self._stub.Barrier(
                    pb.BarrierRequest(job=self._job, worker_id=worker_id, round=round_),
                    timeout=BARRIER_TIMEOUT_S)
                self._count("barriers")
                return released.round
            if reply.directive == pb.DIRECTIVE_WAIT:
                self._stub.WaitForClock(
                    pb.WaitForClockRequest(job=self._job, worker_id=worker_id),
                    timeout=BARRIER_TIMEOUT_S)
        return round_
