"""Settings chosen on evidence: successive halving over a few candidates, on validation.

On a set with few rows per dimension, which regulariser wins (dropout, a mixture of
orderings, a narrower network over more of them) differs from set to set by several nats,
and no rule of thumb read from the set's size picks it. So the auto recipe names a few
candidates there (``made.recipes.auto_candidates``) and ``successive_halving`` lets the
validation split choose: every candidate trains for a short budget of epochs, the better
half by best validation NLL goes on to a longer budget, and so on until one is left, which
the run then trains to the end. With one rung long enough for every candidate to stop on
its own, it is a race: each trains until validation stops improving, and the best wins.
Every trial starts afresh from the run's seed, so the choice is a function of the data and
the seed alone.

The trials are a caller's function (``train_for``): this module knows nothing of models or
data, only of budgets, scores and the order of the candidates (ties go to the earlier one).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Choice", "Trial", "successive_halving"]


@dataclass(frozen=True)
class Trial:
    """One candidate trained for one rung: ``budget`` epochs at most, ``epochs`` trained
    (fewer when early stopping ended it), ``valid_nll`` its best validation NLL (NaN for
    a candidate whose training diverged), ``seconds`` it took."""

    candidate: str
    rung: int
    budget: int
    epochs: int
    valid_nll: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """As JSON holds it: a NaN or infinite NLL (a diverged trial) as None."""
        record = asdict(self)
        if not math.isfinite(self.valid_nll):
            record["valid_nll"] = None
        return record


@dataclass(frozen=True)
class Choice:
    """The candidate ``successive_halving`` chose and every trial it ran, in order."""

    winner: str
    trials: tuple[Trial, ...]

    def why(self) -> str:
        """The choice in one line: each candidate's best validation NLL at the last rung it
        reached, the winner first."""
        last: dict[str, Trial] = {}
        for t in self.trials:
            last[t.candidate] = t
        ranked = sorted(last.values(), key=lambda t: (-t.rung, _score(t.valid_nll)))
        scores = "; ".join(f"{t.candidate} {t.valid_nll:.2f} after {t.epochs} epochs"
                           if math.isfinite(t.valid_nll) else f"{t.candidate} diverged"
                           for t in ranked)  # fmt: skip
        how = ("by successive halving" if any(t.rung for t in self.trials)
               else "each trained until validation stopped improving")  # fmt: skip
        return f"best of {len(last)} candidates on validation NLL, {how} ({scores})"


def _score(nll: float) -> float:
    """A trial's rank: its NLL, a NaN (diverged) last."""
    return math.inf if math.isnan(nll) else nll


def successive_halving(
    candidates: Sequence[str],
    train_for: Callable[[str, int], tuple[float, int]],
    budgets: Sequence[int],
    on_trial: Callable[[Trial], None] | None = None,
) -> Choice:
    """Choose one of ``candidates`` (names, in order of preference for ties).

    ``train_for(name, budget)`` trains candidate ``name`` afresh for at most ``budget``
    epochs and returns ``(best validation NLL, epochs trained)``. Rung ``r`` trains every
    candidate still in for ``budgets[r]`` epochs and keeps the better half (rounded up);
    after the last rung the best left wins. ``on_trial`` is told of each trial as it ends.
    """
    if not candidates:
        raise ValueError("successive halving needs at least one candidate")
    if not budgets or any(b < 1 for b in budgets):
        raise ValueError(f"budgets must be one or more positive epoch counts; got {budgets!r}")
    alive = list(candidates)
    trials: list[Trial] = []
    for rung, budget in enumerate(budgets):
        if len(alive) == 1:
            break
        scores = {}
        for name in alive:
            start = time.perf_counter()
            nll, epochs = train_for(name, budget)
            trial = Trial(name, rung, budget, epochs, nll, time.perf_counter() - start)
            trials.append(trial)
            scores[name] = _score(nll)
            if on_trial is not None:
                on_trial(trial)
        alive = sorted(alive, key=lambda n: scores[n])[: math.ceil(len(alive) / 2)]
    return Choice(alive[0], tuple(trials))
