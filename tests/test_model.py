"""The MADE model: autoregressive structure, exact normalisation, mixtures, input checks."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from conftest import all_configurations, random_data, sharpen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from made import MADE, MADEConfig
from made.fastpath import Fast, fast_forward
from made.masks import inverse_permutation

# ----------------------------------------------------------------------------- configurations


@st.composite
def made_kwargs(draw, max_dims: int = 7):
    num_dims = draw(st.integers(1, max_dims))
    kind = draw(st.sampled_from(["binary", "categorical", "mixed", "real", "table"]))
    if kind == "binary":
        cats = 2
    elif kind == "categorical":
        cats = draw(st.integers(3, 5))
    elif kind == "real":
        cats = 0
    else:  # mixed cardinalities; a table also has real-valued dimensions (0)
        low = 0 if kind == "table" else 2
        cats = draw(st.lists(st.integers(low, 4).filter(lambda k: k != 1), min_size=num_dims,
                             max_size=num_dims))  # fmt: skip
    ordering = draw(
        st.one_of(
            st.sampled_from(["natural", "reversed", "random"]),
            st.permutations(list(range(num_dims))),
        )
    )
    degrees = draw(st.sampled_from(["random", "equal"]))
    order_agnostic = draw(st.booleans())
    num_masks = draw(st.integers(1, 3))
    hidden = draw(st.lists(st.integers(1, 12), min_size=0, max_size=3))
    if num_masks > 1 and not order_agnostic and (degrees == "equal" or not hidden):
        num_masks = 1  # such models would have identical masks and are refused
    return dict(
        input_shape=num_dims,
        hidden_sizes=hidden,
        num_categories=cats,
        num_components=draw(st.integers(1, 3)),
        ordering=ordering,
        hidden_degrees=degrees,
        num_masks=num_masks,
        order_agnostic=order_agnostic,
        direct_connections=draw(st.booleans()),
        context_size=draw(st.integers(0, 3)),
        activation=draw(st.sampled_from(["relu", "tanh", "sigmoid", "softplus", "gelu"])),
        seed=draw(st.integers(0, 2**31)),
    )


def _jacobian(model: MADE, k: int, fast: bool = False) -> torch.Tensor:
    """d(raw outputs) / d(encoded inputs) under mask k, at a random continuous input, through
    the dense reference path or the staircase fast path that training uses."""
    g = torch.Generator().manual_seed(k)
    h_in = torch.rand(1, model.layout.num_units, generator=g, dtype=torch.float64) * 2 - 1
    ctx = None
    if model.config.context_size:
        ctx = torch.randn(1, model.config.context_size, generator=g, dtype=torch.float64)
    masks = model.masks(k)

    def network(h: torch.Tensor) -> torch.Tensor:
        if fast:
            return fast_forward(model.net, h, ctx, masks, model.plan(k))
        return model.net(h, ctx, masks)

    jac = torch.autograd.functional.jacobian(network, h_in)
    return jac[0, :, 0, :]  # (out units, in units)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(made_kwargs())
def test_autoregressive_property_by_autograd(kwargs):
    model = sharpen(MADE(**kwargs).double())
    for k in range(model.num_masks):
        pos = inverse_permutation(model.orderings[k])
        # output unit j may read input unit i
        allowed = pos[model.layout.out_unit_dim][:, None] > pos[model.layout.unit_dim][None, :]
        jac = _jacobian(model, k)
        assert not (jac.ne(0) & ~allowed).any(), f"mask {k}: an output reads a later input"
        fast = _jacobian(model, k, fast=True)
        assert torch.allclose(fast, jac, atol=1e-10), "the fast path differs from the reference"
        assert not (fast.ne(0) & ~allowed).any()
        if kwargs["activation"] in ("tanh", "sigmoid", "softplus"):
            # Strictly monotone units: a gradient is nonzero exactly where a masked path
            # exists, so the test also sees masks that cut too much.
            masks = [m.double() for m in model.masks(k)]
            reach = masks[len(model.hidden)]
            for m in reversed(masks[: len(model.hidden)]):
                reach = reach @ m
            if model.direct is not None:
                reach = reach + masks[-1]
            assert torch.equal(jac.ne(0), reach > 0)


def test_autoregressive_property_detects_a_broken_mask():
    model = MADE(4, [8], activation="tanh", seed=0).double()
    model.output.mask.fill_(True)  # break it: outputs now read every hidden unit
    model.output.reset_parameters()  # (weights no mask used were zero: give them values)
    pos = inverse_permutation(model.ordering)
    allowed = pos[model.layout.unit_dim][:, None] > pos[model.layout.unit_dim][None, :]
    # masks() rebuilds the correct connectivity from degrees; the stored (current) one is broken
    masks = model.net.stored_masks()
    h = torch.rand(1, 4, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: model.net(v, None, masks), h)[0, :, 0]
    assert (jac.ne(0) & ~allowed).any()


def test_forward_depends_only_on_earlier_dimensions():
    model = sharpen(MADE(6, [32, 32], num_categories=3, ordering=[4, 1, 5, 0, 3, 2], seed=1))
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 3, (50, 6), generator=g)
    base = model(x)
    pos = inverse_permutation(model.ordering)
    for d in range(6):
        changed = x.clone()
        changed[:, d] = (changed[:, d] + 1) % 3
        diff = (model(changed) - base).abs().amax(dim=(0, 2))
        not_after = pos <= pos[d]  # outputs at or before d's position must not see x_d
        assert torch.all(diff[not_after] == 0)
        if pos[d] < 5:
            assert diff[~not_after].max() > 0


# -------------------------------------------------------------------------------- normalisation


@torch.no_grad()
def _total_log_prob(model: MADE, context=None, ensemble=None) -> float:
    xs = all_configurations(model)
    ctx = None if context is None else context.expand(xs.shape[0], -1)
    return float(torch.logsumexp(model.log_prob(xs, ctx, ensemble=ensemble), 0))


NORMALISATION_CASES = [
    dict(input_shape=10, hidden_sizes=[24, 24]),
    dict(input_shape=(2, 5), hidden_sizes=[16], ordering="random", direct_connections=True),
    dict(input_shape=4, hidden_sizes=[12, 12], num_categories=[3, 2, 4, 2]),
    dict(
        input_shape=4,
        hidden_sizes=[12],
        num_categories=[3, 2, 4, 2],
        ordering="reversed",
        direct_connections=True,
        activation="tanh",
    ),
    dict(input_shape=3, hidden_sizes=[10], num_categories=5, hidden_degrees="equal"),
    dict(input_shape=5, hidden_sizes=[], num_categories=3),
    dict(input_shape=1, hidden_sizes=[4], num_categories=6),
]


@pytest.mark.parametrize("kwargs", NORMALISATION_CASES)
def test_probabilities_sum_to_one(kwargs):
    model = sharpen(MADE(**kwargs, seed=5).double())
    assert abs(math.expm1(_total_log_prob(model))) < 1e-6


@pytest.mark.parametrize("cats", [2, [3, 2, 4, 2]])
def test_ensembles_and_every_mask_sum_to_one(cats):
    d = 4 if cats != 2 else 8
    model = sharpen(
        MADE(d, [16, 16], num_categories=cats, num_masks=4, order_agnostic=True, seed=2).double()
    )
    for k in range(4):
        model.set_mask(k)
        assert abs(math.expm1(_total_log_prob(model))) < 1e-6
    for ensemble in (1, 2, 4):
        assert abs(math.expm1(_total_log_prob(model, ensemble=ensemble))) < 1e-6


@pytest.mark.parametrize("cats", [2, [3, 2, 4, 2]])
def test_conditional_models_sum_to_one_for_every_context(cats):
    d = 4 if cats != 2 else 6
    model = sharpen(
        MADE(d, [16], num_categories=cats, context_size=3, num_masks=2, seed=4).double()
    )
    g = torch.Generator().manual_seed(0)
    totals = []
    for _ in range(3):
        ctx = torch.randn(1, 3, generator=g, dtype=torch.float64)
        assert abs(math.expm1(_total_log_prob(model, ctx))) < 1e-6
        assert abs(math.expm1(_total_log_prob(model, ctx, ensemble=2))) < 1e-6
        totals.append(model.log_prob(all_configurations(model)[:1], ctx).detach())
    assert len({round(float(t), 9) for t in totals}) == 3  # the context matters


def test_first_dimension_depends_on_context():
    model = MADE(3, [8], context_size=2, seed=0)
    x = torch.zeros(1, 3, dtype=torch.long)
    a = model(x, torch.tensor([[1.0, 0.0]]))[0, 0]
    b = model(x, torch.tensor([[0.0, 1.0]]))[0, 0]
    assert a != b


# ------------------------------------------------------------------------------------ mixtures


def test_ensemble_is_the_log_mean_probability_of_members():
    model = sharpen(MADE(6, [20], num_categories=3, num_masks=5, order_agnostic=True, seed=3))
    x = torch.randint(0, 3, (7, 6), generator=torch.Generator().manual_seed(1))
    members = []
    for k in range(5):
        model.set_mask(k)
        members.append(model.log_prob(x))
    model.set_mask(2)
    expected = torch.log(torch.stack(members).double().exp().mean(0))
    assert torch.allclose(model.log_prob(x, ensemble=5).double(), expected, atol=1e-5)
    assert model.mask_index == 2  # evaluating an ensemble leaves the current mask alone
    # a mixture is not the average of logits: with sharp members they differ
    assert not torch.allclose(model.log_prob(x, ensemble=5), torch.stack(members).mean(0))


def test_mask_cycling():
    model = MADE(5, [10], num_masks=3, seed=0)
    seen = [model.mask_index] + [model.next_mask() for _ in range(4)]
    assert seen == [0, 1, 2, 0, 1]
    masks = [model.masks(k) for k in range(3)]
    assert not all(torch.equal(a, b) for a, b in zip(masks[0], masks[1], strict=True))
    model.set_mask(2)
    for layer, m in zip([*model.hidden, model.output], masks[2], strict=True):
        assert torch.equal(layer.mask, m)


def test_order_agnostic_masks_have_their_own_orderings():
    model = MADE(8, [16], ordering="reversed", num_masks=4, order_agnostic=True, seed=0)
    assert model.orderings[0].tolist() == list(range(7, -1, -1))
    assert len({tuple(o) for o in model.orderings.tolist()}) == 4
    fixed = MADE(8, [16], ordering="reversed", num_masks=4, seed=0)
    assert all(o == list(range(7, -1, -1)) for o in fixed.orderings.tolist())


# -------------------------------------------------------------------------------- shapes, dtypes


def test_logit_shapes_and_mixed_binary_dimensions():
    x = torch.zeros(2, 1, 2, 3, dtype=torch.long)
    assert MADE((1, 2, 3), [8])(x).shape == (2, 1, 2, 3)
    assert MADE((1, 2, 3), [8], num_categories=4)(x).shape == (2, 1, 2, 3, 4)
    mixed = MADE(3, [8], num_categories=[2, 4, 3], seed=0)
    logits = mixed(torch.zeros(5, 3, dtype=torch.long))
    assert logits.shape == (5, 3, 4)
    assert torch.all(logits[:, 0, 0] == 0) and torch.all(logits[:, 0, 2:] == float("-inf"))
    assert torch.all(logits[:, 2, 3] == float("-inf")) and torch.isfinite(logits[:, 1]).all()
    # the binary dimension's probability is sigmoid(log-odds), as in a Bernoulli model
    lp = torch.log_softmax(logits[:, 0, :2], -1)[:, 1]
    assert torch.allclose(lp, torch.nn.functional.logsigmoid(logits[:, 0, 1]))


def test_flat_and_shaped_inputs_agree_and_floats_are_accepted():
    model = MADE((2, 2), [8], seed=0)
    x = torch.tensor([[[0, 1], [1, 1]]])
    assert torch.equal(model.log_prob(x), model.log_prob(x.reshape(1, 4)))
    assert torch.equal(model.log_prob(x), model.log_prob(x.float()))
    assert torch.equal(model.log_prob(x), model.log_prob(x.bool()))


def test_mixed_gradients_are_finite():
    model = MADE(3, [8], num_categories=[2, 4, 3], seed=0)
    model.loss(torch.tensor([[1, 3, 2], [0, 0, 0]])).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_loss_is_mean_nll_in_nats():
    model = MADE(4, [8], seed=0)
    x = torch.tensor([[0, 1, 1, 0], [1, 1, 1, 1]])
    assert torch.allclose(model.loss(x), -model.log_prob(x).mean())
    # an untrained binary model with zero weights is uniform: D ln 2 nats per example
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    assert torch.allclose(model.loss(x), torch.tensor(4 * math.log(2)))


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "x, message",
    [
        (
            torch.zeros(3, 5, dtype=torch.long),
            r"shape \(batch, 2, 3\) or \(batch, 6\); got \(3, 5\)",
        ),
        (torch.zeros(6, dtype=torch.long), r"got \(6,\)"),
        (torch.zeros(0, 6, dtype=torch.long), "empty"),
        (
            torch.tensor([[0, 1, 2, 0, 0, 0]]),
            r"holds 2 at dimension 2, outside its categories 0..1",
        ),
        (torch.tensor([[0, -1, 0, 0, 0, 0]]), "holds -1 at dimension 1"),
        (torch.tensor([[0, 1, float("nan"), 0, 0, 0]]), "nan at example 0, dimension 2"),
        (torch.tensor([[0, 1, 0.5, 0, 0, 0]]), "integer category values; got 0.5"),
        ([[0, 1, 0, 0, 0, 0]], "torch.Tensor or numpy array; got list"),
    ],
)
def test_bad_data_is_refused_clearly(x, message):
    model = MADE((2, 3), [8])
    with pytest.raises(ValueError, match=message):
        model.log_prob(x)


def test_per_dimension_categories_are_checked():
    model = MADE(3, [8], num_categories=[2, 4, 3])
    model.log_prob(torch.tensor([[1, 3, 2]]))
    with pytest.raises(
        ValueError, match=r"x\[1\] holds 3 at dimension 2, outside its categories 0..2"
    ):
        model.log_prob(torch.tensor([[1, 3, 2], [0, 0, 3]]))


def test_bad_context_is_refused_clearly():
    x = torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(ValueError, match="context_size=0 but a context was given"):
        MADE(3, [4]).log_prob(x, torch.zeros(2, 1))
    model = MADE(3, [4], context_size=2)
    with pytest.raises(ValueError, match=r"needs a context of shape \(batch, 2\)"):
        model.log_prob(x)
    with pytest.raises(
        ValueError, match=r"context must have shape \(2, 2\) or \(2,\); got \(2, 3\)"
    ):
        model.log_prob(x, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="NaN"):
        model.log_prob(x, torch.tensor([[0.0, float("nan")], [0.0, 0.0]]))
    assert model.log_prob(x, torch.zeros(2)).shape == (2,)  # one context shared by the batch


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(input_shape=0, hidden_sizes=[4]), "input_shape must hold positive ints"),
        (dict(input_shape=(2, -1), hidden_sizes=[4]), "input_shape must hold positive ints"),
        (dict(input_shape=3, hidden_sizes=[4, 0]), "hidden_sizes must hold positive ints"),
        (dict(input_shape=3, hidden_sizes=[4], num_categories=1), "num_categories must be in 2.."),
        (dict(input_shape=3, hidden_sizes=[4], num_categories=[2, 3]), "one cardinality per"),
        (
            dict(input_shape=3, hidden_sizes=[4], num_categories=[2, 3, 1]),
            "cardinality must be in 2..",
        ),
        (dict(input_shape=3, hidden_sizes=[4], ordering=[0, 0, 1]), "permutation of 0..2"),
        (dict(input_shape=3, hidden_sizes=[4], ordering="diagonal"), "ordering must be"),
        (dict(input_shape=3, hidden_sizes=[4], hidden_degrees="wide"), "hidden_degrees must be"),
        (dict(input_shape=3, hidden_sizes=[4], num_masks=0), "num_masks must be an int in 1.."),
        (dict(input_shape=3, hidden_sizes=[4], context_size=-1), "context_size must be"),
        (dict(input_shape=3, hidden_sizes=[4], activation="swishy"), "activation must be one of"),
        (dict(input_shape=3, hidden_sizes=[4], seed=-2), "seed must be"),
        (dict(input_shape=3, hidden_sizes=[4], num_masks=2, hidden_degrees="equal"), "identical"),
    ],
)
def test_bad_constructor_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MADE(**kwargs)


def test_bad_ensemble_and_mask_index():
    model = MADE(3, [4], num_masks=2)
    x = torch.zeros(1, 3, dtype=torch.long)
    for bad in (0, 3, 1.5):
        with pytest.raises(ValueError, match="ensemble"):
            model.log_prob(x, ensemble=bad)
    with pytest.raises(ValueError, match=r"mask index must be an int in \[0, 1\]"):
        model.set_mask(2)


# -------------------------------------------------------------------- determinism and state


def test_same_seed_same_model_and_global_rng_untouched():
    state = torch.get_rng_state()
    a = MADE(
        10,
        [32, 32],
        num_categories=3,
        ordering="random",
        num_masks=3,
        order_agnostic=True,
        direct_connections=True,
        context_size=2,
        seed=9,
    )
    assert torch.equal(state, torch.get_rng_state())
    b = MADE.from_config(a.config.to_dict())
    for (na, ta), (nb, tb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert na == nb and (torch.equal(ta, tb) if isinstance(ta, torch.Tensor) else ta == tb)
    c = MADE(10, [32, 32], num_categories=3, seed=10)
    assert not torch.equal(a.hidden[0].weight, c.hidden[0].weight)


def test_config_round_trip():
    cfg = MADEConfig(
        input_shape=(1, 4),
        hidden_sizes=[8],
        num_categories=[2, 3, 2, 5],
        ordering=[3, 1, 0, 2],
        seed=3,
    )
    assert MADEConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown MADEConfig keys"):
        MADEConfig.from_dict({**cfg.to_dict(), "hiden_sizes": [3]})


def test_state_dict_carries_the_current_mask():
    a = MADE(6, [12], num_masks=3, order_agnostic=True, seed=1)
    a.set_mask(2)
    b = MADE(6, [12], num_masks=3, order_agnostic=True, seed=1)
    b.load_state_dict(a.state_dict())
    assert b.mask_index == 2 and torch.equal(b.output.mask, a.output.mask)


def test_masks_and_degrees_are_buffers_that_follow_the_model():
    model = MADE(5, [8], num_masks=2, seed=0).to(torch.float64)
    names = dict(model.named_buffers())
    assert names["net.hidden.0.mask"].dtype == torch.bool
    assert names["orderings"].shape == (2, 5) and "hidden_degrees_0" in names
    x = torch.ones(1, 5, dtype=torch.long)
    assert model.log_prob(x).dtype == torch.float64
    with pytest.raises(ValueError, match="is on meta but the model is on cpu"):
        model.log_prob(torch.ones(1, 5, device="meta"))


def _sorted_masks(model: MADE, k: int) -> list[torch.Tensor]:
    """Mask ``k``'s layers with their input and output units sorted by degree, as the fast
    path's plan sorts them (hidden units are sorted by construction)."""
    plan, masks = model.plan(k), model.masks(k)
    n = len(model.net.hidden)
    everything = slice(None)
    inputs = everything if plan.order is None else plan.order
    outputs = everything if plan.out_order is None else plan.out_order
    result = []
    for i, mask in enumerate(masks):
        rows = outputs if i >= n else everything
        cols = inputs if i == 0 or i == n + 1 else everything  # the first layer; direct
        result.append(mask[rows][:, cols])
    return result


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(made_kwargs(max_dims=12))
def test_fast_path_equals_the_dense_reference(kwargs):
    model = sharpen(MADE(**kwargs).double())
    g = torch.Generator().manual_seed(0)
    x = random_data(model, 9, g)
    ctx = None
    if model.config.context_size:
        ctx = torch.randn(9, model.config.context_size, generator=g, dtype=torch.float64)
    h = model.encode(x)
    for k in range(model.num_masks):
        dense = model.net(h, ctx, model.masks(k))
        fast = fast_forward(model.net, h, ctx, model.masks(k), model.plan(k))
        assert torch.allclose(dense, fast, atol=1e-10)
        assert torch.allclose(
            model.log_prob(x, ctx, mask=k), model.log_prob(x, ctx, mask=k, fast=True)
        )
        # the masks a premasked network's gradients are multiplied by: the masks, units sorted
        plan = model.plan(k)
        for i, mask in enumerate(_sorted_masks(model, k)):
            assert torch.equal(plan.gradient_mask(i, torch.float64), mask.double())
    # the summed NLL training minimises is the log-likelihood's, whatever the layout
    for fast in (False, True):
        assert torch.allclose(
            model.nll_sum(x, ctx, fast=fast), -model.log_prob(x, ctx, fast=fast).sum()
        )
    # and the gradients training follows
    dense_loss = -model.layout.log_prob_per_dim(model.net(h, ctx, model.masks(0)), x).sum()
    grads = torch.autograd.grad(dense_loss, list(model.parameters()))
    fast_loss = (-model.log_prob(x, ctx, validate=False, fast=True).sum()
                 if model.mask_index == 0 else None)  # fmt: skip
    if fast_loss is not None:
        fast_grads = torch.autograd.grad(fast_loss, list(model.parameters()))
        for a, b in zip(grads, fast_grads, strict=True):
            assert torch.allclose(a, b, atol=1e-9)


@pytest.mark.parametrize("context", [0, 3])
def test_both_paths_honour_autocast(context):
    """Inside someone else's ``torch.autocast`` loop (a flow's conditioner), made's network
    computes in its dtype on the reference path and on the fast one: the fast path under
    autocast equals the fast path told bfloat16, values and gradients, bit for bit (with a
    context, autocast rounds the context's product too)."""
    model = MADE(12, [32, 32], context_size=context, seed=0)
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 2, (16, 12), generator=g)
    ctx = torch.randn(16, context, generator=g) if context else None
    told = model.log_prob(x, ctx, fast=Fast(dtype=torch.bfloat16))
    told_grads = torch.autograd.grad(told.sum(), list(model.parameters()))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = model.log_prob(x, ctx, fast=True)
        reference = model.log_prob(x, ctx)
        logits = model(x, ctx)
    inside_grads = torch.autograd.grad(inside.sum(), list(model.parameters()))
    if not context:
        assert torch.equal(inside, told)
        for a, b in zip(told_grads, inside_grads, strict=True):
            assert torch.equal(a, b)
    else:  # autocast also rounds the context's own product (F.linear) to bfloat16
        assert torch.allclose(inside, told, atol=0.05) and not torch.equal(inside, told)
    assert logits.dtype == torch.bfloat16  # the reference path: autocast's own F.linear
    full = model.log_prob(x, ctx)
    assert not torch.equal(reference, full)  # it did compute in bfloat16
    assert torch.allclose(reference, full, atol=0.5) and torch.allclose(inside, full, atol=0.5)


def test_fast_path_skips_the_zero_half():
    model = MADE(400, [512, 512], seed=0)
    plan = model.plan(0)
    dense = 400 * 512 + 512 * 512 + 512 * 400
    done = sum((r1 - r0) * p for blocks in plan.blocks for r0, r1, p in blocks)
    assert done < 0.66 * dense  # about (1 + 1/blocks) / 2 of the dense work: 4 blocks, 5/8


def test_a_random_ordering_is_one_ordering_unless_order_agnostic():
    # ordering="random" with several masks but order_agnostic=False: one random ordering that
    # every mask shares (only the degrees differ); order_agnostic=True gives each its own
    shared = MADE(6, [16], ordering="random", num_masks=4, seed=3)
    assert all(torch.equal(shared.orderings[k], shared.orderings[0]) for k in range(4))
    assert not torch.equal(shared.orderings[0], torch.arange(6))
    own = MADE(6, [16], ordering="random", num_masks=4, order_agnostic=True, seed=3)
    assert torch.equal(own.orderings[0], shared.orderings[0])
    assert len({tuple(o.tolist()) for o in own.orderings}) > 1


def test_ensemble_evaluation_builds_each_mask_once(monkeypatch):
    import made.model
    from made import evaluate_nll

    model = MADE(6, [16], num_masks=4, seed=0)
    x = torch.randint(0, 2, (100, 6))
    expected = -model.log_prob(x, ensemble=4).double().mean().item()
    calls = []
    real = made.model.build_masks
    monkeypatch.setattr(made.model, "build_masks", lambda *a, **k: calls.append(1) or real(*a, **k))
    result = evaluate_nll(model, x, ensemble=4, batch_size=10)  # 10 batches
    assert len(calls) <= 4, len(calls)  # once per mask at most, not once per batch
    assert result.nll == pytest.approx(expected, rel=1e-12)


def test_a_fixed_dimension_has_one_value_exactly_and_the_rest_still_normalises():
    """``fixed``: a binary dimension that always takes one value. Enumerating every
    configuration, the probabilities still sum to 1, any with the other value has
    probability 0, and both samplers draw the same rows, the fixed values only; an
    all-binary model with a fixed dimension takes the general (mixed) layout and trains."""
    import itertools

    for cards in ((2, 3, 2, 2), (2, 2, 2)):
        fixed = ((0, 1), (len(cards) - 1, 0))
        model = MADE(len(cards), [12, 12], num_categories=cards, direct_connections=True,
                     fixed=fixed, seed=1).double()  # fmt: skip
        with torch.no_grad():  # training-like weights: nothing special at initialisation
            for p in model.parameters():
                p.normal_(0, 0.5, generator=torch.Generator().manual_seed(2))
        model.zero_unused_weights()
        grid = torch.tensor(list(itertools.product(*[range(k) for k in cards])))
        log_p = model.log_prob(grid)
        assert torch.isclose(log_p.exp().sum(), torch.tensor(1.0, dtype=log_p.dtype))
        other = (grid[:, 0] != 1) | (grid[:, -1] != 0)
        assert torch.isinf(log_p[other]).all() and torch.isfinite(log_p[~other]).all()
        drawn = {m: model.sample(300, generator=torch.Generator().manual_seed(5), method=m)
                 for m in ("incremental", "naive")}  # fmt: skip
        assert torch.equal(drawn["incremental"], drawn["naive"])
        assert (drawn["naive"][:, 0] == 1).all() and (drawn["naive"][:, -1] == 0).all()
        loss = -model.log_prob(drawn["naive"]).mean()
        loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    with pytest.raises(ValueError, match="binary"):
        MADE(3, [8], num_categories=(2, 3, 2), fixed=((1, 0),))
    with pytest.raises(ValueError, match="twice"):
        MADE(3, [8], fixed=((1, 0), (1, 1)))
    assert MADE.from_config(MADE(3, [8], fixed=[[2, 1]]).config.to_dict()).config.fixed == ((2, 1),)


def _shuffle_hidden_units(model: MADE, seed: int) -> MADE:
    """The same function with each hidden layer's units in another order: degrees, weight
    rows, biases and the next layer's columns permuted alike (a checkpoint written by other
    code, or degrees drawn per unit as the MADE authors' code draws them, has them unsorted)."""
    g = torch.Generator().manual_seed(seed)
    start = 0  # the layer's rows in the context matrix
    with torch.no_grad():
        for i, layer in enumerate(model.net.hidden):
            perm = torch.randperm(layer.weight.shape[0], generator=g)
            degrees = getattr(model, f"hidden_degrees_{i}")
            degrees.copy_(degrees[:, perm])
            layer.weight.copy_(layer.weight[perm])
            layer.bias.copy_(layer.bias[perm])
            if model.net.context_weight is not None:
                rows = model.net.context_weight[start : start + len(perm)]
                rows.copy_(rows[perm])
            start += len(perm)
            after = model.net.hidden[i + 1] if i + 1 < len(model.net.hidden) else model.net.output
            after.weight.copy_(after.weight[:, perm])
    model.set_extra_state(model.get_extra_state())  # the model's own reset for new degrees
    return model


@pytest.mark.parametrize("kwargs", [
    {"input_shape": 7, "hidden_sizes": [24, 16], "direct_connections": True},
    {"input_shape": 5, "hidden_sizes": [20], "num_categories": 3, "context_size": 2},
    {"input_shape": 6, "hidden_sizes": [16, 16], "ordering": "random", "num_masks": 3,
     "order_agnostic": True},
])  # fmt: skip
def test_unsorted_hidden_degrees_compute_the_same_function(kwargs):
    """Hidden units need not be sorted by degree: the fast path, a premasked network's
    gradient masks and the incremental sampler give what the dense reference gives."""
    reference = sharpen(MADE(**kwargs, seed=0).double())
    model = _shuffle_hidden_units(copy.deepcopy(reference), seed=1)
    assert any(not torch.equal(d, d.sort(-1).values) for d in model.degrees(0))
    g = torch.Generator().manual_seed(0)
    x = random_data(model, 11, g)
    size = model.config.context_size
    ctx = torch.randn(11, size, generator=g, dtype=torch.float64) if size else None
    h = model.encode(x)
    for k in range(model.num_masks):
        expected = reference.log_prob(x, ctx, mask=k)
        assert torch.allclose(model.log_prob(x, ctx, mask=k), expected, atol=1e-10)
        assert torch.allclose(model.log_prob(x, ctx, mask=k, fast=True), expected, atol=1e-10)
        plan = model.plan(k)
        for i, mask in enumerate(_sorted_masks(model, k)):
            assert torch.equal(plan.gradient_mask(i, torch.float64), mask.double())
        dense = model.net(h, ctx, model.masks(k))
        fast = fast_forward(model.net, h, ctx, model.masks(k), plan, Fast(premasked=False))
        assert torch.allclose(fast, dense, atol=1e-10)
        model.set_mask(k)
        reference.set_mask(k)
        n = 40
        c = torch.randn(n, size, generator=g, dtype=torch.float64) if size else None
        drawn = [m.sample(n, c, generator=torch.Generator().manual_seed(k))
                 for m in (model, reference)]  # fmt: skip
        assert torch.equal(*drawn)


@pytest.mark.parametrize("ordering", ["natural", "random"])
def test_small_products_run_whole_and_large_ones_in_blocks(monkeypatch, ordering):
    """The library's bound (``BLOCKS_MIN_PRODUCT``): a product of fewer multiply-adds runs in
    one call, a larger one in row blocks; either way the values and the premasked gradients
    are the dense path's. Where every product runs whole, units in a random order are not
    sorted (sorting buys no skipped zeros there, and permutes the weights each way), and the
    gradients of the weights held at zero are still zero."""
    from conftest import DEFAULT_BLOCKS_MIN_PRODUCT

    import made.fastpath

    monkeypatch.setattr(made.fastpath, "BLOCKS_MIN_PRODUCT", DEFAULT_BLOCKS_MIN_PRODUCT)
    calls, permuted = [], []
    kernel, permute = made.fastpath.block_linear, made.fastpath.permute

    def spy(x, weight, bias, blocks, keep=None, dtype=None):
        calls.append((x.shape[0] * weight.numel(), blocks is None))
        return kernel(x, weight, bias, blocks, keep, dtype)

    def spy_permute(*args):
        permuted.append(args[0].shape)
        return permute(*args)

    monkeypatch.setattr(made.fastpath, "block_linear", spy)
    monkeypatch.setattr(made.fastpath, "permute", spy_permute)
    model = MADE(400, [512, 512], direct_connections=True, ordering=ordering, seed=0)
    model.zero_unused_weights()
    x = (torch.rand(128, 400, generator=torch.Generator().manual_seed(0)) < 0.3).long()
    for rows in (16, 128):
        calls.clear()
        permuted.clear()
        fast = model.nll_sum(x[:rows], fast=Fast(premasked=True))
        assert [whole for _, whole in calls] == [n < DEFAULT_BLOCKS_MIN_PRODUCT for n, _ in calls]
        assert all(whole for _, whole in calls) == (rows == 16)
        assert bool(permuted) == (ordering == "random" and rows == 128)
        dense = model.nll_sum(x[:rows])
        assert torch.allclose(fast, dense, rtol=1e-5)
        fast_grads = torch.autograd.grad(fast, list(model.parameters()))
        dense_grads = torch.autograd.grad(dense, list(model.parameters()))
        for a, b in zip(fast_grads, dense_grads, strict=True):
            assert torch.allclose(a, b, atol=1e-4)
        grads = {id(p): g for p, g in zip(model.parameters(), fast_grads, strict=True)}
        for layer in model.net.layers():
            assert torch.all(grads[id(layer.weight)][~layer.mask] == 0)  # the zeros stay zero


def test_conditional_log_probs_of_another_mask_leave_the_current_one():
    model = MADE(6, [16], num_masks=3, order_agnostic=True, seed=0)
    x = torch.randint(0, 2, (5, 6))
    model.set_mask(1)
    current = model.conditional_log_probs(x).detach()
    other = model.conditional_log_probs(x, mask=2).detach()
    assert torch.allclose(other.sum(1), model.log_prob(x, mask=2).detach(), atol=1e-5)
    assert torch.allclose(model.conditional_log_probs(x).detach(), current)  # still mask 1
    assert not torch.allclose(other, current)
    first = model.conditional_log_probs(x, mask=0).detach()  # 0, not the current mask
    assert torch.allclose(first.sum(1), model.log_prob(x, mask=0).detach(), atol=1e-5)
    with pytest.raises(ValueError, match="mask index"):
        model.conditional_log_probs(x, mask=3)


def test_scores_with_cells_left_out_drop_their_terms_in_each_mask_before_the_mixture():
    from made.scoring import score_rows

    model = MADE(5, [12], num_masks=3, order_agnostic=True, seed=1, num_categories=3)
    x = torch.randint(0, 3, (4, 5))
    drop = torch.zeros(4, 5, dtype=torch.bool)
    drop[0, 2] = drop[2, 0] = drop[2, 4] = True
    got = score_rows(model, x, ensemble=3, leave_out=drop).nll
    each = torch.stack([model.conditional_log_probs(x, mask=k).detach().double()
                        .masked_fill(drop, 0).sum(1) for k in range(3)])  # fmt: skip
    expected = -(torch.logsumexp(each, 0) - math.log(3))
    assert torch.allclose(got, expected, atol=1e-5)
    whole = score_rows(model, x, ensemble=3).nll  # rows with nothing left out: as they were
    assert torch.equal(got[[1, 3]], whole[[1, 3]]) and not torch.allclose(got[0], whole[0])
    one = score_rows(model, x, terms=True, leave_out=drop)  # one mask: its terms, kept whole
    assert torch.allclose(one.nll, one.terms.masked_fill(drop, 0).sum(1))
    with pytest.raises(ValueError, match="leave_out"):
        score_rows(model, x, observed=torch.ones(5, dtype=torch.bool), leave_out=drop)


def test_cycling_masks_builds_each_once_and_loading_rebuilds(monkeypatch):
    import made.model as model_module

    built = []
    real = model_module.build_masks
    counted = lambda *a, **k: built.append(1) or real(*a, **k)  # noqa: E731
    monkeypatch.setattr(model_module, "build_masks", counted)
    a = MADE(6, [12], num_masks=4, seed=1)
    built.clear()
    for _ in range(3):  # as connectivity-agnostic training and a mixture's scoring cycle them
        for k in range(4):
            a.set_mask(k)
    assert not built  # the constructor built every mask (zeroing the unused weights)
    for k in range(4):  # what is kept is what a fresh build gives
        fresh = real(a.orderings[k], a.degrees(k), a.layout.unit_dim, a.layout.out_unit_dim,
                     direct=False)  # fmt: skip
        assert all(torch.equal(m, f) for m, f in zip(a.masks(k), fresh, strict=True))
    b = MADE(6, [12], num_masks=4, seed=2)  # other degrees: loaded, the kept masks go
    b.masks(3)
    b.load_state_dict(a.state_dict())
    assert all(torch.equal(m, n) for m, n in zip(b.masks(3), a.masks(3), strict=True))


def test_masks_kept_are_bounded(monkeypatch):
    import made.model as model_module

    monkeypatch.setattr(model_module, "MASK_CACHE_BYTES", 1)  # none fits: the last one only
    model = MADE(6, [12], num_masks=4, seed=1)
    for k in range(4):
        model.set_mask(k)
    assert list(model._built) == [3]


def test_mask_biases_keep_the_structure_and_every_sampler_exact():
    """Each mask's own biases (``mask_biases``): still autoregressive under every mask, the
    mixture normalised by enumeration, the two samplers drawing the same rows, and the
    biases really per mask (mask k's output moves with its row of biases alone)."""
    import itertools

    model = MADE(4, [12, 12], num_masks=3, mask_biases=True, direct_connections=True, seed=2)
    with torch.no_grad():
        model.net.context_weight.normal_(0, 1.0)  # biases well apart
    assert model.config.num_parameters == sum(p.numel() for p in model.parameters())
    grid = torch.tensor(list(itertools.product([0, 1], repeat=4)))
    for k in range(3):  # each output depends only on earlier dimensions, under each mask
        model.set_mask(k)
        order = model.ordering.tolist()
        x = grid.double().requires_grad_(True)
        h = model.encode(x)
        out = model._out(h, None, k, False)
        for t, d in enumerate(order):
            (g,) = torch.autograd.grad(out[:, d].sum(), x, retain_graph=True)
            later = order[t:]
            assert torch.all(g[:, later] == 0), (k, d)
        fast = model.log_prob(grid, mask=k, fast=True)
        assert torch.allclose(fast, model.log_prob(grid, mask=k), atol=1e-5)
    total = model.log_prob(grid, ensemble=3).exp().sum().item()
    assert total == pytest.approx(1.0, abs=1e-5)
    a = model.log_prob(grid, mask=1)
    with torch.no_grad():
        model.net.context_weight[:, 0] += 1.0  # mask 0's biases only
    assert torch.equal(model.log_prob(grid, mask=1), a)
    assert not torch.allclose(model.log_prob(grid, mask=0), a)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    fast = model.sample(400, generator=g1, ensemble=3)
    naive = model.sample(400, generator=g2, ensemble=3, method="naive")
    assert torch.equal(fast, naive)
    with pytest.raises(ValueError, match="num_masks=1 is too few for mask_biases, which gives"):
        MADE(4, [8], mask_biases=True)


def test_mask_biases_round_trip_and_calibrate_as_a_whole(tmp_path):
    from made.calibration import calibrate

    model = MADE(5, [16], num_categories=3, num_masks=2, mask_biases=True, seed=1)
    assert "num_masks=2, mask_biases=True, order_agnostic" in str(model)  # print(model) says so
    assert "mask_biases" not in str(MADE(5, [16], num_categories=3, num_masks=2))
    clone = MADE.from_config(model.config.to_dict())
    clone.load_state_dict(model.state_dict())
    x = torch.randint(0, 3, (64, 5))
    assert torch.equal(clone.log_prob(x, ensemble=2), model.log_prob(x, ensemble=2))
    rows = torch.randint(0, 3, (40, 5))
    logs = calibrate(model, rows)  # a temperature divides every term of a dimension's logits
    assert torch.any(logs != 0)
    shrink = torch.exp(-logs).float()
    for k in range(2):
        clone.set_mask(k)
        model.set_mask(k)
        with torch.no_grad():
            assert torch.allclose(model(x), clone(x) * shrink[None, :, None], atol=1e-5), k
