"""Recipes: named, complete sets of training settings, chosen on evidence.

``made train`` starts from a recipe and lets any option given override it:

- ``reference``: the reference experiment (Shapes, hidden [512, 512], batch 128, 20 epochs)
  with settings chosen on its validation split: GELU, direct input-to-output connections,
  Adam at 3e-3 with the output layer at three times that rate, and the weights' moving
  average kept. The default when no ``--data`` is given.
- ``tutorial``: the recipe MADE tutorials use, for comparison: ReLU, no direct connections,
  Adam at 1e-3, two logits per binary pixel (under Adam, exactly an output layer that learns
  at twice the rate: ``output_lr_scale=2``), nothing averaged.
- ``auto``: for a user's own data (the default when ``--data`` is given): the reference's
  network and optimiser, trained until validation stops improving (patience, with an epoch
  cap and a time limit), sized to the data: with fewer than 5 training rows per
  dimension, dropout 0.5 and an order-agnostic mixture of 8 masks; from 20,000 rows on, one
  layer of 4,000 units, dropout 0.3 and a learning rate of 1e-3; in between, the reference's
  network with early stopping alone (two layers of 256, not 512, for a small table of at
  most 12 dimensions). On fewer than 50 rows per dimension (a set that is not
  a table, of at most a million training cells) the validation split chooses among four
  candidates instead (``auto_candidates``; ``made.selection``; each with a weight decay of
  1e-4, those of several masks with each mask's own biases). Direct connections are
  kept unless their D x D weights would outnumber the hidden layers' (more than about 1,250
  dimensions); real-valued dimensions get a mixture of 4 Gaussians; a small table (up to
  100,000 training cells) trains in batches of 16, of 8 under 200 training rows (of at most
  16 dimensions), of 32 from 400 training rows on.

``benchmarks/README.md`` holds the measurements behind each choice. The module depends on
nothing but the standard library, so the command line can name recipes without loading a
model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RECIPES", "Recipe", "auto_candidates", "recipe"]

RECIPES = ("auto", "reference", "tutorial")

_REFERENCE_OPTIMISER = {"optimizer": "adam", "lr": 3e-3, "output_lr_scale": 3.0,
                        "average_weights": True, "batch_size": 128}  # fmt: skip
_REFERENCE_NETWORK = {"activation": "gelu", "direct_connections": True}
_ONE_MASK = {"num_masks": 1, "order_agnostic": False}
_ONE_GAUSSIAN = {"num_components": 1}

# auto: the epoch cap and time limit bound a run; patience ends it where validation stalls.
AUTO_MAX_EPOCHS = 1000
AUTO_PATIENCE = 10
AUTO_TIME_LIMIT = 40 * 60.0  # seconds: binarized MNIST converges within it on 2 CPU cores


@dataclass(frozen=True)
class Recipe:
    """A recipe's settings: ``model`` (``MADEConfig`` fields the data does not fix),
    ``train`` (``TrainConfig`` fields) and, for each setting chosen from the data, why."""

    name: str
    model: dict[str, Any]
    train: dict[str, Any]
    reasons: dict[str, str] = field(default_factory=dict)


# Fewer training rows than this per dimension: the set overfits within a few dozen epochs,
# and dropout with a mixture over 8 orderings regularises it best (as in the MADE paper's
# small-data results). From this many rows on, one ordering wins.
AUTO_FEW_ROWS_PER_DIM = 5
# From this many training rows on, a wider network with a lower rate and some dropout.
AUTO_LARGE_ROWS = 20_000
# A table of at most this many training cells (rows x dimensions) trains in batches of
# AUTO_SMALL_BATCH: at 128 an epoch of a hundred rows is one step, and early stopping ends
# training after a few dozen steps (held out, 5 seeds: wine 15.35 nats against 15.86 at 128,
# breast cancer -2.48 against 5 to 18; benchmarks/README.md).
AUTO_SMALL_CELLS = 100_000
AUTO_SMALL_BATCH = 16
# From this many training rows on, a small table trains in batches of AUTO_MID_BATCH: an
# epoch of batches of 16 is then 25 steps or more, and each step of a [512, 512] network
# costs about the same at 16 rows as at 32 (its weights' updates dominate). Held out (70/30,
# 2-4 seeds, benchmarks/README.md): randhie (1,500 rows), co2, modechoice, anes96 and fair
# score the same within noise (-0.09 to +0.22 nats a row) in 0.54 to 0.62 of the time.
AUTO_MID_ROWS = 400
AUTO_MID_BATCH = 32
# Under this many training rows, a small table of at most AUTO_TINY_DIMS dimensions (the
# tables this was chosen on have 2 to 14) trains in batches of AUTO_TINY_BATCH: the noisier
# steps regularise a network that sees a few hundred rows at most. Held out (70/30,
# 3 seeds, the default fold mixture, whose models each train on about 0.6 of a table's rows):
# on the 21 real tables of 21 to 272 rows, +0.036 nats a row on average against batches of
# 16 (better on 15, wine +0.18), in 1.4 times the time; on penguins and salaries (344 and
# 397 rows) -0.01; batches of 4 lost up to 0.28 on the tables of under 50 rows, at 2 to 3
# times the time (benchmarks/README.md, "Batches of 8 under 200 training rows").
AUTO_TINY_ROWS = 200
AUTO_TINY_DIMS = 16
AUTO_TINY_BATCH = 8
# ... and a model of a mixture (MADEDensity's fold models) chooses its best epoch from epoch
# AUTO_TINY_MIN_EPOCHS on (``min_epochs``): a fold model's held-out fold there is a few
# dozen rows at most (wine's 15), which stopped wine's fold models at epochs 3 to 14, their
# samples' correlations 0.74 to 0.90 of the data's; the mixture averages away what a member
# trained past its own best overfits. (One model alone, as `made train` fits, is left to its
# validation split: on wine's, [64, 64] scored 16.55 nats against 15.05 from epoch 20 on.) On
# the synthetic-data benchmark's 15 splits, wine's quality score rose from 0.884 to 0.893
# (14 of 15 better) and iris's held-out likelihood from -1.729 to -1.697 nats a row (14 of 15);
# on 23 real tables of 21 to 397 rows, a tie held out (-0.011 nats a row on average, standard
# error 0.029; 11 better, 11 worse), at 1.5 times the fit time (benchmarks/README.md, "The
# best epoch chosen from epoch 20 on").
AUTO_TINY_MIN_EPOCHS = 20
# A small table (at most AUTO_SMALL_CELLS training cells, from AUTO_FEW_ROWS_PER_DIM rows
# per dimension) of at most this many dimensions trains two layers of 256, not 512: held out
# (70/30, 2 to 4 seeds, each the mixture of 5 fold models), as good or better on 12 of 16
# real tables and within 0.15 nats a row on the other four (mean +0.10; on the 8 held back
# from the choice, a tie), in about 0.7 of the time; on wine (14 columns) and breast cancer
# (31) the wider network is better (benchmarks/README.md, "A narrower network for narrow
# tables").
AUTO_NARROW_DIMS = 12
# Fewer training rows than this per dimension (and fewer than AUTO_LARGE_ROWS rows, and at
# most AUTO_CHOOSE_CELLS training cells): which regulariser wins differs from set to set by
# nats (benchmarks/README.md, "Chosen on evidence"), so the auto recipe lets the validation
# split choose among AUTO_CANDIDATES (``made.selection``), unless a setting they vary is given.
AUTO_CHOOSE_ROWS_PER_DIM = 50
AUTO_CHOOSE_CELLS = 1_000_000
# Rungs of the choice: epochs per trial (each also ends where validation stalls, as a run
# does). One rung, a race: every candidate trains until validation stops improving. The
# slowest starters win on these sets (one layer of 500 over 32 orderings is last after 40
# epochs on digits and MNIST 14 x 14, first at the end), and a trial restarts from scratch
# at each rung, so a short first rung would cut the winners or cost more than the race.
AUTO_CHOOSE_BUDGETS: tuple[int, ...] = (AUTO_MAX_EPOCHS,)
# The candidates, in order of preference for ties: the size rule's own choice comes first.
# The candidates of several masks give each mask its own biases (``mask_biases``): on the
# stand-ins of benchmarks/choosing.py, seeds 0 and 1, better on validation and test in 10 of
# 11 runs (by 0.05 to 0.30 nats; worse by 0.65 where it was last anyway), for 0 to 20% more
# time. Tables keep the size rule without them (worse held out on 12 of 18 splits of nine
# tiny wide tables; benchmarks/README.md, "Chosen on evidence"). Every candidate trains
# with a weight decay of 1e-4 (unless one is given): on the same stand-ins better on
# validation and test for all four candidates on all three (14 runs of 14; test 0.01 to 0.41
# nats), in up to 2.5 times the epochs; 1e-3 was worse on digits.
AUTO_CHOOSE_WEIGHT_DECAY = 1e-4
AUTO_CANDIDATES: dict[str, dict[str, Any]] = {
    name: {**settings, "weight_decay": AUTO_CHOOSE_WEIGHT_DECAY}
    for name, settings in {
        "one layer of 500, 32 orderings": {"hidden_sizes": [500], "dropout": 0.0,
                                           "num_masks": 32, "order_agnostic": True,
                                           "mask_biases": True},
        "dropout 0.5, 8 orderings": {"hidden_sizes": [512, 512], "dropout": 0.5, "num_masks": 8,
                                     "order_agnostic": True, "mask_biases": True},
        "dropout 0.5, one ordering": {"hidden_sizes": [512, 512], "dropout": 0.5,
                                      "num_masks": 1, "order_agnostic": False},
        "early stopping alone": {"hidden_sizes": [512, 512], "dropout": 0.0, "num_masks": 1,
                                 "order_agnostic": False},
    }.items()
}  # fmt: skip
# The settings the candidates vary, and those that bound a run (its trials would each take
# the bound, the run several times it): given any of them, the recipe keeps its size rule
# and chooses nothing. (A given weight decay is kept in every candidate.)
AUTO_CHOSEN = ("hidden_sizes", "dropout", "num_masks", "order_agnostic", "mask_biases", "epochs",
               "time_limit")  # fmt: skip

# Gaussians per real-valued dimension: a mixture of 4 beats one Gaussian held out (5 seeds,
# batch 16: wine 15.35 against 15.96 nats, breast cancer -2.48 against -1.94); binary and
# categorical data have no real dimensions, so it changes nothing for them.
AUTO_COMPONENTS = 4
# After training, each conditional's width is fitted to the validation rows
# (made.calibration): held out, +0.16 nats a row on average over 18 real tables; test NLL on
# binarized MNIST 87.88 -> 87.71 (5,000 of its rows: 101.73 -> 101.32), Shapes 28.40 ->
# 28.16, bars-and-stripes and digits unchanged (benchmarks/README.md, "Calibrated
# conditionals").
AUTO_CALIBRATE = True


def _layers(hidden: list[int]) -> str:
    n = len(hidden)
    return f"{'one layer' if n == 1 else f'{n} layers'} of {hidden[0]:,} units"


def _sized(
    hidden: list[int], dropout: float, masks: int, lr: float, size: str, why_dropout: str,
    why_lr: str,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:  # fmt: skip
    model = {"hidden_sizes": hidden, "dropout": dropout, "num_masks": masks,
             "order_agnostic": masks > 1}  # fmt: skip
    why: dict[str, str] = {
        "hidden_sizes": f"{size}: {_layers(hidden)}",
        "dropout": f"{size}: {why_dropout}",
        "num_masks": f"{size}: trained over {masks} orderings and connectivities, scored as "
        "their mixture (a regulariser for small sets)"
        if masks > 1
        else f"{size}: one mask",
        "order_agnostic": "each mask has its own ordering" if masks > 1 else "one ordering",
        "lr": why_lr,
    }
    return model, {"lr": lr}, why


def _direct(num_dims: int, hidden: list[int]) -> tuple[bool, str]:
    """Direct connections, unless their D x D weights would outnumber the hidden layers'
    (a wide table: 10,000 columns would need 10^8 of them, gigabytes to train)."""
    sizes = [num_dims, *hidden, num_dims]
    layered = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    if num_dims * num_dims <= layered:
        return True, f"yes ({num_dims * num_dims:,} direct weights, fewer than the hidden layers')"
    return False, (
        f"none: {num_dims:,} dimensions would need {num_dims * num_dims:,} direct weights, more "
        f"than the hidden layers' {layered:,}"
    )


def _auto(num_train: int, num_dims: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """The auto recipe's data-dependent settings, and why each was chosen."""
    rows = f"{num_train:,} training rows of {num_dims:,} dimensions"
    if num_train < AUTO_FEW_ROWS_PER_DIM * num_dims:
        return _sized([512, 512], 0.5, 8, 3e-3,
                      f"{rows} (< {AUTO_FEW_ROWS_PER_DIM} rows per dimension)",
                      "dropout 0.5 against overfitting", "3e-3: few steps an epoch")  # fmt: skip
    if num_train < AUTO_LARGE_ROWS:
        narrow = num_train * num_dims <= AUTO_SMALL_CELLS and num_dims <= AUTO_NARROW_DIMS
        size = f"{rows} (>= {AUTO_FEW_ROWS_PER_DIM} per dimension, < {AUTO_LARGE_ROWS:,}"
        size += f"; a small table of <= {AUTO_NARROW_DIMS} dimensions)" if narrow else ")"
        return _sized([256, 256] if narrow else [512, 512], 0.0, 1, 3e-3, size,
                      "none (early stopping is enough; dropout cost Shapes 1-3 nats)",
                      "3e-3")  # fmt: skip
    return _sized([4000], 0.3, 1, 1e-3, f"{rows} (>= {AUTO_LARGE_ROWS:,} rows)",
                  "dropout 0.3", "1e-3: a large set takes many steps an epoch, and 3e-3 "
                  "stalls above it")  # fmt: skip


def auto_candidates(num_train: int, num_dims: int) -> dict[str, dict[str, Any]]:
    """The settings the auto recipe chooses among on validation for data of ``num_train``
    training rows of ``num_dims`` dimensions (name -> settings, the size rule's own choice
    first), or none where it chooses by size alone: from AUTO_CHOOSE_ROWS_PER_DIM rows per
    dimension, from AUTO_LARGE_ROWS rows, or above AUTO_CHOOSE_CELLS training cells."""
    if (
        num_train >= AUTO_CHOOSE_ROWS_PER_DIM * num_dims
        or num_train >= AUTO_LARGE_ROWS
        or num_train * num_dims > AUTO_CHOOSE_CELLS
    ):
        return {}
    own, _, _ = _auto(num_train, num_dims)
    # the size rule's own: the candidate of its settings (whatever it adds, such as biases)
    first = [n for n, c in AUTO_CANDIDATES.items()
             if all(own[k] == v for k, v in c.items() if k in own)]  # fmt: skip
    order = [*first, *(n for n in AUTO_CANDIDATES if n not in first)]
    return {n: dict(AUTO_CANDIDATES[n]) for n in order}


def recipe(
    name: str, num_train: int | None = None, num_dims: int | None = None, mixture: bool = False
) -> Recipe:
    """The settings of recipe ``name``; ``auto`` needs the training rows and dimensions.
    ``mixture``: the model is one of a mixture (``MADEDensity``'s fold models), whose
    average forgives a member trained past its own best epoch."""
    if name == "tutorial":
        return Recipe(
            name,
            model={"hidden_sizes": [512, 512], "activation": "relu",
                   "direct_connections": False, "dropout": 0.0, **_ONE_MASK, **_ONE_GAUSSIAN},
            train={"epochs": 20, "batch_size": 128, "optimizer": "adam", "lr": 1e-3,
                   "output_lr_scale": 2.0, "average_weights": False, "patience": None,
                   "time_limit": None, "calibrate": False},
        )  # fmt: skip
    if name == "reference":
        return Recipe(
            name,
            model={
                "hidden_sizes": [512, 512],
                "dropout": 0.0,
                **_ONE_MASK,
                **_ONE_GAUSSIAN,
                **_REFERENCE_NETWORK,
            },
            train={
                "epochs": 20,
                **_REFERENCE_OPTIMISER,
                "patience": None,
                "time_limit": None,
                "calibrate": False,
            },
        )
    if name == "auto":
        if num_train is None or num_dims is None:
            raise ValueError("the auto recipe is sized to the data: give num_train and num_dims")
        model, train, why = _auto(num_train, num_dims)
        model["direct_connections"], why["direct_connections"] = _direct(
            num_dims, model["hidden_sizes"]
        )
        model["num_components"] = AUTO_COMPONENTS
        cells = num_train * num_dims
        if cells <= AUTO_SMALL_CELLS:
            few = num_train < AUTO_MID_ROWS
            tiny = num_train < AUTO_TINY_ROWS and num_dims <= AUTO_TINY_DIMS
            train["batch_size"] = (
                AUTO_TINY_BATCH if tiny else AUTO_SMALL_BATCH if few else AUTO_MID_BATCH
            )
            why["batch_size"] = (
                f"{train['batch_size']}: {cells:,} training cells (<= {AUTO_SMALL_CELLS:,}), a "
                "few steps an epoch at 128"
            )
            if tiny:
                why["batch_size"] += (
                    f"; {num_train:,} training rows (< {AUTO_TINY_ROWS}) of {num_dims} "
                    f"dimensions (<= {AUTO_TINY_DIMS}): better held out than 16 on 15 small "
                    "tables of 21"
                )
            elif not few:
                why["batch_size"] += (
                    f"; {num_train:,} training rows (>= {AUTO_MID_ROWS}): as good held out as "
                    "16 in about 0.6 of the time"
                )
            if tiny and mixture:
                train["min_epochs"] = AUTO_TINY_MIN_EPOCHS
                why["min_epochs"] = (
                    f"{AUTO_TINY_MIN_EPOCHS}: a model of a mixture chooses its best epoch from "
                    f"there on; the held-out share of {num_train:,} rows stops earlier on "
                    "noise, before the columns' dependence is learnt"
                )
        return Recipe(
            name,
            model={**_REFERENCE_NETWORK, **model},
            train={**_REFERENCE_OPTIMISER, **train, "epochs": AUTO_MAX_EPOCHS,
                   "patience": AUTO_PATIENCE, "time_limit": AUTO_TIME_LIMIT,
                   "calibrate": AUTO_CALIBRATE},
            reasons={
                **why,
                "calibrate": "each conditional's width fitted to the validation rows after "
                "training: better held out on tables, MNIST and Shapes",
                "epochs": f"until validation stops improving for {AUTO_PATIENCE} epochs "
                f"(at most {AUTO_MAX_EPOCHS} epochs or {AUTO_TIME_LIMIT / 60:.0f} minutes); "
                "the best epoch's weights are kept",
            },
        )  # fmt: skip
    raise ValueError(f"recipe must be one of {RECIPES}; got {name!r}")
