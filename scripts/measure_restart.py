#!/usr/bin/python3
"""Measures what a coordinator restart costs a running job (docs/restart.md).

Starts a real ebsp-coordinator with --state_dir, N real Python worker
processes (clients/python) under a round policy, lets them run, kills the
coordinator with SIGKILL, starts it again on the same port and state
directory after --down seconds, and reports, from the restart on:
  ready      the new process serves (ready file written; jobs loaded)
  registered every worker registered again (GetJob lists N workers)
  released   the first barrier after the restart released (rounds_completed)
  all_synced every worker returned from a synchronized sync() after the restart
and how many workers that sync told membership_changed, and whether the first release after the restart had the membership
fingerprint of the last one before the kill.

  /usr/bin/python3 scripts/measure_restart.py --coordinator build/service/ebsp-coordinator \\
      --workers 4 --down 1 --repeats 3

Prints one CSV line per run. Needs the generated Python protos (build/protos/
python) and clients/python on the path; it adds both itself.
"""
import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def worker_main(args):
    sys.path[:0] = [str(ROOT / "clients" / "python"), args.pygen]
    import ebsp  # noqa: E402
    out = open(args.log, "a", buffering=1)
    with ebsp.Client(args.target, job="restart", worker_name=args.name,
                     policy=args.policy, call_timeout=5.0) as coord:
        deadline = time.monotonic() + args.run_for
        while time.monotonic() < deadline:
            time.sleep(args.iteration)
            if coord.step_done():
                result = coord.sync()
                out.write(json.dumps({"t": time.time(), "round": result.round,
                                      "changed": result.membership_changed,
                                      "synchronized": result.synchronized}) + "\n")


def wait_for(pred, timeout, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(step)
    return None


def start_coordinator(binary, port, state_dir, tmp):
    ready = pathlib.Path(tmp) / f"ready-{time.monotonic_ns()}"
    proc = subprocess.Popen(
        [binary, f"--listen_address=127.0.0.1:{port}", "--metrics_address=127.0.0.1:0",
         f"--state_dir={state_dir}", f"--ready_file={ready}", "--tick_interval=50ms"],
        stderr=open(pathlib.Path(tmp) / "coordinator.log", "a"))
    info = wait_for(lambda: ready.exists() and json.loads(ready.read_text()), 30)
    if not info:
        raise SystemExit("coordinator did not become ready")
    return proc, info["grpc_port"]


def run_once(args, tmp):
    sys.path[:0] = [args.pygen]
    import grpc
    from elasticbsp.v1 import coordinator_pb2 as pb
    from elasticbsp.v1 import coordinator_pb2_grpc as pb_grpc
    state = pathlib.Path(tmp) / "state"
    proc, port = start_coordinator(args.coordinator, 0, state, tmp)
    target = f"127.0.0.1:{port}"
    logs = [pathlib.Path(tmp) / f"w{i}.jsonl" for i in range(args.workers)]
    workers = [subprocess.Popen(
        [sys.executable, __file__, "--worker", f"--target={target}", f"--name=w{i}",
         f"--log={logs[i]}", f"--policy={args.policy}", f"--pygen={args.pygen}",
         f"--run_for={args.warmup + args.down + 60}", f"--iteration={args.iteration}"],
        stderr=open(pathlib.Path(tmp) / f"w{i}.err", "a")) for i in range(args.workers)]
    channel = grpc.insecure_channel(target)
    stub = pb_grpc.CoordinatorStub(channel)

    def job():
        try:
            return stub.GetJob(pb.GetJobRequest(job="restart"), timeout=1)
        except grpc.RpcError:
            return None

    if not wait_for(lambda: (j := job()) and j.rounds_completed >= 3 and
                    len(j.workers) == args.workers, 60):
        raise SystemExit("workers did not start rounds")
    time.sleep(args.warmup)
    before = job()
    time.sleep(1.5)  # At least one coalesced roster write after the last change.
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = time.time()
    time.sleep(args.down)
    t0 = time.monotonic()
    restarted_wall = time.time()
    proc, _ = start_coordinator(args.coordinator, port, state, tmp)
    ready = time.monotonic() - t0
    registered = wait_for(lambda: (j := job()) and len(j.workers) == args.workers and
                          time.monotonic() - t0, 120)
    released_job = wait_for(lambda: (j := job()) and j.rounds_completed >= 1 and j, 120)
    released = time.monotonic() - t0

    def synced_after_restart():
        firsts = []
        for log in logs:
            lines = [json.loads(l) for l in log.read_text().splitlines() if l.strip()]
            # The first real release (a sync that found the worker forgotten
            # returns synchronized=False without a barrier).
            after = [l for l in lines if l["t"] > restarted_wall and l.get("synchronized", True)]
            if not after:
                return None
            firsts.append(after[0])
        return firsts
    firsts = wait_for(synced_after_restart, 120)
    all_synced = max(f["t"] for f in firsts) - restarted_wall if firsts else float("nan")
    changed = sum(1 for f in firsts if f["changed"]) if firsts else -1
    same = released_job is not None and \
        released_job.membership_fingerprint == before.membership_fingerprint
    for w in workers:
        w.kill()
        w.wait()
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    del killed
    return (f"{args.workers},{args.down},{ready:.2f},{registered:.2f},{released:.2f},"
            f"{all_synced:.2f},{int(same)},{changed}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--target")
    p.add_argument("--name")
    p.add_argument("--log")
    p.add_argument("--run_for", type=float, default=60)
    p.add_argument("--coordinator", default=str(ROOT / "build/service/ebsp-coordinator"))
    p.add_argument("--pygen", default=str(ROOT / "build/protos/python"))
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--policy", default="bsp")
    p.add_argument("--iteration", type=float, default=0.05, help="seconds per iteration")
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--down", type=float, default=1.0, help="seconds the coordinator is down")
    p.add_argument("--repeats", type=int, default=1)
    args = p.parse_args()
    if args.worker:
        return worker_main(args)
    print("workers,down_s,ready_s,registered_s,released_s,all_synced_s,"
          "same_fingerprint,workers_told_changed")
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="ebsp-restart-") as tmp:
            print(run_once(args, tmp), flush=True)


if __name__ == "__main__":
    main()
