"""Atomic file writes (a crash leaves either the old file or the new one, never a torn one),
and the check that an output never lands on an input."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

__all__ = ["atomic_write", "atomic_write_bytes", "check_not_input", "write_json"]


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, flush it to disk, then rename
    it over ``path``. On any error the temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain open would have.
        os.chmod(tmp, _mode(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode(path: Path) -> int:
    """The permission bits for ``path``: its own if it exists, else 0666 less the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Atomically replace ``path`` with ``data``."""
    atomic_write(path, lambda f: f.write(data))


def write_json(path: str | os.PathLike[str], record: dict) -> None:
    """``record`` as indented JSON, atomically, refusing NaN and infinities (which JSON
    cannot hold, and which would only be read back as an error)."""
    atomic_write_bytes(path, (json.dumps(record, indent=2, allow_nan=False) + "\n").encode())


def check_not_input(
    out: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None], option: str
) -> None:
    """Refuse (``ValueError``) an output path that is one of a command's inputs, or lies
    inside an input folder: made never overwrites what it reads."""
    out = Path(out)
    target = out.resolve()
    for item in inputs:
        if item is None or not Path(item).exists():
            continue
        source = Path(item)
        same = target == source.resolve() or (out.exists() and os.path.samefile(out, source))
        if same:
            raise ValueError(
                f"{option} {out} is {source}, which this command reads; made never "
                "overwrites its inputs (choose another file)"
            )
        if source.is_dir() and source.resolve() in target.parents:
            raise ValueError(
                f"{option} {out} is inside {source}, which this command reads; made never "
                "writes into its inputs (choose another folder)"
            )
