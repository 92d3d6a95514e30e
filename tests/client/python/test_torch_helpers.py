"""ebsp.torch_helpers with real torch.distributed (gloo) processes."""

import datetime
import json
import socket
import threading

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import ebsp
import torch_workers
from ebsp.torch_helpers import ElasticTrainer, MembershipChangedError


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_results(out_path, world):
    results = []
    for rank in range(world):
        with open(f"{out_path}.{rank}") as f:
            results.append(json.load(f))
    return results


def test_average_model_replaces_parameters_and_buffers_by_their_mean(tmp_path):
    world = 2
    out = str(tmp_path / "avg")
    mp.spawn(torch_workers.average_rank_valued_model, nprocs=world, join=True,
             args=(world, free_port(), out))
    for values in read_results(out, world):
        assert values == [pytest.approx(0.5)]  # mean of ranks 0 and 1


def test_elastic_trainer_averages_exactly_at_the_coordinators_syncs(coordinator, job_name, tmp_path):
    world = 2
    with ebsp.AdminClient(coordinator.target) as admin:
        admin.create_job(job_name, "ebsp:R=6")
    out = str(tmp_path / "trainer")
    mp.spawn(torch_workers.train_with_elastic_trainer, nprocs=world, join=True,
             args=(world, free_port(), coordinator.target, job_name, 5, out))
    results = read_results(out, world)
    # Released together from the same barriers, averaged right after each:
    # both end in the same round with the same weights although they ran
    # different numbers of local updates of different sizes.
    assert results[0]["round"] == results[1]["round"] == 5
    assert results[0]["checksum"] == pytest.approx(results[1]["checksum"], abs=1e-9)
    assert results[1]["iterations"] >= results[0]["iterations"]
    with ebsp.AdminClient(coordinator.target) as admin:
        assert len(admin.get_job(job_name).workers) == 0  # Both left on exit.


@pytest.fixture
def single_rank_group():
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{free_port()}", rank=0,
                            world_size=1, timeout=datetime.timedelta(seconds=30))
    yield
    dist.destroy_process_group()


@pytest.mark.parametrize("with_handler", [False, True])
def test_elastic_trainer_stops_when_the_job_outgrows_the_process_group(
        coordinator, job_name, single_rank_group, with_handler):
    seen = []
    model = torch.nn.Linear(2, 2)
    with ebsp.Client(coordinator.target, job_name, "in-group", policy="bsp") as mine, \
            ebsp.Client(coordinator.target, job_name, "outsider", policy="bsp") as other:
        trainer = ElasticTrainer(mine, model, on_membership_change=seen.append if with_handler
                                 else None, leave_on_exit=False)
        assert other.step_done(0.001)
        other_sync = threading.Thread(target=other.sync, daemon=True)
        other_sync.start()
        if with_handler:
            result = trainer.step_done(0.001)
            assert seen == [result] and result.live_workers == 2
        else:
            with pytest.raises(MembershipChangedError, match="2 live workers but the process group has 1"):
                trainer.step_done(0.001)
        other_sync.join(timeout=10)
        assert not other_sync.is_alive()
