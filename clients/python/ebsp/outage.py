"""What a worker knows about a coordinator that does not answer.

An outage begins with the first attempt that fails without an answer
(UNAVAILABLE, CANCELLED, the call's own timeout: ebsp.retry) and ends with
the first answer, whatever it says (OK, NOT_FOUND after a restart, ...). It
spans calls: a worker that trains on while the coordinator is away spends one
budget. The outage writes exactly one line to the "ebsp" logger when it
begins and one when it ends (answered again, or budget spent), never one per
retry, in the same words as the C++ client:

    ebsp_client_outage_started job=j worker=w method=ReportIteration status="UNAVAILABLE: ..." budget_s=600.0
    ebsp_client_outage_ended job=j worker=w outage_s=20.3 failed_attempts=14 answer=NOT_FOUND
    ebsp_client_outage_gave_up job=j worker=w outage_s=600.0 failed_attempts=305 method=Barrier status="..."

Used by one thread (the training thread's calls). Times are time.monotonic().
"""

import logging
import random
import time
from typing import Optional

import grpc

from ebsp.retry import RetryPolicy

_log = logging.getLogger("ebsp")


class OutageBudgetSpent(grpc.RpcError):
    """Raised when the outage budget is spent; code() is the last status's."""

    def __init__(self, code: grpc.StatusCode, details: str):
        super().__init__(details)
        self._code = code
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def _status_text(err: grpc.RpcError) -> str:
    code = err.code() if hasattr(err, "code") else None
    details = err.details() if hasattr(err, "details") else str(err)
    return f"{code.name if code else 'UNKNOWN'}: {details}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Outage:
    def __init__(self, policy: RetryPolicy, who: str, rng: Optional[random.Random] = None):
        self._policy = policy
        self._who = who  # "job=j worker=w", or "" for admin calls.
        self._rng = rng or random.Random()
        self._started: Optional[float] = None
        self._failed_attempts = 0
        self._last_error: Optional[grpc.RpcError] = None
        self.next_attempt_at = float("-inf")
        # The last answer ended an outage and was NOT_FOUND (the coordinator
        # restarted): the end line already says so.
        self.ended_with_not_found = False

    @property
    def active(self) -> bool:
        return self._started is not None

    @property
    def failed_attempts(self) -> int:
        return self._failed_attempts if self.active else 0

    @property
    def last_error(self) -> grpc.RpcError:
        return self._last_error

    def failed(self, method: str, err: grpc.RpcError, max_wait: float = float("inf")) -> None:
        """An attempt failed without an answer: begins the outage (logged) if
        none is on and schedules the next attempt after the backoff, at most
        ``max_wait`` (a standby answered: the election ends within the lease
        TTL, so the client looks again soon)."""
        now = time.monotonic()
        if self._started is None:
            self._started = now
            self._failed_attempts = 0
            self._emit("ebsp_client_outage_started",
                       f"method={method} status={_quoted(_status_text(err))} "
                       f"budget_s={self._policy.outage_budget_seconds:.1f}")
        self.next_attempt_at = now + min(
            max_wait, self._policy.backoff_seconds(self._failed_attempts, self._rng))
        self._failed_attempts += 1
        self._last_error = err

    def answered(self, code: Optional[grpc.StatusCode]) -> None:
        self.ended_with_not_found = self._started is not None and code == grpc.StatusCode.NOT_FOUND
        if self._started is None:
            return
        self._emit("ebsp_client_outage_ended",
                   f"outage_s={time.monotonic() - self._started:.1f} "
                   f"failed_attempts={self._failed_attempts} "
                   f"answer={code.name if code else 'NONE'}")
        self._started = None
        self.next_attempt_at = float("-inf")

    def budget_left(self) -> float:
        budget = self._policy.outage_budget_seconds
        if budget <= 0:
            return float("inf")
        if self._started is None:
            return budget
        return max(0.0, budget - (time.monotonic() - self._started))

    def budget_spent(self) -> bool:
        return self._started is not None and self.budget_left() <= 0

    def give_up(self, method: str) -> OutageBudgetSpent:
        """The error a call raises once the budget is spent; ends the outage."""
        waited = time.monotonic() - self._started if self._started is not None else 0.0
        last = self._last_error
        code = last.code() if last is not None and hasattr(last, "code") else None
        status = _status_text(last) if last is not None else "none"
        self._emit("ebsp_client_outage_gave_up",
                   f"outage_s={waited:.1f} failed_attempts={self._failed_attempts} "
                   f"method={method} status={_quoted(status)}")
        error = OutageBudgetSpent(
            code or grpc.StatusCode.UNAVAILABLE,
            f"the coordinator was unreachable for {waited:.1f} s, which spent the outage "
            f"budget of {self._policy.outage_budget_seconds:.1f} s "
            f"({self._failed_attempts} failed attempts); last status: {status}")
        self._started = None
        self.next_attempt_at = float("-inf")
        return error

    def _emit(self, event: str, fields: str) -> None:
        _log.warning("%s %s%s", event, f"{self._who} " if self._who else "", fields)
