"""End to end: a fixed gloo group survives a coordinator kill -9.

examples/fixed_group_restart.py: four real worker processes form ONE gloo
group (initialized once) and train under ElasticBSP against the real
ebsp-coordinator ($EBSP_COORDINATOR) with --state_dir. Mid-training the
coordinator is killed with SIGKILL and started again on the same port and
state directory 1.5 s later. Every worker must finish; none may see
membership_changed after its first release (so none would rebuild its
group); every rank must have done the same all-reduces (no deadlock, each
release averaged once by every member) and end with identical weights.

The kill is timed so that no barrier release is on its way: a release whose
reply the kill swallowed would leave some ranks averaged and others not
(docs/restart.md, "Limits"). The test waits until the job's roster (all four
names) is on disk and some worker is at least 3 iterations short of its
target, so no barrier can release within two padded iterations (>= 60 ms).
"""

import json
import os
import pathlib
import subprocess
import sys
import time

import grpc
from elasticbsp.v1 import coordinator_pb2 as pb
from elasticbsp.v1 import coordinator_pb2_grpc as pb_grpc

from ebsp_test_servers import ServerProcess, wait_until

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "fixed_group_restart.py"
WORLD = 4
SYNCS = 40
DOWN_SECONDS = 1.5
JOB = "fixed-group"


def roster_on_disk(state_dir):
    record = pathlib.Path(state_dir) / f"job-{JOB}.txtpb"
    try:
        text = record.read_text()
    except FileNotFoundError:
        return 0
    return sum(1 for line in text.splitlines() if line.startswith("roster:"))


def test_a_fixed_gloo_group_survives_a_coordinator_kill(tmp_path):
    state_dir = tmp_path / "state"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    flags = [f"--state_dir={state_dir}", "--restart_grace=30s", "--tick_interval=20ms"]
    with ServerProcess(os.environ["EBSP_COORDINATOR"], flags, workdir=tmp_path / "coord") as coord:
        logs = [open(tmp_path / f"worker{rank}.log", "wb") for rank in range(WORLD)]
        workers = [subprocess.Popen(
            [sys.executable, str(EXAMPLE), f"--coordinator={coord.target}", f"--rank={rank}",
             f"--world={WORLD}", f"--rendezvous={tmp_path / 'gloo-init'}",
             f"--syncs={SYNCS}", "--step_seconds=0.03", f"--out_dir={out_dir}"],
            stdout=logs[rank], stderr=subprocess.STDOUT) for rank in range(WORLD)]
        try:
            channel = grpc.insecure_channel(coord.target)
            stub = pb_grpc.CoordinatorStub(channel)

            def safe_moment():
                try:
                    job = stub.GetJob(pb.GetJobRequest(job=JOB), timeout=2)
                except grpc.RpcError as err:
                    if err.code() == grpc.StatusCode.NOT_FOUND:
                        return None  # The workers have not registered yet.
                    raise
                if job.rounds_completed < 5 or roster_on_disk(state_dir) != WORLD:
                    return None
                running = [w for w in job.workers if w.state == pb.WORKER_STATE_RUNNING]
                far = any(w.target >= w.iterations_in_round + 3 for w in running)
                return job if far and len(job.workers) == WORLD else None

            before = wait_until(safe_moment, 30, "a round with a worker 3 iterations short")
            channel.close()
            coord.kill()
            killed_at = time.time()
            time.sleep(DOWN_SECONDS)
            coord.start(grpc_port=coord.grpc_port)

            for rank, worker in enumerate(workers):
                assert worker.wait(timeout=40) == 0, (
                    f"worker {rank} exited with {worker.returncode}:\n"
                    + (tmp_path / f"worker{rank}.log").read_text()[-3000:])
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait()
            for log in logs:
                log.close()
        coordinator_log = coord.log()

    summaries = [json.loads((out_dir / f"rank{rank}.json").read_text()) for rank in range(WORLD)]
    assert "job_restored" in coordinator_log, coordinator_log[-2000:]
    for s in summaries:
        # Registered again after the kill; the same number of averages as
        # everyone, one per release it passed.
        assert s["registrations"] == 2, s
        assert s["all_reduces"] == SYNCS == len(s["releases"]), s
        assert all(r["live"] == WORLD for r in s["releases"]), s
        # The group was formed once; after its first release nobody was
        # told the membership changed, across the restart too.
        assert not any(r["changed"] for r in s["releases"][1:]), s
        after = [r for r in s["releases"] if r["t"] > killed_at]
        assert after, f"rank {s['rank']} finished before the restart: {s}"
        assert all(r["fingerprint"] == before.membership_fingerprint for r in after), s
    # Every rank passed the same releases (rounds as each coordinator
    # numbered them) and averaged at each: identical final weights.
    sequences = {tuple(r["round"] for r in s["releases"]) for s in summaries}
    assert len(sequences) == 1, [s["releases"] for s in summaries]
    assert len({s["weights_sha256"] for s in summaries}) == 1, summaries
