"""The benchmarks compare made with a straightforward MADE; that baseline must itself be a
correct MADE, or the ratios mean nothing. (The benchmarks themselves never run in the suite.)"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from common import NumpyDataset, StraightMADE, straight_epoch, straight_nll  # noqa: E402


def test_straightforward_baseline_is_autoregressive_and_normalised():
    model = StraightMADE(6, [32, 32], seed=0)
    x = torch.rand(1, 6)
    jac = torch.autograd.functional.jacobian(model, x)[0, :, 0, :]
    assert torch.all(jac.triu() == 0)  # output t reads inputs < t only
    assert (jac.tril(-1) != 0).any()
    xs = torch.tensor(np.array(np.meshgrid(*[[0, 1]] * 6)).reshape(6, -1).T, dtype=torch.float32)
    with torch.no_grad():
        total = torch.logsumexp(-model.nll(xs), 0)
    assert abs(float(total)) < 1e-5


def test_straightforward_loop_runs_and_learns():
    data = (np.random.default_rng(0).random((256, 6)) < 0.2).astype(np.uint8)
    model = StraightMADE(6, [16], seed=0)
    loader = torch.utils.data.DataLoader(NumpyDataset(data), batch_size=32, shuffle=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = straight_nll(model, data)
    for _ in range(5):
        straight_epoch(model, loader, opt)
    assert straight_nll(model, data) < before - 0.5
