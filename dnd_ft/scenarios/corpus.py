"""Load a whole corpus of scenario files: every file parsed, every problem reported."""

from __future__ import annotations

import contextlib
import gc
import logging
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dnd_ft.scenarios.frontmatter import DEFAULT_CATEGORIES
from dnd_ft.scenarios.model import ParseResult, Problem
from dnd_ft.scenarios.parser import Parsed, parse_path, resolve_registry

if TYPE_CHECKING:
    from dnd_ft.tools.registry import ToolRegistry

log = logging.getLogger(__name__)


def find_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Problem]]:
    """Expand ``paths`` (files, or folders searched recursively for ``*.md``).

    Returns the files in a stable order, each once, and a problem per missing path or
    folder without scenario files.
    """
    files: dict[tuple[int, int], Path] = {}  # identity -> as given: output keeps the spelling
    problems = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = _regular_files(sorted(path.rglob("*.md")))
            if not found:  # most likely a wrong path: an empty corpus must not pass lint
                problems.append(Problem(path, 0, "no *.md scenario files in this folder"))
        elif path.is_file():
            found = _regular_files([path])
        else:
            problems.append(Problem(path, 0, "no such file or folder"))
            continue
        for identity, file in found:
            files.setdefault(identity, file)
    return list(files.values()), problems


def _regular_files(paths: Iterable[Path]) -> list[tuple[tuple[int, int], Path]]:
    """``((device, inode), path)`` for each regular file in ``paths``, symlinks followed.

    (device, inode) tells when two spellings (a folder and a file in it, a symlink) name one
    file. One ``stat`` gives it; ``Path.resolve`` costs a system call per path component, a
    tenth of the time of parsing a file.
    """
    out = []
    for path in paths:
        try:
            info = path.stat()
        except OSError:  # a dangling symlink, or removed since the folder was listed
            continue
        if stat.S_ISREG(info.st_mode):
            out.append(((info.st_dev, info.st_ino), path))
    return out


def load_corpus(
    paths: Iterable[str | Path],
    registry: ToolRegistry | None = None,
    categories: Sequence[str] = DEFAULT_CATEGORIES,
) -> ParseResult:
    """Parse every scenario file under ``paths`` and check ids are unique across them.

    ``scenarios`` holds the files without problems, in path order; ``problems`` holds every
    problem of every file, sorted by file then line.
    """
    registry = resolve_registry(registry)
    files, problems = find_files(paths)
    result = ParseResult(problems=problems)
    first_use: dict[str, tuple[Path, int]] = {}
    with _gc_paused():
        for path in files:
            _add_file(result, path, parse_path(path, registry, categories), first_use)
    result.problems.sort(key=lambda p: (str(p.path), p.line))
    log.debug("parsed %d files: %d valid, %d problems",
              len(files), len(result.scenarios), len(result.problems))  # fmt: skip
    return result


def _add_file(
    result: ParseResult, path: Path, parsed: Parsed, first_use: dict[str, tuple[Path, int]]
) -> None:
    """Add one parsed file to ``result``; ``first_use`` maps each id (case-folded: ids name
    files, and macOS and Windows file systems ignore case) to where it was seen."""
    result.problems += parsed.problems
    meta = parsed.meta
    if meta.id is not None:
        key = meta.id.casefold()
        if key in first_use:
            other, line = first_use[key]
            result.problems.append(Problem(
                path, meta.id_line, f"duplicate id {meta.id!r}: already used by "
                f"{other}:{line} (ids are compared ignoring case); ids must be unique "
                "across the corpus",
            ))  # fmt: skip
            parsed.scenario = None
        else:
            first_use[key] = (path, meta.id_line)
    if parsed.scenario is not None:
        result.scenarios.append(parsed.scenario)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector; reference counting still frees what parsing drops.

    A corpus load allocates millions of small containers (parse-tree nodes, turns, calls) and
    keeps the scenarios, so the collector runs every few hundred allocations and keeps
    re-walking the growing result: about a tenth of the load time, for nothing, as parsing
    makes no reference cycles. It runs as usual again once the load is done. (Mercurial's
    ``util.nogc`` does the same around its bulk parsing.)
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
