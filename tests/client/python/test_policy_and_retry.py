"""Client-side pieces that need no coordinator: policy text and retry schedule."""

import logging
import random
import threading
import time

import grpc
import pytest

import ebsp
from ebsp._stubs import pb
from ebsp.outage import Outage
from ebsp.retry import call_with_retry


@pytest.mark.parametrize("text", ["bsp", "asp", "ssp:s=3", "local:H=4", "ebsp:R=15",
                                  "ebsp:R=8,objective=total_wait,predictor=median",
                                  "dssp:s=3,r=12", "dssp:s=0,r=1,predictor=latest",
                                  "ebsp:R=15,objective=idle_rate"])
def test_policy_text_round_trips(text):
    assert ebsp.format_policy(ebsp.parse_policy(text)) == text


def test_parse_policy_sets_wire_fields():
    policy = ebsp.parse_policy("ebsp:R=8,objective=total_wait,predictor=latest")
    assert policy.kind == pb.POLICY_KIND_ELASTIC_BSP
    assert policy.lookahead == 8
    assert policy.objective == pb.OBJECTIVE_TOTAL_WAIT
    assert policy.predictor == pb.PREDICTOR_KIND_LATEST_INTERVAL


def test_parse_policy_sets_dssp_fields():
    policy = ebsp.parse_policy("dssp:s=3,r=12")
    assert policy.kind == pb.POLICY_KIND_DSSP
    assert policy.staleness == 3
    assert policy.staleness_range == 12


@pytest.mark.parametrize("text,message", [
    ("ebsp:R=0", "R=0 is out of range"),
    ("ebsp:R=5000", "R=5000 is out of range"),
    ("ebsp:R=x", "R='x' is not an integer"),
    ("bsp:R=3", "bsp takes no parameter 'R'"),
    ("paxos", "unknown kind 'paxos'"),
    ("ebsp:R=4,R=5", "given twice"),
    ("ebsp:objective=fast", "unknown objective 'fast'"),
    ("ssp:s", "expected key=value"),
    ("dssp:s=3,r=0", "r=0 is out of range"),
    ("dssp:r=4097", "r=4097 is out of range"),
    ("dssp:R=3", "dssp takes no parameter 'R'"),
    ("ssp:r=3", "ssp takes no parameter 'r'"),
    ("dssp:s=2147483647,r=1", "overflows"),
])
def test_parse_policy_rejects_bad_text_naming_the_value(text, message):
    with pytest.raises(ValueError, match=message):
        ebsp.parse_policy(text)


class _Unavailable(grpc.RpcError):
    def __init__(self, code=grpc.StatusCode.UNAVAILABLE):
        self._code = code

    def code(self):
        return self._code

    def details(self):
        return "coordinator shutting down"


def test_backoff_grows_exponentially_within_jitter_and_is_capped():
    policy = ebsp.RetryPolicy(initial_backoff_seconds=0.1, max_backoff_seconds=1.0,
                              multiplier=2.0, jitter=0.25)
    rng = random.Random(7)
    for index, nominal in enumerate([0.1, 0.2, 0.4, 0.8, 1.0, 1.0]):
        for _ in range(50):
            delay = policy.backoff_seconds(index, rng)
            assert nominal * 0.75 <= delay <= nominal * 1.25


def test_retry_repeats_unavailable_then_succeeds():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise _Unavailable()
        return "ok"

    policy = ebsp.RetryPolicy(max_attempts=5, initial_backoff_seconds=0.001,
                              max_backoff_seconds=0.002)
    assert call_with_retry(flaky, policy) == "ok"
    assert len(calls) == 3


def test_retry_gives_up_after_max_attempts():
    calls = []

    def down():
        calls.append(1)
        raise _Unavailable()

    policy = ebsp.RetryPolicy(max_attempts=4, initial_backoff_seconds=0.001,
                              max_backoff_seconds=0.002)
    with pytest.raises(grpc.RpcError):
        call_with_retry(down, policy)
    assert len(calls) == 4


def test_retry_repeats_cancelled_from_a_server_in_shutdown():
    calls = []

    def shutting_down():
        calls.append(1)
        if len(calls) < 2:
            raise _Unavailable(grpc.StatusCode.CANCELLED)
        return "ok"

    policy = ebsp.RetryPolicy(max_attempts=3, initial_backoff_seconds=0.001,
                              max_backoff_seconds=0.002)
    assert call_with_retry(shutting_down, policy) == "ok"
    assert len(calls) == 2


def test_retry_does_not_repeat_other_codes():
    calls = []

    def bad():
        calls.append(1)
        raise _Unavailable(grpc.StatusCode.INVALID_ARGUMENT)

    with pytest.raises(grpc.RpcError):
        call_with_retry(bad, ebsp.RetryPolicy(max_attempts=5))
    assert len(calls) == 1


def test_set_stop_event_cuts_a_long_backoff_short():
    stop = threading.Event()
    stop.set()
    policy = ebsp.RetryPolicy(max_attempts=5, initial_backoff_seconds=30,
                              max_backoff_seconds=30)
    started = time.monotonic()
    with pytest.raises(grpc.RpcError):
        call_with_retry(lambda: (_ for _ in ()).throw(_Unavailable()), policy, stop=stop)
    assert time.monotonic() - started < 5


def test_retry_policy_rejects_nonsense():
    with pytest.raises(ValueError, match="max_attempts"):
        ebsp.RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="jitter"):
        ebsp.RetryPolicy(jitter=1.5)
    with pytest.raises(ValueError, match="outage_budget_seconds"):
        ebsp.RetryPolicy(outage_budget_seconds=-1)


def _outage_lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "ebsp"]


def test_spent_outage_budget_says_how_long_the_worker_waited_and_why(caplog):
    policy = ebsp.RetryPolicy(initial_backoff_seconds=0.01, max_backoff_seconds=0.02,
                              outage_budget_seconds=0.2)
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as caught:
        call_with_retry(lambda: (_ for _ in ()).throw(_Unavailable()), policy,
                        method="ReportIteration")
    assert 0.2 <= time.monotonic() - started < 5
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert caught.value.details().startswith(
        "the coordinator was unreachable for 0.2 s, which spent the outage budget of 0.2 s (")
    assert caught.value.details().endswith(
        "failed attempts); last status: UNAVAILABLE: coordinator shutting down")
    error = ebsp.CoordinatorError.from_rpc_error("ReportIteration", caught.value)
    assert str(error).startswith("ReportIteration: UNAVAILABLE: the coordinator was unreachable")


def test_an_outage_logs_one_line_when_it_begins_and_one_when_it_ends(caplog):
    caplog.set_level(logging.DEBUG, logger="ebsp")
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) <= 6:
            raise _Unavailable()
        return "ok"

    policy = ebsp.RetryPolicy(initial_backoff_seconds=0.001, max_backoff_seconds=0.002)
    outage = Outage(policy, "job=j worker=w")
    assert call_with_retry(flaky, policy, method="Barrier", outage=outage) == "ok"
    lines = _outage_lines(caplog)
    assert len(lines) == 2, lines
    assert lines[0] == ('ebsp_client_outage_started job=j worker=w method=Barrier '
                        'status="UNAVAILABLE: coordinator shutting down" budget_s=600.0')
    assert lines[1].startswith("ebsp_client_outage_ended job=j worker=w outage_s=")
    assert lines[1].endswith(" failed_attempts=6 answer=OK")
    # A call without an outage logs nothing.
    assert call_with_retry(lambda: "ok", policy, outage=outage) == "ok"
    assert len(_outage_lines(caplog)) == 2


def test_zero_outage_budget_waits_as_long_as_the_outage_lasts():
    back_at = time.monotonic() + 0.4
    calls = []

    def down_for_a_while():
        calls.append(1)
        if time.monotonic() < back_at:
            raise _Unavailable()
        return "ok"

    policy = ebsp.RetryPolicy(initial_backoff_seconds=0.01, max_backoff_seconds=0.02,
                              outage_budget_seconds=0)
    assert call_with_retry(down_for_a_while, policy) == "ok"
    assert len(calls) > 5


def test_a_call_that_ran_out_its_own_timeout_got_no_answer_and_is_retried():
    calls = []

    def black_holed_once():
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.05)
            raise _Unavailable(grpc.StatusCode.DEADLINE_EXCEEDED)
        return "ok"

    policy = ebsp.RetryPolicy(initial_backoff_seconds=0.001, max_backoff_seconds=0.002)
    assert call_with_retry(black_holed_once, policy, timeout=0.05) == "ok"
    assert len(calls) == 2


def test_a_deadline_exceeded_the_coordinator_sent_is_an_answer():
    calls = []

    def barrier_deadline():
        calls.append(1)
        raise _Unavailable(grpc.StatusCode.DEADLINE_EXCEEDED)

    with pytest.raises(grpc.RpcError):
        call_with_retry(barrier_deadline, ebsp.RetryPolicy(), timeout=10.0)
    assert len(calls) == 1
