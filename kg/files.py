"""Atomic writes of whole folders: build in a staging folder beside the target, then swap.

A crash or Ctrl-C before the swap leaves the previous folder exactly as it was; the swap itself
is two renames on the same file system.

A process killed outright (``kill -9``, out of memory) cannot remove its staging folder, so
each one is paired with a lock file its process holds (``flock``) until the folder is gone:
``.<target>.staging-<pid>-<token>`` and ``.<target>.staging-<pid>-<token>.lock``. The kernel
drops the lock when the process dies, however it dies; the next write to the same target
removes every staging folder whose lock it can take, and never one whose process still runs.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_SUFFIX = ".lock"


def staging_prefix(target: Path) -> str:
    """The name every staging folder (and lock file) of ``target`` starts with."""
    return f".{target.name}.staging-"


@contextmanager
def staged_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces ``target``, on error it is removed.
    Staging folders left by dead processes for the same target are removed first.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with staged_dir(root / "out") as tmp:
    ...     _ = (tmp / "a.txt").write_text("new")
    >>> (root / "out" / "a.txt").read_text(), sorted(p.name for p in root.iterdir())
    ('new', ['out'])
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(target)
    fd, lock = _held_lock(target)
    tmp = Path(lock[: -len(LOCK_SUFFIX)])
    try:
        tmp.mkdir()
        yield tmp
        replace_dir(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        # the folder is gone before its lock: a staging folder never exists without a held lock
        _unlink(lock)
        os.close(fd)


def _held_lock(target: Path) -> tuple[int, str]:
    """A new lock file beside ``target``, locked by this process. A cleaner may take a fresh
    file in the instant before we lock it and delete it; then the path no longer names our
    file and we try again (the usual lock-file protocol)."""
    while True:
        fd, lock = tempfile.mkstemp(prefix=f"{staging_prefix(target)}{os.getpid()}-",
                                    suffix=LOCK_SUFFIX, dir=target.parent)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                return fd, lock
        except FileNotFoundError:
            pass
        os.close(fd)


def remove_stale_staging(target: str | os.PathLike) -> list[Path]:
    """Remove the staging folders of ``target`` whose process has died; return them."""
    target = Path(target)
    removed = []
    try:
        names = {p.name for p in target.parent.iterdir() if p.name.startswith(staging_prefix(target))}
    except FileNotFoundError:
        return removed
    folders = {n[: -len(LOCK_SUFFIX)] if n.endswith(LOCK_SUFFIX) else n for n in names}
    for name in sorted(folders):
        folder = target.parent / name
        lock = target.parent / (name + LOCK_SUFFIX)
        try:
            fd = os.open(lock, os.O_RDWR)
        except FileNotFoundError:  # no lock at all: its process ended after removing it
            if folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
            continue
        except OSError:  # another user's, or unreadable: not ours to judge
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # its process is alive: leave it alone
            os.close(fd)
            continue
        try:
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
            _unlink(lock)
        finally:
            os.close(fd)
    return removed


def _unlink(path: str | os.PathLike) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def replace_dir(source: Path, target: Path) -> None:
    """Move folder ``source`` to ``target``, replacing what was there."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(source, target)
    shutil.rmtree(old, ignore_errors=True)
