"""Sampling speed: made's incremental sampler against its naive D-pass sampler, in one run.

Draws 100 samples at the reference configuration (400 binary dimensions, hidden [512, 512])
and at 784 dimensions with hidden [500], with both samplers fed the same uniforms (they return
identical samples; checked here too), and reports the time of one forward pass over the same
batch, the floor that incremental sampling approaches.

    python benchmarks/sample_speed.py [--repeats 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, save_json, timed  # noqa: E402

from made import MADE  # noqa: E402

CASES = [("reference: 400 dims, hidden [512, 512]", 400, [512, 512], 30),
         ("784 dims, hidden [500]", 784, [500], 60)]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("-n", type=int, default=100, help="samples per draw")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    info = machine()
    print(f"machine: {info}")
    results = {"machine": info, "n": args.n, "cases": []}
    ok = True
    for name, d, hidden, target in CASES:
        model = MADE(d, hidden, ordering="random", seed=0)

        def draw(method: str, model: MADE = model) -> torch.Tensor:
            return model.sample(args.n, generator=torch.Generator().manual_seed(0), method=method)

        same = torch.equal(draw("incremental"), draw("naive"))
        inc = timed(lambda: draw("incremental"), repeats=args.repeats)
        naive = timed(lambda: draw("naive"), repeats=max(1, args.repeats // 2))
        x = torch.randint(0, 2, (args.n, d), generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            forward = timed(lambda model=model, x=x: model(x), repeats=args.repeats)
        ratio = naive["median"] / inc["median"]
        ok &= ratio >= target and same
        results["cases"].append({"name": name, "dims": d, "hidden": hidden,
                                 "incremental_seconds": inc, "naive_seconds": naive,
                                 "forward_seconds": forward, "speedup": ratio,
                                 "target": target, "identical_samples": same})  # fmt: skip
        print(f"\n{name}: {args.n} samples (median [min, max] of repeats)")
        print(
            f"   naive (D passes) {naive['median'] * 1e3:9.1f} ms "
            f"[{naive['min'] * 1e3:.1f}, {naive['max'] * 1e3:.1f}]"
        )
        print(
            f"   incremental      {inc['median'] * 1e3:9.1f} ms "
            f"[{inc['min'] * 1e3:.1f}, {inc['max'] * 1e3:.1f}]"
        )
        print(f"   one forward pass {forward['median'] * 1e3:9.2f} ms   (the floor)")
        print(
            f"   speedup          {ratio:9.1f}x  (target >= {target}x); identical samples: {same}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        save_json(args.json, results)
        print(f"\nwrote {args.json}")
    print("\nall targets met" if ok else "\nsome targets NOT met")


if __name__ == "__main__":
    main()
