"""The public API is importable from `made`, and the docstring examples run."""

from __future__ import annotations

import doctest

import made
import made.model


def test_public_api():
    for name in made.__all__:
        assert hasattr(made, name), name
    assert made.__version__


def test_docstring_examples():
    failures, tried = doctest.testmod(made.model, raise_on_error=False)
    assert tried > 0 and failures == 0


def test_readme_python_examples_run():
    """The README's code blocks are executed in order, sharing one namespace."""
    import re
    from pathlib import Path

    readme = Path(__file__).resolve().parents[1] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), flags=re.S)
    assert len(blocks) >= 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(readme), "exec"), namespace)  # noqa: S102
    assert namespace["samples"].shape == (16, 1, 20, 20)
