"""Training on several processes with torch's DistributedDataParallel, started by torchrun.

`tasrih train trainer.devices=2` starts torchrun itself (``launch``); so does
`torchrun --nproc_per_node 2 -m train.cli train output_dir=DIR ...`. Every process runs
``train.loop.train``: gloo connects them on CPU, nccl on CUDA (one GPU per process). Each optimiser
step takes one global batch of ``trainer.batch_size`` examples and every process computes the
gradient of its share (``rank_share``); DDP averages the shares, weighted so that the step equals the
single-process step on the whole batch. Rank 0 alone writes checkpoints, the model and the metrics.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def world_from_env() -> World:
    """The process's place among those torchrun started (one process alone when not under torchrun)."""
    return World(int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")),
                 int(os.environ.get("LOCAL_RANK", "0")))


def setup(world: World, device: torch.device) -> torch.device:
    """Join the process group; on CUDA each process takes the GPU of its local rank."""
    if device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def share(value, world: World):
    """Rank 0's ``value`` on every process (the run directory: Hydra may name it by a different second)."""
    if world.size == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def rank_share(batch: list[int], world: World) -> tuple[list[int], float]:
    """This process's examples of a global batch, and the weight of its loss.

    The global batches come from one plan that every process computes alike (seed and epoch), so
    taking every ``world.size``-th example from the rank on is a distributed sampler over that plan: the
    processes see disjoint shares that cover the batch. DDP averages the processes' gradients; weighting
    each loss by its share of the batch (times the number of processes) makes that average the gradient
    of the mean loss over the whole batch. A process whose share is empty (a last batch smaller than the
    number of processes) still has to join the averaging: it runs one example with weight 0.
    """
    mine = batch[world.rank::world.size]
    if not mine:
        return batch[:1], 0.0
    return mine, len(mine) * world.size / len(batch)


def batch_mean(weighted_loss: torch.Tensor, world: World) -> float:
    """The loss over the whole global batch, from each process's weighted share (for the log)."""
    total = weighted_loss.float().reshape(1).clone()
    dist.all_reduce(total)
    return total.item() / world.size


def barrier_and_leave(world: World) -> None:
    """Wait for every process to finish training, then leave the group (rank 0 goes on to evaluate)."""
    if world.size > 1 and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def devices_override(argv: list[str]) -> int:
    """The N of a ``trainer.devices=N`` override (1 when absent)."""
    for a in argv:
        if a.startswith("trainer.devices="):
            value = a.split("=", 1)[1]
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"trainer.devices must be a whole number of processes, 1 or more, not {value!r}")
            return int(value)
    return 1


def launch(argv: list[str], n: int, run_name: str) -> int:
    """Start ``tasrih train ARGV`` as ``n`` torchrun processes on this machine; return their exit status.

    Every process must write into one run directory, so it is fixed here (Hydra would name one per
    process, by the second each started in) unless the user gave ``output_dir``.
    """
    if any(a in ("-m", "--multirun") or a.startswith("hydra.mode=") for a in argv):
        raise ValueError("a sweep (-m) cannot run with trainer.devices > 1: run each setting as its own command")
    if not any(a.startswith("output_dir=") for a in argv):
        argv = [*argv, f"output_dir=outputs/{run_name}/{datetime.now():%Y-%m-%d_%H-%M-%S}"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}",
           "-m", "train.cli", "train", *argv]
    return subprocess.call(cmd)
