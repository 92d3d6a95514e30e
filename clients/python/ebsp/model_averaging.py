"""ElasticBSP as a PyTorch model averager.

``ElasticBSPModelAverager`` has the interface of the averagers in
``torch.distributed.algorithms.model_averaging.averagers`` (it subclasses
their ``ModelAverager``): call ``average_parameters(params)`` after every
optimizer step. Where ``PeriodicModelAverager(period=4)`` averages every 4th
step, this one averages exactly when the coordinator says so (a round's
barrier under ElasticBSP, BSP or local steps). Switching is one line:

    # averager = averagers.PeriodicModelAverager(period=4, warmup_steps=100)
    averager = ElasticBSPModelAverager(warmup_steps=100)     # ElasticBSP
    ...
    optimizer.step()
    averager.average_parameters(model.parameters())

and with PostLocalSGD (``PostLocalSGDOptimizer(optim, averager=...)``) the
same averager goes into the ``averager=`` argument.

Under torchrun the coordinator client is made from the environment: the
coordinator from ``EBSP_COORDINATOR`` (host:port), the job from ``EBSP_JOB``
or torchrun's ``TORCHELASTIC_RUN_ID``, the worker name from the host name,
``RANK`` and ``TORCHELASTIC_RESTART_COUNT`` (one name per incarnation), the
policy from ``EBSP_POLICY`` (default ``ebsp:R=8``). Or pass ``client=``.

Membership changes, the torchrun way: a torch.distributed group has a fixed
size. When a sync reports that the live workers no longer match the group
(a worker was evicted or left), ``average_parameters`` raises
``MembershipChangedError`` instead of all-reducing over a stale group. The
worker exits non-zero, torchrun's elastic agent stops the group and starts
every worker again with a new rendezvous (``--max-restarts``), and the
script resumes from its checkpoint: the same path as any worker failure
under torchrun. SIGTERM from the agent makes the averager leave the job, so
the new incarnation's barrier does not wait for the old one's leases.
"""

import os
import signal
import socket
import threading
from typing import Optional

import torch.distributed as dist
from torch.distributed.algorithms.model_averaging import averagers
from torch.distributed.algorithms.model_averaging import utils as averaging_utils

from ebsp.client import Client, SyncResult
from ebsp.torch_helpers import MembershipChangedError

DEFAULT_POLICY = "ebsp:R=8"


def client_from_environment(policy: Optional[str] = None, **client_options) -> Client:
    """A Client for this torchrun worker, named from its environment."""
    target = os.environ.get("EBSP_COORDINATOR")
    if not target:
        raise ValueError("EBSP_COORDINATOR (host:port of the coordinator) is not set")
    job = os.environ.get("EBSP_JOB") or os.environ.get("TORCHELASTIC_RUN_ID")
    if not job:
        raise ValueError("neither EBSP_JOB nor torchrun's TORCHELASTIC_RUN_ID is set")
    rank = os.environ.get("RANK", "0")
    restart = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    name = f"{socket.gethostname()}:rank{rank}:r{restart}"
    return Client(target, job=job, worker_name=name,
                  policy=policy or os.environ.get("EBSP_POLICY", DEFAULT_POLICY),
                  **client_options)


class ElasticBSPModelAverager(averagers.ModelAverager):
    """Averages parameters when the ElasticBSP coordinator says so.

    Args:
        client: a registered ebsp.Client (default: client_from_environment()).
        warmup_steps: steps before averaging starts (as PeriodicModelAverager;
            with PostLocalSGD the warm-up steps are all-reduced by DDP).
        process_group: the group to average over (default: the world).
    """

    def __init__(self, client: Optional[Client] = None, warmup_steps: int = 0,
                 process_group=None):
        super().__init__(process_group)
        if warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}")
        self.warmup_steps = warmup_steps
        self.client = client or client_from_environment()
        self.syncs = 0
        self.last_sync: Optional[SyncResult] = None
        # Every rank is registered before any reports, so the first round's
        # members are exactly the group.
        if dist.is_initialized():
            dist.barrier(group=self.process_group)
        self._leave_on_sigterm()

    def average_parameters(self, params) -> None:
        """Reports this step; at a sync, waits at the barrier and averages
        ``params`` (model parameters or an optimizer's param_groups)."""
        if self.step >= self.warmup_steps and self.client.step_done():
            result = self.client.sync()
            world = dist.get_world_size(self.process_group)
            # (A sync without a barrier carries the registration's count.)
            if result.synchronized and result.live_workers != world:
                raise MembershipChangedError(
                    f"job {self.client.job}: {result.live_workers} live workers but the process "
                    f"group has {world} ranks (membership epoch {result.membership_epoch}); "
                    "exit so that torchrun restarts the group (--max-restarts)")
            # A sync that did not reach a barrier (the worker had to register
            # again) has nothing to average with.
            if getattr(result, "synchronized", True):
                averaging_utils.average_parameters_or_parameter_groups(params, self.process_group)
                self.syncs += 1
            self.last_sync = result
        self.step += 1

    def leave(self) -> None:
        """Leaves the job (also done on SIGTERM and by ``with``)."""
        self.client.leave()

    def __enter__(self) -> "ElasticBSPModelAverager":
        return self

    def __exit__(self, *exc_info) -> None:
        self.leave()

    def _leave_on_sigterm(self) -> None:
        # torchrun's agent stops a worker group with SIGTERM; Python's default
        # would exit without leaving. Only when nobody else handles it.
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return

        def handler(signum, frame):
            try:
                self.client.leave()
            finally:
                raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, handler)
