"""Client-side pieces that need no coordinator: policy text and retry schedule."""

import random
import threading
import time

import grpc
import pytest

import ebsp
from ebsp._stubs import pb
from ebsp.retry import call_with_retry


@pytest.mark.parametrize("text", ["bsp", "asp", "ssp:s=3", "local:H=4", "ebsp:R=15",
                                  "ebsp:R=8,objective=total_wait,predictor=median"])
def test_policy_text_round_trips(text):
    assert ebsp.format_policy(ebsp.parse_policy(text)) == text


def test_parse_policy_sets_wire_fields():
    policy = ebsp.parse_policy("ebsp:R=8,objective=total_wait,predictor=latest")
    assert policy.kind == pb.POLICY_KIND_ELASTIC_BSP
    assert policy.lookahead == 8
    assert policy.objective == pb.OBJECTIVE_TOTAL_WAIT
    assert policy.predictor == pb.PREDICTOR_KIND_LATEST_INTERVAL


@pytest.mark.parametrize("text,message", [
    ("ebsp:R=0", "R=0 is out of range"),
    ("ebsp:R=5000", "R=5000 is out of range"),
    ("ebsp:R=x", "R='x' is not an integer"),
    ("bsp:R=3", "bsp takes no parameter 'R'"),
    ("paxos", "unknown kind 'paxos'"),
    ("ebsp:R=4,R=5", "given twice"),
    ("ebsp:objective=fast", "unknown objective 'fast'"),
    ("ssp:s", "expected key=value"),
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
