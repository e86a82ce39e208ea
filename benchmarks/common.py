"""Shared pieces of the benchmarks: the machine description, timing helpers, and the
"straightforward" MADE that ours is measured against.

The straightforward implementation is what most MADE code looks like (karpathy/pytorch-made
and its descendants): masks as buffers multiplied into the weights on every call, a torch
DataLoader indexing a numpy array one example at a time, and a sampler that runs the whole
network once per dimension. It is written here, not imported, so that both sides are measured
in one process under the same conditions.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from made.runs import resolve_device


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: torch.device | str = "cpu") -> dict:
    """What the figures were measured on."""
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": _cpu_name(),
        "cpus": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "device": str(device),
    }
    if torch.device(device).type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def pick_device(name: str) -> torch.device:
    """``auto``, ``cpu`` or ``cuda`` as on made's command line; a bad name ends the script."""
    try:
        return resolve_device(name)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None


def merge_json(path: Path, key: str, value: dict) -> None:
    """Set ``path[key] = value`` in a JSON results file, keeping the other entries."""
    results = json.loads(path.read_text()) if path.is_file() else {}
    results[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")


def stats(values: list[float]) -> dict[str, float]:
    """Median and spread (min, max) of repeated measurements."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "repeats": len(values)}  # fmt: skip


def timed(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> dict:
    """Median and spread (min, max) of ``fn``'s wall time in seconds over ``repeats`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return stats(times)


class StraightMaskedLinear(nn.Linear):
    """``nn.Linear`` with a float mask multiplied into the weight on every call."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features)
        self.register_buffer("mask", torch.ones(out_features, in_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.mask * self.weight, self.bias)


class StraightMADE(nn.Module):
    """A plain binary MADE (natural ordering, random degrees as in the paper)."""

    def __init__(self, d: int, hidden: list[int], seed: int = 0) -> None:
        super().__init__()
        rng = np.random.RandomState(seed)
        torch.manual_seed(seed)
        sizes = [d, *hidden, d]
        layers: list[nn.Module] = []
        for i, o in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [StraightMaskedLinear(i, o), nn.ReLU()]
        self.net = nn.Sequential(*layers[:-1])
        degrees = [np.arange(d)]
        for h in hidden:
            degrees.append(rng.randint(degrees[-1].min(), d - 1, size=h))
        masks = [degrees[i + 1][:, None] >= degrees[i][None, :] for i in range(len(hidden))]
        masks.append(np.arange(d)[:, None] > degrees[-1][None, :])
        linears = [m for m in self.net if isinstance(m, StraightMaskedLinear)]
        for layer, m in zip(linears, masks, strict=True):
            layer.mask.copy_(torch.from_numpy(m.astype(np.float32)))
        self.d = d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def nll(self, x: torch.Tensor) -> torch.Tensor:
        """Per-example NLL in nats."""
        return F.binary_cross_entropy_with_logits(self(x), x, reduction="none").sum(1)

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        x = torch.zeros(n, self.d)
        for t in range(self.d):
            x[:, t] = torch.bernoulli(torch.sigmoid(self(x)[:, t]))
        return x


class NumpyDataset(torch.utils.data.Dataset):
    """Indexes a numpy array one example at a time, as a DataLoader expects."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.array[i].astype(np.float32)


def straight_epoch(model: StraightMADE, loader, optimiser) -> float:
    """One epoch of the straightforward loop; returns the mean training loss."""
    total, count = 0.0, 0
    for xb in loader:
        loss = model.nll(xb).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        total += loss.item() * len(xb)
        count += len(xb)
    return total / count


@torch.no_grad()
def straight_nll(model: StraightMADE, x: np.ndarray) -> float:
    t = torch.from_numpy(x.astype(np.float32))
    return float(torch.cat([model.nll(t[i : i + 1024]) for i in range(0, len(t), 1024)]).mean())


def portable(path: str | Path, outside: str | None = None) -> str:
    """``path`` as it may be committed: relative to the repository when inside it; outside
    it, ``outside`` if given (a placeholder such as "DIR"), else the path as it is (for a
    result that is never committed, such as a test's)."""
    path = Path(path).absolute()
    try:
        return str(path.relative_to(Path(__file__).resolve().parents[1]))
    except ValueError:
        return outside if outside is not None else str(path)
