"""Orderings, degrees and masks: the connectivity of a MADE, as pure functions.

Conventions (0-based throughout):

* An *ordering* is a permutation ``o`` of ``range(D)``: ``o[t]`` is the dimension generated
  t-th. The *position* of dimension ``d`` is ``pos[d]`` with ``o[pos[d]] == d``; it is the
  degree of every input and output unit that belongs to ``d``.
* A hidden unit of degree ``m`` may see inputs at positions ``<= m``. Hidden degrees lie in
  ``[min(previous layer), D - 2]``: a unit of degree ``D - 1`` could feed no output.
* Masks are boolean ``(out_features, in_features)`` matrices, like ``nn.Linear.weight``:
  hidden layers connect ``m_out >= m_in``; outputs (and direct connections) ``m_out > m_in``.

Everything random takes an explicit ``torch.Generator`` on the CPU, so that mask ``k`` of a
model is a function of ``(seed, k)`` only and identical on every machine.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch

__all__ = [
    "INIT_STREAM",
    "MASK_STREAM",
    "derive_seed",
    "make_generator",
    "make_ordering",
    "inverse_permutation",
    "make_hidden_degrees",
    "hidden_mask",
    "output_mask",
    "build_masks",
    "make_connectivity",
    "observed_first",
]

_MASK64 = (1 << 64) - 1
# Sub-streams of a model's seed (``make_generator(seed, stream, ...)``): the weights draw from
# one, each mask's ordering and degrees from another (keyed further by the mask's index).
INIT_STREAM = 0
MASK_STREAM = 1


def derive_seed(seed: int, *keys: int) -> int:
    """Mix ``seed`` with integer ``keys`` (SplitMix64) into an independent 63-bit seed.

    Used so that, for example, the generator of mask ``k`` depends on ``(seed, k)`` alone and
    not on how many masks were drawn before it.
    """
    z = seed & _MASK64
    for key in (*keys, 0x5EED):
        z = (z + 0x9E3779B97F4A7C15 + (key & _MASK64)) & _MASK64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        z ^= z >> 31
    return z & ((1 << 63) - 1)


def make_generator(seed: int, *keys: int) -> torch.Generator:
    """A CPU generator seeded from ``derive_seed(seed, *keys)``."""
    return torch.Generator(device="cpu").manual_seed(derive_seed(seed, *keys))


def make_ordering(
    spec: str | Sequence[int], num_dims: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """The ordering named by ``spec`` as a LongTensor of shape ``(D,)``.

    ``spec`` is ``"natural"`` (0, 1, ..., D-1), ``"reversed"``, ``"random"`` (drawn from
    ``generator``, which is then required) or an explicit permutation of ``range(D)``.
    """
    if isinstance(spec, str):
        if spec == "natural":
            return torch.arange(num_dims)
        if spec == "reversed":
            return torch.arange(num_dims - 1, -1, -1)
        if spec == "random":
            if generator is None:
                raise ValueError('ordering="random" needs a torch.Generator')
            return torch.randperm(num_dims, generator=generator)
        raise ValueError(
            f"ordering must be 'natural', 'reversed', 'random' or a permutation; got {spec!r}"
        )
    ordering = torch.as_tensor(list(spec), dtype=torch.long)
    if ordering.shape != (num_dims,) or not torch.equal(
        ordering.sort().values, torch.arange(num_dims)
    ):
        raise ValueError(
            f"an explicit ordering must be a permutation of 0..{num_dims - 1} "
            f"(length {num_dims}); got {list(spec)!r}"
        )
    return ordering


def inverse_permutation(ordering: torch.Tensor) -> torch.Tensor:
    """``pos`` with ``ordering[pos[d]] == d``: the position of each dimension."""
    return torch.argsort(ordering)


def make_hidden_degrees(
    hidden_sizes: Sequence[int],
    num_dims: int,
    method: str = "random",
    generator: torch.Generator | None = None,
) -> list[torch.Tensor]:
    """Degrees of the hidden units of each layer, each sorted ascending.

    ``"random"`` draws each degree uniformly from ``[lo, D - 2]`` where ``lo`` is the minimum
    degree of the previous layer (the paper's rule). ``"equal"`` spreads them evenly over the
    same range, deterministically (TensorFlow Probability's ``"equal"``). Sorting changes
    nothing about the model (hidden units are exchangeable) but makes each mask a staircase,
    which the fast path's row blocks skip the zeros of (degrees loaded unsorted cost it whole
    products; the incremental sampler sorts the units itself).
    """
    if method not in ("random", "equal"):
        raise ValueError(f"hidden_degrees must be 'random' or 'equal'; got {method!r}")
    degrees: list[torch.Tensor] = []
    lo = 0  # the input layer's minimum degree
    for size in hidden_sizes:
        hi = max(num_dims - 2, lo)  # D == 1: no useful degree exists; keep units harmless
        if method == "random":
            if generator is None:
                raise ValueError('hidden_degrees="random" needs a torch.Generator')
            deg = torch.randint(lo, hi + 1, (size,), generator=generator)
        else:
            spread = torch.linspace(0, num_dims - 2, size + 2, dtype=torch.float64)[1:-1]
            deg = spread.floor().long().clamp(min=lo, max=hi)
        deg = deg.sort().values
        degrees.append(deg)
        lo = int(deg.min())
    return degrees


def hidden_mask(deg_in: torch.Tensor, deg_out: torch.Tensor) -> torch.Tensor:
    """Mask into a hidden layer: unit ``j`` sees unit ``i`` iff ``deg_out[j] >= deg_in[i]``."""
    return deg_out[:, None] >= deg_in[None, :]


def output_mask(deg_in: torch.Tensor, deg_out: torch.Tensor) -> torch.Tensor:
    """Mask into the outputs: output ``j`` sees unit ``i`` iff ``deg_out[j] > deg_in[i]``."""
    return deg_out[:, None] > deg_in[None, :]


def build_masks(
    ordering: torch.Tensor,
    hidden_degrees: Sequence[torch.Tensor],
    in_unit_dim: torch.Tensor,
    out_unit_dim: torch.Tensor,
    direct: bool = False,
) -> list[torch.Tensor]:
    """All masks of one MADE, in layer order: hidden layers, output, then direct (if asked).

    ``in_unit_dim[i]`` / ``out_unit_dim[j]`` name the data dimension each input / output unit
    belongs to (a categorical dimension has several units, all of one degree). Works on any
    device: the masks are made where the degrees live.
    """
    pos = inverse_permutation(ordering)
    deg_in = pos[in_unit_dim]
    deg_out = pos[out_unit_dim]
    masks = []
    prev = deg_in
    for deg in hidden_degrees:
        masks.append(hidden_mask(prev, deg))
        prev = deg
    masks.append(output_mask(prev, deg_out))
    if direct:
        masks.append(output_mask(deg_in, deg_out))
    return masks


def observed_first(
    ordering: torch.Tensor, pattern: torch.Tensor, orderings_vary: bool, strict: bool
) -> torch.Tensor:
    """The ordering under which the observed dimensions (``pattern``, boolean ``(D,)``, True =
    observed) come first, so that their marginal and the rest's conditional are exact.

    A model whose masks have orderings of their own (``orderings_vary``: trained
    order-agnostically) moves the observed dimensions to the front of ``ordering``, keeping
    their relative order. A model with one ordering keeps it, which is exact only when they
    already come first; otherwise ``strict`` raises ``ValueError`` and non-strict warns.
    """
    seen = pattern.to(ordering.device)[ordering]  # observed flags in generation order
    if orderings_vary:
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
            message + "; the completions are drawn in its ordering with the observed values fixed",
            stacklevel=5,
        )
    return ordering


def make_connectivity(
    seed: int,
    num_masks: int,
    num_dims: int,
    hidden_sizes: Sequence[int],
    ordering: str | Sequence[int] = "natural",
    hidden_degrees: str = "random",
    order_agnostic: bool = False,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Every mask's ordering ``(num_masks, D)`` and each hidden layer's degrees
    ``(num_masks, units)``: small, unlike the boolean matrices they define. Mask k draws from
    its own generator, a function of ``(seed, k)``; mask 0 keeps ``ordering``, and without
    ``order_agnostic`` every mask shares it (random or not)."""
    orderings, degrees = [], []
    for k in range(num_masks):
        g = make_generator(seed, MASK_STREAM, k)
        spec = ordering if (k == 0 or not order_agnostic) else "random"
        drawn = make_ordering(spec, num_dims, g)  # drawn always: the same streams
        orderings.append(drawn if order_agnostic or k == 0 else orderings[0])
        degrees.append(make_hidden_degrees(hidden_sizes, num_dims, hidden_degrees, g))
    per_layer = [torch.stack([d[layer] for d in degrees]) for layer in range(len(hidden_sizes))]
    return torch.stack(orderings), per_layer
