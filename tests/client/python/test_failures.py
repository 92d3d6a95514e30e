"""Restarts, evictions, shutdown and bad input, against the real coordinator."""

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

import ebsp
from ebsp_test_servers import wait_until
from ebsp._stubs import pb

QUICK_RETRY = ebsp.RetryPolicy(max_attempts=3, initial_backoff_seconds=0.02,
                               max_backoff_seconds=0.05)


def live_names(admin, job):
    return {w.name for w in admin.get_job(job).workers}


def arrived(admin, job):
    return len(admin.get_job(job).barrier.arrived_worker_ids)


def sync_rounds(coord, count, first_sync_due=False):
    results = []
    for i in range(count):
        if not (i == 0 and first_sync_due):
            assert coord.step_done(0.005)
        results.append(coord.sync())
    return results


def test_clients_register_again_after_a_coordinator_restart(coordinator, job_name):
    admin = ebsp.AdminClient(coordinator.target)
    with ebsp.Client(coordinator.target, job_name, "a", policy="bsp") as a, \
            ebsp.Client(coordinator.target, job_name, "b", policy="bsp") as b, \
            ThreadPoolExecutor(2) as pool:
        # One round together first: the last release each saw had {a, b}
        # (before any release, a knows only the names at its registration).
        first = [pool.submit(sync_rounds, c, 1) for c in (a, b)]
        assert [f.result(timeout=30)[0].round for f in first] == [1, 1]
        assert a.step_done(0.005)
        waiting = pool.submit(a.sync)
        wait_until(lambda: arrived(admin, job_name) == 1, 10, "a at the barrier")

        coordinator.restart()  # Same port, empty state.

        # a's barrier call failed over (UNAVAILABLE, retried, then NOT_FOUND):
        # it registered again and starts the new job's first round, without
        # a barrier: nobody synchronizes now.
        result = waiting.result(timeout=30)
        assert not result.synchronized
        assert not result.membership_changed  # Decided at the next barrier.
        assert a.registrations == 2
        assert result.round == a.round == 0
        # b learns on its next report, which is not re-reported: b starts the
        # new round afresh, and its next report reaches the (BSP) target.
        assert not b.step_done(0.005)
        assert b.registrations == 2
        assert b.step_done(0.005)
        assert live_names(admin, job_name) == {"a", "b"}
        assert admin.get_job(job_name).spec.policy.kind == pb.POLICY_KIND_BSP

        a_rounds = pool.submit(sync_rounds, a, 3)
        b_rounds = pool.submit(sync_rounds, b, 3, first_sync_due=True)
        a_results, b_results = a_rounds.result(timeout=30), b_rounds.result(timeout=30)
    assert [r.round for r in a_results] == [r.round for r in b_results] == [1, 2, 3]
    # The same names came back: no change, with fingerprints; a coordinator
    # without them can only say that b registered again.
    assert a_results[0].membership_changed == (a_results[0].membership_fingerprint == 0)
    assert b_results[0].membership_changed == (b_results[0].membership_fingerprint == 0)
    assert not a_results[-1].membership_changed and not b_results[-1].membership_changed
    admin.close()


def test_silent_worker_is_evicted_and_registers_again(coordinator, job_name):
    admin = ebsp.AdminClient(coordinator.target)
    admin.create_job(job_name, "bsp", heartbeat_timeout_seconds=0.5)
    silent = ebsp.Client(coordinator.target, job_name, "silent", heartbeat_interval=3600)
    alive = ebsp.Client(coordinator.target, job_name, "alive")
    try:
        assert alive.heartbeat_interval < 0.5
        # Neither runs an iteration; only alive's heartbeat thread talks.
        wait_until(lambda: live_names(admin, job_name) == {"alive"}, 10, "silent's eviction")
        assert admin.get_job(job_name).evictions_total == 1

        # The barrier no longer waits for the evicted worker.
        assert alive.step_done(0.005)
        assert alive.sync().live_workers == 1

        # The evicted worker's next call gets NOT_FOUND: it registers again,
        # and the report that found it forgotten is not re-reported.
        assert not silent.step_done(0.005)
        assert silent.registrations == 2
        assert silent.iteration == 0
        assert silent.step_done(0.005)
        assert alive.step_done(0.005)
        with ThreadPoolExecutor(1) as pool:
            silent_result = pool.submit(silent.sync)
            alive_result = alive.sync()
            assert silent_result.result(timeout=10).membership_changed
        assert alive_result.membership_changed
        assert alive_result.live_workers == 2
    finally:
        silent.leave()
        alive.leave()
        admin.close()


def test_errors_come_back_as_coordinator_errors_with_their_status(coordinator, job_name):
    admin = ebsp.AdminClient(coordinator.target)
    admin.create_job(job_name, "bsp", auth_token="s3cret", max_workers=2)

    def status_of(fn):
        with pytest.raises(ebsp.CoordinatorError) as caught:
            fn()
        return caught.value.code

    target = coordinator.target
    assert status_of(lambda: admin.create_job(job_name, "bsp")) == grpc.StatusCode.ALREADY_EXISTS
    assert status_of(lambda: admin.get_job("no-such-job")) == grpc.StatusCode.NOT_FOUND
    assert status_of(lambda: ebsp.Client(target, job_name, "w0", auth_token="wrong")) \
        == grpc.StatusCode.PERMISSION_DENIED
    assert status_of(lambda: ebsp.Client(target, job_name, "bad name!", auth_token="s3cret")) \
        == grpc.StatusCode.INVALID_ARGUMENT
    with ebsp.Client(target, job_name, "w0", auth_token="s3cret") as w0, \
            ebsp.Client(target, job_name, "w1", auth_token="s3cret") as w1:
        assert status_of(lambda: ebsp.Client(target, job_name, "w0", auth_token="s3cret")) \
            == grpc.StatusCode.ALREADY_EXISTS
        assert status_of(lambda: ebsp.Client(target, job_name, "w2", auth_token="s3cret")) \
            == grpc.StatusCode.RESOURCE_EXHAUSTED

        assert status_of(lambda: w0.step_done(-1.0)) == grpc.StatusCode.INVALID_ARGUMENT
        assert status_of(lambda: w0.step_done(float("nan"))) == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(ebsp.CoordinatorError, match="ReportIteration: INVALID_ARGUMENT"):
            w0.step_done(float("inf"))
        # The rejected reports changed nothing: iteration 1 is still next.
        assert w0.step_done(0.01)
        assert w0.iteration == 1

        with pytest.raises(ebsp.UsageError):
            w0.step_done(0.01)   # Told to sync; reporting more is a protocol error.
        with pytest.raises(ebsp.UsageError):
            w1.sync()            # Not told to sync.
        bad_policy = pb.Policy(kind=pb.POLICY_KIND_ELASTIC_BSP, lookahead=5000)
        assert status_of(lambda: admin.update_policy(job_name, bad_policy)) \
            == grpc.StatusCode.INVALID_ARGUMENT
    admin.close()


def test_barrier_deadline_names_the_missing_worker_and_sync_can_be_retried(
        start_coordinator, job_name):
    coordinator = start_coordinator("--barrier_deadline=0.3s")
    with ebsp.Client(coordinator.target, job_name, "punctual", policy="bsp") as punctual, \
            ebsp.Client(coordinator.target, job_name, "straggler", policy="bsp") as straggler:
        assert punctual.step_done(0.005)
        started = time.monotonic()
        with pytest.raises(ebsp.CoordinatorError) as caught:
            punctual.sync()
        assert caught.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
        assert "straggler" in caught.value.details
        assert time.monotonic() - started < 5
        # The sync is still due; the next attempt re-joins the same barrier.
        with ThreadPoolExecutor(1) as pool:
            again = pool.submit(punctual.sync)
            assert straggler.step_done(0.005)
            straggler_result = straggler.sync()
            assert again.result(timeout=10).round == straggler_result.round == 1


def test_waiting_barrier_gets_unavailable_when_the_coordinator_shuts_down(coordinator, job_name):
    admin = ebsp.AdminClient(coordinator.target)
    # Enough retries to outlast the shutdown grace period (where gRPC answers
    # new calls with CANCELLED): the last answer is from a closed port.
    retry = ebsp.RetryPolicy(max_attempts=8, initial_backoff_seconds=0.05,
                             max_backoff_seconds=0.5)
    a = ebsp.Client(coordinator.target, job_name, "a", policy="bsp", retry=retry)
    b = ebsp.Client(coordinator.target, job_name, "b", policy="bsp", retry=retry)
    try:
        assert a.step_done(0.005)
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(a.sync)
            wait_until(lambda: arrived(admin, job_name) == 1, 10, "a at the barrier")
            coordinator.stop()
            with pytest.raises(ebsp.CoordinatorError) as caught:
                waiting.result(timeout=30)
        assert caught.value.code == grpc.StatusCode.UNAVAILABLE
        assert caught.value.method == "Barrier"
    finally:
        a.leave()
        b.leave()
        admin.close()


def test_unreachable_coordinator_fails_after_bounded_retries():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # Closed again below: nobody listens there.
    started = time.monotonic()
    with pytest.raises(ebsp.CoordinatorError) as caught:
        ebsp.Client(f"127.0.0.1:{port}", "job", "w0", retry=QUICK_RETRY, call_timeout=2)
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    assert caught.value.method == "Register"
    assert time.monotonic() - started < 10
