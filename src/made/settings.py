"""The settings a run trains with, from what a user asks for: one path for the command line,
``MADEDensity`` and Python callers alike.

Settings come from three places, merged here and nowhere else:

1. a recipe (``made.recipes``): complete settings, the ``auto`` recipe's sized to the data;
2. the settings given, by name (``hidden_sizes``, ``lr``, ``num_masks``...): each given one
   replaces the recipe's value (the command line maps its flags to these names);
3. the rules between settings: one mask has one ordering, and validation scores the mixture
   of every mask.

Where the auto recipe leaves a choice to the data's validation split (few rows per
dimension: ``made.recipes.auto_candidates``), ``resolve`` also gives each candidate's
settings, resolved by the same rules; the run chooses among them (``made.selection``).

``resolve`` applies them for a new run; ``resume`` says what a resumed run may change (the
data's path, and a larger epoch count or time limit) and refuses anything else, naming the
setting (``SettingError``: the command line names the flag instead).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .config import DataConfig, MADEConfig, TrainConfig
from .errors import SettingError
from .recipes import AUTO_CHOSEN, auto_candidates, recipe

__all__ = [
    "DATA_FIXED",
    "DATA_SETTINGS",
    "MODEL_SETTINGS",
    "RESUMABLE",
    "TRAIN_SETTINGS",
    "Resolved",
    "resolve",
    "resume",
]

# MADEConfig fields the data fixes: a user never gives them.
DATA_FIXED = ("input_shape", "num_categories", "context_size", "missing", "fixed")
MODEL_SETTINGS = tuple(f.name for f in dataclasses.fields(MADEConfig) if f.name not in DATA_FIXED)
TRAIN_SETTINGS = tuple(f.name for f in dataclasses.fields(TrainConfig))
# DataConfig's fields (``seed`` seeds the data's split, the model and the training alike).
DATA_SETTINGS = tuple(f.name for f in dataclasses.fields(DataConfig))
# What a resumed run may change: the data's path (checked by fingerprint), its epoch count
# (not below the epochs done) and a larger time limit.
RESUMABLE = ("source", "epochs", "time_limit")

_MODEL_DEFAULTS = {f.name: f.default for f in dataclasses.fields(MADEConfig)
                   if f.name in MODEL_SETTINGS}  # fmt: skip
_TRAIN_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig)}


@dataclass(frozen=True)
class Resolved:
    """A run's model settings (``MADEConfig`` fields the data does not fix), its
    ``TrainConfig``, the recipe they came from, and why the recipe chose each setting it
    sized to the data (``choices``: setting -> reason; the settings given are not there)."""

    recipe: str
    model: dict[str, Any]
    train: TrainConfig
    choices: dict[str, str] = field(default_factory=dict)
    # name -> the settings with that candidate, where the validation split chooses (the
    # first is these settings' own); empty where the recipe chose by size alone
    candidates: dict[str, Resolved] = field(default_factory=dict)


def resolve(
    recipe_name: str,
    given: Mapping[str, Any] | None = None,
    num_train: int | None = None,
    num_dims: int | None = None,
    mixture: bool = False,
) -> Resolved:
    """The settings of ``recipe_name`` with every setting in ``given`` in its place.

    ``given`` maps ``MADEConfig`` and ``TrainConfig`` field names (and ``seed``, which seeds
    both) to values; ``num_train`` and ``num_dims`` (training rows, dimensions) size the
    ``auto`` recipe (``mixture``: for a model of a mixture, ``made.recipes.recipe``). Rules
    between settings apply to what was not given: a single mask has a
    single ordering, and validation scores the mixture of all the masks (``eval_ensemble``).
    ``candidates`` holds the settings the validation split chooses among, where the auto
    recipe leaves it a choice and none of the settings in ``AUTO_CHOSEN`` is given.
    ``ValueError`` names an unknown setting; the configs check every value.
    """
    chosen = _resolve(recipe_name, given, num_train, num_dims, mixture)
    if recipe_name != "auto" or set(given or {}) & set(AUTO_CHOSEN):
        return chosen
    assert num_train is not None and num_dims is not None  # recipe() has checked
    options = {}
    for name, change in auto_candidates(num_train, num_dims).items():
        change = {k: v for k, v in change.items() if k not in (given or {})}  # given: kept
        option = _resolve(recipe_name, {**(given or {}), **change}, num_train, num_dims,
                          mixture)  # fmt: skip
        options[name] = dataclasses.replace(
            option, choices={**option.choices, **{k: name for k in change}}
        )
    return dataclasses.replace(chosen, candidates=options)


def _resolve(
    recipe_name: str,
    given: Mapping[str, Any] | None,
    num_train: int | None,
    num_dims: int | None,
    mixture: bool = False,
) -> Resolved:
    """``resolve`` without candidates."""
    given = dict(given or {})
    unknown = sorted(set(given) - set(MODEL_SETTINGS) - set(TRAIN_SETTINGS))
    if unknown:
        raise ValueError(f"unknown settings {unknown}; known: {MODEL_SETTINGS + TRAIN_SETTINGS}")
    base = recipe(recipe_name, num_train, num_dims, mixture)
    values = {**_MODEL_DEFAULTS, **_TRAIN_DEFAULTS, **base.model, **base.train, **given}
    choices = {key: why for key, why in base.reasons.items() if key not in given}
    if values["num_masks"] == 1 and "order_agnostic" not in given:
        values["order_agnostic"] = False  # one mask: one ordering, whatever the recipe's
        if "order_agnostic" in choices:
            choices["order_agnostic"] = "one ordering (one mask)"
    if values["mask_biases"] and values["num_masks"] == 1 and "num_masks" not in given:
        # say where the one mask came from: the user asked for biases, not for one mask
        raise SettingError("num_masks", 1, f"(the {recipe_name} recipe's for this data) is too "
                           "few for {flag:mask_biases}, which gives each mask its own biases: "
                           "give {flag:num_masks} 2 or more as well")  # fmt: skip
    if "eval_ensemble" not in given:
        values["eval_ensemble"] = values["num_masks"]
    model = {key: values[key] for key in MODEL_SETTINGS}
    train = TrainConfig(**{key: values[key] for key in TRAIN_SETTINGS})
    return Resolved(recipe_name, model, train, choices)


def _plain(value: Any) -> Any:
    """``value`` with its tuples as lists, as JSON gives them back."""
    return [_plain(v) for v in value] if isinstance(value, tuple | list) else value


def resume(saved: Mapping[str, Any], given: Mapping[str, Any], done: int) -> dict[str, Any]:
    """The changes a resumed run makes to its own settings (``saved``: every setting of the
    run by name, as ``RunSettings.flat`` gives them) for the settings ``given``: only those
    ``RESUMABLE`` allows (a new path for the data, an epoch count no lower than the ``done``
    already trained, a cosine schedule's excepted, and a time limit no lower than the
    run's). Any other setting given must equal the run's, or ``SettingError`` names
    it; so does a change a resume does not allow."""
    if given.get("epochs", done) < done:
        raise SettingError("epochs", given["epochs"], f"is below the {done} epochs this run "
                           "has already trained")  # fmt: skip
    changes = {}
    for name, value in given.items():
        if name not in saved:
            raise ValueError(f"unknown setting {name!r}")
        old = saved[name]
        if _plain(value) == _plain(old):  # a tuple given, the list config.json read back
            continue
        if name not in RESUMABLE:
            raise SettingError(name, value, "differs from this run's {was}; a resumed run keeps "
                               "its own settings (but for epochs and a longer time limit)",
                               was=old)  # fmt: skip
        if name == "time_limit" and old is None:
            raise SettingError(name, value, "would limit a run that has no time limit; a "
                               "resumed run may only raise it")  # fmt: skip
        if name == "time_limit" and (value is None or value < old):
            raise SettingError(name, value, "is below this run's {was}; a resumed run may only "
                               "raise it", was=old)  # fmt: skip
        if name == "epochs" and saved["schedule"] == "cosine":
            raise SettingError(name, value, "cannot extend this run: its cosine schedule is "
                               "fixed to its {was} epochs", was=old)  # fmt: skip
        changes[name] = value
    return changes
