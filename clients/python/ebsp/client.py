"""Client: one training worker's handle on the ElasticBSP coordinator.

Mirrors the C++ client (clients/cpp/ebsp/client.h). A training loop reads

    with ebsp.Client("127.0.0.1:50051", job="resnet", worker_name="host:0",
                     policy="ebsp:R=8") as coord:
        for batch in data:
            train_one_iteration(batch)
            if coord.step_done():         # reports the iteration
                result = coord.sync()     # blocks at the round's barrier
                all_reduce_weights()      # the training stack's own sync

step_done() returns True exactly when the coordinator says "sync now"; under
SSP it blocks in WaitForClock when told to wait and returns False. The
constructor registers; a daemon thread heartbeats so a long iteration or a
long barrier wait does not lose the lease; leave() (or leaving the `with`
block) deregisters.

Failures: UNAVAILABLE, CANCELLED from a coordinator that is shutting down,
and a call whose own timeout ran out are retried with exponential backoff and
jitter for as long as the outage budget allows (RetryPolicy, ebsp.retry;
default 10 minutes): an unreachable coordinator pauses the worker, and one
log line marks the start and one the end of each outage (ebsp.outage). NOT_FOUND (the coordinator restarted, or evicted this
worker) makes the client register again under the same name; the next
SyncResult then has membership_changed=True, which is the signal to rebuild
the training stack's process group. Any other status is raised as a
CoordinatorError naming the method, code and the coordinator's message.

Thread-safety: one thread drives step_done()/sync()/leave(); the heartbeat
thread only reads the registration, under a lock.
"""

import dataclasses
import logging
import random
import threading
import time
from typing import Callable, Optional

import grpc

from ebsp._channel import TlsOptions, open_channel
from ebsp._stubs import pb, pb_grpc
from ebsp.errors import CoordinatorError, UsageError
from ebsp.outage import Outage
from ebsp.policy import PolicyLike, to_policy
from ebsp.retry import RetryPolicy, call_with_retry

_log = logging.getLogger("ebsp")

DEFAULT_CALL_TIMEOUT_SECONDS = 10.0
# A re-registration that itself gets NOT_FOUND (the job was deleted between
# the two calls) is retried this many times before giving up.
_MAX_REJOINS_PER_CALL = 3


@dataclasses.dataclass(frozen=True)
class SyncResult:
    """What a barrier returned: the round that begins now and our target in it."""

    round: int
    target: int
    waited_seconds: float
    # Membership changed since our previous sync (or registration): someone
    # joined, left or was evicted, or this worker itself had to register
    # again. A fixed-size process group must be rebuilt.
    membership_changed: bool
    membership_epoch: int = 0
    live_workers: int = 0


class Client:
    """A registered worker of one job. See the module docstring."""

    def __init__(self, target: str, job: str, worker_name: str,
                 auth_token: Optional[str] = None, policy: PolicyLike = None,
                 heartbeat_interval: Optional[float] = None,
                 call_timeout: float = DEFAULT_CALL_TIMEOUT_SECONDS,
                 retry: Optional[RetryPolicy] = None,
                 clock: Callable[[], float] = time.monotonic,
                 tls: Optional[TlsOptions] = None):
        if call_timeout <= 0:
            raise ValueError(f"call_timeout must be > 0 seconds, got {call_timeout}")
        if heartbeat_interval is not None and heartbeat_interval <= 0:
            raise ValueError(f"heartbeat_interval must be > 0 seconds, got {heartbeat_interval}")
        self._target = target
        self._job = job
        self._worker_name = worker_name
        self._auth_token = auth_token or ""
        self._policy_if_created = to_policy(policy)
        self._heartbeat_interval_override = heartbeat_interval
        self._call_timeout = call_timeout
        self._retry = retry or RetryPolicy()
        self._clock = clock
        self._rng = random.Random()
        self._closed = threading.Event()  # Set by leave(): stops heartbeats and backoffs.
        # The coordinator outage in progress, if any (training thread only).
        self._outage = Outage(self._retry, f"job={job} worker={worker_name}", rng=self._rng)

        self._channel = open_channel(target, tls)
        self._stub = pb_grpc.CoordinatorStub(self._channel)

        # Registration, read by the heartbeat thread.
        self._lock = threading.Lock()
        self._worker_id = 0

        # Driven by the training thread only.
        self._round = 0
        self._round_target = 0
        self._iteration = 0            # Reported iterations in the current round.
        self._pending = False          # Registered mid-round: barrier first.
        self._sync_due = False         # step_done() returned True, sync() not yet called.
        self._epoch_at_last_sync = 0
        # Registered again, or joined a running job, since the last sync.
        self._membership_news = False
        self._barrier_deadline = 0.0
        self._heartbeat_timeout = 0.0
        self._policy = pb.Policy()
        self._live_workers = 0
        self._registrations = 0
        self._last_mark = clock()

        try:
            self._register()
        except BaseException:
            self._channel.close()
            raise
        self._epoch_at_last_sync = self._membership_epoch
        self._heartbeat_thread = threading.Thread(
            target=self._heartbeat_loop, name=f"ebsp-heartbeat-{worker_name}", daemon=True)
        self._heartbeat_thread.start()

    # -- Public API ---------------------------------------------------------

    def step_done(self, compute_seconds: Optional[float] = None) -> bool:
        """Reports one finished iteration; True means "call sync() now".

        compute_seconds defaults to the time since the previous step_done()
        or sync() returned (or since registering). Under SSP a WAIT directive
        blocks here in WaitForClock and then returns False.
        """
        self._check_open()
        if self._sync_due:
            raise UsageError("step_done() called again after it returned True; call sync() first")
        now = self._clock()
        if compute_seconds is None:
            compute_seconds = max(0.0, now - self._last_mark)
        for _ in range(_MAX_REJOINS_PER_CALL + 1):
            if self._pending:
                # Joined mid-round: the only way in is the current barrier.
                self._sync_due = True
                return True
            request = pb.ReportIterationRequest(
                job=self._job, worker_id=self._worker_id, round=self._round,
                iteration=self._iteration + 1, compute_seconds=compute_seconds)
            try:
                response = self._call("ReportIteration", self._stub.ReportIteration, request)
            except CoordinatorError as err:
                if err.code != grpc.StatusCode.NOT_FOUND:
                    raise
                self._rejoin(err)
                continue
            self._iteration += 1
            self._round_target = response.target
            if response.directive == pb.DIRECTIVE_SYNC_NOW:
                self._sync_due = True
                self._last_mark = self._clock()
                return True
            if response.directive == pb.DIRECTIVE_WAIT:
                self._wait_for_clock()
            self._last_mark = self._clock()
            return False
        raise CoordinatorError("ReportIteration", grpc.StatusCode.NOT_FOUND,
                               f"worker {self._worker_name!r} kept being unknown after "
                               f"{_MAX_REJOINS_PER_CALL} re-registrations")

    def sync(self) -> SyncResult:
        """Blocks at the barrier of the current round until it releases.

        Call it exactly when step_done() returned True; afterwards do the
        training stack's own synchronization. If this worker had to register
        again (coordinator restart, eviction) and joined a fresh round, it
        returns without a barrier and with membership_changed=True. After a
        DEADLINE_EXCEEDED (the message names the workers still missing) the
        sync is still due: calling sync() again re-joins the same barrier.
        """
        self._check_open()
        if not self._sync_due:
            raise UsageError("sync() called but step_done() has not returned True")
        started = self._clock()
        for _ in range(_MAX_REJOINS_PER_CALL + 1):
            barrier_round = self._round - 1 if self._pending else self._round
            request = pb.BarrierRequest(job=self._job, worker_id=self._worker_id,
                                        round=barrier_round)
            try:
                response = self._call("Barrier", self._stub.Barrier, request,
                                      timeout=self._blocking_timeout())
            except CoordinatorError as err:
                if err.code != grpc.StatusCode.NOT_FOUND:
                    raise
                self._rejoin(err)
                if self._pending:
                    continue
                # A fresh registration runs the new round from its start.
                return self._finish_sync(self._round, self._round_target, started,
                                         self._membership_epoch, self._live_workers)
            return self._finish_sync(response.round, response.target, started,
                                     response.membership_epoch, response.live_workers,
                                     waited=response.waited_seconds)
        raise CoordinatorError("Barrier", grpc.StatusCode.NOT_FOUND,
                               f"worker {self._worker_name!r} kept being unknown after "
                               f"{_MAX_REJOINS_PER_CALL} re-registrations")

    def leave(self) -> None:
        """Deregisters and closes the channel. Idempotent; never raises for a
        coordinator that is gone (the lease would expire anyway)."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._heartbeat_thread.join(timeout=self._call_timeout)
        with self._lock:
            worker_id = self._worker_id
        try:
            self._stub.Leave(pb.LeaveRequest(job=self._job, worker_id=worker_id),
                             timeout=min(self._call_timeout, 2.0))
        except grpc.RpcError as err:
            _log.debug("ebsp: Leave of %s failed: %s", self._worker_name, err)
        self._channel.close()

    close = leave

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info) -> None:
        self.leave()

    # -- Read-only state ----------------------------------------------------

    @property
    def job(self) -> str:
        return self._job

    @property
    def worker_name(self) -> str:
        return self._worker_name

    @property
    def worker_id(self) -> int:
        with self._lock:
            return self._worker_id

    @property
    def round(self) -> int:
        """The round this worker runs (for a pending worker: the next one)."""
        return self._round

    @property
    def target(self) -> int:
        """Iterations to run in this round before syncing (0 while pending)."""
        return self._round_target

    @property
    def iteration(self) -> int:
        """Iterations reported in the current round."""
        return self._iteration

    @property
    def pending(self) -> bool:
        return self._pending

    @property
    def policy(self) -> "pb.Policy":
        """The job's policy as the coordinator reported it at registration."""
        return self._policy

    @property
    def membership_epoch(self) -> int:
        return self._membership_epoch

    @property
    def live_workers(self) -> int:
        return self._live_workers

    @property
    def registrations(self) -> int:
        """How many times this client registered (1 + re-registrations)."""
        return self._registrations

    @property
    def heartbeat_interval(self) -> float:
        return self._heartbeat_interval

    # -- Internals ----------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed.is_set():
            raise UsageError(f"client of worker {self._worker_name!r} already left")

    def _call(self, method: str, fn, request, timeout: Optional[float] = None):
        timeout = timeout or self._call_timeout
        try:
            return call_with_retry(lambda: fn(request, timeout=timeout), self._retry,
                                   stop=self._closed, rng=self._rng, method=method,
                                   timeout=timeout, outage=self._outage)
        except grpc.RpcError as err:
            raise CoordinatorError.from_rpc_error(method, err) from None

    def _blocking_timeout(self) -> float:
        # The coordinator ends a wait itself after barrier_deadline_seconds
        # (DEADLINE_EXCEEDED naming who is missing); our own deadline only
        # guards against a coordinator that never answers.
        return self._barrier_deadline + self._call_timeout

    def _register(self) -> None:
        request = pb.RegisterRequest(job=self._job, worker_name=self._worker_name,
                                     auth_token=self._auth_token,
                                     policy_if_created=self._policy_if_created)
        response = self._call("Register", self._stub.Register, request)
        with self._lock:
            self._worker_id = response.worker_id
        self._round = response.round
        self._round_target = response.target
        self._iteration = 0
        self._pending = response.state == pb.WORKER_STATE_PENDING
        if self._pending:
            self._membership_news = True
        self._sync_due = False
        self._membership_epoch = response.membership_epoch
        self._live_workers = response.live_workers
        self._policy = response.policy
        self._barrier_deadline = response.barrier_deadline_seconds
        self._heartbeat_timeout = response.heartbeat_timeout_seconds
        self._heartbeat_interval = self._heartbeat_interval_override or max(
            0.05, self._heartbeat_timeout / 3 if self._heartbeat_timeout > 0 else 1.0)
        self._registrations += 1

    def _rejoin(self, cause: CoordinatorError) -> None:
        _log.warning("ebsp: worker %s registers again after %s", self._worker_name, cause)
        self._register()
        self._membership_news = True

    def _wait_for_clock(self) -> None:
        request = pb.WaitForClockRequest(job=self._job, worker_id=self._worker_id)
        try:
            self._call("WaitForClock", self._stub.WaitForClock, request,
                       timeout=self._blocking_timeout())
        except CoordinatorError as err:
            if err.code != grpc.StatusCode.NOT_FOUND:
                raise
            # Registered again, clocks start over: nobody to wait for.
            self._rejoin(err)

    def _finish_sync(self, round_: int, target: int, started: float, epoch: int,
                     live_workers: int, waited: Optional[float] = None) -> SyncResult:
        now = self._clock()
        changed = self._membership_news or epoch != self._epoch_at_last_sync
        self._round = round_
        self._round_target = target
        self._iteration = 0
        self._pending = False
        self._sync_due = False
        self._membership_news = False
        self._membership_epoch = epoch
        self._epoch_at_last_sync = epoch
        self._live_workers = live_workers
        self._last_mark = now
        return SyncResult(round=round_, target=target,
                          waited_seconds=now - started if waited is None else waited,
                          membership_changed=changed, membership_epoch=epoch,
                          live_workers=live_workers)

    def _heartbeat_loop(self) -> None:
        # Bounded by the closed event. A failed heartbeat is not fatal and not
        # logged (during an outage every one fails; the training thread's
        # calls log the outage once): the training thread sees NOT_FOUND on its
        # next call and registers again.
        while not self._closed.wait(self._heartbeat_interval):
            with self._lock:
                request = pb.HeartbeatRequest(job=self._job, worker_id=self._worker_id)
            try:
                self._stub.Heartbeat(request, timeout=min(self._call_timeout,
                                                          max(self._heartbeat_interval, 0.5)))
            except grpc.RpcError:
                pass
