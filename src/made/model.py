"""MADE: an MLP whose masks make output t depend only on inputs earlier in an ordering.

The pieces live in their own modules: the per-dimension layout of units and the output
families (``outputs.py``), the masked network (``network.py``, the reference) and its fast
path (``fastpath.py``, opt-in by argument), input checks (``validation.py``) and the samplers
(``sampling.py``). ``MADE`` holds the settings, the masks (as orderings and degrees, a function
of ``(seed, k)``), and the density's public API.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .config import MADEConfig
from .fastpath import Fast, StaircasePlan, fast_forward, sort_units, staircase_plan
from .masks import INIT_STREAM, build_masks, make_connectivity, make_generator
from .network import MaskedNetwork
from .outputs import LOG_SCALE_MIN, Layout, real_log_density, real_params
from .sampling import marginal
from .sampling import sample as draw_samples
from .validation import check_context, check_ensemble, check_mask, check_x

# How many bytes of masks a model keeps built (``MADE.masks``): every mask of 32 masks of
# MNIST's one layer of 500 units (1.4 MB each), the last one only beyond.
MASK_CACHE_BYTES = 64 * 2**20

__all__ = ["MADE", "LOG_SCALE_MIN", "mixture_log_prob", "real_log_density", "real_params"]


class MADE(nn.Module):
    """Masked Autoencoder for Distribution Estimation (Germain et al., 2015).

    An exact autoregressive density model over discrete vectors:
    ``log p(x) = sum_t log p(x_{o[t]} | x_{o[<t]})`` from one forward pass.

    Args:
        input_shape: D, or a shape such as ``(1, 20, 20)``; data is flattened in C order.
        hidden_sizes: units of each hidden layer, e.g. ``[512, 512]`` (may be empty).
        num_categories: 2 for binary data (one logit per dimension, Bernoulli); K > 2 for
            K-way categorical dimensions; 0 for real-valued dimensions; or one of these per
            dimension (mixed data, e.g. a table). Categorical inputs enter one-hot; binary ones
            as their 0/1 value; real ones as their value (standardise them first).
        num_components: the density of a real-valued dimension: 1 for a Gaussian (a mean and
            a log-scale per dimension), C > 1 for a mixture of C Gaussians (C weights, means
            and log-scales). Log-scales lie in [``LOG_SCALE_MIN``, ``outputs.LOG_SCALE_MAX``]:
            repeated values cannot make the likelihood infinite, nor a runaway one NaN.
        ordering: ``"natural"``, ``"reversed"``, ``"random"`` (from ``seed``) or a permutation
            ``o`` of ``range(D)`` where ``o[t]`` is the dimension generated t-th.
        hidden_degrees: ``"random"`` (the paper: uniform in [previous layer's min, D-2]) or
            ``"equal"`` (deterministic, evenly spread).
        num_masks: number of fixed masks for connectivity-agnostic training; cycle them with
            ``next_mask()``. Mask k is a function of ``(seed, k)`` only. Without
            ``order_agnostic`` every mask shares one ordering (random or not).
        order_agnostic: masks k >= 1 also draw their own random ordering (mask 0 keeps
            ``ordering``).
        direct_connections: add a masked linear term from inputs straight to outputs.
        context_size: length of a conditioning vector added, unmasked, to every hidden layer
            and to the output layer (so even the first dimension's distribution depends on it).
        activation: hidden nonlinearity, one of ``made.config.ACTIVATIONS``.
        dropout: while training, zero each hidden unit with this probability (0: none). It
            regularises small data sets; ``fit`` draws it from its own seeded generator.
        seed: seeds weight initialisation, random orderings and degrees. The global RNG is
            never touched.
        missing: real-valued dimensions whose values may be missing (NaN): each gets a
            "missing" outcome, modelled like any other, and its density applies only when the
            value is there (see ``made.outputs``); the log-likelihood of a row with gaps is
            exact.
        fixed: ``(dimension, value)`` pairs: binary dimensions that always take ``value``
            (a table's constant column), the other with probability exactly 0 (``forward``
            then reads as a mixed model's: ``[0, log-odds]`` per binary dimension).
        mask_biases: with several masks, each mask its own bias for every hidden and output
            unit (its one-hot index on the context inputs): trained with
            ``TrainConfig.mixture_masks``, the mixture gains more (``benchmarks/README.md``).

    Example:
        >>> import torch
        >>> from made import MADE
        >>> model = MADE(4, [16], seed=0)
        >>> x = torch.tensor([[0, 1, 1, 0]])
        >>> model.log_prob(x).shape
        torch.Size([1])
        >>> model.sample(3, generator=torch.Generator().manual_seed(0)).shape
        torch.Size([3, 4])
    """

    def __init__(
        self,
        input_shape: int | Sequence[int],
        hidden_sizes: Sequence[int],
        num_categories: int | Sequence[int] = 2,
        num_components: int = 1,
        ordering: str | Sequence[int] = "natural",
        hidden_degrees: str = "random",
        num_masks: int = 1,
        order_agnostic: bool = False,
        direct_connections: bool = False,
        context_size: int = 0,
        activation: str = "relu",
        dropout: float = 0.0,
        seed: int = 0,
        missing: Sequence[int] = (),
        fixed: Sequence[tuple[int, int]] = (),
        mask_biases: bool = False,
    ) -> None:
        super().__init__()
        config = self.config = MADEConfig(
            input_shape=input_shape,  # type: ignore[arg-type]
            hidden_sizes=hidden_sizes,  # type: ignore[arg-type]
            num_categories=num_categories,  # type: ignore[arg-type]
            num_components=num_components, ordering=ordering,  # type: ignore[arg-type]
            hidden_degrees=hidden_degrees, num_masks=num_masks, order_agnostic=order_agnostic,
            direct_connections=direct_connections, context_size=context_size,
            activation=activation, dropout=dropout, seed=seed, missing=missing, fixed=fixed,  # type: ignore[arg-type]
            mask_biases=mask_biases,
        )  # fmt: skip
        self.input_shape: tuple[int, ...] = config.input_shape  # type: ignore[assignment]
        self.num_dims = config.num_dims
        c = config
        self.layout = Layout(c.cardinalities, c.num_components, c.missing, c.fixed)
        self._register_connectivity()
        self.net = MaskedNetwork(
            self.layout.num_units, config.hidden_sizes, self.layout.num_out_units,
            direct=config.direct_connections, context_size=config.context_width,
            activation=config.activation, dropout=config.dropout,
            generator=make_generator(config.seed, INIT_STREAM),
        )  # fmt: skip
        self.layout.spread_mixtures(self.net.output.bias, self.orderings[:, 0].unique().tolist())
        self._mask_index = 0
        self._plans: dict[int, StaircasePlan] = {}
        self._built: dict[int, list[torch.Tensor]] = {}  # masks built (see ``masks``)
        self.set_mask(0)
        self.zero_unused_weights()
        self.register_load_state_dict_pre_hook(_rename_legacy_keys)

    def _register_connectivity(self) -> None:
        """Every mask's ordering and hidden degrees, as buffers (``make_connectivity``)."""
        c = self.config
        orderings, degrees = make_connectivity(
            c.seed, c.num_masks, self.num_dims, c.hidden_sizes, c.ordering, c.hidden_degrees,
            c.order_agnostic,
        )  # fmt: skip
        self.register_buffer("orderings", orderings)  # (num_masks, D)
        for layer, per_mask in enumerate(degrees):
            self.register_buffer(f"hidden_degrees_{layer}", per_mask)

    @classmethod
    def from_config(cls, config: MADEConfig | dict[str, Any]) -> MADE:
        """Build a model from a ``MADEConfig`` or its ``to_dict()`` form."""
        if not isinstance(config, MADEConfig):
            config = MADEConfig.from_dict(config)
        return cls(**{k: getattr(config, k) for k in config.__dataclass_fields__})

    # ----------------------------------------------------------------------- description
    @property
    def cardinalities(self) -> tuple[int, ...]:
        """Categories of each dimension (0: real-valued)."""
        return self.layout.cardinalities

    # Gaussians per real dimension, the real dimensions, whether any, the most categories.
    num_components = property(lambda self: self.config.num_components)
    real_dims = property(lambda self: self.layout.real_dims)
    has_real = property(lambda self: self.layout.has_real)
    max_categories = property(lambda self: max(self.cardinalities))

    # The network's hidden layers, output layer and direct connections (None without them).
    hidden = property(lambda self: self.net.hidden)
    output = property(lambda self: self.net.output)
    direct = property(lambda self: self.net.direct)

    @property
    def dtype(self) -> torch.dtype:
        return self.net.output.weight.dtype

    @property
    def device(self) -> torch.device:
        return self.net.output.weight.device

    # ------------------------------------------------------------------------------ masks
    @property
    def num_masks(self) -> int:
        return self.config.num_masks

    @property
    def mask_index(self) -> int:
        """Which of the ``num_masks`` masks ``forward``, ``log_prob`` and ``sample`` use."""
        return self._mask_index

    @property
    def ordering(self) -> torch.Tensor:
        """The current ordering: ``ordering[t]`` is the dimension generated t-th."""
        return self.orderings[self._mask_index]

    def degrees(self, k: int | None = None) -> list[torch.Tensor]:
        """Degrees of each hidden layer's units under mask ``k`` (default: current)."""
        k = self._mask_index if k is None else self._check_mask_index(k)
        return [getattr(self, f"hidden_degrees_{i}")[k] for i in range(len(self.net.hidden))]

    def hidden_degrees(self, k: int | None = None) -> list[torch.Tensor]:
        """Deprecated: ``degrees(k)`` (``hidden_degrees`` names the strategy setting)."""
        warnings.warn("MADE.hidden_degrees(k) is now MADE.degrees(k)", DeprecationWarning,
                      stacklevel=2)  # fmt: skip
        return self.degrees(k)

    def masks(
        self, k: int | None = None, ordering: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """Boolean masks of mask ``k`` (default: current), hidden layers, output, direct; with
        ``ordering``, mask ``k``'s degrees under that ordering instead of its own. Kept once
        built: every mask's while all fit in ``MASK_CACHE_BYTES``, else the last one's."""
        k = self._mask_index if k is None else self._check_mask_index(k)
        cached = self._built.get(k) if ordering is None else None
        if cached is not None and cached[0].device == self.orderings.device:
            return cached
        built = build_masks(self.orderings[k] if ordering is None else ordering, self.degrees(k),
                            self.layout.unit_dim, self.layout.out_unit_dim,
                            direct=self.net.direct is not None)  # fmt: skip
        if ordering is None:
            if sum(m.nbytes for m in built) * self.num_masks > MASK_CACHE_BYTES:
                self._built.clear()
            self._built[k] = built
        return built

    def plan(self, k: int | None = None) -> StaircasePlan:
        """Mask ``k``'s staircase plan (the fast path's), cached per mask so that cycling
        masks costs nothing."""
        k = self._mask_index if k is None else self._check_mask_index(k)
        plan = self._plans.get(k)
        if plan is None or plan.device != self.orderings.device:
            units = sort_units(self.orderings[k], self.layout.unit_dim, self.layout.out_unit_dim)
            plan = self._plans[k] = staircase_plan(units, self.degrees(k),
                                                   self.net.direct is not None)  # fmt: skip
        return plan

    def _check_mask_index(self, k: int) -> int:
        if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k < self.num_masks:
            raise ValueError(f"mask index must be an int in [0, {self.num_masks - 1}]; got {k!r}")
        return k

    def set_mask(self, k: int) -> None:
        """Make mask ``k`` current (rebuilt on the model's device from stored degrees)."""
        k = self._check_mask_index(k)
        self.net.set_masks(self.masks(k))
        self._mask_index = k

    def next_mask(self) -> int:
        """Cycle to the next mask (connectivity-agnostic training); returns its index."""
        self.set_mask((self._mask_index + 1) % self.num_masks)
        return self._mask_index

    def zero_unused_weights(self) -> None:
        """Set to exactly 0 every weight that no mask uses (``MaskedNetwork.zero_unused``)."""
        self.net.zero_unused(self.masks(k) for k in range(self.num_masks))

    def get_extra_state(self) -> dict[str, int]:
        return {"mask_index": self._mask_index}

    def set_extra_state(self, state: dict[str, int]) -> None:
        self._plans, self._built = {}, {}  # the loaded degrees may differ
        self.set_mask(int(state["mask_index"]))

    # ------------------------------------------------------------------------- densities
    def validate(
        self, x: Any, context: Any = None, ensemble: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Check data for this model and return it as the model reads it: ``x`` as ``(B, D)``
        (integer categories, or the model's dtype when it has real dimensions) and the
        context as ``(B, C)`` or None; ``ensemble`` must be None or 1..``num_masks``.

        ``ValueError`` names the first problem (shape, device, a value outside its
        categories, NaN). Validate a data set once, then call ``log_prob(...,
        validate=False)`` on its batches, as ``fit`` and ``evaluate_nll`` do."""
        x = check_x(x, self.layout, self.input_shape, self.device, self.dtype)
        if ensemble is not None:
            check_ensemble(ensemble, self.num_masks)
        size = self.config.context_size
        return x, check_context(context, x.shape[0], size, self.device, self.dtype)

    def network_context(self, context: Any, k: int | None, n: int) -> torch.Tensor | None:
        """The context the network reads for ``n`` rows under mask ``k`` (None: current):
        ``context`` (validated, or None), then with ``mask_biases`` the mask's index one-hot."""
        if not self.config.mask_biases:
            return context
        index = torch.full((n,), self._mask_index if k is None else k, device=self.device)
        which = F.one_hot(index, self.num_masks).to(self.dtype)
        return which if context is None else torch.cat([context.to(self.dtype), which], 1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` values -> ``(B, num_units)`` network input."""
        return self.layout.encode(x, self.dtype)

    def _out(
        self, h_in: torch.Tensor, context: torch.Tensor | None, k: int | None,
        fast: bool | Fast,
    ) -> torch.Tensor:  # fmt: skip
        """The network's raw outputs under mask ``k`` (None: the current one), by the
        reference path or, with ``fast``, the fast one."""
        masks = self.net.stored_masks() if k is None else self.masks(k)
        context = self.network_context(context, k, h_in.shape[0])
        if not fast:
            return self.net(h_in, context, masks)
        how = fast if isinstance(fast, Fast) else Fast()
        return fast_forward(self.net, h_in, context, masks, self.plan(k), how)

    def forward(
        self, x: torch.Tensor, context: torch.Tensor | None = None, *, fast: bool | Fast = False
    ) -> torch.Tensor:
        """Conditional logits (and parameters of real dimensions) under the current mask.

        Returns ``(B, *input_shape)`` log-odds of a 1 for binary models, otherwise
        ``(B, *input_shape, out_width)`` logits with ``-inf`` at categories a dimension lacks
        (a binary dimension of a mixed model reads ``[0, log-odds]``); a real dimension
        reads its parameters (see ``real_params``) then ``-inf`` padding. Entry t depends only
        on the dimensions before t in the ordering (and on ``context``).
        """
        x, ctx = self.validate(x, context)
        out = self.layout.per_dimension(self._out(self.encode(x), ctx, None, fast))
        return out.reshape(x.shape[0], *self.input_shape, *out.shape[2:])

    def log_prob(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        ensemble: int | None = None,
        *,
        validate: bool = True,
        mask: int | None = None,
        fast: bool | Fast = False,
    ) -> torch.Tensor:
        """Exact log-likelihood of each example, in nats: shape ``(B,)``.

        With ``ensemble=K``, the log of the mean *probability* over masks ``0..K-1`` (a proper
        mixture, ``logsumexp_k log p_k(x) - log K``), never averaged logits; with ``mask=k``,
        under mask k alone. Neither changes the current mask. ``validate=False`` skips input
        checks for data already checked. ``fast=True`` (or a ``made.fastpath.Fast``) computes
        by the fast path, as training and evaluation do: the same values to rounding, at
        about half the multiply-adds.
        """
        if validate:
            x, context = self.validate(x, context, ensemble)
        else:
            x = x.reshape(x.shape[0], self.num_dims)
        if ensemble is None:
            k = None if mask is None else self._check_mask_index(mask)
            return self.layout.log_prob_per_dim(self._out(self.encode(x), context, k, fast),
                                                x).sum(dim=1)  # fmt: skip
        if mask is not None:
            raise ValueError("give ensemble or mask, not both")
        masks = range(check_ensemble(ensemble, self.num_masks))
        return mixture_log_prob(self, x, masks, context, fast=fast)

    def nll_sum(self, x: torch.Tensor, context: Any = None, *, fast: Any = False) -> torch.Tensor:
        """``-log_prob(x, context, validate=False, fast=fast).sum()``, as training minimises
        it: for a binary model, one fused pass with no per-dimension intermediate."""
        x = x.reshape(x.shape[0], self.num_dims)
        return self.layout.nll_sum(self._out(self.encode(x), context, None, fast), x)

    def conditional_log_probs(
        self, x: torch.Tensor, context: Any = None, *, fast: Any = False, mask: int | None = None
    ) -> torch.Tensor:
        """``log p(x_d | x_<d)`` of every dimension under the current mask, or ``mask`` (a
        log-density for a real dimension), shape ``(B, *input_shape)``; they sum to ``log_prob``.

        Which terms are large says which dimensions make an example unlikely given the ones
        before them in the ordering: a first explanation of an anomaly score."""
        x, context = self.validate(x, context)
        out = self._out(self.encode(x), context, mask and self._check_mask_index(mask), fast)
        return self.layout.log_prob_per_dim(out, x).reshape(x.shape[0], *self.input_shape)

    def loss(self, x: torch.Tensor, context: Any = None, *, validate: bool = True) -> torch.Tensor:
        """Mean negative log-likelihood per example, in nats (a scalar to minimise)."""
        return -self.log_prob(x, context, validate=validate).mean()

    def log_marginal(
        self,
        x: torch.Tensor,
        is_observed: torch.Tensor | None = None,
        context: torch.Tensor | None = None,
        ensemble: int | None = None,
        **renamed: Any,
    ) -> torch.Tensor:
        """Exact ``log p(x_S)`` in nats for the observed subset S (``is_observed`` True):
        shape ``(B,)``. ``x`` must hold valid values everywhere (unobserved ones are ignored).

        The observed dimensions are put first in the ordering (of the current mask, or of
        each of masks ``0..K-1`` with ``ensemble=K``, mixed as probabilities), so their
        marginal is the product of the first |S| conditionals. That needs an order-agnostic
        model, or S a prefix of a single-ordering model's ordering; otherwise ``ValueError``.
        Under the same ordering, ``log p(x_rest | x_S) = log p(x) - log p(x_S)``.
        """
        x, context = self.validate(x, context, ensemble)
        seen = check_mask(_renamed(renamed, is_observed), x.shape[0], self.input_shape, self.device)
        return marginal(self, x, seen, context, ensemble)

    # --------------------------------------------------------------------------- samples
    @torch.no_grad()
    def sample(
        self,
        n: int,
        context: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        *,
        method: str = "incremental",
        ensemble: int | None = None,
        observed: torch.Tensor | None = None,
        is_observed: torch.Tensor | None = None,
        bounds: tuple[torch.Tensor, torch.Tensor] | None = None,
        present: torch.Tensor | None = None,
        **renamed: Any,
    ) -> torch.Tensor:
        """Draw ``n`` exact samples (``sampling.sample``; docs/sampling.md): ``(n,
        *input_shape)``, categories (long), or the model's dtype where a dimension is real.
        One position at a time, by inverse CDF from uniforms drawn on ``generator``'s device
        (a fresh one if none): one generator state, the same samples on any device.
        ``method``: ``"incremental"`` (about one forward pass) or ``"naive"`` (the reference).
        ``ensemble=K``: each sample draws its mask from ``0..K-1``. ``observed`` values (per
        sample, or one example) are kept where ``is_observed`` (inpainting): exact for an
        order-agnostic model, or a prefix of a single ordering (else a warning).
        ``bounds=(low, high)`` (a value per dimension each) keep real draws in range before
        later dimensions read them. ``present`` (shaped as ``is_observed``): cells drawn as
        values, never gaps, given that the value is there (a ``missing`` dimension from its
        density, a categorical one from all but its last category, a table's gap): imputation.
        """
        is_observed = _renamed(renamed, is_observed)
        return draw_samples(self, n, context, generator, method=method, ensemble=ensemble,
                            observed=observed, is_observed=is_observed,
                            bounds=bounds, present=present)  # fmt: skip

    def extra_repr(self) -> str:
        return _summary(self.config, self.input_shape)


def mixture_log_prob(
    model: MADE, x: torch.Tensor, masks: Sequence[int], context: Any = None, *, fast: Any = False
) -> torch.Tensor:
    """Each row's log of the mean *probability* under ``masks`` (any of ``model``'s, in any
    order): ``logsumexp_k log p_k(x) - log K``. ``MADE.log_prob(ensemble=K)`` scores the
    mixture of masks ``0..K-1`` by it, and training with ``TrainConfig.mixture_masks``
    minimises its negative sum. Inputs unchecked, as ``MADE.nll_sum`` takes them."""
    members = [model.log_prob(x, context, validate=False, mask=k, fast=fast) for k in masks]
    return torch.logsumexp(torch.stack(members), dim=0) - math.log(len(members))


def _summary(c: MADEConfig, shape: tuple[int, ...]) -> str:
    """What ``print(model)`` says of a MADE beside its layers."""
    k = c.num_categories if isinstance(c.num_categories, int) else "mixed"
    return (f"input_shape={shape}, categories={k}, num_masks={c.num_masks}, "
            + ("mask_biases=True, " if c.mask_biases else "")
            + f"order_agnostic={c.order_agnostic}, context_size={c.context_size}")  # fmt: skip


def _renamed(renamed: dict[str, Any], is_observed: Any) -> Any:
    """``is_observed``, or the same given by its old name ``observed_mask`` (deprecated:
    "mask" names the network's connectivity)."""
    if set(renamed) - {"observed_mask"}:
        raise TypeError(f"unexpected keyword arguments {sorted(renamed)}")
    if "observed_mask" not in renamed:
        return is_observed
    warnings.warn("observed_mask is now is_observed", DeprecationWarning, stacklevel=3)
    if is_observed is not None:
        raise TypeError("give is_observed or observed_mask (its old name), not both")
    return renamed["observed_mask"]


_LEGACY = ("hidden.", "output.", "direct.", "context_weight")


def _rename_legacy_keys(module: nn.Module, state: dict[str, Any], prefix: str, *args: Any) -> None:
    """Checkpoints written before the network had a module of its own name its weights
    ``hidden.0.weight``, ...: read them as ``net.hidden.0.weight``, ..."""
    for key in [k for k in state if k.startswith(prefix)]:
        rest = key[len(prefix) :]
        if rest.startswith(_LEGACY):
            state[f"{prefix}net.{rest}"] = state.pop(key)
