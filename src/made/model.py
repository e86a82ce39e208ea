"""MADE: an MLP whose masks make output t depend only on inputs earlier in an ordering."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import MADEConfig
from .layers import (
    ACTIVATION_FUNCTIONS,
    MaskedLinear,
    block_linear,
    masked,
    permute,
    staircase_blocks,
)
from .masks import (
    build_masks,
    inverse_permutation,
    make_generator,
    make_hidden_degrees,
    make_ordering,
)

__all__ = ["MADE", "LOG_SCALE_MIN", "real_log_density", "real_params"]


# Sub-streams of the model seed: weights and each mask draw from their own generator.
_INIT_STREAM = 0
_MASK_STREAM = 1
# Rows per block of the staircase fast path: smaller skips more zeros, larger keeps each
# matrix product efficient.
_BLOCK_ROWS = 128


@dataclass(frozen=True)
class _Plan:
    """How the fast path computes one mask: ``order`` sorts the input units by degree (None
    when they already are), ``inverse`` undoes it, ``out_order`` and ``out_inverse`` do the
    same for the output units, ``blocks`` are each layer's row blocks."""

    order: torch.Tensor | None
    inverse: torch.Tensor | None
    out_order: torch.Tensor | None
    out_inverse: torch.Tensor | None
    blocks: tuple[tuple[tuple[int, int, int], ...], ...]
    device: torch.device


# Log-scales of real dimensions are floored here (sigma >= 9e-4 in standardised units): a
# column of repeated values would otherwise drive the density, and the loss, to infinity.
LOG_SCALE_MIN = -7.0
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def real_params(
    params: torch.Tensor, num_components: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``(means, scales, log_weights)`` from a real dimension's raw parameters ``(..., P)``:
    ``[mean, log_scale]`` for a Gaussian (``log_weights`` None), ``[C logits, C means, C
    log-scales]`` for a mixture of C."""
    if num_components == 1:
        return params[..., 0], params[..., 1].clamp(min=LOG_SCALE_MIN).exp(), None
    logits, means, log_scales = params.split(num_components, dim=-1)
    return means, log_scales.clamp(min=LOG_SCALE_MIN).exp(), torch.log_softmax(logits, dim=-1)


def real_log_density(params: torch.Tensor, x: torch.Tensor, num_components: int) -> torch.Tensor:
    """Log-density (nats) of values ``x`` ``(...)`` under raw parameters ``(..., P)``."""
    means, scales, log_weights = real_params(params, num_components)
    if log_weights is None:
        return -0.5 * ((x - means) / scales) ** 2 - scales.log() - _HALF_LOG_2PI
    z = (x.unsqueeze(-1) - means) / scales
    return torch.logsumexp(log_weights - 0.5 * z**2 - scales.log() - _HALF_LOG_2PI, dim=-1)


def _categorical_log_prob(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(B, n)`` log-probabilities of categories ``x`` under padded logits ``(B, n, W)``."""
    return torch.log_softmax(logits, dim=-1).gather(-1, x.long().unsqueeze(-1)).squeeze(-1)


def _check_finite(x: torch.Tensor) -> None:
    """``ValueError`` naming the first NaN or infinite value of ``(B, D)`` data."""
    bad = ~torch.isfinite(x)
    if bad.any():
        i, j = (int(v) for v in bad.nonzero()[0])
        raise ValueError(f"x holds {x[i, j].item()} at example {i}, dimension {j}")


def _sort_units(degree: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor]:
    """``(order, sorted degrees)`` of units by degree; ``order`` is None when already sorted."""
    sorted_degree, order = torch.sort(degree, stable=True)
    identity = bool(torch.equal(order, torch.arange(len(order), device=order.device)))
    return (None if identity else order), sorted_degree


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
            and log-scales). Log-scales are floored at ``LOG_SCALE_MIN`` so that repeated
            values cannot drive the likelihood to infinity.
        ordering: ``"natural"``, ``"reversed"``, ``"random"`` (from ``seed``) or a permutation
            ``o`` of ``range(D)`` where ``o[t]`` is the dimension generated t-th.
        hidden_degrees: ``"random"`` (the paper: uniform in [previous layer's min, D-2]) or
            ``"equal"`` (deterministic, evenly spread).
        num_masks: number of fixed masks for connectivity-agnostic training; cycle them with
            ``next_mask()``. Mask k is a function of ``(seed, k)`` only.
        order_agnostic: masks k >= 1 also draw their own random ordering (mask 0 keeps
            ``ordering``).
        direct_connections: add a masked linear term from inputs straight to outputs.
        context_size: length of a conditioning vector added, unmasked, to every hidden layer
            and to the output layer (so even the first dimension's distribution depends on it).
        activation: hidden nonlinearity, one of ``made.config.ACTIVATIONS``.
        seed: seeds weight initialisation, random orderings and degrees. The global RNG is
            never touched.

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
        seed: int = 0,
    ) -> None:
        super().__init__()
        config = MADEConfig(
            input_shape=input_shape,  # type: ignore[arg-type]
            hidden_sizes=hidden_sizes,  # type: ignore[arg-type]
            num_categories=num_categories,  # type: ignore[arg-type]
            num_components=num_components,
            ordering=ordering,  # type: ignore[arg-type]
            hidden_degrees=hidden_degrees,
            num_masks=num_masks,
            order_agnostic=order_agnostic,
            direct_connections=direct_connections,
            context_size=context_size,
            activation=activation,
            seed=seed,
        )
        self.config = config
        self.input_shape: tuple[int, ...] = config.input_shape  # type: ignore[assignment]
        self.num_dims = config.num_dims
        self.cardinalities = config.cardinalities
        self.bernoulli = all(k == 2 for k in self.cardinalities)
        self.max_categories = max(self.cardinalities)
        self.num_components = config.num_components
        self.real_dims = config.real_dims
        self.has_real = bool(self.real_dims)
        self._act = ACTIVATION_FUNCTIONS[config.activation]

        # Input units per dimension: one for a binary dimension (its value) or a real one,
        # K for a K-way one (one-hot). Output units: a binary dimension's logit, a K-way one's
        # K logits, a real one's parameters (2 for a Gaussian, 3C for a mixture).
        self.params_per_real = 2 if config.num_components == 1 else 3 * config.num_components
        units = [1 if k in (0, 2) else k for k in self.cardinalities]
        out_units = [self.params_per_real if k == 0 else u
                     for k, u in zip(self.cardinalities, units, strict=True)]  # fmt: skip
        unit_dim = torch.repeat_interleave(torch.arange(self.num_dims), torch.tensor(units))
        out_unit_dim = torch.repeat_interleave(torch.arange(self.num_dims),
                                               torch.tensor(out_units))  # fmt: skip
        self.num_units = int(unit_dim.numel())
        self.num_out_units = int(out_unit_dim.numel())
        self.register_buffer("unit_dim", unit_dim, persistent=False)
        self.register_buffer("out_unit_dim", out_unit_dim, persistent=False)
        self.register_buffer("cardinality", torch.tensor(self.cardinalities), persistent=False)
        self._unit_start = np.concatenate([[0], np.cumsum(units)[:-1]]).astype(int).tolist()
        self._units = units
        self._out_start = np.concatenate([[0], np.cumsum(out_units)[:-1]]).astype(int).tolist()
        self._out_units = out_units
        self._setup_indices()

        # Connectivity of every mask, kept as degrees (small) rather than as boolean matrices.
        orderings, degrees = [], []
        for k in range(config.num_masks):
            g = make_generator(config.seed, _MASK_STREAM, k)
            spec = config.ordering if (k == 0 or not config.order_agnostic) else "random"
            ordering = make_ordering(spec, self.num_dims, g)  # drawn always: same streams
            # Without order_agnostic every mask keeps mask 0's ordering, random or not.
            orderings.append(ordering if config.order_agnostic or k == 0 else orderings[0])
            degrees.append(
                make_hidden_degrees(config.hidden_sizes, self.num_dims, config.hidden_degrees, g)
            )
        self.register_buffer("orderings", torch.stack(orderings))  # (num_masks, D)
        for layer, _ in enumerate(config.hidden_sizes):
            self.register_buffer(
                f"hidden_degrees_{layer}", torch.stack([d[layer] for d in degrees])
            )

        g = make_generator(config.seed, _INIT_STREAM)
        sizes = [self.num_units, *config.hidden_sizes]
        self.hidden = nn.ModuleList(
            MaskedLinear(i, o, generator=g) for i, o in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.output = MaskedLinear(sizes[-1], self.num_out_units, generator=g)
        self.direct = (
            MaskedLinear(self.num_units, self.num_out_units, bias=False, generator=g)
            if config.direct_connections
            else None
        )
        if config.context_size > 0:
            # One matrix feeds every hidden layer and the output; split per layer in forward.
            self._context_split = [*config.hidden_sizes, self.num_out_units]
            bound = 1.0 / math.sqrt(config.context_size)
            w = torch.empty(sum(self._context_split), config.context_size, dtype=torch.float64)
            self.context_weight = nn.Parameter(
                w.uniform_(-bound, bound, generator=g).to(torch.get_default_dtype())
            )
        else:
            self.context_weight = None
        self._mask_index = 0
        self._plan_cache: dict[int, _Plan] = {}
        self.set_mask(0)
        self._zero_unused_weights()

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def from_config(cls, config: MADEConfig | dict[str, Any]) -> MADE:
        """Build a model from a ``MADEConfig`` or its ``to_dict()`` form."""
        if not isinstance(config, MADEConfig):
            config = MADEConfig.from_dict(config)
        fields = {k: getattr(config, k) for k in config.__dataclass_fields__}
        return cls(**fields)

    def _setup_indices(self) -> None:
        """Index maps between the flat unit layouts and per-dimension layouts.

        Input: discrete dimensions one-hot (width ``Kin``) then real values, gathered into the
        flat input. Output: each dimension's units padded to ``out_width`` (a binary
        dimension reads ``[0, log-odds]``; padding is ``-inf``), a plain reshape when every
        dimension has the same units and none is binary.
        """
        cards = self.cardinalities
        discrete = [d for d, k in enumerate(cards) if k != 0]
        self._discrete_dims = discrete
        self.register_buffer("_disc_index", torch.tensor(discrete, dtype=torch.long),
                             persistent=False)  # fmt: skip
        self.register_buffer("_real_index", torch.tensor(self.real_dims, dtype=torch.long),
                             persistent=False)  # fmt: skip
        # (B, D) per-dimension results come out as [discrete..., real...]; this restores D.
        self.register_buffer("_dim_restore", torch.argsort(torch.tensor(discrete + list(
            self.real_dims), dtype=torch.long)), persistent=False)  # fmt: skip
        self.out_width = max(2 if k == 2 else (self.params_per_real if k == 0 else k)
                             for k in cards)  # fmt: skip
        self._kin = max([k for k in cards if k != 0], default=2)
        self._values_in = all(u == 1 for u in self._units)
        in_plain = self._values_in or len(set(cards)) == 1
        out_plain = self.bernoulli or (len(set(self._out_units)) == 1 and 2 not in cards)
        in_index, out_index = [], []
        zero_col, neg_inf_col = self.num_out_units, self.num_out_units + 1
        width, kin, real_at = self.out_width, self._kin, len(discrete) * self._kin
        slot = {d: j for j, d in enumerate(discrete)}
        for d, k in enumerate(cards):
            start = self._out_start[d]
            if k == 0:
                in_index.append(real_at)
                real_at += 1
                units = [start + c for c in range(self.params_per_real)]
            elif k == 2:  # one unit: the value (input) / the log-odds of 1 (output)
                in_index.append(slot[d] * kin + 1)
                units = [zero_col, start]
            else:
                in_index += [slot[d] * kin + c for c in range(k)]
                units = [start + c for c in range(k)]
            out_index += units + [neg_inf_col] * (width - len(units))
        self.register_buffer("_in_index", None if in_plain else torch.tensor(in_index),
                             persistent=False)  # fmt: skip
        self.register_buffer("_out_index", None if out_plain else torch.tensor(out_index),
                             persistent=False)  # fmt: skip

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

    def hidden_degrees(self, k: int | None = None) -> list[torch.Tensor]:
        """Degrees of each hidden layer's units under mask ``k`` (default: current)."""
        k = self._mask_index if k is None else self._check_mask_index(k)
        return [getattr(self, f"hidden_degrees_{i}")[k] for i in range(len(self.hidden))]

    def masks(self, k: int | None = None) -> list[torch.Tensor]:
        """Boolean masks of mask ``k`` (default: current): hidden layers, output, direct."""
        k = self._mask_index if k is None else self._check_mask_index(k)
        return build_masks(
            self.orderings[k],
            self.hidden_degrees(k),
            self.unit_dim,
            self.out_unit_dim,
            direct=self.direct is not None,
        )

    def _layers(self) -> list[MaskedLinear]:
        return [*self.hidden, self.output, *([self.direct] if self.direct is not None else [])]

    def _current_masks(self) -> list[torch.Tensor]:
        return [layer.mask for layer in self._layers()]

    def _plan(self, k: int) -> _Plan:
        """The fast path's plan for mask ``k``: with data units sorted by degree (hidden units
        already are), every mask is a staircase, and each layer's row blocks read only the
        column prefix their widest row needs."""
        pos = inverse_permutation(self.orderings[k])
        order, sorted_degree = _sort_units(pos[self.unit_dim])
        out_order, sorted_out = _sort_units(pos[self.out_unit_dim])
        blocks = []
        prev = sorted_degree
        for deg in self.hidden_degrees(k):
            blocks.append(staircase_blocks(torch.searchsorted(prev, deg, right=True), _BLOCK_ROWS))
            prev = deg.contiguous()
        blocks.append(staircase_blocks(torch.searchsorted(prev, sorted_out), _BLOCK_ROWS))
        if self.direct is not None:
            blocks.append(
                staircase_blocks(torch.searchsorted(sorted_degree, sorted_out), _BLOCK_ROWS)
            )
        return _Plan(
            order=order,
            inverse=None if order is None else torch.argsort(order),
            out_order=out_order,
            out_inverse=None if out_order is None else torch.argsort(out_order),
            blocks=tuple(blocks),
            device=pos.device,
        )

    def _current_plan(self) -> _Plan:
        """The current mask's plan, cached per mask so that cycling masks costs nothing."""
        plan = self._plan_cache.get(self._mask_index)
        if plan is None or plan.device != self.orderings.device:
            plan = self._plan_cache[self._mask_index] = self._plan(self._mask_index)
        return plan

    def _check_mask_index(self, k: int) -> int:
        if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k < self.num_masks:
            raise ValueError(f"mask index must be an int in [0, {self.num_masks - 1}]; got {k!r}")
        return k

    def set_mask(self, k: int) -> None:
        """Make mask ``k`` current (rebuilt on the model's device from stored degrees)."""
        k = self._check_mask_index(k)
        for layer, mask in zip(self._layers(), self.masks(k), strict=True):
            layer.set_mask(mask)
        self._mask_index = k

    def next_mask(self) -> int:
        """Cycle to the next mask (connectivity-agnostic training); returns its index."""
        self.set_mask((self._mask_index + 1) % self.num_masks)
        return self._mask_index

    @torch.no_grad()
    def _zero_unused_weights(self) -> None:
        """Set to exactly 0 every weight that no mask uses.

        Such weights never affect the output, but with weight decay they would shrink
        geometrically into denormal floats, which slow every matrix product on the CPU several
        times over. At exactly 0 they stay 0 under Adam, AdamW and L2 decay alike.
        """
        union = [torch.zeros_like(layer.mask) for layer in self._layers()]
        for k in range(self.num_masks):
            for used, mask in zip(union, self.masks(k), strict=True):
                used |= mask
        for layer, used in zip(self._layers(), union, strict=True):
            layer.weight.mul_(used)

    def get_extra_state(self) -> dict[str, int]:
        return {"mask_index": self._mask_index}

    def set_extra_state(self, state: dict[str, int]) -> None:
        self._plan_cache = {}  # the loaded degrees may differ from those the plans came from
        self.set_mask(int(state["mask_index"]))

    # ---------------------------------------------------------------------- input checks
    @property
    def _device(self) -> torch.device:
        return self.output.weight.device

    @property
    def _dtype(self) -> torch.dtype:
        return self.output.weight.dtype

    def validate(
        self, x: Any, context: Any = None, ensemble: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Check data for this model and return it as the model reads it: ``x`` as ``(B, D)``
        (integer categories, or the model's dtype when it has real dimensions) and the
        context as ``(B, C)`` or None; ``ensemble`` must be None or 1..``num_masks``.

        ``ValueError`` names the first problem (shape, device, a value outside its
        categories, NaN). Validate a data set once, then call ``log_prob(...,
        validate=False)`` on its batches, as ``fit`` and ``evaluate_nll`` do."""
        x = self._check_x(x)
        if ensemble is not None:
            self._check_ensemble(ensemble)
        return x, self._check_context(context, x.shape[0])

    def _check_x(self, x: Any) -> torch.Tensor:
        """Validate data and return it as ``(B, D)`` integers on the model's device."""
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"x must be a torch.Tensor or numpy array; got {type(x).__name__}")
        shape, d = self.input_shape, self.num_dims
        if x.dim() < 2 or (tuple(x.shape[1:]) != shape and tuple(x.shape[1:]) != (d,)):
            full = f"(batch, {', '.join(map(str, shape))})"
            either = full if shape == (d,) else f"{full} or (batch, {d})"
            raise ValueError(f"x must have shape {either}; got {tuple(x.shape)}")
        if x.shape[0] == 0:
            raise ValueError("x is an empty batch (0 examples)")
        if x.device != self._device:
            raise ValueError(f"x is on {x.device} but the model is on {self._device}")
        x = x.reshape(x.shape[0], d)
        if self.has_real:
            return self._check_mixed(x)
        if x.is_floating_point():
            _check_finite(x)
            frac = x != x.round()
            if frac.any():
                i, j = (int(v) for v in frac.nonzero()[0])
                raise ValueError(
                    f"x must hold integer category values; got {x[i, j].item()} "
                    f"at example {i}, dimension {j}"
                )
            x = x.long()
        elif x.is_complex():
            raise ValueError(f"x must hold integer category values; got dtype {x.dtype}")
        elif x.dtype == torch.bool:
            x = x.to(torch.uint8)
        # Integer data keeps its dtype (uint8 data sets stay small); indexing converts per batch.
        bad = (x < 0) | (x >= self.cardinality)
        if bad.any():
            i, j = (int(v) for v in bad.nonzero()[0])
            raise ValueError(
                f"x[{i}] holds {int(x[i, j])} at dimension {j}, outside its categories "
                f"0..{self.cardinalities[j] - 1}"
            )
        return x

    def _check_mixed(self, x: torch.Tensor) -> torch.Tensor:
        """``_check_x`` for models with real dimensions: ``(B, D)`` in the model's dtype, real
        values finite, the rest integer categories in range."""
        if x.is_complex():
            raise ValueError(f"x must hold real values; got dtype {x.dtype}")
        x = x.to(self._dtype)
        _check_finite(x)
        if self._discrete_dims:
            disc = x[:, self._disc_index]
            bad = (disc != disc.round()) | (disc < 0) | (disc >= self.cardinality[self._disc_index])
            if bad.any():
                i, j = (int(v) for v in bad.nonzero()[0])
                dim = self._discrete_dims[j]
                raise ValueError(
                    f"x[{i}] holds {x[i, dim].item():g} at dimension {dim}, which is categorical "
                    f"with categories 0..{self.cardinalities[dim] - 1}"
                )
        return x

    def _check_context(self, context: Any, batch: int) -> torch.Tensor | None:
        """Validate the conditioning vector: ``(batch, C)``, or ``(C,)`` shared by all."""
        size = self.config.context_size
        if size == 0:
            if context is not None:
                raise ValueError("this model has context_size=0 but a context was given")
            return None
        if context is None:
            raise ValueError(f"this model needs a context of shape (batch, {size})")
        if isinstance(context, np.ndarray):
            context = torch.from_numpy(context)
        if not isinstance(context, torch.Tensor):
            raise ValueError(f"context must be a tensor; got {type(context).__name__}")
        if context.dim() == 1:
            context = context.expand(batch, -1)
        if context.dim() != 2 or context.shape[1] != size or context.shape[0] != batch:
            raise ValueError(
                f"context must have shape ({batch}, {size}) or ({size},); got "
                f"{tuple(context.shape)}"
            )
        if context.device != self._device:
            raise ValueError(f"context is on {context.device} but the model is on {self._device}")
        context = context.to(self._dtype)
        if not torch.isfinite(context).all():
            raise ValueError("context holds NaN or infinite values")
        return context

    # --------------------------------------------------------------------------- network
    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` values -> ``(B, num_units)`` network input (0/1, one-hot or the value)."""
        if self._values_in:  # binary and real dimensions enter as they are
            return x.to(self._dtype)
        if self._in_index is None:  # one cardinality K > 2 everywhere
            return F.one_hot(x.long(), self._kin).to(self._dtype).reshape(x.shape[0], -1)
        codes = x[:, self._disc_index].long()
        flat = F.one_hot(codes, self._kin).to(self._dtype).reshape(x.shape[0], -1)
        if self.has_real:
            flat = torch.cat([flat, x[:, self._real_index].to(self._dtype)], dim=1)
        return flat[:, self._in_index]

    def _network(
        self,
        h_in: torch.Tensor,
        context: torch.Tensor | None,
        masks: Sequence[torch.Tensor],
        plan: _Plan | None = None,
    ) -> torch.Tensor:
        """The masked MLP on encoded input: ``(B, num_units) -> (B, num_units)`` raw outputs.

        Without ``plan``: the reference computation, dense matrices times masks. With the plan
        of the same mask: the staircase fast path, equal up to rounding at about half the work.
        """
        extra = (
            F.linear(context, self.context_weight).split(self._context_split, dim=1)
            if context is not None
            else None
        )
        if plan is not None:
            return self._network_fast(h_in, extra, masks, plan)
        h = h_in
        for i, layer in enumerate(self.hidden):
            h = layer(h, masks[i])
            if extra is not None:
                h = h + extra[i]
            h = self._act(h)
        out = self.output(h, masks[len(self.hidden)])
        if extra is not None:
            out = out + extra[-1]
        if self.direct is not None:
            out = out + self.direct(h_in, masks[-1])
        return out

    def _network_fast(
        self,
        h_in: torch.Tensor,
        extra: Sequence[torch.Tensor] | None,
        masks: Sequence[torch.Tensor],
        plan: _Plan,
    ) -> torch.Tensor:
        order, inverse = plan.order, plan.inverse
        out_order, out_inverse = plan.out_order, plan.out_inverse
        h0 = h_in if order is None else h_in.index_select(1, order)  # input units by degree
        h = h0
        n_hidden = len(self.hidden)
        for i, layer in enumerate(self.hidden):
            w = masked(layer.weight, masks[i])
            if i == 0 and order is not None:
                w = permute(w, 1, order, inverse)
            h = block_linear(h, w, layer.bias, plan.blocks[i])
            if extra is not None:
                h = h + extra[i]
            h = self._act(h)
        w, b = masked(self.output.weight, masks[n_hidden]), self.output.bias
        if out_order is not None:
            w, b = permute(w, 0, out_order, out_inverse), permute(b, 0, out_order, out_inverse)
        if n_hidden == 0 and order is not None:
            w = permute(w, 1, order, inverse)
        out = block_linear(h, w, b, plan.blocks[n_hidden])
        if extra is not None:
            top = extra[-1]
            out = out + (top if out_order is None else permute(top, 1, out_order, out_inverse))
        if self.direct is not None:
            w = masked(self.direct.weight, masks[-1])
            if out_order is not None:
                w = permute(w, 0, out_order, out_inverse)
            if order is not None:
                w = permute(w, 1, order, inverse)
            out = out + block_linear(h0, w, None, plan.blocks[-1])
        return out if out_inverse is None else permute(out, 1, out_inverse, out_order)

    def _shape_logits(self, out: torch.Tensor) -> torch.Tensor:
        """Raw outputs -> ``(B, *input_shape)`` (binary) or ``(B, *input_shape, out_width)``."""
        b = out.shape[0]
        if self.bernoulli:
            return out.reshape(b, *self.input_shape)
        if self._out_index is not None:
            pad = torch.stack(
                [out.new_zeros(b), out.new_full((b,), float("-inf"))], dim=1
            )  # the implicit 0 logit of binary dims, and impossible categories
            out = torch.cat([out, pad], dim=1)[:, self._out_index]
        return out.reshape(b, *self.input_shape, self.out_width)

    def _log_prob_from_out(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Per-example log-likelihood (nats) of ``x`` (B, D) given raw outputs."""
        return self._log_prob_per_dim(out, x).sum(dim=1)

    # ------------------------------------------------------------------------ public API
    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """Conditional logits (and parameters of real dimensions) under the current mask.

        Returns ``(B, *input_shape)`` log-odds of a 1 for binary models, otherwise
        ``(B, *input_shape, out_width)`` logits with ``-inf`` at categories a dimension lacks
        (a binary dimension of a mixed model reads ``[0, log-odds]``); a real dimension
        reads its parameters (see ``real_params``) then ``-inf`` padding. Entry t depends only
        on the dimensions before t in the ordering (and on ``context``).
        """
        x = self._check_x(x)
        ctx = self._check_context(context, x.shape[0])
        out = self._network(self._encode(x), ctx, self._current_masks(), self._current_plan())
        return self._shape_logits(out)

    def log_prob(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        ensemble: int | None = None,
        *,
        validate: bool = True,
    ) -> torch.Tensor:
        """Exact log-likelihood of each example, in nats: shape ``(B,)``.

        With ``ensemble=K``, the log of the mean *probability* over masks ``0..K-1`` (a proper
        mixture, ``logsumexp_k log p_k(x) - log K``), never averaged logits. Does not change
        the current mask. ``validate=False`` skips input checks for data already checked.
        """
        if validate:
            x = self._check_x(x)
            context = self._check_context(context, x.shape[0])
        else:
            x = x.reshape(x.shape[0], self.num_dims)
        h_in = self._encode(x)
        if ensemble is None:
            out = self._network(h_in, context, self._current_masks(), self._current_plan())
            return self._log_prob_from_out(out, x)
        self._check_ensemble(ensemble)
        members = torch.stack(
            [self._member_log_prob(x, context, *self.mask_and_plan(k), h_in)
             for k in range(ensemble)]
        )  # fmt: skip
        return torch.logsumexp(members, dim=0) - math.log(ensemble)

    def mask_and_plan(self, k: int) -> tuple[list[torch.Tensor], _Plan]:
        """Mask ``k``'s boolean masks and fast-path plan: built once by a caller that scores
        many batches under the same mask (``evaluate_nll``), rather than once a batch."""
        k = self._check_mask_index(k)
        return self.masks(k), self._plan(k)

    def _member_log_prob(
        self, x: torch.Tensor, context: torch.Tensor | None, masks: list[torch.Tensor],
        plan: _Plan, h_in: torch.Tensor | None = None,
    ) -> torch.Tensor:  # fmt: skip
        """``log p_k(x)`` under one mask given as its masks and plan (inputs valid)."""
        h_in = self._encode(x) if h_in is None else h_in
        return self._log_prob_from_out(self._network(h_in, context, masks, plan), x)

    def conditional_log_probs(
        self, x: torch.Tensor, context: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``log p(x_d | x_<d)`` of every dimension under the current mask (a log-density for
        a real dimension), shape ``(B, *input_shape)``; they sum to ``log_prob(x)``.

        Which terms are large says which dimensions make an example unlikely given the ones
        before them in the ordering: a first explanation of an anomaly score."""
        x = self._check_x(x)
        context = self._check_context(context, x.shape[0])
        out = self._network(self._encode(x), context, self._current_masks(),
                            self._current_plan())  # fmt: skip
        return self._log_prob_per_dim(out, x).reshape(x.shape[0], *self.input_shape)

    def loss(
        self, x: torch.Tensor, context: torch.Tensor | None = None, *, validate: bool = True
    ) -> torch.Tensor:
        """Mean negative log-likelihood per example, in nats (a scalar to minimise)."""
        return -self.log_prob(x, context, validate=validate).mean()

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
        observed_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Draw ``n`` exact samples: ``(n, *input_shape)``, a LongTensor of categories, or
        for models with real dimensions a tensor of the model's dtype.

        One position at a time, in order, by inverse CDF from uniforms drawn on
        ``generator``'s device (a fresh, randomly seeded CPU generator if none): the same
        generator state gives the same samples on any device.

        Args:
            method: ``"incremental"`` (each hidden unit computed once: about one forward pass
                in all) or ``"naive"`` (the whole network once per dimension; the reference).
            ensemble: sample the mixture of masks ``0..K-1``: each sample draws its mask.
                Default: the current mask.
            observed, observed_mask: values ``(n, *input_shape)`` (or one example, shared) to
                condition on where the boolean mask is True (inpainting). An order-agnostic
                model puts the observed dimensions first in its ordering, so the rest is drawn
                from the exact conditional of that autoregressive model. A model with one
                ordering draws in its own ordering with the observed values fixed: exact only
                when they form a prefix of the ordering; otherwise a warning is given.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int; got {n!r}")
        if method not in ("incremental", "naive"):
            raise ValueError(f"method must be 'incremental' or 'naive'; got {method!r}")
        context = self._check_context(context, n)
        clamp = self._check_observed(observed, observed_mask, n)
        if generator is None:
            generator = torch.Generator()
            generator.seed()
        from . import sampling  # sampling builds on the model, not the reverse

        if ensemble is None:
            members = torch.full((n,), self._mask_index, dtype=torch.long)
        else:
            self._check_ensemble(ensemble)
            members = torch.randint(
                0, ensemble, (n,), generator=generator, device=generator.device
            ).cpu()
        u = sampling.draw_uniforms(self, n, generator)
        sampler = sampling.sample_incremental if method == "incremental" else sampling.sample_naive
        x = torch.zeros(n, self.num_dims, dtype=self._sample_dtype, device=u.device)
        for k, rows, ordering in self._conditioning_groups(members, clamp):
            sub = None if clamp is None else sampling.Clamp(clamp.values[rows], clamp.mask[rows])
            ctx = None if context is None else context[rows]
            x[rows] = sampler(self, u[rows], ctx, ordering, self.hidden_degrees(k), sub)
        return x.reshape(n, *self.input_shape)

    @property
    def _sample_dtype(self) -> torch.dtype:
        return self._dtype if self.has_real else torch.long

    def _check_ensemble(self, ensemble: object) -> int:
        if isinstance(ensemble, bool) or not isinstance(ensemble, int):
            raise ValueError(f"ensemble must be an int or None; got {ensemble!r}")
        if not 1 <= ensemble <= self.num_masks:
            raise ValueError(
                f"ensemble must be between 1 and num_masks={self.num_masks}; got {ensemble}"
            )
        return ensemble

    def _check_mask_tensor(self, mask: object, n: int) -> torch.Tensor:
        """A boolean observed-mask as ``(n, D)``: given per example or once for all."""
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            raise ValueError("observed_mask must be a boolean tensor")
        if mask.device != self._device:
            raise ValueError(
                f"observed_mask is on {mask.device} but the model is on {self._device}"
            )
        d = self.num_dims
        if mask.numel() == d:
            return mask.reshape(1, d).expand(n, d)
        if mask.numel() == n * d and mask.shape[0] == n:
            return mask.reshape(n, d)
        raise ValueError(
            f"observed_mask must have shape {self.input_shape} or ({n}, "
            f"{', '.join(map(str, self.input_shape))}); got {tuple(mask.shape)}"
        )

    def _check_observed(self, observed: object, mask: object, n: int) -> Any:
        """Validate inpainting input; returns a ``sampling.Clamp`` of ``(n, D)`` or None."""
        if observed is None and mask is None:
            return None
        if observed is None or mask is None:
            raise ValueError("observed and observed_mask go together")
        from .sampling import Clamp

        if isinstance(observed, torch.Tensor) and observed.numel() == self.num_dims:
            observed = observed.reshape(1, self.num_dims)
        values = self._check_x(observed)
        if values.shape[0] not in (1, n):
            raise ValueError(f"observed must hold {n} examples or one; got {values.shape[0]}")
        values = values.to(self._sample_dtype).expand(n, -1)
        return Clamp(values, self._check_mask_tensor(mask, n))

    def _conditioning_groups(self, members: torch.Tensor, clamp: Any) -> list:
        """``(mask k, row indices, ordering)`` for each group of rows sampled alike.

        Without observed values every row of mask k uses its ordering. With them, rows group
        by (k, observed pattern), each with the ordering ``_observed_first`` gives.
        """
        groups = []
        patterns = None if clamp is None else clamp.mask.cpu()
        for k in members.unique().tolist():
            rows = (members == k).nonzero().squeeze(1)
            ordering = self.orderings[k]
            if patterns is None:
                groups.append((k, rows.to(self._device), ordering))
                continue
            uniq, inverse = torch.unique(patterns[rows], dim=0, return_inverse=True)
            for j, pattern in enumerate(uniq):
                sub = rows[inverse == j].to(self._device)
                groups.append((k, sub, self._observed_first(ordering, pattern, strict=False)))
        return groups

    def _observed_first(
        self, ordering: torch.Tensor, pattern: torch.Tensor, strict: bool
    ) -> torch.Tensor:
        """The ordering to condition on ``pattern`` (boolean ``(D,)``, True = observed).

        An order-agnostic model moves the observed dimensions to the front, keeping their
        relative order. A single-ordering model keeps its ordering, which is exact only when
        they already come first; otherwise ``strict`` raises and non-strict warns.
        """
        seen = pattern.to(ordering.device)[ordering]  # observed flags in generation order
        if self.config.order_agnostic:
            return torch.cat([ordering[seen], ordering[~seen]])
        if not bool(seen[: int(seen.sum())].all()):
            message = (
                "this model has one ordering and the observed dimensions are not its first "
                "ones, so conditioning on them is not exact (train with order_agnostic=True "
                "to condition on any subset)"
            )
            if strict:
                raise ValueError(message)
            warnings.warn(
                message + "; the completions are drawn in its ordering with the observed "
                "values fixed",
                stacklevel=4,
            )
        return ordering

    def log_marginal(
        self,
        x: torch.Tensor,
        observed_mask: torch.Tensor,
        context: torch.Tensor | None = None,
        ensemble: int | None = None,
    ) -> torch.Tensor:
        """Exact ``log p(x_S)`` in nats for the observed subset S (``observed_mask`` True):
        shape ``(B,)``. ``x`` must hold valid values everywhere (unobserved ones are ignored).

        The observed dimensions are put first in the ordering (of the current mask, or of
        each of masks ``0..K-1`` with ``ensemble=K``, mixed as probabilities), so their
        marginal is the product of the first |S| conditionals. That needs an order-agnostic
        model, or S a prefix of a single-ordering model's ordering; otherwise ``ValueError``.
        Under the same ordering, ``log p(x_rest | x_S) = log p(x) - log p(x_S)``.
        """
        x = self._check_x(x)
        b = x.shape[0]
        context = self._check_context(context, b)
        m = self._check_mask_tensor(observed_mask, b).cpu()
        ks = [self._mask_index] if ensemble is None else range(self._check_ensemble(ensemble))
        h_in = self._encode(x)
        uniq, inverse = torch.unique(m, dim=0, return_inverse=True)
        members = []
        for k in ks:
            total = h_in.new_zeros(b)
            for j, pattern in enumerate(uniq):
                rows = (inverse == j).nonzero().squeeze(1).to(x.device)
                ordering = self._observed_first(self.orderings[k], pattern, strict=True)
                masks = build_masks(ordering, self.hidden_degrees(k), self.unit_dim,
                                    self.out_unit_dim, direct=self.direct is not None)  # fmt: skip
                ctx = None if context is None else context[rows]
                per_dim = self._log_prob_per_dim(self._network(h_in[rows], ctx, masks), x[rows])
                total[rows] = (per_dim * pattern.to(per_dim)).sum(dim=1)
            members.append(total)
        return torch.logsumexp(torch.stack(members), dim=0) - math.log(len(members))

    def _log_prob_per_dim(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` conditional log-probabilities (log-densities for real dimensions) of each
        dimension's value, in nats."""
        if self.bernoulli:
            return -F.binary_cross_entropy_with_logits(out, x.to(out.dtype), reduction="none")
        params = self._shape_logits(out).reshape(x.shape[0], self.num_dims, -1)
        if not self.has_real:
            return _categorical_log_prob(params, x)
        real = real_log_density(
            params[:, self._real_index, : self.params_per_real],
            x[:, self._real_index].to(params.dtype),
            self.num_components,
        )
        if len(self._discrete_dims) == 0:
            return real
        disc = _categorical_log_prob(params[:, self._disc_index], x[:, self._disc_index])
        return torch.cat([disc, real], dim=1)[:, self._dim_restore]

    def extra_repr(self) -> str:
        c = self.config
        return (
            f"input_shape={self.input_shape}, categories="
            f"{c.num_categories if isinstance(c.num_categories, int) else 'mixed'}, "
            f"num_masks={c.num_masks}, order_agnostic={c.order_agnostic}, "
            f"context_size={c.context_size}"
        )
