"""ebsp-status against the real coordinator (a BSP job with one worker at
the barrier and two missing) and against nothing (clear error, bounded)."""

import json
import os
import subprocess
import time

import grpc
import pytest

from servers import closed_port, running_server

STATUS = os.environ["EBSP_STATUS"]
DEADLINE_S = 10


def status(*args, timeout=60):
    return subprocess.run([STATUS, *args], capture_output=True, text=True, timeout=timeout)


def test_unreachable_coordinator_exits_2_naming_the_target_quickly():
    port = closed_port()
    started = time.monotonic()
    proc = status(f"--target=127.0.0.1:{port}", "--timeout=3s")
    assert proc.returncode == 2, proc
    assert f"cannot reach the coordinator at 127.0.0.1:{port}" in proc.stderr, proc.stderr
    assert proc.stdout == ""
    assert time.monotonic() - started < 20


@pytest.fixture
def coordinator_with_half_arrived_barrier():
    """A BSP job 'status-job' with workers a, b, c; a waits at the barrier."""
    from elasticbsp.v1 import coordinator_pb2 as pb
    from elasticbsp.v1 import coordinator_pb2_grpc as pb_grpc

    with running_server(os.environ["EBSP_COORDINATOR"], metrics=True) as (port, _):
        target = f"127.0.0.1:{port}"
        with grpc.insecure_channel(target) as channel:
            stub = pb_grpc.CoordinatorStub(channel)
            stub.CreateJob(pb.CreateJobRequest(spec=pb.JobSpec(
                job="status-job", policy=pb.Policy(kind=pb.POLICY_KIND_BSP))),
                timeout=DEADLINE_S)
            ids = {}
            for name in ("a", "b", "c"):
                r = stub.Register(pb.RegisterRequest(job="status-job", worker_name=name),
                                  timeout=DEADLINE_S)
                ids[name] = (r.worker_id, r.round)
            for name, (wid, rnd) in ids.items():
                rep = stub.ReportIteration(pb.ReportIterationRequest(
                    job="status-job", worker_id=wid, round=rnd, iteration=1,
                    compute_seconds=0.01), timeout=DEADLINE_S)
                assert rep.directive == pb.DIRECTIVE_SYNC_NOW
            wid_a, round_a = ids["a"]
            waiting = stub.Barrier.future(
                pb.BarrierRequest(job="status-job", worker_id=wid_a, round=round_a),
                timeout=60)
            try:
                # Wait (with a deadline) until the coordinator shows the arrival.
                deadline = time.monotonic() + DEADLINE_S
                while True:
                    job = stub.GetJob(pb.GetJobRequest(job="status-job"), timeout=DEADLINE_S)
                    if len(job.barrier.arrived_worker_ids) == 1:
                        break
                    assert time.monotonic() < deadline, "Barrier of a never showed as arrived"
                    time.sleep(0.01)
                yield target, ids
            finally:
                waiting.cancel()


def test_job_text_shows_policy_barrier_and_workers(coordinator_with_half_arrived_barrier):
    target, ids = coordinator_with_half_arrived_barrier
    proc = status(f"--target={target}", "--job=status-job")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "job status-job" in out
    assert "policy bsp" in out
    assert (f"1 arrived, 2 missing: b ({ids['b'][0]}), c ({ids['c'][0]})" in out) or \
           (f"1 arrived, 2 missing: c ({ids['c'][0]}), b ({ids['b'][0]})" in out), out
    assert "AT_BARRIER" in out
    assert out.count("RUNNING") == 2, out


def test_list_text_includes_the_job(coordinator_with_half_arrived_barrier):
    target, _ = coordinator_with_half_arrived_barrier
    proc = status(f"--target={target}")
    assert proc.returncode == 0, proc.stderr
    assert "job status-job" in proc.stdout


def test_job_json_has_arrived_and_missing_ids(coordinator_with_half_arrived_barrier):
    target, ids = coordinator_with_half_arrived_barrier
    proc = status(f"--target={target}", "--job=status-job", "--json")
    assert proc.returncode == 0, proc.stderr
    job = json.loads(proc.stdout)
    assert job["spec"]["job"] == "status-job"
    assert [int(i) for i in job["barrier"]["arrived_worker_ids"]] == [ids["a"][0]]
    assert sorted(int(i) for i in job["barrier"]["missing_worker_ids"]) == sorted(
        [ids["b"][0], ids["c"][0]])
    assert len(job["workers"]) == 3


def test_unknown_job_exits_1_naming_it(coordinator_with_half_arrived_barrier):
    target, _ = coordinator_with_half_arrived_barrier
    proc = status(f"--target={target}", "--job=no-such-job")
    assert proc.returncode == 1, proc
    assert "no-such-job" in proc.stderr
    assert "NOT_FOUND" in proc.stderr
