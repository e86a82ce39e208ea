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
  start time; a lock whose process is gone (same host) is stale and taken over, a damaged one
  is reported, never guessed at.
- Whoever holds the lock removes the temporary files a killed run left (``remove_stale``).
- Every record here is read through ``fileio.read_json``: a damaged file is one line.
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

from .config import is_int
from .errors import MadeError, SettingError
from .fileio import DamagedFileError, read_json, write_json
from .version import __version__

__all__ = [
    "MARKER",
    "RUN_FILES",
    "RunError",
    "check_new_run_directory",
    "clear_run_directory",
    "foreign_files",
    "is_run_directory",
    "remove_stale",
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
             "sampled.npy", "scores.csv", "inpaint.png", "imputed.csv")  # fmt: skip
# The files only a training run writes, under the directory's lock.
TRAINING_FILES = RUN_FILES[:9]


class RunError(MadeError):
    """A run directory that cannot be used as asked (exists, missing, locked, changed)."""


def is_run_directory(path: Path) -> bool:
    """Whether ``path`` holds made's marker (so made wrote it), of a version this made reads
    or not (``check_marker`` tells those apart)."""
    try:
        return _marker(Path(path)) is not None
    except RunError:
        return True


def check_marker(path: Path) -> bool:
    """Whether ``path`` is a run directory this made can use: True with a marker it reads,
    False without one (or with a marker made did not write), ``RunError`` for a marker of a
    later format or a damaged one."""
    return _marker(Path(path)) is not None


def _marker(path: Path) -> dict[str, Any] | None:
    marker = path / MARKER
    if not marker.is_file():
        return None
    try:
        record = read_json(marker, "a made run marker", max_bytes=1 << 16)
    except (DamagedFileError, OSError):
        record = None
    if not isinstance(record, dict) or record.get("format") != RUN_FORMAT:
        raise RunError(
            f"{marker} is damaged (not the marker made writes); made will not use {path} as "
            "a run directory"
        )
    version = record.get("version")
    if not is_int(version) or not 1 <= version <= RUN_FORMAT_VERSION:
        raise RunError(
            f"{path} was written by another version of made (run format {version!r}; this "
            f"made {__version__} reads format {RUN_FORMAT_VERSION}): use that version"
        )
    return record


def write_marker(out: Path) -> None:
    """Mark ``out`` as a run directory made wrote."""
    record = {"format": RUN_FORMAT, "version": RUN_FORMAT_VERSION, "made_version": __version__}
    write_json(Path(out) / MARKER, record)


def _temporary_of(name: str) -> str | None:
    """The file a temporary file of made's atomic writes (``.NAME.XXXXXXXX.tmp``) or of its
    lock is for, or None for any other name."""
    if not (name.startswith(".") and name.endswith(".tmp")):
        return None
    target = name[1:].removesuffix(".tmp").rsplit(".", 1)[0]
    return target if target in (*RUN_FILES, LOCK) else None


def _temporary(name: str) -> bool:
    return _temporary_of(name) is not None


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
        raise SettingError("out", str(out), "is the current directory; a run needs a folder of "
                           "its own (for example runs/NAME)")  # fmt: skip
    if where == Path.home().resolve():
        raise SettingError("out", str(out), "is the home directory; a run needs a folder of its "
                           "own")  # fmt: skip
    if where.parent == where:
        raise SettingError("out", str(out), "is a filesystem root; a run needs a folder of its "
                           "own")  # fmt: skip
    for data in data_paths:
        data = Path(data).resolve()
        if data == where or where in data.parents:
            raise SettingError("out", str(out), f"holds the data {data}; a run needs a folder of "
                               "its own")  # fmt: skip
    if out.exists() and not out.is_dir():
        raise RunError(f"{out} exists and is not a directory")
    # A run killed at its very start may leave only its lock or a temporary file: empty.
    if not out.exists() or all(e.name == LOCK or _temporary(e.name) for e in out.iterdir()):
        return
    if not overwrite:
        raise RunError(
            f"{out} already exists and is not empty; pass {{flag:overwrite}} to replace it or "
            "{flag:resume} to continue it"
        )
    if not check_marker(out):
        raise RunError(
            f"refusing to overwrite {out} ({{flag:overwrite}}): it is not a made run directory "
            f"(no {MARKER}); "
            "made replaces only folders it wrote"
        )


def clear_run_directory(out: Path) -> list[str]:
    """Remove the files made writes from ``out`` (which must be locked by the caller) and
    return the names of what was kept because made did not write it."""
    for entry in Path(out).iterdir():
        if _made_wrote(entry) and entry.name != LOCK:  # the caller holds the lock
            entry.unlink()
    return foreign_files(out)


def remove_stale(out: Path) -> list[str]:
    """Remove the temporary files a killed training run left in ``out`` (whose lock the
    caller holds, so no live run is writing them) and return their names."""
    gone = []
    for entry in Path(out).iterdir():
        name = entry.name
        if _temporary_of(name) in TRAINING_FILES and not entry.is_dir():
            entry.unlink(missing_ok=True)
            gone.append(name)
    return sorted(gone)


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


def _holder(lock: Path) -> dict[str, Any]:
    """The lock's record: ``RunError`` for one that is not what ``run_lock`` writes (a lock
    is linked into place complete, so it is never half written); the ``OSError`` of a lock
    that cannot be read, such as one released meanwhile."""
    try:
        record = read_json(lock, "a made lock", max_bytes=1 << 16)
    except DamagedFileError:
        record = None
    pid = record.get("pid") if isinstance(record, dict) else None
    texts = ("started", "time")
    if not (is_int(pid) and 0 < pid < 1 << 31 and isinstance(record.get("host"), str)
            and all(isinstance(record.get(k), str | None) for k in texts)):  # fmt: skip
        raise RunError(
            f"{lock} is damaged (not a lock made wrote); if no made process is using "
            f"{lock.parent}, delete the file"
        )
    return record


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
        for _ in range(3):
            try:
                os.link(tmp, lock)  # atomic: fails if the lock exists
                break
            except FileExistsError:
                try:
                    holder = _holder(lock)
                except FileNotFoundError:
                    continue  # released meanwhile: try again
                if holder["host"] == me["host"] and not _alive(holder["pid"], holder["started"]):
                    lock.unlink(missing_ok=True)  # stale: its process is gone
                    continue
                raise RunError(
                    f"{out} is in use by process {holder['pid']} on {holder['host']} since "
                    f"{holder.get('time')} ({lock}); wait for it to finish, or delete the lock "
                    "file if that process is gone"
                ) from None
        else:  # pragma: no cover - other processes took the lock between our tries
            raise RunError(f"{out} is in use by another process ({lock})")
    finally:
        Path(tmp).unlink(missing_ok=True)
    try:
        yield
    finally:
        try:
            ours = _holder(lock)["pid"] == me["pid"]
        except (RunError, OSError):
            ours = False
        if ours:
            lock.unlink(missing_ok=True)
