"""The public API is importable from `made`, and the docstring examples run."""

from __future__ import annotations

import doctest
import re
import textwrap
from pathlib import Path

import made
import made.model


def test_public_api():
    for name in made.__all__:
        assert hasattr(made, name), name
    assert made.__version__


def test_docstring_examples():
    failures, tried = doctest.testmod(made.model, raise_on_error=False)
    assert tried > 0 and failures == 0


ROOT = Path(__file__).resolve().parents[1]


def _run_blocks(paths: list[Path], namespace: dict) -> None:
    """Execute every ```python block of ``paths``, in order, in one namespace."""
    for path in paths:
        for block in re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S):
            # a block inside a list item is indented with it
            exec(compile(textwrap.dedent(block), str(path), "exec"), namespace)  # noqa: S102


def test_readme_python_example_runs():
    namespace: dict = {}
    _run_blocks([ROOT / "README.md"], namespace)
    assert namespace["samples"].shape == (16, 1, 8, 8)
    filled, x, half = namespace["filled"], namespace["x"], namespace["half"]
    assert filled[half].equal(x[:16][half].long())  # the observed half is kept


def test_docs_python_examples_run():
    """The guides' code blocks, in reading order (each continues the one before)."""
    namespace: dict = {}
    docs = ROOT / "docs"
    _run_blocks([docs / n for n in ("api.md", "sampling.md", "data.md", "tables.md")], namespace)
    assert namespace["samples"].shape == (16, 1, 20, 20)


def test_the_sklearn_and_distribution_pages_run():
    import pytest

    pytest.importorskip("pandas")
    namespace: dict = {}
    _run_blocks([ROOT / "docs" / "sklearn.md", ROOT / "docs" / "distributions.md"], namespace)
    assert namespace["outliers"].mean() == pytest.approx(0.1, abs=0.02)
    assert namespace["terms"].shape == (31,) and namespace["draws"].shape == (2, 5, 6)
    assert namespace["detector"].outlier_score_ == "complexity"
    assert namespace["low"].shape == (1797 - 178,)


def test_every_choice_is_listed_once_and_used_everywhere():
    from made import config
    from made.cli import build_parser
    from made.layers import ACTIVATION_FUNCTIONS
    from made.train import _OPTIMIZERS

    assert tuple(ACTIVATION_FUNCTIONS) == config.ACTIVATIONS
    assert tuple(_OPTIMIZERS) == config.OPTIMIZERS
    train = build_parser().parse_args(["train"]).train_parser
    choices = {a.dest: tuple(a.choices) for a in train._actions if a.choices}
    assert choices["activation"] == config.ACTIVATIONS
    assert choices["optimizer"] == config.OPTIMIZERS
    assert choices["schedule"] == config.SCHEDULES
    assert choices["ordering"] == config.ORDERINGS
    assert choices["hidden_degrees"] == config.HIDDEN_DEGREES
    assert choices["binarize"] == config.BINARIZE
    assert choices["header"] == config.HEADERS
