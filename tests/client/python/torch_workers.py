"""Process bodies for test_torch_helpers (spawned children import them by name)."""

import datetime
import json
import time

import torch
import torch.distributed as dist

import ebsp
from ebsp.torch_helpers import ElasticTrainer, average_model


def _init(rank, world, port):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world, timeout=datetime.timedelta(seconds=60))


def average_rank_valued_model(rank, world, port, out_path):
    """Every parameter starts at `rank`; after average_model it must be the
    mean of the ranks everywhere."""
    _init(rank, world, port)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    with torch.no_grad():
        for t in list(model.parameters()) + [b for b in model.buffers() if b.is_floating_point()]:
            t.fill_(float(rank))
    average_model(model)
    values = sorted({float(v) for t in model.state_dict().values() if t.is_floating_point()
                     for v in t.reshape(-1)})
    with open(f"{out_path}.{rank}", "w") as f:
        json.dump(values, f)
    dist.destroy_process_group()


def train_with_elastic_trainer(rank, world, port, target, job, syncs, out_path):
    """Runs until `syncs` syncs, rank 0 slower; reports what it saw."""
    _init(rank, world, port)
    torch.manual_seed(100 + rank)  # Different weights per rank until averaged.
    model = torch.nn.Linear(4, 2)
    coord = ebsp.Client(target, job, f"rank{rank}")
    dist.barrier()  # Everyone registered: all start in round 0.
    iterations = 0
    with ElasticTrainer(coord, model) as trainer:
        while trainer.syncs < syncs:
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(0.01 * (rank + 1))  # A local "update".
            time.sleep(0.012 if rank == 0 else 0.003)
            iterations += 1
            trainer.step_done()
        rounds = trainer.last_sync.round
    checksum = float(sum(p.double().sum() for p in model.parameters()))
    with open(f"{out_path}.{rank}", "w") as f:
        json.dump({"checksum": checksum, "iterations": iterations, "round": rounds}, f)
    dist.destroy_process_group()
