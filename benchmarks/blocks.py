"""Which products the staircase kernel should run in row blocks, and which whole.

One masked layer (a random staircase with about half its weights zero, cut into blocks of
``made.fastpath.BLOCK_ROWS`` rows), forward and backward in float32 through
``made.fastpath.block_linear``: in blocks against one whole product, best of 3 alternating
rounds, for square layers of 256, 512 and 1,024 units at batch 16 to 256. The ratio (whole
over blocks; below 1: whole is faster) by multiply-adds is what ``BLOCKS_MIN_PRODUCT`` is
set from.

    python benchmarks/blocks.py --json benchmarks/results/blocks.json      # ~1 minute
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, save_json  # noqa: E402

from made.fastpath import BLOCK_ROWS, block_linear, staircase_blocks  # noqa: E402


def layer(units: int, batch: int, repeats: int) -> dict[str, Any]:
    g = torch.Generator().manual_seed(0)
    prefix = torch.sort(torch.randint(1, units + 1, (units,), generator=g)).values
    blocks = staircase_blocks(prefix, BLOCK_ROWS)
    w = torch.randn(units, units, generator=g).requires_grad_()
    b = torch.randn(units, generator=g).requires_grad_()
    x = torch.randn(batch, units, generator=g).requires_grad_()
    best: dict[str, float] = {}
    for _ in range(3):
        for name, cut in (("blocks", blocks), ("whole", None)):
            start = time.perf_counter()
            for _ in range(repeats):
                block_linear(x, w, b, cut).sum().backward()
            us = (time.perf_counter() - start) / repeats * 1e6
            best[name] = min(best.get(name, us), us)
    return {"units": units, "batch": batch, "multiply_adds": batch * units * units,
            "blocks": len(blocks), "blocks_us": best["blocks"], "whole_us": best["whole"],
            "whole_over_blocks": best["whole"] / best["blocks"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    info = machine()
    print(f"machine: {info}", flush=True)
    rows = []
    for units in (256, 512, 1024):
        for batch in (16, 32, 64, 128, 256):
            r = layer(units, batch, 200 if units < 1024 else 60)
            rows.append(r)
            print(f"{units:5d} units, batch {batch:4d} ({r['multiply_adds']:>11,} multiply-adds): "
                  f"blocks {r['blocks_us']:7.0f} us, whole {r['whole_us']:7.0f} us, whole / "
                  f"blocks {r['whole_over_blocks']:.2f}", flush=True)  # fmt: skip
    if args.json:
        save_json(args.json, {"machine": info, "date": time.strftime("%Y-%m-%d"), "layers": rows})


if __name__ == "__main__":
    main()
