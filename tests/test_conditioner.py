"""MaskedMLP, the masked network as a building block: its outputs are autoregressive in the
inputs, and an affine autoregressive flow (a MAF layer) built on it has a triangular Jacobian,
the log-determinant it claims, and a density that integrates to 1."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from made.conditioner import MaskedMLP


def _jacobian(net: MaskedMLP, x: torch.Tensor, ctx: torch.Tensor | None) -> torch.Tensor:
    """d out[d, p] / d x[j] for one example: shape (D, P, D)."""
    return torch.autograd.functional.jacobian(lambda v: net(v[None], ctx)[0], x)


@settings(max_examples=40, deadline=None)
@given(
    d=st.integers(1, 6),
    hidden=st.lists(st.integers(1, 12), min_size=0, max_size=3),
    p=st.integers(1, 3),
    ordering=st.sampled_from(["natural", "reversed", "random"]),
    degrees=st.sampled_from(["random", "equal"]),
    context=st.integers(0, 2),
    seed=st.integers(0, 50),
)
def test_outputs_depend_only_on_earlier_inputs(d, hidden, p, ordering, degrees, context, seed):
    net = MaskedMLP(d, hidden, p, ordering=ordering, hidden_degrees=degrees,
                    context_size=context, activation="tanh", seed=seed)  # fmt: skip
    x = torch.randn(d, dtype=torch.float32)
    ctx = torch.randn(1, context) if context else None
    jac = _jacobian(net, x, ctx)
    pos = torch.argsort(net.ordering)
    allowed = pos[None, :] < pos[:, None]  # allowed[i, j]: output i may read input j
    assert torch.all(jac.abs().sum(1)[~allowed] == 0)
    assert net(x[None], ctx).shape == (1, d, p)


def test_a_wide_network_reads_every_predecessor():
    net = MaskedMLP(5, [64, 64], 2, ordering=[3, 0, 4, 1, 2], activation="tanh")
    jac = _jacobian(net, torch.randn(5), None).abs().sum(1)
    pos = torch.argsort(net.ordering)
    assert torch.equal(jac != 0, pos[None, :] < pos[:, None])


class AffineFlow(nn.Module):
    """The MAF layer of docs/api.md: z = (x - shift(x)) * exp(-log_scale(x)), shift and log_scale of
    dimension d computed from x before d."""

    def __init__(self, dims: int, seed: int = 0) -> None:
        super().__init__()
        self.net = MaskedMLP(dims, [32, 32], params_per_dim=2, ordering="random", seed=seed)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shift, raw = self.net(x).unbind(-1)
        log_scale = torch.tanh(raw)
        return (x - shift) * torch.exp(-log_scale), -log_scale.sum(-1)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        z, logdet = self(x)
        return torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1) + logdet


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_maf_jacobian_is_triangular_and_its_log_determinant_matches_autograd(seed):
    flow = AffineFlow(4, seed=seed).double()
    x = torch.randn(4, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: flow(v[None])[0][0], x)
    order = flow.net.ordering
    in_order = jac[order][:, order]  # rows and columns in the flow's ordering
    assert torch.all(in_order.triu(1) == 0) and torch.all(in_order.diagonal() != 0)
    with torch.no_grad():
        _, logdet = flow(x[None])
    assert float(logdet) == pytest.approx(float(torch.linalg.slogdet(jac).logabsdet), abs=1e-12)


def test_maf_density_integrates_to_one_in_two_dimensions():
    flow = AffineFlow(2, seed=3).double()
    side = torch.linspace(-12, 12, 801, dtype=torch.float64)
    grid = torch.cartesian_prod(side, side)
    with torch.no_grad():
        density = flow.log_prob(grid).exp().reshape(801, 801)
    step = float(side[1] - side[0])
    total = float(torch.trapezoid(torch.trapezoid(density, dx=step), dx=step))
    assert total == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_dims=0, hidden_sizes=[4]), "num_dims must be an int in 1.."),
        (dict(num_dims=3, hidden_sizes=[0]), "hidden_sizes must hold positive ints"),
        (dict(num_dims=3, hidden_sizes=[4], params_per_dim=0), "params_per_dim must be an int"),
        (dict(num_dims=3, hidden_sizes=[4], activation="swish"), "activation must be one of"),
        (dict(num_dims=3, hidden_sizes=[4], ordering=[0, 0, 1]), "a permutation"),
    ],  # fmt: skip
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MaskedMLP(**kwargs)


def test_bad_inputs():
    net = MaskedMLP(3, [8], context_size=2)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 3\)"):
        net(torch.zeros(2, 4), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="needs a context"):
        net(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"context must have shape \(2, 2\)"):
        net(torch.zeros(2, 3), torch.zeros(2, 5))


@pytest.mark.parametrize("hidden", [[], [16], [16, 16]])
def test_the_context_reaches_every_dimension_the_first_included(hidden):
    # A conditional flow must be able to condition its first variable: the context is an
    # input that every layer, the output layer included, may see.
    net = MaskedMLP(4, hidden, params_per_dim=2, context_size=3, seed=1)
    x = torch.randn(5, 4)
    context = torch.randn(5, 3, requires_grad=True)
    out = net(x, context)
    for d in range(4):
        (grad,) = torch.autograd.grad(out[:, d, :].sum(), context, retain_graph=True)
        assert grad.abs().sum() > 0, d
    # and the first dimension still sees no input
    x = x.clone().requires_grad_()
    out = net(x, context.detach())
    (grad_x,) = torch.autograd.grad(out[:, int(net.ordering[0]), :].sum(), x)
    assert grad_x.abs().sum() == 0
