"""Load a whole corpus of scenario files: every file parsed, every problem reported."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dnd_ft.scenarios.frontmatter import DEFAULT_CATEGORIES
from dnd_ft.scenarios.model import ParseResult, Problem
from dnd_ft.scenarios.parser import parse_path, resolve_registry

if TYPE_CHECKING:
    from dnd_ft.tools.registry import ToolRegistry

log = logging.getLogger(__name__)


def find_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Problem]]:
    """Expand ``paths`` (files, or folders searched recursively for ``*.md``).

    Returns the files in a stable order, each once, and a problem per missing path or
    folder without scenario files.
    """
    files: dict[Path, Path] = {}  # resolved -> as given, so output keeps the user's spelling
    problems = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.md") if p.is_file())
            if not found:  # most likely a wrong path: an empty corpus must not pass lint
                problems.append(Problem(path, 0, "no *.md scenario files in this folder"))
        elif path.is_file():
            found = [path]
        else:
            problems.append(Problem(path, 0, "no such file or folder"))
            continue
        for file in found:
            files.setdefault(file.resolve(), file)
    return list(files.values()), problems


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
    for path in files:
        parsed = parse_path(path, registry, categories)
        result.problems += parsed.problems
        meta = parsed.meta
        if meta.id is not None:
            if meta.id in first_use:
                other, line = first_use[meta.id]
                result.problems.append(Problem(
                    path, meta.id_line, f"duplicate id {meta.id!r}: already used by "
                    f"{other}:{line}; ids must be unique across the corpus",
                ))  # fmt: skip
                parsed.scenario = None
            else:
                first_use[meta.id] = (path, meta.id_line)
        if parsed.scenario is not None:
            result.scenarios.append(parsed.scenario)
    result.problems.sort(key=lambda p: (str(p.path), p.line))
    log.debug("parsed %d files: %d valid, %d problems",
              len(files), len(result.scenarios), len(result.problems))  # fmt: skip
    return result
