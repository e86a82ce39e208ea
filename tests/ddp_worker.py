"""Run by tests/test_train.py under torchrun: trains a small MADE data-parallel and saves this
rank's final parameters and per-epoch losses. Importable, to run the same job in one process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from made import MADE, TrainConfig
from made.data import load_data
from made.train import fit


def run(rank: int, world: int, run_dir: Path | None = None) -> dict:
    data = load_data("bars-and-stripes", seed=0)
    model = MADE(data.shape, [32], num_masks=2, seed=0)
    # float32: two ranks' half-batch gradients sum to one process's to float32 rounding;
    # bfloat16 products would round each half differently
    cfg = TrainConfig(epochs=2, batch_size=64, lr=3e-3, seed=1, precision="float32")
    result = fit(model, data.train[:640], data.valid[:100], cfg, run_dir=run_dir)
    params = torch.cat([p.detach().flatten() for p in model.parameters()])
    # and a table's model with noise on its real columns: each rank perturbs its share of
    # the global batch as one process perturbs the whole
    g = torch.Generator().manual_seed(2)
    rows = torch.cat([torch.randn(256, 2, generator=g),
                      torch.randint(0, 2, (256, 1), generator=g)], 1)  # fmt: skip
    table = MADE(3, [16], num_categories=[0, 0, 2], seed=0)
    fit(table, rows[:192], rows[192:], TrainConfig(epochs=2, batch_size=64, seed=1, noise=0.3,
                                                   precision="float32"))  # fmt: skip
    noisy = torch.cat([p.detach().flatten() for p in table.parameters()])
    return {"params": params, "losses": [h["train_loss"] for h in result.history],
            "noisy": noisy}  # fmt: skip


if __name__ == "__main__":
    out = Path(sys.argv[1])
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.save(run(rank, world, out / "run"), out / f"rank{rank}.pt")
    dist.barrier()  # nobody tears down the group while another rank still uses it
    dist.destroy_process_group()
    # Leave without the interpreter's finalisation: gloo's C++ threads may still hold work
    # whose tensors reference Python objects, and tearing those down there aborted one rank
    # (SIGABRT, "terminate called without an active exception") once in a loaded run, after
    # its results were saved (pytorch/pytorch#179291 describes the race)
    sys.stdout.flush()
    os._exit(0)
