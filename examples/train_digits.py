#!/usr/bin/python3
"""Data-parallel training of a small MLP on scikit-learn's digits, synchronized
by the ElasticBSP coordinator.

Several local processes (default 4) each train on their own shard of the
training set with plain SGD. After every iteration a process reports to the
coordinator (Client.step_done); exactly when the coordinator says "sync now"
it waits at the round's barrier (Client.sync) and then averages the model
weights with every other process (an all-reduce over torch.distributed,
gloo on CPU or nccl on GPUs). Under BSP that is after every iteration; under
ElasticBSP each process runs as many iterations as ZipLine planned for it,
so fast processes do not sit idle waiting for a slow one.

Under the roundless policies (asp, ssp:s=3, dssp:s=3,r=12) there is no
barrier to average at, so the processes share a parameter store instead, as
a parameter server would: each iteration pulls the shared weights, computes
a gradient and pushes it (the store takes a step of lr / workers, so that
one push per process equals one averaged BSP step). When the coordinator
says WAIT, Client.step_done blocks in WaitForClock until the slowest
process is close enough (gloo on CPU only).

Rank 0 can be slowed down (--slow_worker_factor 2.0: it sleeps as long again
as its compute took) and evaluates the averaged model on the held-out test
set after a sync at most every --eval_interval seconds. It decides when to
stop (target accuracy reached, --max_seconds, --max_iterations) and tells
the others through the next all-reduce, so every process runs the same
number of all-reduces and stops at the same sync.

Outputs (rank 0): --csv, one row per evaluation
  policy,run,wall_time_s,iterations,rounds,test_accuracy,time_to_target_s
(iterations: summed over processes; time_to_target_s: wall time of the first
evaluation at or above --target_accuracy, empty if never reached, the same
in every row of a run); --plot, test accuracy against wall time (PNG);
--summary_json, one JSON object with the run's totals. The JSON summary is
also printed as the last line of stdout.

    PYTHONPATH=clients/python:<build>/protos/python /usr/bin/python3 \\
      examples/train_digits.py --coordinator_binary <build>/service/ebsp-coordinator \\
      --policy ebsp:R=8 --slow_worker_factor 2 --csv /tmp/ebsp.csv --plot /tmp/ebsp.png

Compute per iteration of this model is a fraction of a millisecond, much
less than one RPC, so --simulated_step_seconds (default 0.01) pads every
iteration to the length of a realistic step; the slow worker's extra sleep
is proportional to that padded time. See examples/README.md.
"""

import argparse
import csv
import datetime
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import List, Optional

ROUND_POLICIES = ("bsp", "ebsp", "local")
CLOCK_POLICIES = ("asp", "ssp", "dssp")


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--policy", default="ebsp:R=8",
                   help="coordinator policy text: bsp, ebsp:R=8, local:H=4 (weights averaged at "
                        "barriers), asp, ssp:s=3, dssp:s=3,r=12 (a shared parameter store)")
    p.add_argument("--workers", type=int, default=4, help="local training processes")
    p.add_argument("--slow_worker_factor", type=float, default=1.0,
                   help="rank 0 takes this many times as long per iteration (>= 1)")
    p.add_argument("--target_accuracy", type=float, default=0.95)
    p.add_argument("--stop_at_target", type=int, default=1,
                   help="1: stop at the first evaluation reaching --target_accuracy")
    p.add_argument("--max_seconds", type=float, default=60.0, help="wall-time bound of training")
    p.add_argument("--max_iterations", type=int, default=0,
                   help="bound on iterations summed over processes (0: none)")
    p.add_argument("--coordinator", default="", help="HOST:PORT of a running coordinator")
    p.add_argument("--coordinator_binary", default=os.environ.get("EBSP_COORDINATOR", ""),
                   help="start this ebsp-coordinator on 127.0.0.1 if --coordinator is not given")
    p.add_argument("--job", default="", help="job name (default: digits-<policy>-<pid>)")
    p.add_argument("--run", type=int, default=0, help="run number, written to the CSV")
    p.add_argument("--backend", choices=("gloo", "nccl"), default="gloo",
                   help="torch.distributed backend; nccl puts rank i on cuda:i")
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--lr", type=float, default=0.2)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--simulated_step_seconds", type=float, default=0.01,
                   help="pad every iteration's compute to at least this long")
    p.add_argument("--eval_interval", type=float, default=0.1,
                   help="rank 0 evaluates after a sync at most this often (seconds)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--csv", default="", help="write the evaluation trace here")
    p.add_argument("--plot", default="", help="write accuracy vs wall time here (PNG)")
    p.add_argument("--summary_json", default="", help="write the run summary here")
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error(f"--workers must be >= 1, got {args.workers}")
    if args.slow_worker_factor < 1:
        p.error(f"--slow_worker_factor must be >= 1, got {args.slow_worker_factor}")
    if not 0 < args.target_accuracy <= 1:
        p.error(f"--target_accuracy must be in (0, 1], got {args.target_accuracy}")
    if args.max_seconds <= 0:
        p.error(f"--max_seconds must be > 0, got {args.max_seconds}")
    kind = args.policy.split(":")[0]
    if kind not in ROUND_POLICIES + CLOCK_POLICIES:
        p.error(f"--policy {args.policy!r}: expected one of "
                f"{', '.join(ROUND_POLICIES + CLOCK_POLICIES)}")
    if kind in CLOCK_POLICIES and args.backend != "gloo":
        p.error(f"--policy {args.policy!r} shares a parameter store in host memory: "
                "use --backend gloo")
    if not args.coordinator and not args.coordinator_binary:
        p.error("give --coordinator HOST:PORT or --coordinator_binary PATH")
    return args


# ---------------------------------------------------------------------------
# Coordinator process (when the example starts its own)

class LocalCoordinator:
    """ebsp-coordinator on 127.0.0.1 with kernel-picked ports (--ready_file)."""

    STARTUP_TIMEOUT_SECONDS = 20.0

    def __init__(self, binary: str, extra_flags: Optional[List[str]] = None):
        self._dir = tempfile.TemporaryDirectory(prefix="ebsp-coordinator-")
        ready = os.path.join(self._dir.name, "ready.json")
        self._log = open(os.path.join(self._dir.name, "coordinator.log"), "wb")
        self._proc = subprocess.Popen(
            [binary, "--listen_address=127.0.0.1:0", "--metrics_address=127.0.0.1:0",
             f"--ready_file={ready}"] + list(extra_flags or []),
            stdout=subprocess.DEVNULL, stderr=self._log)
        deadline = time.monotonic() + self.STARTUP_TIMEOUT_SECONDS
        while not (os.path.exists(ready) and os.path.getsize(ready) > 0):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{binary} did not become ready: {self.log_text()}")
            time.sleep(0.01)
        with open(ready) as f:
            info = json.loads(f.readline())
        self.target = f"127.0.0.1:{info['grpc_port']}"
        self.metrics_target = f"127.0.0.1:{info['metrics_port']}"

    def log_text(self) -> str:
        with open(self._log.name, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        self._log.close()
        self._dir.cleanup()

    def __enter__(self) -> "LocalCoordinator":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------
# One training process

def load_shard(rank: int, world: int, seed: int):
    """Digits scaled to [0, 1]; a stratified 80/20 split shared by every rank,
    the training part dealt round-robin into `world` shards."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.2, random_state=seed, stratify=digits.target)
    return (x_train[rank::world], y_train[rank::world]), (x_test, y_test)


def worker_main(rank: int, args: argparse.Namespace, coordinator: str, job: str,
                rendezvous_port: int, result_path: str, store=None) -> None:
    """`store`: None under a round policy; under a roundless one the shared
    (weights, control, lock), control = [stop flag, iterations of everyone]."""
    import torch
    import torch.distributed as dist
    import ebsp
    from ebsp.torch_helpers import average_model

    torch.set_num_threads(1)  # 4+ processes share a few cores.
    world = args.workers
    device = torch.device(f"cuda:{rank}") if args.backend == "nccl" else torch.device("cpu")
    dist.init_process_group(args.backend, init_method=f"tcp://127.0.0.1:{rendezvous_port}",
                            rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=max(60.0, args.max_seconds)))

    (x_train, y_train), (x_test, y_test) = load_shard(rank, world, args.seed)
    x_train = torch.from_numpy(x_train).to(device)
    y_train = torch.from_numpy(y_train).long().to(device)
    x_test = torch.from_numpy(x_test).to(device)
    y_test = torch.from_numpy(y_test).long().to(device)

    torch.manual_seed(args.seed)  # Same initial weights on every rank.
    model = torch.nn.Sequential(torch.nn.Linear(64, args.hidden), torch.nn.ReLU(),
                                torch.nn.Linear(args.hidden, 10)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    batches = torch.Generator().manual_seed(args.seed * 1000 + rank)

    def evaluate() -> float:
        with torch.no_grad():
            return (model(x_test).argmax(dim=1) == y_test).float().mean().item()

    slow_extra = args.slow_worker_factor - 1.0 if rank == 0 else 0.0
    coord = ebsp.Client(coordinator, job, f"{socket.gethostname()}:{rank}", policy=args.policy)
    trace = []
    rounds = 0
    local_iterations = 0
    total_iterations = 0
    time_to_target = None
    stop_requested = False
    def rank0_checks(total_iterations: int) -> None:
        """Rank 0, after each sync (after each iteration without rounds):
        evaluates at most every --eval_interval and decides whether to stop."""
        nonlocal last_eval, time_to_target, stop_requested
        wall = time.monotonic() - started
        if wall - last_eval >= args.eval_interval:
            last_eval = wall
            if store is not None:
                with store[2]:
                    torch.nn.utils.vector_to_parameters(store[0].clone(), model.parameters())
            accuracy = evaluate()
            trace.append((wall, total_iterations, rounds, accuracy))
            if time_to_target is None and accuracy >= args.target_accuracy:
                time_to_target = wall
                stop_requested = stop_requested or bool(args.stop_at_target)
        if wall >= args.max_seconds or (args.max_iterations and
                                        total_iterations >= args.max_iterations):
            stop_requested = True

    # Everyone registered before anyone runs: all start in round 0.
    dist.barrier()
    started = time.monotonic()
    last_eval = -float("inf")
    try:
        while True:
            t0 = time.perf_counter()
            index = torch.randint(len(x_train), (args.batch_size,), generator=batches).to(device)
            if store is not None:
                with store[2]:
                    pulled = store[0].clone()
                torch.nn.utils.vector_to_parameters(pulled, model.parameters())
            optimizer.zero_grad()
            loss_fn(model(x_train[index]), y_train[index]).backward()
            if store is None:
                optimizer.step()
            else:
                grad = torch.cat([q.grad.reshape(-1) for q in model.parameters()])
                with store[2]:
                    store[0].sub_(grad, alpha=args.lr / world)
                    store[1][1] += 1
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            compute = time.perf_counter() - t0
            step = max(compute, args.simulated_step_seconds)
            time.sleep(step - compute + slow_extra * step)
            local_iterations += 1

            if store is not None:
                # Roundless: a WAIT directive blocks inside step_done.
                coord.step_done(step * (1.0 + slow_extra))
                total_iterations = int(store[1][1].item())
                if store[1][0].item() > 0:
                    break
                if rank != 0:
                    continue
                rank0_checks(total_iterations)
                if stop_requested:
                    store[1][0] = 1.0
                    break
                continue
            if not coord.step_done(step * (1.0 + slow_extra)):
                continue
            result = coord.sync()
            if result.membership_changed and result.live_workers != world:
                raise RuntimeError(f"rank {rank}: job {job} has {result.live_workers} live "
                                   f"workers, the process group {world}; this example "
                                   "does not rebuild its group")
            average_model(model)
            rounds += 1
            # Control values ride on one small all-reduce: a stop request from
            # rank 0 and the iteration count summed over processes.
            control = torch.tensor([1.0 if stop_requested else 0.0, float(local_iterations)],
                                   dtype=torch.float64, device=device)
            dist.all_reduce(control)
            total_iterations = int(control[1].item())
            if control[0].item() > 0:
                break
            if rank != 0:
                continue
            rank0_checks(total_iterations)
    finally:
        coord.leave()
    wall = time.monotonic() - started
    if rank == 0:
        if store is not None:
            with store[2]:
                torch.nn.utils.vector_to_parameters(store[0].clone(), model.parameters())
            total_iterations = int(store[1][1].item())
        accuracy = evaluate()
        trace.append((wall, total_iterations, rounds, accuracy))
        if time_to_target is None and accuracy >= args.target_accuracy:
            time_to_target = wall
        with open(result_path, "w") as f:
            json.dump({"trace": trace, "time_to_target_s": time_to_target,
                       "wall_time_s": wall, "iterations": total_iterations,
                       "rounds": rounds, "test_accuracy": accuracy,
                       "rank0_iterations": local_iterations}, f)
    dist.barrier()
    dist.destroy_process_group()


def make_store(args: argparse.Namespace, mp):
    """The shared parameter store of the roundless policies (None for round
    policies): the initial weights every rank would build, a control vector,
    and the lock that makes each pull and each push atomic."""
    if args.policy.split(":")[0] not in CLOCK_POLICIES:
        return None
    import torch
    torch.manual_seed(args.seed)  # As in worker_main: the same initial weights.
    model = torch.nn.Sequential(torch.nn.Linear(64, args.hidden), torch.nn.ReLU(),
                                torch.nn.Linear(args.hidden, 10))
    weights = torch.nn.utils.parameters_to_vector(model.parameters()).detach().clone()
    control = torch.zeros(2, dtype=torch.float64)
    return (weights.share_memory_(), control.share_memory_(), mp.get_context("spawn").Lock())


def _spawn_entry(rank, *args):
    # torch.multiprocessing.spawn children start from a fresh interpreter.
    worker_main(rank, *args)


# ---------------------------------------------------------------------------
# Outputs

CSV_FIELDS = ["policy", "run", "wall_time_s", "iterations", "rounds", "test_accuracy",
              "time_to_target_s"]


def write_csv(path: str, policy: str, run: int, result: dict) -> None:
    ttt = result["time_to_target_s"]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_FIELDS)
        for wall, iterations, rounds, accuracy in result["trace"]:
            writer.writerow([policy, run, f"{wall:.4f}", iterations, rounds, f"{accuracy:.4f}",
                             "" if ttt is None else f"{ttt:.4f}"])


def plot_runs(path: str, runs: List[dict], target_accuracy: float, title: str) -> None:
    """runs: dicts with 'label', 'trace' [(wall, iterations, rounds, acc)], 'color'."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    seen = set()
    for run in runs:
        xs = [row[0] for row in run["trace"]]
        ys = [row[3] for row in run["trace"]]
        label = run["label"] if run["label"] not in seen else None
        seen.add(run["label"])
        ax.plot(xs, ys, color=run.get("color"), alpha=0.85, linewidth=1.4, label=label)
    ax.axhline(target_accuracy, color="grey", linestyle="--", linewidth=1,
               label=f"target {target_accuracy:.2f}")
    ax.set_xlabel("wall time (s)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.0)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ---------------------------------------------------------------------------

def run_training(args: argparse.Namespace) -> dict:
    import torch.multiprocessing as mp
    import ebsp

    local = None
    coordinator = args.coordinator
    if not coordinator:
        local = LocalCoordinator(args.coordinator_binary)
        coordinator = local.target
    try:
        job = args.job or f"digits-{args.policy.split(':')[0]}-{os.getpid()}-{args.run}"
        with ebsp.AdminClient(coordinator) as admin:
            admin.create_job(job, args.policy)
        with tempfile.TemporaryDirectory(prefix="ebsp-digits-") as tmp:
            result_path = os.path.join(tmp, "result.json")
            started = time.monotonic()
            mp.spawn(_spawn_entry, nprocs=args.workers, join=True,
                     args=(args, coordinator, job, free_port(), result_path,
                           make_store(args, mp)))
            elapsed = time.monotonic() - started
            with open(result_path) as f:
                result = json.load(f)
        with ebsp.AdminClient(coordinator) as admin:
            job_info = admin.get_job(job)
            result["idle_fraction"] = job_info.idle_fraction
            result["coordinator_rounds"] = job_info.rounds_completed
            admin.delete_job(job)
    finally:
        if local is not None:
            local.stop()
    result.update(policy=args.policy, run=args.run, workers=args.workers,
                  slow_worker_factor=args.slow_worker_factor,
                  target_accuracy=args.target_accuracy, process_seconds=elapsed)
    return result


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    result = run_training(args)
    if args.csv:
        write_csv(args.csv, args.policy, args.run, result)
    if args.plot:
        plot_runs(args.plot, [{"label": args.policy, "trace": result["trace"]}],
                  args.target_accuracy,
                  f"digits, {args.workers} workers, rank 0 x{args.slow_worker_factor:g}")
    summary = {k: v for k, v in result.items() if k != "trace"}
    if args.summary_json:
        with open(args.summary_json, "w") as f:
            json.dump(summary, f, indent=1)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
