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
