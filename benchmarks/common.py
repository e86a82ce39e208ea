"""Shared pieces of the benchmarks: the machine description, timing helpers, and the
tutorial recipe that made is measured against.

The tutorial recipe is the MADE that tutorials teach (karpathy/pytorch-made and its
descendants), exactly: ``F.linear(x, mask * weight, bias)`` with ``nn.Linear``'s
initialisation, hidden [512, 512] with ReLU, natural ordering, hidden degrees uniform in
[previous minimum, D-2], two logits per pixel trained with cross-entropy, a
``DataLoader(TensorDataset(...), batch_size=128, shuffle=True)``, Adam at lr 1e-3, and a
sampler that runs the whole network once per dimension. It is written here, not imported, so
that both sides are measured in one process under the same conditions.
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

from made.devices import resolve_device
from made.fileio import atomic_write_bytes


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


def load_json(path: Path | None) -> dict:
    """A JSON results file's entries; empty when no file is named or it does not exist yet."""
    return json.loads(path.read_text()) if path is not None and path.is_file() else {}


def merge_json(path: Path, key: str, value: dict) -> None:
    """Set ``path[key] = value`` in a JSON results file, keeping the other entries."""
    results = load_json(path)
    results[key] = value
    save_json(path, results)


def save_json(path: Path, results: dict) -> None:
    """Write a results file through made's atomic writer (never through a link, never left
    half written)."""
    atomic_write_bytes(path, (json.dumps(results, indent=2) + "\n").encode())


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


class TutorialMaskedLinear(nn.Linear):
    """``nn.Linear`` (and its initialisation) with a mask multiplied into the weight on every
    call: ``F.linear(x, mask * weight, bias)``."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features)
        self.register_buffer("mask", torch.ones(out_features, in_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.mask * self.weight, self.bias)


class TutorialMADE(nn.Module):
    """The MADE of the tutorials, exactly: natural ordering; hidden degrees drawn uniformly
    from [previous layer's minimum, D-2]; ReLU; an output layer of **two logits per pixel**
    (its strict mask repeated per logit), trained with cross-entropy."""

    def __init__(self, d: int, hidden: list[int], seed: int = 0) -> None:
        super().__init__()
        rng = np.random.RandomState(seed)
        torch.manual_seed(seed)
        sizes = [d, *hidden, 2 * d]
        layers: list[nn.Module] = []
        for i, o in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [TutorialMaskedLinear(i, o), nn.ReLU()]
        self.net = nn.Sequential(*layers[:-1])
        degrees = [np.arange(d)]
        for h in hidden:
            degrees.append(rng.randint(degrees[-1].min(), d - 1, size=h))
        masks = [degrees[i + 1][:, None] >= degrees[i][None, :] for i in range(len(hidden))]
        out = np.arange(d)[:, None] > degrees[-1][None, :]
        masks.append(np.repeat(out, 2, axis=0))  # logits 2t and 2t+1 are pixel t's
        linears = [m for m in self.net if isinstance(m, TutorialMaskedLinear)]
        for layer, m in zip(linears, masks, strict=True):
            layer.mask.copy_(torch.from_numpy(m.astype(np.float32)))
        self.d = d

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, D, 2)``: the two logits of each pixel."""
        return self.net(x).view(x.shape[0], self.d, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` log-odds of a 1 (the difference of the two logits)."""
        pair = self.logits(x)
        return pair[..., 1] - pair[..., 0]

    def nll(self, x: torch.Tensor) -> torch.Tensor:
        """Per-example NLL in nats: the cross-entropy of each pixel's two logits."""
        pair = self.logits(x)
        ce = F.cross_entropy(pair.reshape(-1, 2), x.long().reshape(-1), reduction="none")
        return ce.view(x.shape[0], self.d).sum(1)

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        x = torch.zeros(n, self.d)
        for t in range(self.d):
            x[:, t] = torch.bernoulli(torch.sigmoid(self(x)[:, t]))
        return x


def tutorial_loader(array: np.ndarray, batch_size: int, shuffle: bool = True):
    """The tutorial's loader: ``DataLoader(TensorDataset(x), batch_size, shuffle=True)``."""
    x = torch.from_numpy(np.asarray(array, dtype=np.float32).reshape(len(array), -1))
    dataset = torch.utils.data.TensorDataset(x)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)


def tutorial_epoch(model: TutorialMADE, loader, optimiser) -> float:
    """One epoch of the tutorial's loop; returns the mean training loss."""
    total, count = 0.0, 0
    for (xb,) in loader:
        loss = model.nll(xb).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        total += loss.item() * len(xb)
        count += len(xb)
    return total / count


@torch.no_grad()
def tutorial_nll(model: TutorialMADE, x: np.ndarray) -> float:
    t = torch.from_numpy(x.astype(np.float32).reshape(len(x), -1))
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
