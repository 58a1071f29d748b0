"""Build a folder once, atomically, and reuse it: the cache behind every offline model.

A build runs in a temporary sibling folder and is moved into place with ``os.replace`` only
when complete, with a marker file written last. So a reader sees either no folder or a whole
one: an interrupted build leaves only a hidden ``.<name>.*.tmp`` folder, removed by the next
build, and concurrent builds of the same folder are serialised by a lock file (POSIX) or,
without locks, the loser of the race discards its copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MARKER = "dnd_ft_build.json"  # written last into every complete build


def spec_hash(spec: dict[str, Any], length: int = 10) -> str:
    """Short, stable hash of a JSON-able build spec (what was built, with what versions)."""
    blob = json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def is_complete(folder: Path) -> bool:
    """True when ``folder`` is a finished build (its marker exists)."""
    return (folder / MARKER).is_file()


def read_marker(folder: Path) -> dict[str, Any]:
    """The build record of a finished build, or {} for folders this module did not build."""
    try:
        return json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return {}


def cached_build(final: Path, build: Callable[[Path], None], spec: dict[str, Any]) -> Path:
    """Return ``final``, first running ``build(tmp_dir)`` and moving it into place if missing.

    ``build`` fills the empty folder it is given; ``spec`` is recorded in the marker so a
    cached folder says what it was built from.
    """
    if is_complete(final):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with _lock(final.parent / f".{final.name}.lock"):
        if is_complete(final):  # another process finished it while we waited
            return final
        _remove_stale(final)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
        try:
            start = time.perf_counter()
            build(tmp)
            seconds = round(time.perf_counter() - start, 2)
            record = {"spec": spec, "build_seconds": seconds, "built_at": time.time()}
            (tmp / MARKER).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
            os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; a cache is shared
            _move_into_place(tmp, final)
            log.info("built %s in %.1f s", final, seconds)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # gone already after a successful move
    return final


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _move_into_place(tmp: Path, final: Path) -> None:
    try:
        os.replace(tmp, final)
    except OSError:
        # Without file locks two builders can race; the first complete folder wins.
        if not is_complete(final):
            raise


def _remove_stale(final: Path) -> None:
    """Remove leftovers of interrupted builds; only called while holding the lock."""
    for leftover in final.parent.glob(f".{final.name}.*.tmp"):
        shutil.rmtree(leftover, ignore_errors=True)
    if final.exists() and not is_complete(final):  # e.g. a half copy made by hand
        log.warning("removing incomplete folder %s (no %s marker)", final, MARKER)
        shutil.rmtree(final)


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: rely on the atomic move alone
        yield
        return
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
