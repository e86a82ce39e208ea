"""Every file made writes, and every small record it reads back.

Writes are atomic: a temporary file in the same folder is written, flushed to disk and renamed
over the name, so a crash, a full disk or a file-size limit leaves either the old file or the
new one, never a torn one, and a name that is a symbolic or hard link is replaced, never
written through (the file it pointed to, and every other name of it, keep their contents).
made never opens an existing path for writing.

Records made reads back (``config.json``, ``made-run.json``, the lock) go through
``read_json``: a damaged, huge or deeply nested file is one ``DamagedFileError`` naming it,
never an internal error.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from .errors import MadeError

__all__ = [
    "MAX_JSON_BYTES",
    "DamagedFileError",
    "atomic_write",
    "atomic_write_bytes",
    "check_not_input",
    "read_json",
    "save_figure",
    "write_json",
]

# A record made writes (a run's config.json, its marker, a lock) is a few kilobytes; a file of
# more than this is not one of them, and is refused before it is read.
MAX_JSON_BYTES = 16 << 20


class DamagedFileError(MadeError):
    """A file made wrote (or should have) that cannot be read back as what it should be."""


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


def save_figure(figure: Any, path: str | os.PathLike[str]) -> None:
    """Save a matplotlib figure atomically, in the format its name's suffix says (PNG for a
    name without one): rendered in memory first, so a failure leaves ``path`` untouched."""
    path = Path(path)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=path.suffix.lstrip(".").lower() or "png")
    atomic_write_bytes(path, buffer.getvalue())


def read_json(
    path: str | os.PathLike[str], what: str = "JSON", *, max_bytes: int = MAX_JSON_BYTES
) -> Any:
    """The JSON value in ``path``, or ``DamagedFileError`` (one line, naming the file) for a
    file that is too large, not UTF-8, not JSON, or nested too deeply to parse. ``what`` says
    what the file should be, in the message. A missing or unreadable file is the ``OSError``
    it raises."""
    path = Path(path)
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise DamagedFileError(
            f"{path} is over {max_bytes >> 20} MiB: not {what} made wrote (damaged or replaced)"
        )
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:120]
        raise DamagedFileError(f"{path} cannot be read as {what} ({reason})") from None


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
