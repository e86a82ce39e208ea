"""MADE: an MLP whose masks make output t depend only on inputs earlier in an ordering.

The pieces live in their own modules: the per-dimension layout of units and the output
families (``outputs.py``), the masked network (``network.py``), input checks
(``validation.py``) and the samplers (``sampling.py``). ``MADE`` holds the settings, the masks
(as orderings and degrees, a function of ``(seed, k)``), and the density's public API.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .config import MADEConfig
from .layers import MaskedLinear
from .masks import (
    INIT_STREAM,
    MASK_STREAM,
    build_masks,
    inverse_permutation,
    make_generator,
    make_hidden_degrees,
    make_ordering,
)
from .network import MaskedNetwork, StaircasePlan, staircase_plan
from .outputs import LOG_SCALE_MIN, Layout, real_log_density, real_params
from .sampling import observed_first
from .sampling import sample as draw_samples
from .validation import check_context, check_ensemble, check_mask, check_x

__all__ = ["MADE", "LOG_SCALE_MIN", "real_log_density", "real_params"]


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
    ) -> None:
        super().__init__()
        config = self.config = MADEConfig(
            input_shape=input_shape,  # type: ignore[arg-type]
            hidden_sizes=hidden_sizes,  # type: ignore[arg-type]
            num_categories=num_categories,  # type: ignore[arg-type]
            num_components=num_components, ordering=ordering,  # type: ignore[arg-type]
            hidden_degrees=hidden_degrees, num_masks=num_masks, order_agnostic=order_agnostic,
            direct_connections=direct_connections, context_size=context_size,
            activation=activation, dropout=dropout, seed=seed,
        )  # fmt: skip
        self.input_shape: tuple[int, ...] = config.input_shape  # type: ignore[assignment]
        self.num_dims = config.num_dims
        self.layout = Layout(config.cardinalities, config.num_components)
        self._register_connectivity()
        self.net = MaskedNetwork(
            self.layout.num_units, config.hidden_sizes, self.layout.num_out_units,
            direct=config.direct_connections, context_size=config.context_size,
            activation=config.activation, dropout=config.dropout,
            generator=make_generator(config.seed, INIT_STREAM),
        )  # fmt: skip
        self._mask_index = 0
        self._plans: dict[int, StaircasePlan] = {}
        self.set_mask(0)
        self._zero_unused_weights()
        self.register_load_state_dict_pre_hook(_rename_legacy_keys)

    def _register_connectivity(self) -> None:
        """Every mask's ordering and hidden degrees, as buffers (small, unlike the boolean
        matrices they define). Mask k draws from its own generator, a function of (seed, k)."""
        config, orderings, degrees = self.config, [], []
        for k in range(config.num_masks):
            g = make_generator(config.seed, MASK_STREAM, k)
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

    @property
    def num_components(self) -> int:
        return self.config.num_components

    @property
    def real_dims(self) -> tuple[int, ...]:
        return self.layout.real_dims

    @property
    def has_real(self) -> bool:
        return self.layout.has_real

    @property
    def max_categories(self) -> int:
        return max(self.cardinalities)

    @property
    def hidden(self) -> nn.ModuleList:
        """The network's hidden layers."""
        return self.net.hidden

    @property
    def output(self) -> MaskedLinear:
        """The network's output layer."""
        return self.net.output

    @property
    def direct(self) -> MaskedLinear | None:
        """The network's direct connections (None without them)."""
        return self.net.direct

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

    def hidden_degrees(self, k: int | None = None) -> list[torch.Tensor]:
        """Degrees of each hidden layer's units under mask ``k`` (default: current)."""
        k = self._mask_index if k is None else self._check_mask_index(k)
        return [getattr(self, f"hidden_degrees_{i}")[k] for i in range(len(self.net.hidden))]

    def masks(
        self, k: int | None = None, ordering: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """Boolean masks of mask ``k`` (default: current), hidden layers, output, direct; with
        ``ordering``, mask ``k``'s degrees under that ordering instead of its own."""
        k = self._mask_index if k is None else self._check_mask_index(k)
        ordering = self.orderings[k] if ordering is None else ordering
        layout = self.layout
        return build_masks(ordering, self.hidden_degrees(k), layout.unit_dim, layout.out_unit_dim,
                           direct=self.net.direct is not None)  # fmt: skip

    def plan(self, k: int | None = None) -> StaircasePlan:
        """Mask ``k``'s staircase plan, cached per mask so that cycling masks costs nothing."""
        k = self._mask_index if k is None else self._check_mask_index(k)
        plan = self._plans.get(k)
        if plan is None or plan.device != self.orderings.device:
            pos = inverse_permutation(self.orderings[k])
            plan = self._plans[k] = staircase_plan(
                pos[self.layout.unit_dim], pos[self.layout.out_unit_dim], self.hidden_degrees(k),
                self.net.direct is not None,
            )  # fmt: skip
        return plan

    def mask_and_plan(self, k: int) -> tuple[list[torch.Tensor], StaircasePlan]:
        """Mask ``k``'s boolean masks and staircase plan: built once by a caller that scores
        many batches under the same mask (``evaluate_nll``), rather than once a batch."""
        return self.masks(k), self.plan(k)

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

    @torch.no_grad()
    def _zero_unused_weights(self) -> None:
        """Set to exactly 0 every weight that no mask uses.

        Such weights never affect the output, but with weight decay they would shrink
        geometrically into denormal floats, which slow every matrix product on the CPU several
        times over. At exactly 0 they stay 0 under Adam, AdamW and L2 decay alike.
        """
        layers = self.net.layers()
        union = [torch.zeros_like(layer.mask) for layer in layers]
        for k in range(self.num_masks):
            for used, mask in zip(union, self.masks(k), strict=True):
                used |= mask
        for layer, used in zip(layers, union, strict=True):
            layer.weight.mul_(used)

    def get_extra_state(self) -> dict[str, int]:
        return {"mask_index": self._mask_index}

    def set_extra_state(self, state: dict[str, int]) -> None:
        self._plans = {}  # the loaded degrees may differ from those the plans came from
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

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` values -> ``(B, num_units)`` network input."""
        return self.layout.encode(x, self.dtype)

    def _member_log_prob(
        self, x: torch.Tensor, context: torch.Tensor | None, masks: list[torch.Tensor],
        plan: StaircasePlan | None, h_in: torch.Tensor | None = None,
    ) -> torch.Tensor:  # fmt: skip
        """``log p(x)`` ``(B,)`` under one mask given as its masks and plan (inputs valid)."""
        h_in = self._encode(x) if h_in is None else h_in
        return self.layout.log_prob_per_dim(self.net(h_in, context, masks, plan), x).sum(dim=1)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """Conditional logits (and parameters of real dimensions) under the current mask.

        Returns ``(B, *input_shape)`` log-odds of a 1 for binary models, otherwise
        ``(B, *input_shape, out_width)`` logits with ``-inf`` at categories a dimension lacks
        (a binary dimension of a mixed model reads ``[0, log-odds]``); a real dimension
        reads its parameters (see ``real_params``) then ``-inf`` padding. Entry t depends only
        on the dimensions before t in the ordering (and on ``context``).
        """
        x, ctx = self.validate(x, context)
        out = self.layout.per_dimension(self.net(self._encode(x), ctx, None, self.plan()))
        return out.reshape(x.shape[0], *self.input_shape, *out.shape[2:])

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
            x, context = self.validate(x, context, ensemble)
        else:
            x = x.reshape(x.shape[0], self.num_dims)
        h_in = self._encode(x)
        if ensemble is None:
            return self._member_log_prob(x, context, self.net.stored_masks(), self.plan(), h_in)
        members = [self._member_log_prob(x, context, *self.mask_and_plan(k), h_in)
                   for k in range(check_ensemble(ensemble, self.num_masks))]  # fmt: skip
        return torch.logsumexp(torch.stack(members), dim=0) - math.log(ensemble)

    def conditional_log_probs(
        self, x: torch.Tensor, context: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``log p(x_d | x_<d)`` of every dimension under the current mask (a log-density for
        a real dimension), shape ``(B, *input_shape)``; they sum to ``log_prob(x)``.

        Which terms are large says which dimensions make an example unlikely given the ones
        before them in the ordering: a first explanation of an anomaly score."""
        x, context = self.validate(x, context)
        out = self.net(self._encode(x), context, None, self.plan())
        return self.layout.log_prob_per_dim(out, x).reshape(x.shape[0], *self.input_shape)

    def loss(
        self, x: torch.Tensor, context: torch.Tensor | None = None, *, validate: bool = True
    ) -> torch.Tensor:
        """Mean negative log-likelihood per example, in nats (a scalar to minimise)."""
        return -self.log_prob(x, context, validate=validate).mean()

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
        x, context = self.validate(x, context, ensemble)
        b = x.shape[0]
        m = check_mask(observed_mask, b, self.input_shape, self.device).cpu()
        ks = [self._mask_index] if ensemble is None else range(ensemble)
        h_in = self._encode(x)
        uniq, inverse = torch.unique(m, dim=0, return_inverse=True)
        members = []
        for k in ks:
            total = h_in.new_zeros(b)
            for j, pattern in enumerate(uniq):
                rows = (inverse == j).nonzero().squeeze(1).to(x.device)
                ordering = observed_first(self, self.orderings[k], pattern, strict=True)
                ctx = None if context is None else context[rows]
                out = self.net(h_in[rows], ctx, self.masks(k, ordering))
                per_dim = self.layout.log_prob_per_dim(out, x[rows])
                total[rows] = (per_dim * pattern.to(per_dim)).sum(dim=1)
            members.append(total)
        return torch.logsumexp(torch.stack(members), dim=0) - math.log(len(members))

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
        return draw_samples(self, n, context, generator, method=method, ensemble=ensemble,
                               observed=observed, observed_mask=observed_mask)  # fmt: skip

    def extra_repr(self) -> str:
        c = self.config
        return (
            f"input_shape={self.input_shape}, categories="
            f"{c.num_categories if isinstance(c.num_categories, int) else 'mixed'}, "
            f"num_masks={c.num_masks}, order_agnostic={c.order_agnostic}, "
            f"context_size={c.context_size}"
        )


_LEGACY = ("hidden.", "output.", "direct.", "context_weight")


def _rename_legacy_keys(module: nn.Module, state: dict[str, Any], prefix: str, *args: Any) -> None:
    """Checkpoints written before the network had a module of its own name its weights
    ``hidden.0.weight``, ...: read them as ``net.hidden.0.weight``, ..."""
    for key in [k for k in state if k.startswith(prefix)]:
        rest = key[len(prefix) :]
        if rest.startswith(_LEGACY):
            state[f"{prefix}net.{rest}"] = state.pop(key)
