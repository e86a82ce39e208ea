"""made against the libraries users choose between: nflows, zuko, pyro and the tutorial's
masked MLP, side by side in one loop.

Every implementation trains the same density (D binary dimensions, hidden layers of ReLUs,
natural ordering, one logit per dimension with binary cross-entropy) in the same loop: a new
permutation each epoch, batches by tensor index from data already in memory, fused Adam at
lr 1e-3 for all. made runs its own objective and optimiser (``made.train.make_optimizer``),
and multiplies in the precision ``made train`` chooses for the machine (``--precision auto``:
bfloat16 where the CPU multiplies it natively, AVX512-BF16 or AMX, and the products are large
enough to gain, as at every size here); where that is not float32,
"made float32" is measured too, and every peer is measured twice: in float32, and with its
forward pass under ``torch.autocast("cpu", dtype=torch.bfloat16)``, the one line any of its
users can add (its loss in float32). Ratios compare equal precisions: made at its best
against the fastest peer at its best (either precision), and made float32 against the
fastest float32 peer. A step's time is also compared with its matrix products
alone (dense, in the precision it uses), at 1 thread and at all of them.
Rounds are interleaved (every implementation once per round), and the median of the rounds is
reported. Sampling: made's sampler against the peers' forward pass per dimension (for 10,000
samples the peers' time is extrapolated from 20 positions), and made's 10,000 samples against
one forward pass over them.

The peers are an optional extra, never a dependency of made:

    pip install -e '.[bench]'
    python benchmarks/peers.py --json benchmarks/results/peers.json        # about 5 minutes
    python benchmarks/peers.py --quick                                      # a smoke run

A peer that is not installed is skipped with a note.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import TutorialMaskedLinear, machine, save_json  # noqa: E402

from made import MADE, TrainConfig  # noqa: E402
from made.data import load_data  # noqa: E402
from made.recipes import recipe  # noqa: E402
from made.train import _Objective, fit, make_optimizer, training_path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LR = 1e-3
AUTOCAST = "(bf16 autocast)"  # the name suffix of a peer trained under torch.autocast


def tutorial_net(d: int, hidden: list[int], seed: int = 0) -> nn.Module:
    """The tutorials' masked MLP with one logit per dimension (``F.linear(x, mask * w, b)``)."""
    rng = np.random.RandomState(seed)
    torch.manual_seed(seed)
    sizes = [d, *hidden, d]
    layers: list[nn.Module] = []
    for i, o in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [TutorialMaskedLinear(i, o), nn.ReLU()]
    net = nn.Sequential(*layers[:-1])
    degrees = [np.arange(d)]
    for h in hidden:
        degrees.append(rng.randint(degrees[-1].min(), d - 1, size=h))
    masks = [degrees[i + 1][:, None] >= degrees[i][None, :] for i in range(len(hidden))]
    masks.append(np.arange(d)[:, None] > degrees[-1][None, :])
    linears = [m for m in net if isinstance(m, TutorialMaskedLinear)]
    for layer, m in zip(linears, masks, strict=True):
        layer.mask.copy_(torch.from_numpy(m.astype(np.float32)))
    return net


def peer_nets(d: int, hidden: list[int]) -> dict[str, Callable[[], nn.Module]]:
    """Constructors of the installed peers' networks, each ``(B, D) floats -> (B, D) logits``."""
    nets: dict[str, Callable[[], nn.Module]] = {}
    if importlib.util.find_spec("nflows"):
        from nflows.transforms.made import MADE as NflowsMADE

        # an initial masked layer, then len(hidden) - 1 feedforward blocks, then the output
        nets["nflows 0.14 MADE"] = lambda: NflowsMADE(
            d, hidden[0], num_blocks=len(hidden) - 1, use_residual_blocks=False
        )
    if importlib.util.find_spec("zuko"):
        from zuko.nn import MaskedMLP as ZukoMLP

        adjacency = torch.ones(d, d, dtype=torch.bool).tril(-1)  # output i reads inputs < i
        nets["zuko 1.6 MaskedMLP"] = lambda: ZukoMLP(adjacency, hidden, activation=nn.ReLU)
    if importlib.util.find_spec("pyro"):
        from pyro.nn import AutoRegressiveNN

        nets["pyro 1.9.2 AutoRegressiveNN"] = lambda: AutoRegressiveNN(
            d, hidden, param_dims=[1], permutation=torch.arange(d)
        )
    nets["tutorial masked MLP"] = lambda: tutorial_net(d, hidden)
    return nets


class Trainer:
    """One implementation's training state: a step on a batch of rows of ``data``."""

    def __init__(self, name: str, build: Callable[[], nn.Module] | None, d: int,
                 hidden: list[int], batch: int, precision: str = "auto",
                 autocast: torch.dtype | None = None) -> None:  # fmt: skip
        torch.manual_seed(0)
        self.name = name
        self.autocast = autocast  # a peer's forward under torch.autocast in this dtype
        if build is None:  # made, with its own objective, optimiser and precision
            self.model: nn.Module = MADE(d, hidden, seed=0)
            self.opt = make_optimizer(self.model, TrainConfig(lr=LR))
            # made as its training loop runs it: a single-mask model with its masked-out
            # weights held at zero, products in the precision chosen
            self.fast = training_path(self.model, precision, batch)
            self.model.zero_unused_weights()
            self.dtype = self.fast.dtype
            self.objective = _Objective(self.model, self.fast)
            self.made = True
        else:
            self.model = build()
            self.opt = torch.optim.Adam(self.model.parameters(), lr=LR, fused=True)
            self.made = False

    def step(self, xl: torch.Tensor, xf: torch.Tensor) -> None:
        if self.made:
            loss = self.objective(xl, None) / len(xl)  # the objective fit minimises
        else:
            with torch.autocast("cpu", dtype=self.autocast or torch.bfloat16,
                                enabled=self.autocast is not None):  # fmt: skip
                logits = self.model(xf).reshape(xf.shape)
            logits = logits.float()
            loss = F.binary_cross_entropy_with_logits(logits, xf, reduction="sum") / len(xf)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()

    def epoch(self, data: torch.Tensor, batch: int, steps: int, g: torch.Generator) -> float:
        """Examples per second over ``steps`` steps of a fresh permutation (made as its
        training loop runs it: a single-mask model with its masked-out weights held at zero,
        products in the precision chosen)."""
        return timed_steps(self.step, data, batch, steps, g)


def timed_steps(step: Callable[[torch.Tensor, torch.Tensor], None], data: torch.Tensor,
                batch: int, steps: int, g: torch.Generator) -> float:  # fmt: skip
    """Examples per second of ``steps`` calls of ``step(rows, rows as floats)``, on batches
    taken by index from a fresh permutation of ``data``: the loop every implementation is
    timed in."""
    order = torch.randperm(len(data), generator=g)
    start = time.perf_counter()
    for i in range(steps):
        xl = data[order[i * batch % len(data) :][:batch]]
        step(xl, xl.float())
    return steps * batch / (time.perf_counter() - start)


def training(data: torch.Tensor, hidden: list[int], batch: int, steps: int, rounds: int,
             nets: dict[str, Callable[[], nn.Module]]) -> dict[str, Any]:  # fmt: skip
    d = data.shape[1]
    trainers = [Trainer("made", None, d, hidden, batch)]
    if trainers[0].dtype != torch.float32:
        trainers.append(Trainer("made float32", None, d, hidden, batch, "float32"))
    trainers += [Trainer(name, build, d, hidden, batch) for name, build in nets.items()]
    low = trainers[0].dtype if trainers[0].dtype != torch.float32 else None
    if low is not None:  # the peers in the precision made chose, by their users' one line
        trainers += [Trainer(f"{name} {AUTOCAST}", build, d, hidden, batch, autocast=low)
                     for name, build in nets.items()]  # fmt: skip
    g = torch.Generator().manual_seed(0)
    for t in trainers:  # warm-up: allocations, first-call costs
        t.epoch(data, batch, 3, g)
    speeds: dict[str, list[float]] = {t.name: [] for t in trainers}
    for _ in range(rounds):
        for t in trainers:
            speeds[t.name].append(t.epoch(data, batch, steps, g))
    med = {k: statistics.median(v) for k, v in speeds.items()}
    best_peer = max((v, k) for k, v in med.items() if not k.startswith("made"))
    fp32_peer = max((v, k) for k, v in med.items()
                    if not k.startswith("made") and not k.endswith(AUTOCAST))  # fmt: skip
    made_fp32 = med.get("made float32", med["made"])
    return {
        "made_precision": str(trainers[0].dtype).removeprefix("torch."),
        "examples_per_second": med,
        "spread": {k: [min(v), max(v)] for k, v in speeds.items()},
        # equal precision: each at its best (made's choice; a peer in float32 or autocast)
        "fastest_peer": best_peer[1],
        "made_over_fastest_peer": med["made"] / best_peer[0],
        # float32 against float32
        "fastest_float32_peer": fp32_peer[1],
        "made_float32_over_fastest_float32_peer": made_fp32 / fp32_peer[0],
    }


def products_alone(d: int, hidden: list[int], batch: int, dtype: torch.dtype,
                   repeats: int = 50) -> float:  # fmt: skip
    """Milliseconds of a training step's dense matrix products alone (forward and backward)
    in ``dtype``."""
    sizes = [d, *hidden, d]
    ws = [torch.randn(o, i, dtype=dtype) for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
    acts = [torch.randn(batch, s, dtype=dtype) for s in sizes]

    def run() -> None:
        for i, w in enumerate(ws):  # forward, then the weight and input gradients
            acts[i] @ w.t()
            acts[i + 1].t() @ acts[i]
            if i > 0:
                acts[i + 1] @ w

    run()
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    return (time.perf_counter() - start) / repeats * 1e3


def step_over_products(data: torch.Tensor, hidden: list[int], batch: int, steps: int,
                       precision: str = "auto") -> dict[str, dict[str, float]]:  # fmt: skip
    """made's step against its dense products in the precision it uses, per thread count
    (1 and all): ``{threads: {"step_ms", "products_ms", "ratio"}}``."""
    t = Trainer("made", None, data.shape[1], hidden, batch, precision)
    g = torch.Generator().manual_seed(0)
    threads = torch.get_num_threads()
    out = {}
    for n in sorted({1, threads}):
        torch.set_num_threads(n)
        t.epoch(data, batch, 3, g)
        step = min(batch / t.epoch(data, batch, steps, g) * 1e3 for _ in range(2))
        prod = products_alone(data.shape[1], hidden, batch, t.dtype)
        out[str(n)] = {"step_ms": step, "products_ms": prod, "ratio": step / prod}
    torch.set_num_threads(threads)
    return out


@torch.no_grad()
def peer_sample(net: nn.Module, d: int, n: int, positions: int) -> float:
    """Seconds to sample ``n`` by a forward pass per dimension (timed over ``positions``
    positions, scaled to all ``d``)."""
    x = torch.zeros(n, d)
    start = time.perf_counter()
    for t in range(positions):
        x[:, t] = torch.bernoulli(torch.sigmoid(net(x).reshape(n, d)[:, t]))
    return (time.perf_counter() - start) * d / positions


@torch.no_grad()
def sampling(d: int, hidden: list[int], sizes: list[int],
             nets: dict[str, Callable[[], nn.Module]]) -> dict[str, Any]:  # fmt: skip
    model = MADE(d, hidden, seed=0).eval()
    out: dict[str, Any] = {}
    for n in sizes:
        g = torch.Generator().manual_seed(0)
        model.sample(n, generator=g)  # warm-up
        start = time.perf_counter()
        model.sample(n, generator=g)
        made_s = time.perf_counter() - start
        x = torch.randint(0, 2, (n, d))
        start = time.perf_counter()
        model.log_prob(x, validate=False)
        forward_s = time.perf_counter() - start
        peers = {}
        for name, build in nets.items():
            net = build().eval()
            positions = d if n <= 100 else 20
            peers[name] = peer_sample(net, d, n, positions)
        out[str(n)] = {"made_seconds": made_s, "made_over_one_forward": made_s / forward_s,
                       "peer_seconds": peers,
                       "fastest_peer_over_made": min(peers.values()) / made_s}  # fmt: skip
    return out


def epoch_overhead(epochs: int) -> dict[str, Any]:
    """How much of an epoch of ``made train``'s reference experiment (Shapes, the reference
    recipe, a run directory written every epoch) is not training steps: validation, the
    checkpoint, best.pt and metrics. Epoch 1 (first-call costs) is left out."""
    data = load_data("shapes")
    base = recipe("reference")
    model = MADE(data.shape, **base.model)
    stamps = [time.perf_counter()]
    with tempfile.TemporaryDirectory() as folder:
        result = fit(model, data.tensor("train"), data.tensor("valid"),
                     TrainConfig(**{**base.train, "epochs": epochs}), run_dir=folder,
                     on_epoch=lambda record: stamps.append(time.perf_counter()))  # fmt: skip
    walls = [b - a for a, b in zip(stamps[1:-1], stamps[2:], strict=True)]
    steps = [h["seconds"] for h in result.history[1:]]
    return {
        "precision": result.precision,
        "epoch_seconds": statistics.median(walls),
        "steps_seconds": statistics.median(steps),
        "steps_total_seconds": sum(steps),
        "epochs_total_seconds": sum(walls),
        "overhead": 1 - sum(steps) / sum(walls),
    }


def binary_data(d: int) -> torch.Tensor:
    if d == 400:
        return load_data("shapes").tensor("train").reshape(-1, 400)
    mnist = ROOT.parent / "shared" / "data" / "binarized_mnist.npz"
    if d == 784 and mnist.is_file():
        return load_data(str(mnist)).tensor("train").reshape(-1, 784)
    return (torch.rand(20_000, d, generator=torch.Generator().manual_seed(0)) < 0.2).long()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few steps, small n")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100, help="steps timed per round")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    configs = [(400, [512, 512], 128), (400, [512, 512], 1024), (784, [1024, 1024], 128)]
    rounds, steps, sizes = args.rounds, args.steps, [1, 100, 10_000]
    if args.quick:
        configs, rounds, steps, sizes = [(16, [32, 32], 16)], 1, 3, [1, 10]
    info = machine()
    print(f"machine: {info}", flush=True)
    results: dict[str, Any] = {"machine": info, "date": time.strftime("%Y-%m-%d"),
                               "quick": args.quick, "training": [], "sampling": {}}  # fmt: skip
    for d, hidden, batch in configs:
        data = binary_data(d)
        nets = peer_nets(d, hidden)
        tr = training(data, hidden, batch, steps, rounds, nets)
        ratios = {tr["made_precision"]: step_over_products(data, hidden, batch, steps)}
        if tr["made_precision"] != "float32":
            ratios["float32"] = step_over_products(data, hidden, batch, steps, "float32")
        tr.update({"dims": d, "hidden": hidden, "batch": batch,
                   "step_over_products": ratios})  # fmt: skip
        results["training"].append(tr)
        print(f"\ntraining, {d} dims, hidden {hidden}, batch {batch} (examples/s, median of "
              f"{rounds} rounds of {steps} steps)")  # fmt: skip
        for name, v in sorted(tr["examples_per_second"].items(), key=lambda kv: -kv[1]):
            print(f"  {name:30s} {v:10,.0f}")
        print(f"  made ({tr['made_precision']}) / fastest peer at its best precision "
              f"({tr['fastest_peer']}): {tr['made_over_fastest_peer']:.2f}x")  # fmt: skip
        print(f"  made float32 / fastest float32 peer ({tr['fastest_float32_peer']}): "
              f"{tr['made_float32_over_fastest_float32_peer']:.2f}x")  # fmt: skip
        for precision, by_threads in ratios.items():
            for n, r in by_threads.items():
                print(f"  {n} thread(s): made's {precision} step {r['step_ms']:.2f} ms = "
                      f"{r['ratio']:.2f}x its dense {precision} products "
                      f"({r['products_ms']:.2f} ms)")  # fmt: skip
    results["epoch_overhead"] = ov = epoch_overhead(3 if args.quick else 8)
    print(f"\nmade train, reference experiment: an epoch takes {ov['epoch_seconds']:.3f} s, of "
          f"which {ov['overhead']:.1%} is not training steps (validation, checkpoint, best.pt, "
          f"metrics; {ov['precision']} steps)")  # fmt: skip
    d, hidden, _ = configs[0]
    results["sampling"] = sampling(d, hidden, sizes, peer_nets(d, hidden))
    print(f"\nsampling, {d} dims, hidden {hidden} (seconds)")
    for n, s in results["sampling"].items():
        peers = ", ".join(f"{k.split()[0]} {v:.3f}" for k, v in s["peer_seconds"].items())
        print(f"  n={n:>6}: made {s['made_seconds']:.4f} ({s['made_over_one_forward']:.1f}x one "
              f"forward pass); peers {peers}; fastest peer / made "
              f"{s['fastest_peer_over_made']:.0f}x")  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        save_json(args.json, results)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
