"""Settings as dataclasses, validated on creation and saved (as JSON) with every checkpoint.

``MADEConfig`` holds exactly the arguments of ``MADE(...)``; a checkpoint carries it so that a
model can be rebuilt from the file alone. ``TrainConfig`` holds the optimisation settings.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ACTIVATIONS",
    "BINARIZE",
    "HEADERS",
    "HIDDEN_DEGREES",
    "OPTIMIZERS",
    "ORDERINGS",
    "SCHEDULES",
    "DataConfig",
    "MADEConfig",
    "TrainConfig",
]

# Every choice a setting offers, listed once: the dataclasses validate against these, and the
# command line builds its ``choices=`` from them.
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "gelu", "silu", "leaky_relu", "softplus")
ORDERINGS = ("natural", "reversed", "random")
HIDDEN_DEGREES = ("random", "equal")
OPTIMIZERS = ("adam", "adamw", "adagrad")
SCHEDULES = ("constant", "cosine", "plateau")
PRECISIONS = ("auto", "float32", "bfloat16")
BINARIZE = ("auto", "threshold", "stochastic", "none")
HEADERS = ("auto", "yes", "no")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _positive_number(value: Any) -> bool:
    """A finite real number above zero (not a bool)."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool) and value > 0
            and math.isfinite(value))  # fmt: skip


def _positive_ints(name: str, value: Any, allow_empty: bool) -> tuple[int, ...]:
    if _is_int(value):
        value = (value,)
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"{name} must be an int or a sequence of ints; got {value!r}")
    items = tuple(value)
    if not items and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    for item in items:
        if not _is_int(item) or item < 1:
            raise ValueError(f"{name} must hold positive ints; got {list(items)!r}")
    return tuple(int(i) for i in items)


@dataclass(frozen=True)
class MADEConfig:
    """Every setting of a ``MADE``; see ``made.MADE`` for their meaning.

    Creation normalises (ints to tuples) and validates, raising ``ValueError`` with what was
    expected and what was given, so a bad JSON file fails as clearly as a bad call.
    """

    input_shape: int | tuple[int, ...]
    hidden_sizes: tuple[int, ...]
    num_categories: int | tuple[int, ...] = 2
    num_components: int = 1
    ordering: str | tuple[int, ...] = "natural"
    hidden_degrees: str = "random"
    num_masks: int = 1
    order_agnostic: bool = False
    direct_connections: bool = False
    context_size: int = 0
    activation: str = "relu"
    dropout: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise in place once, here
        set_(self, "input_shape", _positive_ints("input_shape", self.input_shape, False))
        set_(self, "hidden_sizes", _positive_ints("hidden_sizes", self.hidden_sizes, True))
        d = self.num_dims
        k = self.num_categories
        if _is_int(k):
            if k < 2 and k != 0:
                raise ValueError(f"num_categories must be >= 2 (or 0: real-valued); got {k}")
            set_(self, "num_categories", int(k))
        else:
            if isinstance(k, str) or not isinstance(k, Sequence):
                raise ValueError(f"num_categories must be an int or a sequence of ints; got {k!r}")
            cards = tuple(k)
            if not all(_is_int(c) for c in cards):
                raise ValueError(f"num_categories must hold ints; got {list(cards)!r}")
            if len(cards) != d:
                raise ValueError(
                    f"num_categories as a sequence needs one cardinality per dimension "
                    f"({d}); got {len(cards)}"
                )
            if any(c < 2 and c != 0 for c in cards):
                raise ValueError(
                    f"every cardinality must be >= 2 (or 0: real-valued); got {list(cards)!r}"
                )
            set_(self, "num_categories", tuple(int(c) for c in cards))
        if not _is_int(self.num_components) or self.num_components < 1:
            raise ValueError(f"num_components must be an int >= 1; got {self.num_components!r}")
        if not isinstance(self.ordering, str):
            if isinstance(self.ordering, Sequence) and all(_is_int(i) for i in self.ordering):
                set_(self, "ordering", tuple(int(i) for i in self.ordering))
            else:
                raise ValueError(f"ordering must be a name or a permutation; got {self.ordering!r}")
            if sorted(self.ordering) != list(range(d)):
                raise ValueError(
                    f"an explicit ordering must be a permutation of 0..{d - 1}; "
                    f"got {list(self.ordering)!r}"
                )
        elif self.ordering not in ORDERINGS:
            raise ValueError(
                f"ordering must be 'natural', 'reversed', 'random' or a permutation; "
                f"got {self.ordering!r}"
            )
        if self.hidden_degrees not in HIDDEN_DEGREES:
            raise ValueError(
                f"hidden_degrees must be 'random' or 'equal'; got {self.hidden_degrees!r}"
            )
        if not _is_int(self.num_masks) or self.num_masks < 1:
            raise ValueError(f"num_masks must be an int >= 1; got {self.num_masks!r}")
        for name in ("order_agnostic", "direct_connections"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False; got {getattr(self, name)!r}")
        if not _is_int(self.context_size) or self.context_size < 0:
            raise ValueError(f"context_size must be an int >= 0; got {self.context_size!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}; got {self.activation!r}")
        if not (isinstance(self.dropout, numbers.Real) and not isinstance(self.dropout, bool)
                and 0.0 <= self.dropout < 1.0):  # fmt: skip
            raise ValueError(f"dropout must be a number in [0, 1); got {self.dropout!r}")
        if not _is_int(self.seed) or self.seed < 0:
            raise ValueError(f"seed must be an int >= 0; got {self.seed!r}")
        if (
            self.num_masks > 1
            and self.hidden_degrees == "equal"
            and not self.order_agnostic
            and self.hidden_sizes
        ) or (self.num_masks > 1 and not self.hidden_sizes and not self.order_agnostic):
            raise ValueError(
                "num_masks > 1 would give identical masks here (deterministic degrees and one "
                "ordering); use hidden_degrees='random' or order_agnostic=True"
            )

    @property
    def num_dims(self) -> int:
        """D, the number of data dimensions (the product of ``input_shape``)."""
        return math.prod(self.input_shape)

    @property
    def cardinalities(self) -> tuple[int, ...]:
        """The number of categories of each of the D dimensions (0: real-valued)."""
        k = self.num_categories
        return (k,) * self.num_dims if isinstance(k, int) else k

    @property
    def real_dims(self) -> tuple[int, ...]:
        """The real-valued dimensions (cardinality 0)."""
        return tuple(d for d, k in enumerate(self.cardinalities) if k == 0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        return {
            key: list(val) if isinstance(val, tuple) else val
            for key, val in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MADEConfig:
        """Inverse of ``to_dict``; unknown keys are an error, not silently dropped."""
        return _from_dict(cls, data)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings for ``made.train.fit``.

    ``optimizer``: ``"adam"`` (weight decay as L2), ``"adamw"`` (decoupled) or ``"adagrad"``
    (the MADE paper's choice for binarized MNIST).
    ``schedule``: ``"constant"``, ``"cosine"`` (to 0 over ``epochs``) or ``"plateau"`` (halve
    the rate after ``plateau_patience`` epochs without a better validation NLL).
    ``patience``: stop after this many epochs without a better validation NLL (None: never).
    ``mask_every``: with a multi-mask model, move to the next mask every this many steps.
    ``eval_ensemble``: masks averaged (as a mixture) when measuring validation NLL.
    ``log_every``: write a step line to ``metrics.jsonl`` every this many steps.
    ``output_lr_scale``: the output layer (and direct connections) learn at this multiple of
    ``lr``. Under Adam every weight moves about ``lr`` a step whatever its gradient's size, so
    the logits, one layer from the loss, move no faster than deep weights; a scale of 2 is
    what the tutorial recipe's two logits per binary pixel amount to, 3 wins on validation.
    ``average_weights``: validate, keep and return an exponential moving average of the
    weights (its horizon the last tenth or so of the steps taken, so it needs no tuning to the
    run's length) rather than the last step's: the average sits nearer the optimum than any
    one noisy step, which is worth 1 nat on Shapes and more where a high rate is used.
    ``time_limit``: stop after the epoch that takes training past this many seconds (None:
    no limit); the best epoch's weights are kept, as with ``patience``.
    ``precision``: what a training step's matrix products compute in. ``"float32"``;
    ``"bfloat16"`` (weights, gradients' sums and the optimiser stay in float32; validation and
    every score are float32); ``"auto"``: bfloat16 on a CPU that multiplies it natively
    (AVX512-BF16 or AMX), where a step is about 1.5x faster at the same NLL, else float32.
    """

    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    grad_clip: float | None = None
    schedule: str = "constant"
    plateau_patience: int = 2
    patience: int | None = None
    mask_every: int = 1
    eval_ensemble: int = 1
    eval_batch_size: int = 1024
    log_every: int = 50
    seed: int = 0
    output_lr_scale: float = 1.0
    average_weights: bool = False
    time_limit: float | None = None
    precision: str = "auto"

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "mask_every", "eval_ensemble", "eval_batch_size",
                     "log_every", "plateau_patience"):  # fmt: skip
            val = getattr(self, name)
            if not _is_int(val) or val < 1:
                raise ValueError(f"{name} must be an int >= 1; got {val!r}")
        if self.patience is not None and (not _is_int(self.patience) or self.patience < 1):
            raise ValueError(f"patience must be an int >= 1 or None; got {self.patience!r}")
        if not (isinstance(self.lr, numbers.Real) and self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number; got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be 'adam', 'adamw' or 'adagrad'; got {self.optimizer!r}"
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"schedule must be 'constant', 'cosine' or 'plateau'; got {self.schedule!r}"
            )
        if not (isinstance(self.weight_decay, numbers.Real) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be >= 0; got {self.weight_decay!r}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be positive or None; got {self.grad_clip!r}")
        if not _is_int(self.seed) or self.seed < 0:
            raise ValueError(f"seed must be an int >= 0; got {self.seed!r}")
        if not _positive_number(self.output_lr_scale):
            raise ValueError(f"output_lr_scale must be a positive number; got "
                             f"{self.output_lr_scale!r}")  # fmt: skip
        if self.time_limit is not None and not _positive_number(self.time_limit):
            raise ValueError(f"time_limit must be a positive number; got {self.time_limit!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}; got {self.precision!r}")
        if not isinstance(self.average_weights, bool):
            raise ValueError(f"average_weights must be True or False; got {self.average_weights!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        return _from_dict(cls, data)


@dataclass(frozen=True)
class DataConfig:
    """Where data comes from and how it is turned into categories; see ``made.data.load_data``.

    ``source``: a data set name (``made data list``) or a path. ``binarize``: ``"auto"`` (the
    source's own default: threshold for grey-level images, none for category files),
    ``"threshold"`` (value > ``threshold`` x the value range), ``"stochastic"`` (1 with
    probability value / range, drawn from ``seed``) or ``"none"``. ``levels``: with
    ``binarize="none"``, quantise grey levels into this many categories. ``num_categories``:
    declared categories (one int, or one per feature); None infers them from the data.
    ``valid_fraction``: carved from train (with ``seed``) when the source has no validation
    split; ``test_fraction``: likewise when it has no test split. ``column_types``: for tables
    (CSV files, named tables), ``"NAME=categorical"`` or ``"NAME=real"`` overriding the
    inferred type of a column (named, or numbered from 0). ``delimiter``: a CSV's delimiter
    (None: detected among ``, ; tab |``). ``header``: whether a CSV's first line names its
    columns: ``"yes"``, ``"no"`` or ``"auto"`` (a line that is not all numbers is a header; a
    numeric line that looks like one, increasing integers outside the values below them, is
    refused as ambiguous).
    """

    source: str = "shapes"
    seed: int = 0
    binarize: str = "auto"
    threshold: float = 0.5
    levels: int | None = None
    num_categories: int | tuple[int, ...] | None = None
    valid_fraction: float = 0.1
    test_fraction: float = 0.1
    column_types: tuple[str, ...] = ()
    delimiter: str | None = None
    header: str = "auto"

    def __post_init__(self) -> None:
        if self.delimiter is not None and (
            not isinstance(self.delimiter, str) or len(self.delimiter) != 1
            or self.delimiter in "\"\r\n"
        ):  # fmt: skip
            raise ValueError(f"delimiter must be one character; got {self.delimiter!r}")
        if self.header not in HEADERS:
            raise ValueError(f"header must be auto, yes or no; got {self.header!r}")
        if not isinstance(self.source, str) or not self.source:
            raise ValueError(f"source must be a data set name or a path; got {self.source!r}")
        if not _is_int(self.seed) or self.seed < 0:
            raise ValueError(f"seed must be an int >= 0; got {self.seed!r}")
        if self.binarize not in BINARIZE:
            raise ValueError(
                f"binarize must be auto, threshold, stochastic or none; got {self.binarize!r}"
            )
        if not 0 < self.threshold < 1:
            raise ValueError(f"threshold must be strictly between 0 and 1; got {self.threshold}")
        if self.levels is not None and (not _is_int(self.levels) or self.levels < 2):
            raise ValueError(f"levels must be an int >= 2; got {self.levels!r}")
        if self.levels is not None and self.binarize in ("threshold", "stochastic"):
            raise ValueError("levels quantises grey levels; it cannot be combined with binarize")
        if self.num_categories is not None:
            cats = _positive_ints("num_categories", self.num_categories, False)
            if min(cats) < 2:
                raise ValueError(f"num_categories must be >= 2; got {list(cats)!r}")
            object.__setattr__(
                self, "num_categories", cats[0] if _is_int(self.num_categories) else cats
            )
        for name in ("valid_fraction", "test_fraction"):
            val = getattr(self, name)
            if not (isinstance(val, numbers.Real) and 0 < val < 1):
                raise ValueError(f"{name} must be strictly between 0 and 1; got {val!r}")
        types = self.column_types
        if isinstance(types, str) or not all(isinstance(t, str) for t in types):
            raise ValueError(f"column_types must be a sequence of 'NAME=KIND'; got {types!r}")
        object.__setattr__(self, "column_types", tuple(types))
        if self.column_types and self.num_categories is not None:
            raise ValueError(
                "column_types types the columns of a table; num_categories declares every "
                "column categorical: give one or the other"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataConfig:
        return _from_dict(cls, data)


def _from_dict(cls: type, data: Mapping[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return cls(**values)
