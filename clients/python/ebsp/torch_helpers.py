"""PyTorch glue: average a model across workers exactly when the coordinator
says so.

    import torch.distributed as dist
    from ebsp.torch_helpers import ElasticTrainer

    dist.init_process_group("gloo", ...)          # or "nccl", one GPU per rank
    with ElasticTrainer(coord, model) as trainer:  # coord: ebsp.Client
        for x, y in batches:
            loss_fn(model(x), y).backward(); opt.step(); opt.zero_grad()
            trainer.step_done()                    # syncs + averages when told

which is the same as ``if coord.step_done(): coord.sync(); average_model(model)``.

Membership changes. torch.distributed groups have a fixed world size: they
cannot absorb a worker that joins, leaves or is evicted. When a SyncResult
has membership_changed=True (the set of worker names changed) *and*
live_workers differs from the group's size, the process group must be rebuilt before the next all-reduce:
``dist.destroy_process_group()``, a new rendezvous with the new world size
(torchrun's elastic agent does this), then broadcast the weights from one
rank so everyone restarts from the same model. ElasticTrainer calls
``on_membership_change(result)`` at that point; without a handler it raises,
because all-reducing over a stale group would hang or mix wrong ranks. The
same names coming back after a coordinator restart are no change: the group
is kept, and a sync that found the worker forgotten (synchronized=False) is
not averaged.

torch is imported lazily so ``import ebsp`` works without it.
"""

from typing import Callable, Optional

from ebsp.client import Client, SyncResult
from ebsp.errors import EbspError


def _torch():
    try:
        import torch  # noqa: F401  (lazy: only the helpers need torch)
        import torch.distributed as dist
    except ImportError as err:  # pragma: no cover
        raise ImportError("ebsp.torch_helpers needs PyTorch (Debian: python3-torch)") from err
    return torch, dist


def average_model(model, group=None, include_buffers: bool = True) -> None:
    """Replaces every parameter (and floating-point buffer) of ``model`` by
    its mean over the ranks of ``group`` (default: the world).

    One all-reduce of a single flattened tensor per dtype and device, not one
    per parameter: for small models the per-call latency dominates.
    """
    torch, dist = _torch()
    world = dist.get_world_size(group)
    tensors = [p.data for p in model.parameters()]
    if include_buffers:
        tensors += [b.data for b in model.buffers() if b.is_floating_point()]
    if not tensors or world == 1:
        return
    buckets = {}
    for t in tensors:
        buckets.setdefault((t.dtype, t.device), []).append(t)
    for bucket in buckets.values():
        flat = torch.cat([t.reshape(-1) for t in bucket])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM, group=group)
        flat.div_(world)
        offset = 0
        for t in bucket:
            n = t.numel()
            t.copy_(flat[offset:offset + n].view_as(t))
            offset += n


class MembershipChangedError(EbspError):
    """The job's membership no longer matches the process group."""


class ElasticTrainer:
    """Follows the coordinator's directives for one model: step_done() reports
    the iteration and, when told, joins the barrier and averages the model."""

    def __init__(self, client: Client, model, group=None,
                 on_membership_change: Optional[Callable[[SyncResult], None]] = None,
                 leave_on_exit: bool = True):
        self.client = client
        self.model = model
        self.group = group
        self._on_membership_change = on_membership_change
        self._leave_on_exit = leave_on_exit
        self.syncs = 0
        self.last_sync: Optional[SyncResult] = None

    def step_done(self, compute_seconds: Optional[float] = None) -> Optional[SyncResult]:
        """Returns the SyncResult if this iteration ended with a sync, else None."""
        if not self.client.step_done(compute_seconds):
            return None
        result = self.client.sync()
        if not result.synchronized:
            # Registered again while waiting (a coordinator restart): no
            # barrier, nobody averages now; the next sync does.
            self.last_sync = result
            return result
        if result.membership_changed and self._group_is_stale(result):
            if self._on_membership_change is None:
                raise MembershipChangedError(
                    f"job {self.client.job}: {result.live_workers} live workers but the "
                    f"process group has {self._group_size()} ranks (epoch "
                    f"{result.membership_epoch}); rebuild the group (see ebsp.torch_helpers)")
            self._on_membership_change(result)
        average_model(self.model, self.group)
        self.syncs += 1
        self.last_sync = result
        return result

    def _group_size(self) -> int:
        _, dist = _torch()
        return dist.get_world_size(self.group)

    def _group_is_stale(self, result: SyncResult) -> bool:
        # membership_changed already says the set of names changed; a group of
        # the same size (a coordinator without fingerprints) is kept too.
        return result.live_workers != self._group_size()

    def __enter__(self) -> "ElasticTrainer":
        return self

    def __exit__(self, *exc_info) -> None:
        if self._leave_on_exit:
            self.client.leave()
