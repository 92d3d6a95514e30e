"""Bounded exponential backoff with jitter for retrying UNAVAILABLE and CANCELLED calls.

UNAVAILABLE means the coordinator is shutting down, restarting or not up
yet; the call changed no state, so repeating it is safe. CANCELLED is
retried too: our clients never cancel their own calls, and a gRPC server in
its shutdown grace period answers newly arriving calls with CANCELLED, so
it means the same thing here. Every other status is returned to the caller
at once. Sleeps wait on an Event so that closing
the client interrupts them.
"""

import dataclasses
import random
import threading
import time
from typing import Callable, Optional, TypeVar

import grpc

T = TypeVar("T")

RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a call that got UNAVAILABLE or CANCELLED."""

    max_attempts: int = 10          # Including the first; 1 disables retries.
    initial_backoff_seconds: float = 0.05
    max_backoff_seconds: float = 2.0
    multiplier: float = 2.0
    # Each sleep is the nominal backoff times uniform(1 - jitter, 1 + jitter),
    # so workers cut off together do not come back in lockstep.
    jitter: float = 0.5

    def __post_init__(self):
        if self.max_attempts < 1:
            raise ValueError(f"RetryPolicy.max_attempts must be >= 1, got {self.max_attempts}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"RetryPolicy.jitter must be in [0, 1), got {self.jitter}")
        if self.initial_backoff_seconds < 0 or self.max_backoff_seconds < self.initial_backoff_seconds:
            raise ValueError(
                "RetryPolicy backoffs must satisfy 0 <= initial <= max, got "
                f"initial={self.initial_backoff_seconds} max={self.max_backoff_seconds}")
        if self.multiplier < 1:
            raise ValueError(f"RetryPolicy.multiplier must be >= 1, got {self.multiplier}")

    def backoff_seconds(self, retry_index: int, rng: random.Random) -> float:
        """The sleep before retry number ``retry_index`` (0-based)."""
        nominal = min(self.max_backoff_seconds,
                      self.initial_backoff_seconds * self.multiplier ** retry_index)
        return nominal * rng.uniform(1 - self.jitter, 1 + self.jitter)


NO_RETRY = RetryPolicy(max_attempts=1)


def call_with_retry(fn: Callable[[], T], policy: RetryPolicy,
                    stop: Optional[threading.Event] = None,
                    rng: Optional[random.Random] = None) -> T:
    """Calls fn() until it succeeds, fails with a non-retryable status, or
    ``policy.max_attempts`` is spent; raises the last grpc.RpcError then.
    A set ``stop`` event ends the waiting early (the last error is raised)."""
    rng = rng or random.Random()
    for attempt in range(policy.max_attempts):
        try:
            return fn()
        except grpc.RpcError as err:
            code = err.code() if hasattr(err, "code") else None
            last_attempt = attempt + 1 >= policy.max_attempts
            if code not in RETRYABLE_CODES or last_attempt:
                raise
            delay = policy.backoff_seconds(attempt, rng)
            if stop is None:
                time.sleep(delay)
            elif stop.wait(delay):
                raise  # Stopped while backing off.
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
