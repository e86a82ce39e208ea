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

from .errors import SettingError

__all__ = [
    "LIMITS",
    "check_count",
    "is_int",
    "positive_ints",
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
ONE_HOT = ("auto", "off")

# What a setting may be, wherever it comes from (a call, a flag, a config.json or a
# checkpoint, which anyone can write): checked when a config is created, before anything is
# allocated, so a crafted file is refused in one line instead of exhausting memory. The
# command line takes its ranges from here. A model's size is capped as a whole too
# (``max_parameters``): layers within their own cap can still multiply to tens of gigabytes.
LIMITS = {
    "hidden_size": 100_000,  # units in one hidden layer
    "num_masks": 1_000,
    "num_components": 1_000,
    "context_size": 100_000,
    "num_dims": 1 << 22,  # input dimensions (MAX_OUTPUT_UNITS of made.data.validate)
    "categories": 65_536,  # categories of one dimension (16-bit codes)
    "max_parameters": 1 << 28,  # weights in all (1 GiB in float32; about 6 GiB to train)
    "max_connectivity": 1 << 26,  # stored orderings and degrees: num_masks x (D + hidden units)
    "count": 2**31 - 1,  # epochs, batch sizes, patience and every other count
    "seed": 2**63 - 1,
}


def is_int(value: Any) -> bool:
    """An integer, not a bool (JSON and numpy integers included)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _positive_number(value: Any) -> bool:
    """A finite real number above zero (not a bool)."""
    return _is_real(value) and value > 0 and math.isfinite(value)


def _non_negative_number(value: Any) -> bool:
    """A finite real number at or above zero (not a bool)."""
    return _is_real(value) and value >= 0 and math.isfinite(value)


def _shown(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters (a crafted file may hold megabytes)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def positive_ints(
    name: str, value: Any, allow_empty: bool, most: int | None = None
) -> tuple[int, ...]:
    if is_int(value):
        value = (value,)
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"{name} must be an int or a sequence of ints; got {_shown(value)}")
    items = tuple(value)
    if not items and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    for item in items:
        if not is_int(item) or item < 1:
            raise ValueError(f"{name} must hold positive ints; got {_shown(list(items))}")
        if most is not None and item > most:
            raise ValueError(f"{name} must hold ints of at most {most:,}; got {_shown(item)}")
    return tuple(int(i) for i in items)


def check_count(name: str, value: Any, low: int = 1, high: int | None = None) -> None:
    """An int (not a bool) in ``low..high`` (``LIMITS["count"]`` by default), or ValueError."""
    high = LIMITS["count"] if high is None else high
    if not is_int(value) or not low <= value <= high:
        raise ValueError(f"{name} must be an int in {low}..{high:,}; got {_shown(value)}")


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
    missing: tuple[int, ...] = ()
    fixed: tuple[tuple[int, int], ...] = ()
    mask_biases: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise in place once, here
        set_(self, "input_shape", positive_ints("input_shape", self.input_shape, False))
        set_(self, "hidden_sizes", positive_ints("hidden_sizes", self.hidden_sizes, True,
                                                  LIMITS["hidden_size"]))  # fmt: skip
        d = self.num_dims
        if d > LIMITS["num_dims"]:
            raise ValueError(
                f"input_shape {_shown(self.input_shape)} has {d:,} dimensions; at most "
                f"{LIMITS['num_dims']:,}"
            )
        k = self.num_categories
        top = LIMITS["categories"]
        if is_int(k):
            if (k < 2 and k != 0) or k > top:
                raise ValueError(
                    f"num_categories must be in 2..{top:,} (or 0: real-valued); got {_shown(k)}"
                )
            set_(self, "num_categories", int(k))
        else:
            if isinstance(k, str) or not isinstance(k, Sequence):
                raise ValueError(
                    f"num_categories must be an int or a sequence of ints; got {_shown(k)}"
                )
            cards = tuple(k)
            if not all(is_int(c) for c in cards):
                raise ValueError(f"num_categories must hold ints; got {_shown(list(cards))}")
            if len(cards) != d:
                raise ValueError(
                    f"num_categories as a sequence needs one cardinality per dimension "
                    f"({d}); got {len(cards)}"
                )
            if any((c < 2 and c != 0) or c > top for c in cards):
                raise ValueError(
                    f"every cardinality must be in 2..{top:,} (or 0: real-valued); got "
                    f"{_shown(list(cards))}"
                )
            set_(self, "num_categories", tuple(int(c) for c in cards))
        check_count("num_components", self.num_components, 1, LIMITS["num_components"])
        if not isinstance(self.ordering, str):
            if isinstance(self.ordering, Sequence) and all(is_int(i) for i in self.ordering):
                set_(self, "ordering", tuple(int(i) for i in self.ordering))
            else:
                raise ValueError(
                    f"ordering must be a name or a permutation; got {_shown(self.ordering)}"
                )
            if sorted(self.ordering) != list(range(d)):
                raise ValueError(
                    f"an explicit ordering must be a permutation of 0..{d - 1}; "
                    f"got {_shown(list(self.ordering))}"
                )
        elif self.ordering not in ORDERINGS:
            raise ValueError(
                f"ordering must be 'natural', 'reversed', 'random' or a permutation; "
                f"got {_shown(self.ordering)}"
            )
        if self.hidden_degrees not in HIDDEN_DEGREES:
            raise ValueError(
                f"hidden_degrees must be 'random' or 'equal'; got {_shown(self.hidden_degrees)}"
            )
        check_count("num_masks", self.num_masks, 1, LIMITS["num_masks"])
        for name in ("order_agnostic", "direct_connections", "mask_biases"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False; got {_shown(getattr(self, name))}")
        check_count("context_size", self.context_size, 0, LIMITS["context_size"])
        if self.mask_biases and self.num_masks < 2:
            raise SettingError("num_masks", self.num_masks, "is too few for "
                               "{flag:mask_biases}, which gives each mask its own biases: "
                               "use 2 or more")  # fmt: skip
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {ACTIVATIONS}; got {_shown(self.activation)}"
            )
        if not (isinstance(self.dropout, numbers.Real) and not isinstance(self.dropout, bool)
                and 0.0 <= self.dropout < 1.0):  # fmt: skip
            raise ValueError(f"dropout must be a number in [0, 1); got {_shown(self.dropout)}")
        check_count("seed", self.seed, 0, LIMITS["seed"])
        self._check_missing()
        self._check_fixed()
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
        self._check_size()

    def _check_missing(self) -> None:
        """``missing``: the real-valued dimensions whose values may be missing (NaN), sorted."""
        dims = self.missing
        if (
            isinstance(dims, str)
            or not isinstance(dims, Sequence)
            or not all(is_int(d) for d in dims)
        ):
            raise ValueError(f"missing must be a sequence of dimensions; got {_shown(dims)}")
        dims = tuple(sorted({int(d) for d in dims}))
        cards = self.cardinalities
        for d in dims:
            if not 0 <= d < self.num_dims or cards[d] != 0:
                raise ValueError(
                    f"missing lists dimension {d}, which is not a real-valued dimension (a "
                    "categorical one takes a category for its missing values)"
                )
        object.__setattr__(self, "missing", dims)

    def _check_fixed(self) -> None:
        """``fixed``: ``(dimension, value)`` pairs, sorted by dimension: binary dimensions
        that always take ``value`` (a table's constant column, whose second category no row
        holds)."""
        pairs = self.fixed
        shape_ok = (not isinstance(pairs, str) and isinstance(pairs, Sequence)
                    and all(isinstance(p, Sequence) and not isinstance(p, str) and len(p) == 2
                            and all(is_int(v) for v in p) for p in pairs))  # fmt: skip
        if not shape_ok:
            raise ValueError(f"fixed must be a sequence of (dimension, value) pairs; got "
                             f"{_shown(pairs)}")  # fmt: skip
        fixed = tuple(sorted((int(d), int(v)) for d, v in pairs))
        cards = self.cardinalities
        for i, (d, v) in enumerate(fixed):
            if not 0 <= d < self.num_dims or cards[d] != 2 or v not in (0, 1):
                raise ValueError(
                    f"fixed holds ({d}, {v}): a fixed dimension must be a binary one (2 "
                    "categories) and its value 0 or 1"
                )
            if i and fixed[i - 1][0] == d:
                raise ValueError(f"fixed names dimension {d} twice")
        object.__setattr__(self, "fixed", fixed)

    def _check_size(self) -> None:
        """Refuse a model too large to build, before anything is allocated: its weights, and
        the orderings and degrees stored for every mask."""
        params = self.num_parameters
        if params > LIMITS["max_parameters"]:
            layers = ", ".join(f"{n:,}" for n in self.hidden_sizes) or "none"
            direct = ", direct connections" if self.direct_connections else ""
            raise ValueError(
                f"this model would have {params:,} weights (hidden layers {layers}; "
                f"{self.num_dims:,} dimensions{direct}), more than the "
                f"{LIMITS['max_parameters']:,} made builds (about "
                f"{params * 24 / 2**30:,.0f} GiB to train); use fewer or smaller hidden layers"
            )
        stored = self.num_masks * (self.num_dims + sum(self.hidden_sizes))
        if stored > LIMITS["max_connectivity"]:
            raise ValueError(
                f"{self.num_masks:,} masks of {self.num_dims + sum(self.hidden_sizes):,} units "
                f"would store {stored:,} degrees, more than {LIMITS['max_connectivity']:,}; "
                "use fewer masks"
            )

    @property
    def num_parameters(self) -> int:
        """The number of weights and biases the model has (computed from the settings alone)."""
        cards = self.cardinalities
        per_real = 2 if self.num_components == 1 else 3 * self.num_components
        gaps = len(self.missing)  # a value that may be missing: a flag in, a logit out
        units = sum(1 if k in (0, 2) else k for k in cards) + gaps
        outputs = sum(per_real if k == 0 else (1 if k == 2 else k) for k in cards) + gaps
        sizes = [units, *self.hidden_sizes, outputs]
        total = sum(i * o + o for i, o in zip(sizes[:-1], sizes[1:], strict=True))
        if self.direct_connections:
            total += units * outputs
        return total + self.context_width * (sum(self.hidden_sizes) + outputs)

    @property
    def context_width(self) -> int:
        """The network's context inputs: ``context_size``, then with ``mask_biases`` one per
        mask (the current mask's index, one-hot: ``MADE.network_context``)."""
        return self.context_size + (self.num_masks if self.mask_biases else 0)

    @property
    def orderings_vary(self) -> bool:
        """Whether the masks have orderings of their own (``order_agnostic`` with more than
        one mask): only then can an observed subset be put first in an ordering the model
        was trained on. One mask has one ordering, whatever ``order_agnostic`` says."""
        return self.order_agnostic and self.num_masks > 1

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
    ``min_epochs``: the best epoch is chosen from this epoch on, and patience counts from
    it: a validation split of a few rows (a small table's fold of 15) cannot tell a model
    stopped at epoch 3 from one trained on, and stopped that early a model has not learnt the
    columns' dependence (0: from the first epoch).
    ``mask_every``: with a multi-mask model, move to the next mask every this many steps.
    ``mixture_masks``: with a multi-mask model, the masks each step trains together: 1 (the
    paper's connectivity-agnostic training) minimises the current mask's NLL alone; K > 1
    draws K of the model's masks a step and minimises their mixture's, ``-log mean_k
    p_k(x)``, the measure the mixture is scored by. Each mask's gradient is then weighted by
    how well it explains the row, as a mixture's components are, so the masks specialise
    rather than each being trained to stand alone. K forward passes a step. On binarized
    MNIST (one layer of 500, 32 masks, K = 8) the mixture of 32 scores 90.63 nats, against
    91.31 trained mask by mask and 90.72 for one mask trained alone (``benchmarks/README.md``).
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
    (AVX512-BF16 or AMX) when the step's products are large enough to gain (batch rows x the
    largest weight matrix of at least 2^24 multiply-adds: a step up to 1.5x faster at the
    same NLL), else float32 (bfloat16's fixed cost per product makes small steps up to 1.5x
    slower: ``benchmarks/precision.py``).
    ``noise``: the standard deviation of Gaussian noise added afresh, at every step, to the
    real dimensions of the training rows (in the model's units: a table's real columns are
    standardised). It smooths what a few hundred rows of many columns teach the conditionals
    (noise regularisation, Rothfuss et al. 2019); validation and scores see the rows as they
    are. Binary and categorical dimensions are never perturbed.
    ``calibrate``: after training, fit each dimension's conditional's width to the
    validation rows (``made.calibration``: a real one's scales, a discrete one's
    temperature). The validation NLL ``fit`` reports is the trained model's; ``best.pt``
    keeps the weights as trained and the factors beside them (loading it applies them).
    The auto recipe turns it on.
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
    min_epochs: int = 0
    mask_every: int = 1
    mixture_masks: int = 1
    eval_ensemble: int = 1
    eval_batch_size: int = 1024
    log_every: int = 50
    seed: int = 0
    output_lr_scale: float = 1.0
    average_weights: bool = False
    time_limit: float | None = None
    precision: str = "auto"
    noise: float = 0.0
    calibrate: bool = False

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "mask_every", "mixture_masks", "eval_ensemble",
                     "eval_batch_size", "log_every", "plateau_patience"):  # fmt: skip
            check_count(name, getattr(self, name))
        if self.patience is not None:
            check_count("patience", self.patience)
        check_count("min_epochs", self.min_epochs, low=0)
        if not _positive_number(self.lr):
            raise ValueError(f"lr must be a positive number; got {_shown(self.lr)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be 'adam', 'adamw' or 'adagrad'; got {_shown(self.optimizer)}"
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"schedule must be 'constant', 'cosine' or 'plateau'; got {_shown(self.schedule)}"
            )
        if not _non_negative_number(self.weight_decay):
            raise ValueError(f"weight_decay must be a number >= 0; got {_shown(self.weight_decay)}")
        if self.grad_clip is not None and not _positive_number(self.grad_clip):
            raise ValueError(
                f"grad_clip must be a positive number or None; got {_shown(self.grad_clip)}"
            )
        check_count("seed", self.seed, 0, LIMITS["seed"])
        if not _positive_number(self.output_lr_scale):
            raise ValueError(f"output_lr_scale must be a positive number; got "
                             f"{_shown(self.output_lr_scale)}")  # fmt: skip
        if self.time_limit is not None and not _positive_number(self.time_limit):
            raise ValueError(f"time_limit must be a positive number; got {_shown(self.time_limit)}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}; got {_shown(self.precision)}")
        if not isinstance(self.average_weights, bool):
            raise ValueError(
                f"average_weights must be True or False; got {_shown(self.average_weights)}"
            )
        if not _non_negative_number(self.noise):
            raise ValueError(f"noise must be a number >= 0; got {_shown(self.noise)}")

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
    inferred type of a column (named, or numbered from 0; ``"NAME=log"``, ``"NAME=linear"``:
    real, on a log scale or on its own). ``delimiter``: a CSV's delimiter
    (None: detected among ``, ; tab |``). ``header``: whether a CSV's first line names its
    columns: ``"yes"``, ``"no"`` or ``"auto"`` (a line that is not all numbers is a header; a
    numeric line that looks like one, increasing integers outside the values below them, is
    refused as ambiguous). ``na_values``: a table's cells that mean a missing value, beyond
    ``made.data.table.NA_VALUES`` (NA, NaN, empty, null, None, ?, ...); ``not_na``: spellings
    of those that are values in this table, not gaps (``None`` in a column of airbags, where
    it means no airbag). ``train_rows``: train
    on at most this many rows of the training split, a random subset drawn with ``seed``
    (validation and test splits unchanged): small-data work on a large set's own test rows,
    such as 5,000 rows of binarized MNIST scored on its 10,000 test images. ``one_hot``: for
    binary arrays, ``"auto"`` models each group of neighbouring columns that no row holds two
    1s in as one categorical variable (``made.data.groups``), ``"off"`` keeps every bit a
    variable of its own.
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
    na_values: tuple[str, ...] = ()
    not_na: tuple[str, ...] = ()
    train_rows: int | None = None
    one_hot: str = "auto"

    def __post_init__(self) -> None:
        if self.delimiter is not None and (
            not isinstance(self.delimiter, str) or len(self.delimiter) != 1
            or self.delimiter in "\"\r\n"
        ):  # fmt: skip
            raise ValueError(f"delimiter must be one character; got {_shown(self.delimiter)}")
        if self.one_hot not in ONE_HOT:
            raise ValueError(f"one_hot must be auto or off; got {_shown(self.one_hot)}")
        if self.header not in HEADERS:
            raise ValueError(f"header must be auto, yes or no; got {_shown(self.header)}")
        if not isinstance(self.source, str) or not self.source:
            raise ValueError(f"source must be a data set name or a path; got {_shown(self.source)}")
        check_count("seed", self.seed, 0, LIMITS["seed"])
        if self.binarize not in BINARIZE:
            raise ValueError(
                f"binarize must be auto, threshold, stochastic or none; got {_shown(self.binarize)}"
            )
        if not (_is_real(self.threshold) and 0 < self.threshold < 1):
            raise ValueError(
                f"threshold must be strictly between 0 and 1; got {_shown(self.threshold)}"
            )
        if self.levels is not None:
            check_count("levels", self.levels, 2, LIMITS["categories"])
        if self.levels is not None and self.binarize in ("threshold", "stochastic"):
            raise ValueError("levels quantises grey levels; it cannot be combined with binarize")
        if self.num_categories is not None:
            cats = positive_ints("num_categories", self.num_categories, False,
                                  LIMITS["categories"])  # fmt: skip
            if min(cats) < 2:
                raise ValueError(f"num_categories must be >= 2; got {_shown(list(cats))}")
            object.__setattr__(
                self, "num_categories", cats[0] if is_int(self.num_categories) else cats
            )
        if self.train_rows is not None:
            check_count("train_rows", self.train_rows)
        for name in ("valid_fraction", "test_fraction"):
            val = getattr(self, name)
            if not (_is_real(val) and 0 < val < 1):
                raise ValueError(f"{name} must be strictly between 0 and 1; got {_shown(val)}")
        types = self.column_types
        if (isinstance(types, str) or not isinstance(types, Sequence)
                or not all(isinstance(t, str) for t in types)):  # fmt: skip
            raise ValueError(f"column_types must be a sequence of 'NAME=KIND'; got {_shown(types)}")
        object.__setattr__(self, "column_types", tuple(types))
        for name in ("na_values", "not_na"):
            na = getattr(self, name)
            if (isinstance(na, str) or not isinstance(na, Sequence)
                    or not all(isinstance(t, str) and len(t) <= 100 for t in na)):  # fmt: skip
                raise ValueError(f"{name} must be a sequence of texts; got {_shown(na)}")
            object.__setattr__(self, name, tuple(na))
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
    if not isinstance(data, Mapping):
        raise ValueError(f"{cls.__name__} must be a mapping of settings; got {_shown(data)}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(map(str, data)) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {_shown(sorted(unknown))}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return cls(**values)
