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
log line marks the start and one the end of each outage (ebsp.outage). While
the coordinator is away the worker trains on up to the bound it holds (see
step_done). NOT_FOUND (the coordinator restarted, or evicted this worker)
makes the client register again under the same name; the report that got it
is not sent again (as in the C++ client), and a sync() that got it returns
synchronized=False. A standby replica's UNAVAILABLE naming the leader (high availability) sends
the call there at once; when that leader fails, the client goes back to the
configured target (ebsp._connection). The heartbeat doubles as a liveness
probe: one unanswered for max(2 s, its interval) cancels the call in flight
and retries it on a fresh channel, which is probed at once (from the third
unanswered probe in a row the timeout doubles, up to the call timeout, so a
slow link cannot lose every call). A frozen coordinator holds a worker for
seconds, not until gRPC's keepalive (10 s pings, 5 s timeout).
SyncResult.membership_changed says whether the set of
worker names changed (membership_fingerprint), the signal to rebuild the
training stack's process group. Any other status is raised as a
CoordinatorError naming the method, code and the coordinator's message.

Thread-safety: one thread drives step_done()/sync()/leave(); the heartbeat
thread only reads the registration, under a lock.
"""

import collections
import dataclasses
import logging
import random
import threading
import time
import uuid
from typing import Callable, Optional

import grpc

from ebsp._channel import TlsOptions
from ebsp._connection import Connection
from ebsp._stubs import pb
from ebsp.errors import CoordinatorError, UsageError
from ebsp.outage import Outage
from ebsp.policy import PolicyLike, to_policy
from ebsp.retry import RetryPolicy, call_with_retry, try_once

_log = logging.getLogger("ebsp")

DEFAULT_CALL_TIMEOUT_SECONDS = 10.0
# A re-registration that itself gets NOT_FOUND (the job was deleted between
# the two calls) is retried this many times before giving up.
_MAX_REJOINS_PER_CALL = 3
# A heartbeat unanswered for max(this, its interval), at most the call
# timeout, marks the coordinator frozen: high enough that a loaded machine or
# a slow link (the chaos suite's 400 ms each way) still answers in time.
_PROBE_MIN_DEADLINE_SECONDS = 2.0
# ASP: iterations a worker runs on while the coordinator is away (their
# compute times wait in memory to be reported): a day at 1 iteration/s.
_MAX_UNREPORTED = 100000


@dataclasses.dataclass(frozen=True)
class SyncResult:
    """What a barrier returned: the round that begins now and our target in it."""

    round: int
    target: int
    waited_seconds: float
    # The set of worker names released from this barrier differs from the
    # set of the previous one (the proto's "Membership": fingerprints
    # compared; epochs, and any re-registration, with a coordinator that
    # sends none). Only this means "rebuild a fixed-size process group": the
    # same names coming back after a coordinator restart do not.
    membership_changed: bool
    membership_epoch: int = 0
    live_workers: int = 0
    # False: there was no barrier (this worker had to register again while
    # waiting, after a coordinator restart, and starts the round it joined
    # afresh). Nobody else synchronizes now: skip the all-reduce this time.
    synchronized: bool = True
    membership_fingerprint: int = 0


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

        # Follows leader hints; abandoned by the heartbeat when unresponsive.
        self._conn = Connection(target, tls)

        # Registration, read by the heartbeat thread.
        self._lock = threading.Lock()
        self._worker_id = 0

        # Driven by the training thread only.
        self._round = 0
        self._round_target = 0
        self._iteration = 0            # Iterations done in the current round.
        # Compute seconds of iterations done but not acknowledged, oldest first.
        self._unreported = collections.deque()
        # SSP: an upper bound on (own clock - slowest clock).
        self._ssp_lead_bound = 0
        self._pending = False          # Registered mid-round: barrier first.
        self._sync_due = False         # step_done() returned True, sync() not yet called.
        self._membership_epoch = 0     # Of the last reply.
        self._membership_fingerprint = 0
        # At the last barrier (or the first registration).
        self._epoch_at_last_sync = 0
        self._fingerprint_at_last_sync = 0
        self._rejoined_since_sync = False
        self._released_once = False    # Passed a barrier release (ever).
        self._barrier_deadline = 0.0
        self._heartbeat_timeout = 0.0
        self._policy = pb.Policy()
        self._has_rounds = True
        self._live_workers = 0
        self._registrations = 0
        self._last_mark = clock()

        try:
            self._register()
        except BaseException:
            self._conn.close()
            raise
        self._heartbeat_thread = threading.Thread(
            target=self._heartbeat_loop, name=f"ebsp-heartbeat-{worker_name}", daemon=True)
        self._heartbeat_thread.start()

    # -- Public API ---------------------------------------------------------

    def step_done(self, compute_seconds: Optional[float] = None) -> bool:
        """Reports one finished iteration; True means "call sync() now".

        compute_seconds defaults to the time since the previous step_done()
        or sync() returned (or since registering). Under SSP a WAIT directive
        blocks here in WaitForClock and then returns False.

        While the coordinator is unreachable the worker trains on up to the
        bound it holds (its target under round policies, what provably keeps
        the staleness bound under SSP, freely under ASP): step_done() returns
        False without an answer and keeps the report (``unreported``); at the
        bound it waits for the coordinator, within the outage budget. When the
        coordinator answers again the kept reports go out in order. If it
        forgot this worker (NOT_FOUND: restart, eviction) the worker registers
        again and the reports not made by then are counted here only, not
        re-reported: the worker starts afresh in the round it joined.
        """
        self._check_open()
        if self._sync_due:
            raise UsageError("step_done() called again after it returned True; call sync() first")
        now = self._clock()
        if compute_seconds is None:
            compute_seconds = max(0.0, now - self._last_mark)
        if self._pending:
            # Joined mid-round: the only way in is the current barrier.
            self._sync_due = True
            return True
        self._unreported.append(compute_seconds)
        self._iteration += 1
        self._ssp_lead_bound += 1
        self._report_unreported()
        self._last_mark = self._clock()
        return self._sync_due

    def sync(self) -> SyncResult:
        """Blocks at the barrier of the current round until it releases.

        Call it exactly when step_done() returned True; afterwards do the
        training stack's own synchronization (unless ``synchronized`` is
        False). If this worker had to register again while waiting (a
        coordinator restart) and runs the round it joined from its start, it
        returns without a barrier: synchronized=False, and nobody else
        synchronizes now. After a DEADLINE_EXCEEDED (the message names the
        workers still missing) the sync is still due: calling sync() again
        re-joins the same barrier.
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
                response = self._call("Barrier", request,
                                      timeout=self._blocking_timeout())
            except CoordinatorError as err:
                if err.code != grpc.StatusCode.NOT_FOUND:
                    raise
                self._rejoin(err)
                if self._pending:
                    continue
                # A fresh registration runs the new round from its start.
                self._sync_due = False
                self._last_mark = self._clock()
                return SyncResult(round=self._round, target=self._round_target,
                                  waited_seconds=self._last_mark - started,
                                  membership_changed=False,
                                  membership_epoch=self._membership_epoch,
                                  live_workers=self._live_workers, synchronized=False,
                                  membership_fingerprint=self._membership_fingerprint)
            return self._finish_sync(response, started)
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
            self._conn.stub.Leave(pb.LeaveRequest(job=self._job, worker_id=worker_id),
                                  timeout=min(self._call_timeout, 2.0))
        except grpc.RpcError as err:
            _log.debug("ebsp: Leave of %s failed: %s", self._worker_name, err)
        self._conn.close()

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
    def unreported(self) -> int:
        """Iterations done but not acknowledged by the coordinator (only while
        it is unreachable and the worker trains on within its bound)."""
        return len(self._unreported)

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

    def _call(self, method: str, request, timeout: Optional[float] = None):
        timeout = timeout or self._call_timeout
        try:
            return call_with_retry(lambda: getattr(self._conn.stub, method)(request,
                                                                            timeout=timeout),
                                   self._retry, stop=self._closed, rng=self._rng, method=method,
                                   timeout=timeout, outage=self._outage, connection=self._conn)
        except grpc.RpcError as err:
            raise self._error(method, err)

    def _try_call(self, method: str, request):
        """One attempt (ebsp.retry.try_once): (answered, response)."""
        try:
            return try_once(lambda: getattr(self._conn.stub, method)(request,
                                                                     timeout=self._call_timeout),
                            self._outage, method=method, timeout=self._call_timeout,
                            connection=self._conn)
        except grpc.RpcError as err:
            raise self._error(method, err)

    def _error(self, method: str, err: grpc.RpcError) -> Exception:
        """What a failed call raises, its cause set as `raise ... from` would
        (the gRPC error itself is left out: its status is in the message)."""
        error = CoordinatorError.from_rpc_error(method, err)
        if not self._closed.is_set():
            error.__cause__ = None
            return error
        # leave() from another thread ended this call (its registration is
        # gone, its channel closed, or its backoff cut short): the caller's
        # own shutdown, not a fault, and not a reason to register again.
        left = UsageError(f"client of worker {self._worker_name!r} left while {method} waited")
        left.__cause__ = error
        return left

    def _blocking_timeout(self) -> float:
        # The coordinator ends a wait itself after barrier_deadline_seconds
        # (DEADLINE_EXCEEDED naming who is missing); our own deadline only
        # guards against a coordinator that never answers.
        return self._barrier_deadline + self._call_timeout

    def _register(self) -> None:
        # One request id per registration, the same on each of its retries:
        # a retry whose original was applied gets the original answer.
        request = pb.RegisterRequest(job=self._job, worker_name=self._worker_name,
                                     auth_token=self._auth_token,
                                     policy_if_created=self._policy_if_created,
                                     request_id=uuid.uuid4().hex)
        response = self._call("Register", request)
        with self._lock:
            self._worker_id = response.worker_id
        self._round = response.round
        self._round_target = response.target
        self._iteration = 0
        self._unreported.clear()
        self._ssp_lead_bound = 0  # A joiner's clock starts at the slowest one.
        self._pending = response.state == pb.WORKER_STATE_PENDING
        self._sync_due = False
        self._membership_epoch = response.membership_epoch
        self._membership_fingerprint = response.membership_fingerprint
        self._live_workers = response.live_workers
        self._policy = response.policy
        self._has_rounds = self._policy.kind not in (pb.POLICY_KIND_ASP, pb.POLICY_KIND_SSP) \
            and self._policy.kind != getattr(pb, "POLICY_KIND_DSSP", -1)
        self._barrier_deadline = response.barrier_deadline_seconds
        self._heartbeat_timeout = response.heartbeat_timeout_seconds
        self._heartbeat_interval = self._heartbeat_interval_override or max(
            0.05, self._heartbeat_timeout / 3 if self._heartbeat_timeout > 0 else 1.0)
        self._registrations += 1
        if self._registrations == 1:
            self._mark_synchronized()
        else:
            self._rejoined_since_sync = True

    def _rejoin(self, cause: CoordinatorError) -> None:
        # Right after an outage the outage's end line already says NOT_FOUND.
        level = logging.DEBUG if self._outage.ended_with_not_found else logging.WARNING
        _log.log(level, "ebsp_client_registers_again job=%s worker=%s cause=%r",
                 self._job, self._worker_name, str(cause))
        self._register()

    def _may_train_on_unanswered(self) -> bool:
        """Another iteration may start without an answer (see step_done)."""
        if self._has_rounds:
            return self._iteration < self._round_target
        if self._policy.kind == pb.POLICY_KIND_ASP:
            return len(self._unreported) < _MAX_UNREPORTED
        return self._ssp_lead_bound < self._policy.staleness

    def _report_unreported(self) -> None:
        while self._unreported:
            request = pb.ReportIterationRequest(
                job=self._job, worker_id=self._worker_id, round=self._round,
                iteration=self._iteration - len(self._unreported) + 1,
                compute_seconds=self._unreported[0])
            try:
                if self._may_train_on_unanswered():
                    answered, response = self._try_call("ReportIteration", request)
                    if not answered:
                        return  # Train on; the report stays for the next call.
                else:
                    response = self._call("ReportIteration", request)
            except CoordinatorError as err:
                if err.code == grpc.StatusCode.NOT_FOUND:
                    # Not re-reported: counted here, the worker starts afresh.
                    self._rejoin(err)
                    if self._pending:
                        self._sync_due = True
                    return
                # Refused: the iteration (and any behind it) is not counted.
                self._iteration -= len(self._unreported)
                self._ssp_lead_bound -= len(self._unreported)
                self._unreported.clear()
                raise
            self._unreported.popleft()
            self._round_target = response.target
            self._membership_epoch = response.membership_epoch
            self._membership_fingerprint = response.membership_fingerprint
            if response.directive == pb.DIRECTIVE_SYNC_NOW:
                self._sync_due = True
                # Targets never move down: nothing is left behind the target.
                self._iteration -= len(self._unreported)
                self._unreported.clear()
            elif response.directive == pb.DIRECTIVE_WAIT:
                if not self._wait_for_clock():
                    return

    def _wait_for_clock(self) -> bool:
        """False if the worker had to register again meanwhile."""
        request = pb.WaitForClockRequest(job=self._job, worker_id=self._worker_id)
        try:
            response = self._call("WaitForClock", request,
                                  timeout=self._blocking_timeout())
        except CoordinatorError as err:
            if err.code != grpc.StatusCode.NOT_FOUND:
                raise
            # Registered again, clocks start over: nobody to wait for.
            self._rejoin(err)
            return False
        self._ssp_lead_bound = (response.own_clock - response.slowest_clock
                                + len(self._unreported))
        return True

    def _changed_since_sync(self, fingerprint: int, epoch: int) -> bool:
        if fingerprint and self._fingerprint_at_last_sync:
            if self._pending and not self._released_once:
                # Joined a round in progress: the others are told the set
                # changed, and this worker joins the group they rebuild.
                return True
            return fingerprint != self._fingerprint_at_last_sync
        # A coordinator without fingerprints: any join, leave or re-registration.
        return self._rejoined_since_sync or self._pending or epoch != self._epoch_at_last_sync

    def _mark_synchronized(self) -> None:
        self._fingerprint_at_last_sync = self._membership_fingerprint
        self._epoch_at_last_sync = self._membership_epoch
        self._rejoined_since_sync = False

    def _finish_sync(self, response, started: float) -> SyncResult:
        now = self._clock()
        changed = self._changed_since_sync(response.membership_fingerprint,
                                           response.membership_epoch)
        self._round = response.round
        self._round_target = response.target
        self._iteration = 0
        self._pending = False
        self._sync_due = False
        self._membership_epoch = response.membership_epoch
        self._membership_fingerprint = response.membership_fingerprint
        self._mark_synchronized()
        self._released_once = True
        self._live_workers = response.live_workers
        self._last_mark = now
        return SyncResult(round=response.round, target=response.target,
                          waited_seconds=response.waited_seconds,
                          membership_changed=changed, membership_epoch=response.membership_epoch,
                          live_workers=response.live_workers,
                          membership_fingerprint=response.membership_fingerprint)

    def _heartbeat_loop(self) -> None:
        # Bounded by the closed event. A failed heartbeat is not fatal and not
        # logged (during an outage every one fails; the training thread's
        # calls log the outage once): the training thread sees NOT_FOUND on its
        # next call and registers again.
        unanswered_probes = 0  # In a row; each abandoned its channel.
        while True:
            # Right after abandoning a channel the fresh one is probed at once:
            # a Service may have routed it to the same frozen replica.
            if self._closed.wait(0 if unanswered_probes else self._heartbeat_interval):
                return
            with self._lock:
                request = pb.HeartbeatRequest(job=self._job, worker_id=self._worker_id)
            stub, channel = self._conn.route()
            try:
                stub.Heartbeat(request, timeout=self._probe_timeout(unanswered_probes))
                unanswered_probes = 0
            except grpc.RpcError as err:
                if err.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                    unanswered_probes = 0
                    continue
                # The call the training thread has in flight there (a Barrier
                # waits for minutes; gRPC's keepalive would need 15 s) ends
                # with CANCELLED and is retried on a fresh channel.
                self._conn.abandon(channel)
                unanswered_probes += 1

    def _probe_timeout(self, unanswered_probes: int) -> float:
        """The heartbeat is also the liveness probe: a live coordinator
        answers it at once, so one unanswered past this timeout means it
        froze or the link is cut. From the third probe in a row it doubles
        each time (up to the call timeout): a link or a coordinator slower
        than the timeout must not lose every call to it."""
        timeout = max(self._heartbeat_interval, _PROBE_MIN_DEADLINE_SECONDS)
        return min(self._call_timeout, timeout * 2 ** max(0, unanswered_probes - 1))
