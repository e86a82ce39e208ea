"""What keeps made from losing a user's files: the marker that says made wrote a directory, the
exact list of files made writes there, the checks on where a run may go, and the lock that
keeps two runs out of one directory.

- A run directory is one holding ``made-run.json`` (``MARKER``), which only made writes; a
  common name such as ``config.json`` proves nothing.
- ``--overwrite`` removes exactly the files in ``RUN_FILES`` (and made's own temporary files);
  anything else in the directory is kept and reported.
- A new run may not go into the current directory, the home directory, a filesystem root, or
  any folder that holds its data.
- ``run_lock`` creates ``made-run.lock`` atomically with the holder's pid, host and process
  start time; a lock whose process is gone (same host) is stale and taken over.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .fileio import write_json
from .version import __version__

__all__ = [
    "MARKER",
    "RUN_FILES",
    "RunError",
    "check_new_run_directory",
    "clear_run_directory",
    "foreign_files",
    "is_run_directory",
    "run_lock",
    "write_marker",
]

MARKER = "made-run.json"
RUN_FORMAT = "made-run"
RUN_FORMAT_VERSION = 1
LOCK = "made-run.lock"
# Every file made writes into a run directory: training's, then the defaults of the commands
# that read a run (sample, score, inpaint).
RUN_FILES = (MARKER, "config.json", "checkpoint.pt", "best.pt", "metrics.jsonl", "loss.png",
             "samples.png", "samples.csv", "summary.json", "sampled.png", "sampled.csv",
             "sampled.npy", "scores.csv", "inpaint.png")  # fmt: skip


class RunError(ValueError):
    """A run directory that cannot be used as asked (exists, missing, locked, changed)."""


def is_run_directory(path: Path) -> bool:
    """Whether ``path`` holds made's marker (so made wrote it)."""
    marker = Path(path) / MARKER
    if not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text()).get("format") == RUN_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def write_marker(out: Path) -> None:
    """Mark ``out`` as a run directory made wrote."""
    record = {"format": RUN_FORMAT, "version": RUN_FORMAT_VERSION, "made_version": __version__}
    write_json(Path(out) / MARKER, record)


def _temporary(name: str) -> bool:
    """A temporary file of made's atomic writes (``.NAME.XXXXXXXX.tmp``) or of its lock."""
    if not (name.startswith(".") and name.endswith(".tmp")):
        return False
    return name[1:].removesuffix(".tmp").rsplit(".", 1)[0] in (*RUN_FILES, LOCK)


def _ours(name: str) -> bool:
    """A file name made writes into a run directory (temporary files of atomic writes too)."""
    return name in RUN_FILES or _temporary(name)


def _made_wrote(entry: Path) -> bool:
    """Whether made wrote this entry of a run directory (its files, temporary files and lock;
    never a folder)."""
    return entry.name == LOCK or (_ours(entry.name) and not entry.is_dir())


def foreign_files(out: Path) -> list[str]:
    """The entries of ``out`` that made did not write (sorted; folders end in ``/``)."""
    return [entry.name + ("/" if entry.is_dir() else "")
            for entry in sorted(Path(out).iterdir()) if not _made_wrote(entry)]  # fmt: skip


def check_new_run_directory(out: Path, overwrite: bool, data_paths: Iterable[Path] = ()) -> None:
    """Refuse, without touching anything, a directory a new run may not use: the current
    directory, the home directory, a filesystem root, one holding the data, a file, a
    non-empty directory without ``overwrite``, or a non-empty one made did not write."""
    out = Path(out)
    where = out.resolve()
    if where == Path.cwd().resolve():
        raise RunError(
            f"--out {str(out) or repr('')} is the current directory; a run needs a folder of "
            "its own (for example --out runs/NAME)"
        )
    if where == Path.home().resolve():
        raise RunError(f"--out {out} is the home directory; a run needs a folder of its own")
    if where.parent == where:
        raise RunError(f"--out {out} is a filesystem root; a run needs a folder of its own")
    for data in data_paths:
        data = Path(data).resolve()
        if data == where or where in data.parents:
            raise RunError(f"--out {out} holds the data {data}; a run needs a folder of its own")
    if out.exists() and not out.is_dir():
        raise RunError(f"{out} exists and is not a directory")
    # A run killed at its very start may leave only its lock or a temporary file: empty.
    if not out.exists() or all(e.name == LOCK or _temporary(e.name) for e in out.iterdir()):
        return
    if not overwrite:
        raise RunError(
            f"{out} already exists and is not empty; pass --overwrite to replace it or "
            "--resume to continue it"
        )
    if not is_run_directory(out):
        raise RunError(
            f"refusing to --overwrite {out}: it is not a made run directory (no {MARKER}); "
            "made replaces only folders it wrote"
        )


def clear_run_directory(out: Path) -> list[str]:
    """Remove the files made writes from ``out`` (which must be locked by the caller) and
    return the names of what was kept because made did not write it."""
    for entry in Path(out).iterdir():
        if _made_wrote(entry) and entry.name != LOCK:  # the caller holds the lock
            entry.unlink()
    return foreign_files(out)


# ------------------------------------------------------------------------------------ lock
def _start_time(pid: int) -> str | None:
    """The kernel's start time of process ``pid`` (Linux), telling a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    now = _start_time(pid)
    return started is None or now is None or now == started


def _holder(lock: Path) -> dict[str, Any] | None:
    try:
        return json.loads(lock.read_text())
    except (OSError, ValueError):
        return None


@contextmanager
def run_lock(out: Path) -> Iterator[None]:
    """Hold ``out/made-run.lock`` for the duration: created atomically (a complete file,
    linked into place), so two processes never both hold it. A lock left by a process that is
    gone (same host) is stale and taken over; a live holder makes this raise ``RunError``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lock = out / LOCK
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": _start_time(os.getpid()),
          "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # fmt: skip
    fd, tmp = tempfile.mkstemp(prefix=".made-run.lock.", suffix=".tmp", dir=out)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        for _ in range(2):
            try:
                os.link(tmp, lock)  # atomic: fails if the lock exists
                break
            except FileExistsError:
                holder = _holder(lock)
                stale = holder is not None and holder.get("host") == me["host"] and not _alive(
                    int(holder.get("pid", -1)), holder.get("started"))  # fmt: skip
                if not stale:
                    who = ("another process" if holder is None else
                           f"process {holder.get('pid')} on {holder.get('host')} since "
                           f"{holder.get('time')}")  # fmt: skip
                    raise RunError(
                        f"{out} is in use by {who} ({lock}); wait for it to finish, or delete "
                        "the lock file if that process is gone"
                    ) from None
                lock.unlink(missing_ok=True)
        else:  # pragma: no cover - a third process took the stale lock between our tries
            raise RunError(f"{out} is in use by another process ({lock})")
    finally:
        Path(tmp).unlink(missing_ok=True)
    try:
        yield
    finally:
        if (_holder(lock) or {}).get("pid") == me["pid"]:
            lock.unlink(missing_ok=True)
