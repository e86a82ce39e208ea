"""The floor of a training step in eager PyTorch: a hand-written MADE step against made and
the peers, side by side in one run.

Issue 30 asks for made's step at 1.3x the fastest peer when each uses its best precision,
and 1.5x in float32 against float32. This measures how far any implementation in eager
PyTorch can get on this machine: the same network, loss and data as ``peers.py`` (D binary
dimensions, ReLU layers, natural ordering, one logit per dimension, binary cross-entropy,
batches by index), with everything a library adds taken away. The hand-written step runs
the forward and backward passes written out (no autograd), the products either dense or in
the staircase's row blocks (made's own plan: in bfloat16 each block's weights are cast to
their own contiguous copy, so no product reads a strided operand), multiplies the weight
gradients by the mask once, and updates the weights with one direct call of the fused Adam
kernel (no optimiser object). Its weights are made's, held at zero outside the mask.

Rounds are shuffled; in each, every implementation takes ``--steps`` steps. A ratio is
taken within each round (to the fastest peer of that round: at its best precision for the
bfloat16 rows, in float32 for the float32 rows), and the median and quartiles of those
ratios are reported, so that the machine's drift between rounds cancels.

    pip install -e '.[bench]'
    python benchmarks/step_floor.py --json benchmarks/results/step_floor.json   # ~8 minutes
    python benchmarks/step_floor.py --quick                                      # a smoke run
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, merge_json  # noqa: E402
from peers import AUTOCAST, Trainer, binary_data, peer_nets, timed_steps  # noqa: E402

from made import MADE  # noqa: E402
from made.train import _native_bfloat16  # noqa: E402

Blocks = tuple[tuple[int, int, int], ...] | None


class Floor:
    """The hand-written step (see the module's docstring): made's weights and plan, products
    in ``dtype``, dense (``blocks=False``) or in the plan's row blocks."""

    def __init__(self, d: int, hidden: list[int], dtype: torch.dtype, blocks: bool) -> None:
        model = MADE(d, hidden, seed=0)
        model.zero_unused_weights()
        plan = model.plan()
        layers = model.net.layers()
        self.dtype = dtype
        self.weights = [layer.weight.detach().clone() for layer in layers]
        self.biases = [layer.bias.detach().clone() for layer in layers]
        self.keeps = [plan.gradient_mask(i, torch.float32) for i in range(len(layers))]
        self.blocks: list[Blocks] = [plan.blocks[i] if blocks else None
                                     for i in range(len(layers))]  # fmt: skip
        params = self.weights + self.biases
        self.params = params
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]
        self.steps = [torch.zeros(()) for _ in params]

    def _cast(self, w: torch.Tensor, blocks: Blocks) -> list[torch.Tensor]:
        """The products' copies of ``w``: the whole matrix, or one contiguous copy a block."""
        if blocks is None:
            return [w.to(self.dtype)]
        return [w[r0:r1, :p].to(self.dtype).contiguous() for r0, r1, p in blocks]

    @staticmethod
    def _forward(x: torch.Tensor, pieces: list[torch.Tensor], b: torch.Tensor,
                 blocks: Blocks) -> torch.Tensor:  # fmt: skip
        if blocks is None:
            return torch.addmm(b, x, pieces[0].t())
        parts = [b[: blocks[0][0]].expand(x.shape[0], -1)]  # rows that read nothing: the bias
        for (r0, r1, p), w in zip(blocks, pieces, strict=True):
            parts.append(torch.addmm(b[r0:r1], x[:, :p], w.t()))
        return torch.cat(parts, 1)

    def _backward(
        self, g: torch.Tensor, x: torch.Tensor, pieces: list[torch.Tensor], blocks: Blocks,
        i: int, need_x: bool,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:  # fmt: skip
        """The weight's gradient (float32, masked) and the input's (or None)."""
        if blocks is None:
            gw = (g.t() @ x).to(torch.float32)
            gx = g @ pieces[0] if need_x else None
        else:
            gw = torch.zeros_like(self.weights[i])
            gx = torch.zeros_like(x) if need_x else None
            for (r0, r1, p), w in zip(blocks, pieces, strict=True):
                gw[r0:r1, :p] = g[:, r0:r1].t() @ x[:, :p]
                if gx is not None:
                    gx[:, :p].addmm_(g[:, r0:r1], w)
        return gw.mul_(self.keeps[i]), gx

    def step(self, xl: torch.Tensor, xf: torch.Tensor) -> None:
        n = len(self.weights)
        pieces = [self._cast(w, bl) for w, bl in zip(self.weights, self.blocks, strict=True)]
        biases = [b.to(self.dtype) for b in self.biases]
        hs = [xf.to(self.dtype)]
        for i in range(n):
            z = self._forward(hs[-1], pieces[i], biases[i], self.blocks[i])
            hs.append(torch.relu(z) if i < n - 1 else z)
        logits = hs.pop().to(torch.float32)
        F.binary_cross_entropy_with_logits(logits, xf, reduction="sum")  # the loss, as reported
        g = ((torch.sigmoid(logits) - xf) / len(xf)).to(self.dtype)
        gws: list[torch.Tensor] = [torch.empty(0)] * n
        gbs: list[torch.Tensor] = [torch.empty(0)] * n
        for i in range(n - 1, -1, -1):
            gbs[i] = g.sum(0).to(torch.float32)
            gws[i], gx = self._backward(g, hs[i], pieces[i], self.blocks[i], i, i > 0)
            if gx is not None:
                g = torch.ops.aten.threshold_backward(gx, hs[i], 0)
        torch._foreach_add_(self.steps, 1)
        torch._fused_adam_(self.params, gws + gbs, self.exp_avg, self.exp_avg_sq, [],
                           self.steps, lr=1e-3, beta1=0.9, beta2=0.999, weight_decay=0.0,
                           eps=1e-8, amsgrad=False, maximize=False)  # fmt: skip

    def epoch(self, data: torch.Tensor, batch: int, steps: int, g: torch.Generator) -> float:
        return timed_steps(self.step, data, batch, steps, g)  # the peers' loop


def compare(data: torch.Tensor, hidden: list[int], batch: int, steps: int, rounds: int,
            bfloat16: bool) -> dict[str, Any]:  # fmt: skip
    """Examples per second of every implementation (median of the rounds) and, per
    precision compared, the median and quartiles of each one's ratio to the round's
    fastest peer."""
    d = data.shape[1]
    nets = peer_nets(d, hidden)
    runs: dict[str, Callable[[int, torch.Generator], float]] = {}
    precision: dict[str, str] = {}  # the hand-written steps' and made's, by label
    precisions = [torch.bfloat16, torch.float32] if bfloat16 else [torch.float32]
    for dtype in precisions:
        name = str(dtype).removeprefix("torch.")
        for blocks in (False, True):
            floor = Floor(d, hidden, dtype, blocks)
            label = f"hand-written {name}, {'blocks' if blocks else 'dense'}"
            runs[label] = lambda s, g, f=floor: f.epoch(data, batch, s, g)
            precision[label] = name
        made = Trainer("made", None, d, hidden, batch, name)
        runs[f"made {name}"] = lambda s, g, t=made: t.epoch(data, batch, s, g)
        precision[f"made {name}"] = name
    peers_fp32, peers_low = [], []
    for net_name, build in nets.items():
        t = Trainer(net_name, build, d, hidden, batch)
        runs[net_name] = lambda s, g, t=t: t.epoch(data, batch, s, g)
        peers_fp32.append(net_name)
        if bfloat16:
            t = Trainer(f"{net_name} {AUTOCAST}", build, d, hidden, batch, autocast=torch.bfloat16)
            runs[t.name] = lambda s, g, t=t: t.epoch(data, batch, s, g)
            peers_low.append(t.name)
    g = torch.Generator().manual_seed(0)
    for run in runs.values():  # warm-up: allocations, first-call costs
        run(3, g)
    speeds: dict[str, list[float]] = {k: [] for k in runs}
    order, shuffle = list(runs), random.Random(0)
    for _ in range(rounds):
        shuffle.shuffle(order)
        for k in order:
            speeds[k].append(runs[k](steps, g))
    ratios: dict[str, dict[str, Any]] = {}
    for k, name in precision.items():
        against = peers_fp32 if name == "float32" else peers_fp32 + peers_low
        per_round = sorted(speeds[k][r] / max(speeds[p][r] for p in against)
                           for r in range(rounds))  # fmt: skip
        q = len(per_round) // 4
        ratios[k] = {
            "median": statistics.median(per_round),
            "quartiles": [per_round[q], per_round[-q - 1]],
            "against": "float32 peers" if name == "float32" else "peers at their best",
        }
    return {"examples_per_second": {k: statistics.median(v) for k, v in speeds.items()},
            "over_fastest_peer": ratios}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny, few steps")
    parser.add_argument("--rounds", type=int, default=24)
    parser.add_argument("--steps", type=int, default=15, help="steps timed per round")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    configs = [(400, [512, 512], 128), (400, [512, 512], 1024), (784, [1024, 1024], 128)]
    rounds, steps = args.rounds, args.steps
    if args.quick:
        configs, rounds, steps = [(16, [32, 32], 16)], 2, 2
    info = machine()
    bfloat16 = _native_bfloat16(torch.device("cpu"))
    print(f"machine: {info}; bfloat16 products native: {bfloat16}", flush=True)
    results: dict[str, Any] = {"machine": info, "date": time.strftime("%Y-%m-%d"),
                               "quick": args.quick, "rounds": rounds, "steps": steps,
                               "configs": []}  # fmt: skip
    for d, hidden, batch in configs:
        data = binary_data(d)
        out = compare(data, hidden, batch, steps, rounds, bfloat16)
        results["configs"].append({"dims": d, "hidden": hidden, "batch": batch, **out})
        print(f"\n{d} dims, hidden {hidden}, batch {batch}: examples/s (median of {rounds} "
              f"rounds of {steps} steps); ratio to the round's fastest peer")  # fmt: skip
        for k, v in out["examples_per_second"].items():
            r = out["over_fastest_peer"].get(k)
            extra = ""
            if r is not None:
                low, high = r["quartiles"]
                extra = f"   {r['median']:.2f}x ({low:.2f}-{high:.2f}) against {r['against']}"
            print(f"  {k:44s} {v:9.0f}{extra}", flush=True)
    if args.json is not None:
        merge_json(args.json, "step_floor", results)


if __name__ == "__main__":
    main()
