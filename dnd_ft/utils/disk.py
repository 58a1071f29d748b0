"""A full disk, recognised wherever it surfaces, and reported as one: "disk full" with the path.

Libraries report ENOSPC in their own words: an OSError with errno 28 from Python's own writes,
"No space left on device (os error 28)" from safetensors' Rust, "file write failed" with the
errno in the message from torch's zip writer. `is_disk_full` reads all of them, through the
exception's causes, so a save that fails for lack of space is never blamed on something else.
"""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dnd_ft.errors import StageError

_CODES = {errno.ENOSPC, errno.EDQUOT}
_WORDS = ("no space left on device", "os error 28", "errno 28", "disk quota exceeded")


class DiskFullError(StageError):
    """No room left where a run writes; the message names the path and the free space."""

    def __init__(self, path: str | Path, what: str = "") -> None:
        self.path, self.what = Path(path), what
        free = free_bytes(self.path)
        room = f"{free / 2**20:,.1f} MB free" if free is not None else "free space unknown"
        doing = f" while writing {what}" if what else ""
        super().__init__(
            f"disk full{doing}: no space left for {self.path} ({room} there). Free space on "
            "that disk, or write elsewhere: paths.output_dir=<folder> for run output, "
            "DND_FT_CACHE=<folder> for models and assets"
        )


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` or anything in its chain of causes is an out-of-space error."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DiskFullError):
            return True
        if isinstance(exc, OSError) and exc.errno in _CODES:
            return True
        if any(word in str(exc).lower() for word in _WORDS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def failed_path(exc: BaseException | None) -> Path | None:
    """The file an out-of-space error names, when one does (OSError.filename)."""
    while exc is not None:
        if isinstance(exc, DiskFullError):
            return exc.path
        if isinstance(exc, OSError) and exc.filename:
            return Path(exc.filename)
        exc = exc.__cause__ or exc.__context__
    return None


@contextmanager
def disk_errors(path: str | Path, what: str = "") -> Iterator[None]:
    """Around a write to ``path``: an out-of-space error becomes `DiskFullError(path)`."""
    try:
        yield
    except DiskFullError:
        raise
    except BaseException as exc:
        if is_disk_full(exc):
            raise DiskFullError(failed_path(exc) or path, what) from exc
        raise


def free_bytes(path: str | Path) -> int | None:
    """Free bytes on the file system holding ``path`` (its nearest existing parent)."""
    current = Path(path).absolute()
    for candidate in (current, *current.parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None
