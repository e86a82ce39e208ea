"""Training speed of made against the tutorial recipe (benchmarks/common.py), side by side in
one process.

On the reference configuration (Shapes: 400 binary dimensions, hidden [512, 512], batch 128,
Adam lr 1e-3) it measures:

1. throughput: training examples per second, whole epochs, alternating the two
   implementations, median and spread over repeats;
2. time to quality: the tutorial implementation trains for --epochs epochs; made then
   trains with its own recipe until its test NLL reaches that final figure, and the two
   training times (evaluation excluded) are compared;
3. the denormal trap: epoch times over several epochs of training with weight decay, for both
   implementations (made's must stay flat);
5. the defaults against the tutorial: `made train`'s reference recipe (made.recipes) for the
   same --epochs on the same split as the tutorial run of section 2, test NLL and training
   seconds (evaluation excluded) side by side;
4. where a step's time goes: per training step, getting the batch, the forward and backward
   pass and the optimiser step, for both implementations, beside the time of the step's matrix
   products alone (dense, and only made's staircase blocks). The products set a floor no
   implementation of the same network goes below, and so a ceiling on the ratio of section 1.

    python benchmarks/train_speed.py            # the full run (a few minutes on 2 cores)
    python benchmarks/train_speed.py --quick    # the version `make bench` runs

Prints a table and, with --json PATH, writes the figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    TutorialMADE,
    machine,
    save_json,
    stats,
    timed,
    tutorial_epoch,
    tutorial_loader,
    tutorial_nll,
)
from speed import train_throughput  # noqa: E402

from made import MADE, TrainConfig, evaluate_nll  # noqa: E402
from made.data import load_data  # noqa: E402
from made.recipes import recipe as made_recipe  # noqa: E402
from made.train import fit, make_optimizer  # noqa: E402

HIDDEN = [512, 512]
BATCH = 128


def tutorial_setup(train: np.ndarray, weight_decay: float = 0.0, seed: int = 0):
    model = TutorialMADE(train.shape[1], HIDDEN, seed=seed)
    loader = tutorial_loader(train, BATCH)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=weight_decay)
    return model, loader, opt


def time_to_quality(data, epochs: int, recipe: dict) -> dict:
    """Tutorial for ``epochs`` epochs; made until it matches that test NLL."""
    train_np = data.splits["train"].reshape(len(data.splits["train"]), -1)
    test_np = data.splits["test"].reshape(len(data.splits["test"]), -1)
    model, loader, opt = tutorial_setup(train_np)
    s_time, s_curve = 0.0, []
    for _ in range(epochs):
        start = time.perf_counter()
        tutorial_epoch(model, loader, opt)
        s_time += time.perf_counter() - start
        s_curve.append((s_time, tutorial_nll(model, test_np)))
    target = s_curve[-1][1]

    test = data.tensor("test")
    ours = MADE(data.shape, recipe["hidden"], seed=0)
    m_curve: list[tuple[float, float]] = []
    clock = [0.0]

    class Reached(Exception):
        pass

    def on_epoch(record: dict) -> None:
        clock[0] += record["seconds"]
        nll = evaluate_nll(ours, test).nll
        m_curve.append((clock[0], nll))
        if nll <= target:
            raise Reached

    cfg = TrainConfig(epochs=recipe["max_epochs"], batch_size=recipe["batch_size"],
                      lr=recipe["lr"], eval_batch_size=4096)  # fmt: skip
    try:
        fit(ours, data.tensor("train"), data.tensor("valid"), cfg, on_epoch=on_epoch)
    except Reached:
        pass
    reached = m_curve[-1][1] <= target
    return {
        "target_test_nll": target,
        "tutorial_seconds": s_time,
        "tutorial_curve": s_curve,
        "made_recipe": recipe,
        "made_seconds": m_curve[-1][0] if reached else None,
        "made_curve": m_curve,
        "made_reached": reached,
        "time_ratio": (m_curve[-1][0] / s_time) if reached else None,
    }


def defaults_against_tutorial(data, epochs: int, tq: dict) -> dict:
    """The reference recipe for ``epochs`` epochs, against the tutorial run of ``tq``."""
    ref = made_recipe("reference")
    model = MADE(data.shape, **ref.model, seed=0)
    cfg = TrainConfig(**{**ref.train, "epochs": epochs})
    result = fit(model, data.tensor("train"), data.tensor("valid"), cfg)
    nll = evaluate_nll(model, data.tensor("test")).nll
    return {
        "epochs": epochs,
        "tutorial_test_nll": tq["target_test_nll"],
        "tutorial_seconds": tq["tutorial_seconds"],
        "made_test_nll": nll,
        "made_seconds": result.train_seconds,
        "nll_change": nll / tq["target_test_nll"] - 1.0,
        "time_ratio": result.train_seconds / tq["tutorial_seconds"],
    }


def denormal_trap(train_np: np.ndarray, train_t: torch.Tensor, valid_t: torch.Tensor,
                  epochs: int) -> dict:  # fmt: skip
    """Epoch times with weight decay: made's must stay flat."""
    model, loader, opt = tutorial_setup(train_np, weight_decay=1e-4)
    s_times = []
    for _ in range(epochs):
        start = time.perf_counter()
        tutorial_epoch(model, loader, opt)
        s_times.append(time.perf_counter() - start)
    ours = MADE(train_t.shape[1:], HIDDEN, seed=0)
    cfg = TrainConfig(epochs=epochs, batch_size=BATCH, lr=1e-3, weight_decay=1e-4,
                      eval_batch_size=4096)  # fmt: skip
    m_times = [h["seconds"] for h in fit(ours, train_t, valid_t[:10], cfg).history]
    tiny = torch.finfo(torch.float32).tiny
    denormals = sum(int(((p != 0) & (p.abs() < tiny)).sum()) for p in ours.parameters())
    return {
        "tutorial_epoch_seconds": s_times,
        "made_epoch_seconds": m_times,
        "made_last_over_first": m_times[-1] / m_times[0],
        "made_max_over_min": max(m_times) / min(m_times),
        "made_denormal_weights": denormals,
    }


def _products(weights: list[torch.Tensor], blocks: list | None, batch: int) -> Callable[[], None]:
    """The matrix products of one training step (forward, input and weight gradients; no
    input gradient for the first layer) on random operands: dense, or only ``blocks``."""
    g = torch.Generator().manual_seed(0)
    acts = [torch.randn(batch, w.shape[1], generator=g) for w in weights]
    grads = [torch.randn(batch, w.shape[0], generator=g) for w in weights]

    def dense() -> None:
        for i, (w, a, d) in enumerate(zip(weights, acts, grads, strict=True)):
            torch.mm(a, w.t())
            if i > 0:
                torch.mm(d, w)
            torch.mm(d.t(), a)

    def staircase() -> None:
        assert blocks is not None
        for i, (w, a, d, bl) in enumerate(zip(weights, acts, grads, blocks, strict=True)):
            y, gx, gw = a.new_zeros(batch, w.shape[0]), torch.zeros_like(a), torch.zeros_like(w)
            for r0, r1, p in bl:
                y[:, r0:r1].addmm_(a[:, :p], w[r0:r1, :p].t())
                if i > 0:
                    gx[:, :p].addmm_(d[:, r0:r1], w[r0:r1, :p])
                gw[r0:r1, :p].addmm_(d[:, r0:r1].t(), a[:, :p])

    return dense if blocks is None else staircase


def _timed_step(
    batch: Callable[[], torch.Tensor],
    loss_of: Callable[[torch.Tensor], torch.Tensor],
    optimiser: torch.optim.Optimizer,
) -> list[float]:
    """One training step; the clock before it, after the batch, after the forward and
    backward pass, and after the optimiser step."""
    times = [time.perf_counter()]
    xb = batch()
    times.append(time.perf_counter())
    loss = loss_of(xb)
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    times.append(time.perf_counter())
    optimiser.step()
    times.append(time.perf_counter())
    return times


def step_anatomy(train_np: np.ndarray, steps: int) -> dict:
    """Median milliseconds per training step spent getting the batch, in the forward and
    backward pass and in the optimiser, for both implementations; and the step's matrix
    products alone, dense and made's staircase blocks."""
    tutorial, loader, s_opt = tutorial_setup(train_np)
    ours = MADE(train_np.shape[1], HIDDEN, seed=0)
    m_opt = make_optimizer(ours, TrainConfig(lr=1e-3, batch_size=BATCH))  # made.train's own
    x = torch.from_numpy(train_np)
    parts: dict[str, dict[str, list[float]]] = {"tutorial": {}, "made": {}}

    def record(side: str, times: list[float]) -> None:
        names = ("batch", "forward_backward", "optimiser")
        for name, a, b in zip(names, times[:-1], times[1:], strict=True):
            parts[side].setdefault(name, []).append(b - a)

    batches = [iter(loader)]

    def tutorial_batch() -> torch.Tensor:
        xb = next(batches[0], None)
        if xb is None:  # a new epoch
            batches[0] = iter(loader)
            xb = next(batches[0])
        return xb[0]

    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    for step in range(steps + 5):  # the first 5 of each are warm-up
        s_times = _timed_step(tutorial_batch, lambda xb: tutorial.nll(xb).mean(), s_opt)
        index = torch.arange(step * BATCH, (step + 1) * BATCH) % len(x)
        m_times = _timed_step(lambda index=index: x[order[index]],
                              lambda xb: -ours.log_prob(xb, validate=False).sum() / BATCH,
                              m_opt)  # fmt: skip
        if step >= 5:
            record("tutorial", s_times)
            record("made", m_times)
    result: dict[str, Any] = {
        side: {name: stats(v)["median"] * 1e3 for name, v in p.items()} for side, p in parts.items()
    }
    for side in ("tutorial", "made"):
        result[side]["total"] = sum(result[side].values())
    weights = [layer.weight.detach() for layer in ours.net.layers()]
    blocks = list(ours.plan(0).blocks)
    for name, fn in (("dense", _products(weights, None, BATCH)),
                     ("staircase", _products(weights, blocks, BATCH))):  # fmt: skip
        result[f"products_{name}_ms"] = timed(fn, repeats=max(20, steps // 5))["median"] * 1e3
    result["ratio"] = result["tutorial"]["total"] / result["made"]["total"]
    floor = result["products_staircase_ms"] + result["made"]["optimiser"]
    result["ratio_ceiling"] = result["tutorial"]["total"] / floor
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and repeats")
    parser.add_argument("--epochs", type=int, default=20, help="tutorial epochs")
    parser.add_argument("--repeats", type=int, default=3, help="throughput epochs per side")
    parser.add_argument("--trap-epochs", type=int, default=8, help="epochs with weight decay")
    parser.add_argument("--steps", type=int, default=300, help="steps timed for the anatomy")
    parser.add_argument("--data", default="shapes", help="another named set (tests use a tiny one)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    epochs = min(5, args.epochs) if args.quick else args.epochs
    repeats = min(2, args.repeats) if args.quick else args.repeats
    trap_epochs = min(4, args.trap_epochs) if args.quick else args.trap_epochs
    # made's own recipe for Shapes: one wide layer and a higher rate converge far sooner
    recipe = {"hidden": [1024], "batch_size": 128, "lr": 1e-2, "max_epochs": epochs}

    data = load_data(args.data)
    train_t, valid_t = data.tensor("train"), data.tensor("valid")
    train_np = data.splits["train"].reshape(len(train_t), -1)
    info = machine()
    print(f"machine: {info}")
    print(f"reference: {data.name} {tuple(data.shape)}, hidden {HIDDEN}, batch {BATCH}, lr 1e-3")

    tp = train_throughput(train_np, HIDDEN, repeats)
    s, m = tp["tutorial_examples_per_second"], tp["made_examples_per_second"]
    print(f"\n1. training throughput (examples/s, median [min, max] of {repeats} epochs)")
    print(f"   tutorial recipe {s['median']:9.0f} [{s['min']:.0f}, {s['max']:.0f}]")
    print(f"   made            {m['median']:9.0f} [{m['min']:.0f}, {m['max']:.0f}]")
    print(f"   ratio           {tp['ratio']:9.2f}x   (target >= 2x)")

    tq = time_to_quality(data, epochs, recipe)
    print(f"\n2. time to the tutorial {epochs}-epoch test NLL ({tq['target_test_nll']:.3f} nats)")
    print(f"   tutorial recipe {tq['tutorial_seconds']:9.1f} s")
    if tq["made_reached"]:
        print(
            f"   made            {tq['made_seconds']:9.1f} s  (hidden {recipe['hidden']}, "
            f"batch {recipe['batch_size']}, "
            f"lr {recipe['lr']}, {len(tq['made_curve'])} epochs)"
        )
        print(f"   ratio           {tq['time_ratio']:9.2f}    (target <= 0.2)")
    else:
        print(
            f"   made did not reach it in {recipe['max_epochs']} epochs "
            f"(best {min(v for _, v in tq['made_curve']):.3f})"
        )

    tr = denormal_trap(train_np, train_t, valid_t, trap_epochs)
    fmt = " ".join
    print(f"\n3. epoch seconds with weight decay 1e-4 ({trap_epochs} epochs)")
    print(f"   tutorial recipe {fmt(f'{t:.2f}' for t in tr['tutorial_epoch_seconds'])}")
    print(
        f"   made            {fmt(f'{t:.2f}' for t in tr['made_epoch_seconds'])}"
        f"   (max/min {tr['made_max_over_min']:.2f}, denormal weights "
        f"{tr['made_denormal_weights']})"
    )

    steps = min(60, args.steps) if args.quick else args.steps
    an = step_anatomy(train_np, steps)
    print(f"\n4. where a step's time goes (ms, median of {steps} steps)")
    print(f"   {'':16}{'batch':>8}{'fwd+bwd':>9}{'optimiser':>11}{'total':>8}")
    for side in ("tutorial", "made"):
        a = an[side]
        print(f"   {side:16}{a['batch']:8.2f}{a['forward_backward']:9.2f}"
              f"{a['optimiser']:11.2f}{a['total']:8.2f}")  # fmt: skip
    print(f"   matrix products alone: dense {an['products_dense_ms']:.2f}, made's staircase "
          f"blocks {an['products_staircase_ms']:.2f}")  # fmt: skip
    print(f"   ratio {an['ratio']:.2f}x; with nothing but the staircase products and made's "
          f"optimiser step, at most {an['ratio_ceiling']:.2f}x")  # fmt: skip

    dv = defaults_against_tutorial(data, epochs, tq)
    print(f"\n5. `made train` (reference recipe) against the tutorial recipe, {epochs} epochs each")
    print(f"   tutorial recipe test NLL {dv['tutorial_test_nll']:8.3f} in "
          f"{dv['tutorial_seconds']:6.1f} s")  # fmt: skip
    print(f"   made            test NLL {dv['made_test_nll']:8.3f} in {dv['made_seconds']:6.1f} s")
    print(f"   NLL {dv['nll_change']:+.1%} (target <= -30%), time ratio {dv['time_ratio']:.2f} "
          "(target < 1)")  # fmt: skip

    if args.json:
        results = {"machine": info, "quick": args.quick, "throughput": tp,
                   "time_to_quality": tq, "defaults": dv, "denormal_trap": tr,
                   "anatomy": an}  # fmt: skip
        args.json.parent.mkdir(parents=True, exist_ok=True)
        save_json(args.json, results)
        print(f"\nwrote {args.json}")
    ok = tp["ratio"] >= 2 and tq["made_reached"] and tq["time_ratio"] <= 0.2
    ok = ok and dv["nll_change"] <= -0.3 and dv["time_ratio"] < 1
    print("\nall targets met" if ok else "\nsome targets NOT met")


if __name__ == "__main__":
    main()
