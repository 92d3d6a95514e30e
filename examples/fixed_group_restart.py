#!/usr/bin/python3
"""One fixed gloo group that outlives a coordinator restart.

Every worker process initializes torch.distributed ONCE (gloo, a fixed world
size) and never again, then trains the digits MLP on its shard under
ElasticBSP: it reports each iteration, and when the coordinator says "sync
now" it waits at the barrier and averages the model with one all-reduce.

Kill the coordinator (kill -9) while this runs and start it again on the
same port with the same --state_dir: the workers pause, register again under
their names, and the restored job holds its first barrier until all of them
are back (--restart_grace), so that barrier releases the same set of names.
membership_changed stays False, nobody rebuilds its group, and every member
passes every barrier once (one all-reduce each): the group survives. A sync
that found its worker forgotten (synchronized=False) is skipped by everyone
it concerns; nobody else averages at that moment either.

The group is formed at start from --world processes; the first release
confirms it (all --world names live). After that any membership_changed
would mean the group no longer matches the job, which this example treats
as fatal (exit 3) instead of rebuilding (see ebsp.torch_helpers for that).

    # a coordinator that keeps its jobs across restarts
    build/service/ebsp-coordinator --state_dir=/tmp/ebsp-state &
    # four workers on this machine (one process each)
    python3 examples/fixed_group_restart.py --coordinator 127.0.0.1:50051 --spawn 4

Each worker writes a JSON summary (--out_dir/rank<R>.json): its syncs,
all-reduces, re-registrations, every release's membership, and a SHA-256 of
its final weights (equal on every rank: they all-reduced last).
"""

import argparse
import datetime
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

SCRIPT = os.path.abspath(__file__)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--coordinator", required=True, help="host:port of ebsp-coordinator")
    p.add_argument("--job", default="fixed-group")
    p.add_argument("--policy", default="ebsp:R=8")
    p.add_argument("--world", type=int, default=4)
    p.add_argument("--rank", type=int, default=-1, help="set by --spawn")
    p.add_argument("--spawn", type=int, default=0, help="start this many worker processes")
    p.add_argument("--rendezvous", default="", help="gloo file:// rendezvous path (--spawn sets)")
    p.add_argument("--syncs", type=int, default=60, help="synchronized rounds to train for")
    p.add_argument("--step_seconds", type=float, default=0.03,
                   help="pad every iteration to this long (rank 0 twice as long)")
    p.add_argument("--out_dir", default=".")
    return p.parse_args(argv)


def spawn(args):
    """Starts args.spawn worker processes of this script and waits for them."""
    rendezvous = args.rendezvous or os.path.join(tempfile.mkdtemp(prefix="ebsp-gloo-"), "init")
    passed = [a for a in sys.argv[1:] if not a.startswith("--spawn")]
    procs = [subprocess.Popen([sys.executable, SCRIPT, *passed, f"--rank={rank}",
                               f"--world={args.spawn}", f"--rendezvous={rendezvous}"])
             for rank in range(args.spawn)]
    return max(p.wait() for p in procs)


def load_shard(rank, world):
    import numpy as np
    import torch
    from sklearn.datasets import load_digits
    d = load_digits()
    x = torch.from_numpy((d.data / 16.0).astype(np.float32))
    y = torch.from_numpy(d.target).long()
    return x[rank::world], y[rank::world]


def weights_sha256(model):
    h = hashlib.sha256()
    for p in model.parameters():
        h.update(p.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


def train(args):
    import torch
    import torch.distributed as dist
    from torch import nn

    import ebsp
    from ebsp.torch_helpers import average_model

    # The one and only process group of this worker.
    dist.init_process_group("gloo", init_method=f"file://{args.rendezvous}", rank=args.rank,
                            world_size=args.world, timeout=datetime.timedelta(seconds=60))
    torch.manual_seed(0)  # The same initial model on every rank.
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    loss_fn = nn.CrossEntropyLoss()
    x, y = load_shard(args.rank, args.world)
    g = torch.Generator().manual_seed(args.rank)

    releases, all_reduces, skipped, started = [], 0, 0, time.monotonic()
    with ebsp.Client(args.coordinator, args.job, f"worker-{args.rank}",
                     policy=args.policy) as coord:
        dist.barrier()  # Everyone registered before anyone trains.
        while all_reduces < args.syncs:
            t0 = time.monotonic()
            idx = torch.randint(0, x.shape[0], (16,), generator=g)
            optimizer.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            optimizer.step()
            pad = args.step_seconds * (2 if args.rank == 0 else 1) - (time.monotonic() - t0)
            if pad > 0:
                time.sleep(pad)
            if not coord.step_done():
                continue
            result = coord.sync()
            if not result.synchronized:
                skipped += 1  # Forgotten by a restarted coordinator: no barrier, no average.
                continue
            releases.append({"round": result.round, "changed": result.membership_changed,
                             "fingerprint": result.membership_fingerprint,
                             "live": result.live_workers, "t": time.time()})
            if result.live_workers != args.world or (releases[1:] and result.membership_changed):
                print(f"worker-{args.rank}: the job's membership no longer matches the fixed "
                      f"group of {args.world}: {result}", file=sys.stderr, flush=True)
                return 3
            average_model(model)  # The only collective: once per release, on every rank.
            all_reduces += 1
        registrations = coord.registrations
    summary = {"rank": args.rank, "all_reduces": all_reduces, "skipped_syncs": skipped,
               "registrations": registrations, "releases": releases,
               "weights_sha256": weights_sha256(model),
               "seconds": round(time.monotonic() - started, 2)}
    with open(os.path.join(args.out_dir, f"rank{args.rank}.json"), "w") as f:
        json.dump(summary, f)
    dist.destroy_process_group()
    return 0


def main(argv=None):
    args = parse_args(argv)
    if args.spawn:
        return spawn(args)
    if args.rank < 0 or not args.rendezvous:
        raise SystemExit("a worker needs --rank and --rendezvous (or use --spawn N)")
    return train(args)


if __name__ == "__main__":
    sys.exit(main())
