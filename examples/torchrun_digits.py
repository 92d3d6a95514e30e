#!/usr/bin/python3
"""The digits MLP trained under torchrun, averaged by ElasticBSP.

A PyTorch local-SGD loop written for PeriodicModelAverager, switched to
ElasticBSP by one line (ebsp.model_averaging.ElasticBSPModelAverager).
torchrun provides RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT; the
coordinator comes from EBSP_COORDINATOR, the job from torchrun's run id.

    EBSP_COORDINATOR=127.0.0.1:50051 torchrun --standalone --nproc_per_node=2 \\
        --max_restarts=1 examples/torchrun_digits.py --rounds 40 --checkpoint /tmp/digits.pt

Training runs for --rounds synchronizations, not a number of steps: under
ElasticBSP ranks run different numbers of local steps between two syncs, and
every rank passes every sync, so all stop together. Rank 0 writes a
checkpoint after each sync (--checkpoint); every rank of a restarted group
resumes from it, as torchrun users expect of a worker failure. --crash_rank
R --crash_at_round K makes rank R die after K syncs in the first incarnation
(to see the restart). --backend nccl puts LOCAL_RANK on
cuda:LOCAL_RANK. Rank 0 prints one JSON summary line at the end.
"""

import argparse
import json
import os
import sys
import time

import torch
import torch.distributed as dist
from torch import nn

from ebsp.model_averaging import ElasticBSPModelAverager


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=40, help="synchronizations to train for")
    p.add_argument("--backend", choices=("gloo", "nccl"), default="gloo")
    p.add_argument("--lr", type=float, default=0.2)
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--checkpoint", default="", help="resume from / save to this file")
    p.add_argument("--crash_rank", type=int, default=-1)
    p.add_argument("--crash_at_round", type=int, default=-1)
    p.add_argument("--step_seconds", type=float, default=0.002,
                   help="pad every step to this long (rank 0 twice as long)")
    return p.parse_args(argv)


def load_digits_shard(rank, world):
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(x, d.target, test_size=0.2,
                                                        random_state=0, stratify=d.target)
    return ((torch.from_numpy(x_train[rank::world]), torch.from_numpy(y_train[rank::world])),
            (torch.from_numpy(x_test), torch.from_numpy(y_test)))


def main(argv=None):
    args = parse_args(argv)
    dist.init_process_group(args.backend)  # env://: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
    rank, world = dist.get_rank(), dist.get_world_size()
    restart = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
    device = torch.device("cpu")
    if args.backend == "nccl":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    start_round = 0
    if args.checkpoint and os.path.exists(args.checkpoint):
        state = torch.load(args.checkpoint, map_location=device)
        model.load_state_dict(state["model"])
        start_round = state["rounds"]
    (x, y), (x_test, y_test) = load_digits_shard(rank, world)
    x, y, x_test, y_test = x.to(device), y.to(device), x_test.to(device), y_test.to(device)
    loss_fn = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(rank + 1000 * restart)

    # The one line that differs from a PeriodicModelAverager loop.
    with ElasticBSPModelAverager(warmup_steps=0) as averager:
        started = time.monotonic()
        steps = 0
        while start_round + averager.syncs < args.rounds:
            if (restart == 0 and rank == args.crash_rank and
                    start_round + averager.syncs == args.crash_at_round):
                os._exit(17)  # a crashed worker: torchrun restarts the group
            t0 = time.monotonic()
            idx = torch.randint(0, x.shape[0], (args.batch_size,), generator=g)
            optimizer.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            optimizer.step()
            steps += 1
            pad = args.step_seconds * (2 if rank == 0 else 1) - (time.monotonic() - t0)
            if pad > 0:
                time.sleep(pad)
            syncs_before = averager.syncs
            averager.average_parameters(model.parameters())
            if rank == 0 and args.checkpoint and averager.syncs != syncs_before:
                tmp = args.checkpoint + ".tmp"
                torch.save({"model": model.state_dict(), "rounds": start_round + averager.syncs},
                           tmp)
                os.replace(tmp, args.checkpoint)
        elapsed = time.monotonic() - started
    if rank == 0:
        with torch.no_grad():
            accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
        print(json.dumps({"accuracy": round(accuracy, 4), "world": world, "restart": restart,
                          "start_round": start_round, "rounds": args.rounds,
                          "local_steps": steps, "seconds": round(elapsed, 2)}), flush=True)
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
