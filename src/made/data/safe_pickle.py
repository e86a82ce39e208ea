"""A restricted unpickler for data files: numpy arrays and plain containers, nothing else.

``pickle.load`` runs whatever callable a file names; a data set downloaded from somewhere must
not be able to do that. Only the few globals that rebuild numpy arrays and dtypes are admitted;
any other global (``os.system``, ``builtins.eval``, ...) is refused before it is called.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

__all__ = ["UnsafePickleError", "safe_load_pickle"]

_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),  # protocol-2 pickles store array bytes as latin-1 text
    ("collections", "OrderedDict"),
}


class UnsafePickleError(ValueError):
    """The pickle names a global outside the allowed set."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise UnsafePickleError(
            f"refused to load {module}.{name}: data pickles may hold only numpy arrays and "
            "plain containers"
        )


def safe_load_pickle(path: str | Path) -> Any:
    """Load a pickle that may contain only numpy arrays, dicts, lists, tuples and scalars.

    Raises ``ValueError`` (``UnsafePickleError``) naming the refused global, or for a file
    that is not a readable pickle.
    """
    data = Path(path).read_bytes()
    try:
        return _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{path}: {exc}") from None
    except Exception as exc:  # truncated or not a pickle at all
        raise ValueError(f"{path}: not a readable pickle ({type(exc).__name__}: {exc})") from None
