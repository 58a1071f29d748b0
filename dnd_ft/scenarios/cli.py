"""``python -m dnd_ft.scenarios``: lint, export and count scenario files.

    python -m dnd_ft.scenarios lint scenarios/
    python -m dnd_ft.scenarios export scenarios/ --out data/scenarios.jsonl
    python -m dnd_ft.scenarios stats scenarios/ --tools my_tools.yaml --categories combat,social

Exit status: 0 when every file is valid, 1 when any problem was found (``export`` then
writes nothing), 2 for bad command-line usage.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from dnd_ft.scenarios.corpus import load_corpus
from dnd_ft.scenarios.frontmatter import DEFAULT_CATEGORIES
from dnd_ft.scenarios.model import ParseResult
from dnd_ft.scenarios.records import iter_records
from dnd_ft.scenarios.stats import compute_stats, format_stats
from dnd_ft.tools.errors import RegistryError
from dnd_ft.tools.registry import ToolRegistry
from dnd_ft.utils.io import atomic_write_jsonl


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dnd_ft.scenarios",
        description="Lint, export and count D&D scenario markdown files.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="scenario files, or folders searched recursively for *.md",
    )
    common.add_argument(
        "--tools",
        type=Path,
        metavar="FILE",
        help="tool registry file (default: the built-in tools)",
    )
    common.add_argument(
        "--categories",
        type=_categories,
        default=DEFAULT_CATEGORIES,
        metavar="A,B,C",
        help=f"allowed categories (default: {', '.join(DEFAULT_CATEGORIES)})",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("lint", parents=[common], help="report every problem as file:line: message")
    export = sub.add_parser("export", parents=[common], help="write one chat record per flow")
    export.add_argument("--out", type=Path, required=True, metavar="FILE.jsonl")
    sub.add_parser("stats", parents=[common], help="count categories, tools and turns")
    return parser  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        registry = _load_registry(args.tools)
    except (RegistryError, OSError) as exc:
        sys.stderr.write(f"error: cannot load the tool registry: {exc}\n")
        return 2
    result = load_corpus(args.paths, registry, args.categories)
    if args.command == "lint":
        return _report(result)
    if args.command == "export":
        if _report(result, quiet_ok=True):
            sys.stderr.write(f"export refused: fix the problems above; {args.out} not written\n")
            return 1
        count = atomic_write_jsonl(args.out, iter_records(result.scenarios, registry))
        sys.stderr.write(f"wrote {count} records from {len(result.scenarios)} scenarios "
                         f"to {args.out}\n")  # fmt: skip
        return 0
    sys.stdout.write(format_stats(compute_stats(result.scenarios)))
    return _report(result, quiet_ok=True)


def _report(result: ParseResult, quiet_ok: bool = False) -> int:
    """Problems to stdout, a summary to stderr; return the exit status."""
    for problem in result.problems:
        sys.stdout.write(f"{problem}\n")
    flows = sum(len(s.flows) for s in result.scenarios)
    if result.problems:
        files = len({p.path for p in result.problems})
        sys.stderr.write(
            f"{len(result.problems)} problem(s) in {files} file(s); "
            f"{len(result.scenarios)} valid scenario(s)\n"
        )
        return 1
    if not quiet_ok:
        sys.stderr.write(f"ok: {len(result.scenarios)} scenario(s), {flows} flow(s)\n")
    return 0


def _categories(text: str) -> tuple[str, ...]:
    names = tuple(c.strip() for c in text.split(",") if c.strip())
    if not names:
        raise argparse.ArgumentTypeError("give at least one category, like combat,social")
    return names


def _load_registry(path: Path | None) -> ToolRegistry:
    return ToolRegistry.from_file(path) if path is not None else ToolRegistry.default()
