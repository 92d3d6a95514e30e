"""Retrying calls to a coordinator that does not answer, within an outage budget.

UNAVAILABLE means the coordinator is shutting down, restarting or not up
yet; the call changed no state, so repeating it is safe. CANCELLED is
retried too: our clients never cancel their own calls, and a gRPC server in
its shutdown grace period answers newly arriving calls with CANCELLED, so
it means the same thing here. A DEADLINE_EXCEEDED raised when the call's own
timeout ran out means nobody answered (a black-holed connection): retried
too; one the coordinator sent before that (a barrier that did not release in
time) is an answer. Every other status is returned to the caller at once.
Every method is safe to repeat (see "Retries and idempotency" in the proto;
Register and CreateJob carry a request_id that stays the same on retries).

A standby replica's UNAVAILABLE that names the leader (high availability,
ebsp._connection) is followed at once, within the same attempt and without a
backoff, at most MAX_REDIRECTS_PER_ATTEMPT times; an attempt that still got
no answer is a failed attempt like any other (it counts toward the outage and
backs off, at most STANDBY_MAX_BACKOFF_SECONDS when a standby answered, and
the next one starts from the configured target). A redirect
that is answered is no outage.

Waits between attempts grow exponentially with jitter, capped at a few
seconds. A worker waits for an unreachable coordinator as long as the outage
budget allows (default 10 minutes, 0 = forever), counted from the first
failed attempt of the outage (ebsp.outage.Outage, which spans calls and
writes one log line when an outage begins and one when it ends). Sleeps wait
on an Event so that closing the client interrupts them.
"""

import dataclasses
import random
import threading
import time
from typing import Callable, Optional, Tuple, TypeVar

import grpc

from ebsp._connection import (MAX_REDIRECTS_PER_ATTEMPT, STANDBY_MAX_BACKOFF_SECONDS, Connection,
                              from_standby, leader_hint)

T = TypeVar("T")

RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})

DEFAULT_OUTAGE_BUDGET_SECONDS = 600.0


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How patiently to wait for a coordinator that does not answer."""

    # Attempts per call including the first (1 disables retries); None: no
    # limit but the outage budget.
    max_attempts: Optional[int] = None
    initial_backoff_seconds: float = 0.05
    max_backoff_seconds: float = 2.0
    multiplier: float = 2.0
    # Each sleep is the nominal backoff times uniform(1 - jitter, 1 + jitter),
    # so workers cut off together do not come back in lockstep.
    jitter: float = 0.5
    # How long the coordinator may stay unreachable before a call fails,
    # counted from the first failed attempt of the outage; 0 = forever.
    outage_budget_seconds: float = DEFAULT_OUTAGE_BUDGET_SECONDS

    def __post_init__(self):
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"RetryPolicy.max_attempts must be >= 1, got {self.max_attempts}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"RetryPolicy.jitter must be in [0, 1), got {self.jitter}")
        if self.initial_backoff_seconds < 0 or self.max_backoff_seconds < self.initial_backoff_seconds:
            raise ValueError(
                "RetryPolicy backoffs must satisfy 0 <= initial <= max, got "
                f"initial={self.initial_backoff_seconds} max={self.max_backoff_seconds}")
        if self.multiplier < 1:
            raise ValueError(f"RetryPolicy.multiplier must be >= 1, got {self.multiplier}")
        if not self.outage_budget_seconds >= 0:
            raise ValueError("RetryPolicy.outage_budget_seconds must be >= 0 (0: forever), got "
                             f"{self.outage_budget_seconds}")

    def backoff_seconds(self, retry_index: int, rng: random.Random) -> float:
        """The sleep before retry number ``retry_index`` (0-based)."""
        nominal = min(self.max_backoff_seconds,
                      self.initial_backoff_seconds * self.multiplier ** min(retry_index, 64))
        return nominal * rng.uniform(1 - self.jitter, 1 + self.jitter)


NO_RETRY = RetryPolicy(max_attempts=1)


def unanswered(err: grpc.RpcError, elapsed: float, timeout: Optional[float]) -> bool:
    """True when ``err`` means the coordinator did not answer (retryable)."""
    code = err.code() if hasattr(err, "code") else None
    if code in RETRYABLE_CODES:
        return True
    # Our own timeout ran out: no answer. (A tiny slack for timer rounding.)
    return (code == grpc.StatusCode.DEADLINE_EXCEEDED and timeout is not None
            and elapsed >= timeout * 0.99)


def call_with_retry(fn: Callable[[], T], policy: RetryPolicy,
                    stop: Optional[threading.Event] = None,
                    rng: Optional[random.Random] = None, *, method: str = "call",
                    timeout: Optional[float] = None, outage=None,
                    connection: Optional[Connection] = None) -> T:
    """Calls fn() until the coordinator answers; returns its result or raises
    its grpc.RpcError. When it does not answer, waits and tries again until
    ``policy.max_attempts`` is spent (raises the last error) or the outage
    budget is (raises an error saying how long it waited and why). ``timeout``
    is the per-attempt timeout fn uses; ``outage`` (ebsp.outage.Outage) is
    the caller's outage state, shared across its calls (a fresh one if None);
    ``connection`` (ebsp._connection.Connection, the one fn calls through)
    follows leader hints and dials afresh after each attempt that got no
    answer. A set ``stop`` event ends the waiting early (the last error is
    raised)."""
    from ebsp.outage import Outage  # Imported here: ebsp.outage imports this module.
    rng = rng or random.Random()
    outage = outage or Outage(policy, "", rng=rng)
    attempt = 0
    while True:
        wait = min(outage.next_attempt_at - time.monotonic(), outage.budget_left())
        if wait > 0 and _sleep(wait, stop):
            raise outage.last_error
        if outage.budget_spent():
            raise outage.give_up(method)
        answered, result = _attempt(fn, outage, method, timeout, connection)
        if answered:
            return result
        attempt += 1
        if policy.max_attempts is not None and attempt >= policy.max_attempts:
            outage.answered(None)  # Not waiting any longer: this outage is over for us.
            raise outage.last_error
        if outage.budget_spent():
            raise outage.give_up(method)


def _sleep(seconds: float, stop: Optional[threading.Event]) -> bool:
    """Sleeps; True if ``stop`` was set meanwhile."""
    if stop is None:
        time.sleep(seconds)
        return False
    return stop.wait(seconds)


def try_once(fn: Callable[[], T], outage, *, method: str, timeout: Optional[float] = None,
             connection: Optional[Connection] = None) -> Tuple[bool, Optional[T]]:
    """One attempt, for a worker that can train on while the coordinator is
    away: (True, result) when it answered OK; (False, None) when it did not
    answer, or when the backoff after the last failure has not passed (then
    nothing is sent). Raises the coordinator's error answers, and the outage
    budget's error once it is spent."""
    if outage.budget_spent():
        raise outage.give_up(method)
    if time.monotonic() < outage.next_attempt_at:
        return False, None
    answered, result = _attempt(fn, outage, method, timeout, connection)
    if not answered and outage.budget_spent():
        raise outage.give_up(method)
    return answered, result


def _attempt(fn: Callable[[], T], outage, method: str, timeout: Optional[float],
             connection: Optional[Connection]) -> Tuple[bool, Optional[T]]:
    """One attempt of fn, following leader hints: (True, result) when
    answered OK; the coordinator's error answers are raised; (False, None)
    when nobody answered (recorded in ``outage``; a fresh channel)."""
    hops = 0
    standby_answered = False
    while True:
        started = time.monotonic()
        try:
            result = fn()
        except grpc.RpcError as err:
            leader = leader_hint(err) if connection is not None else None
            standby_answered = standby_answered or bool(leader) or from_standby(err)
            if leader and hops < MAX_REDIRECTS_PER_ATTEMPT and connection.follow_leader(leader):
                hops += 1
                continue  # At once: the leader is known.
            if not unanswered(err, time.monotonic() - started, timeout):
                outage.answered(err.code() if hasattr(err, "code") else None)
                raise
            outage.failed(method, err,
                          STANDBY_MAX_BACKOFF_SECONDS if standby_answered else float("inf"))
            if connection is not None:
                connection.reconnect()
            return False, None
        outage.answered(grpc.StatusCode.OK)
        return True, result
