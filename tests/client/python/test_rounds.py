"""Rounds as several workers (threads) see them, against the real coordinator."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import ebsp
from ebsp_test_servers import wait_until
from ebsp._stubs import pb

FAST = 0.004   # Simulated compute time of one iteration, seconds.
SLOW = 0.016


def run_worker(target, job, name, rounds, compute_seconds, start_gate=None):
    """Runs `rounds` rounds; returns per-round (round, iterations, target)."""
    history = []
    with ebsp.Client(target, job, name) as coord:
        if start_gate is not None:
            start_gate.wait(timeout=10)
        iterations = 0
        while len(history) < rounds:
            time.sleep(compute_seconds)   # The "training" of one iteration.
            iterations += 1
            if coord.step_done(compute_seconds):
                round_before = coord.round
                result = coord.sync()
                assert result.round == round_before + 1
                history.append((round_before, iterations, coord.target))
                iterations = 0
    return history


def test_bsp_every_worker_syncs_after_every_iteration(coordinator, job_name):
    with ebsp.AdminClient(coordinator.target) as admin:
        admin.create_job(job_name, "bsp")
    gate = threading.Barrier(3)
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(run_worker, coordinator.target, job_name, f"w{i}", 6,
                               FAST * (i + 1), start_gate=gate)
                   for i in range(3)]
        histories = [f.result(timeout=60) for f in futures]
    for history in histories:
        assert [iterations for _, iterations, _ in history] == [1] * 6
        assert [target for _, _, target in history] == [1] * 6
    # Released together: every worker went through the same rounds.
    assert len({tuple(r for r, _, _ in h) for h in histories}) == 1
    with ebsp.AdminClient(coordinator.target) as admin:
        assert admin.get_job(job_name).rounds_completed >= 6


def test_elastic_bsp_gives_fast_workers_more_iterations_per_round(coordinator, job_name):
    lookahead = 8
    with ebsp.AdminClient(coordinator.target) as admin:
        admin.create_job(job_name, f"ebsp:R={lookahead}")
    gate = threading.Barrier(3)
    speeds = {"fast0": FAST, "fast1": FAST, "slow": SLOW}
    with ThreadPoolExecutor(3) as pool:
        futures = {name: pool.submit(run_worker, coordinator.target, job_name, name, 10,
                                     seconds, start_gate=gate)
                   for name, seconds in speeds.items()}
        histories = {name: f.result(timeout=60) for name, f in futures.items()}
    rounds = {name: [r for r, _, _ in h] for name, h in histories.items()}
    assert rounds["fast0"] == rounds["fast1"] == rounds["slow"]
    for history in histories.values():
        for _, iterations, next_target in history:
            assert 1 <= iterations <= lookahead
            assert 1 <= next_target <= lookahead
    # Once the coordinator has samples (skip the first rounds), a worker 4x
    # faster is given clearly more iterations per round than the slow one.
    fast = sum(i for _, i, _ in histories["fast0"][3:])
    slow = sum(i for _, i, _ in histories["slow"][3:])
    assert fast >= 2 * slow, histories


def test_worker_registering_mid_round_joins_at_the_next_barrier(coordinator, job_name):
    with ebsp.AdminClient(coordinator.target) as admin:
        admin.create_job(job_name, "bsp")
    with ebsp.Client(coordinator.target, job_name, "a") as a, \
            ebsp.Client(coordinator.target, job_name, "b") as b:
        assert a.step_done(0.01)  # A live member finished an iteration of round 0.
        late = ebsp.Client(coordinator.target, job_name, "late")
        try:
            assert late.pending
            assert late.step_done(0.01), "a pending worker goes straight to the barrier"
            with ThreadPoolExecutor(2) as pool:
                late_sync = pool.submit(late.sync)
                a_sync = pool.submit(a.sync)
                with ebsp.AdminClient(coordinator.target) as admin:
                    wait_until(lambda: len(admin.get_job(job_name).barrier.arrived_worker_ids) == 2,
                               10, "a and late at the barrier")
                assert not late_sync.done(), "the barrier must wait for b"
                assert b.step_done(0.01)
                b_result = b.sync()
                late_result = late_sync.result(timeout=10)
                a_result = a_sync.result(timeout=10)
            assert late_result.round == a_result.round == b_result.round == 1
            assert late_result.live_workers == 3
            assert late_result.membership_changed and b_result.membership_changed
            assert not late.pending
            # From now on the late worker runs rounds like the others.
            assert late.step_done(0.01) and a.step_done(0.01) and b.step_done(0.01)
        finally:
            late.leave()


def test_ssp_blocks_the_worker_that_runs_too_far_ahead(coordinator, job_name):
    with ebsp.AdminClient(coordinator.target) as admin:
        admin.create_job(job_name, "ssp:s=1")
    with ebsp.Client(coordinator.target, job_name, "ahead") as ahead, \
            ebsp.Client(coordinator.target, job_name, "behind") as behind:
        assert ahead.policy.kind == pb.POLICY_KIND_SSP

        def run_ahead():
            return [ahead.step_done(0.001) for _ in range(4)]

        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(run_ahead)
            with ebsp.AdminClient(coordinator.target) as admin:
                def ahead_waits():
                    workers = admin.get_job(job_name).workers
                    return any(w.name == "ahead" and w.state == pb.WORKER_STATE_WAITING_CLOCK
                               for w in workers)
                wait_until(ahead_waits, 10, "the leading worker to wait for its clock")
            assert not future.done()
            for _ in range(4):
                assert behind.step_done(0.001) is False
            assert future.result(timeout=10) == [False] * 4


@pytest.mark.parametrize("policy", ["bsp", "ebsp:R=4"])
def test_register_creates_the_job_with_the_requested_policy(coordinator, job_name, policy):
    with ebsp.Client(coordinator.target, job_name, "w0", policy=policy) as coord:
        assert ebsp.format_policy(coord.policy).startswith(policy.split(",")[0])
        assert coord.live_workers == 1
        assert coord.target >= 1
