"""``python -m dnd_ft.tools check`` and ``scaffold``: the tools commands that read or write
scenario files. They live here, above `dnd_ft.tools`, and `dnd_ft/tools/__main__.py` adds them
to the tools CLI (`dnd_ft.tools.cli.Command`).

    python -m dnd_ft.tools check [--tools FILE] PATH...
    python -m dnd_ft.tools scaffold NAME [--tools FILE] [--out DIR] [--category C]

``check``: exit 1 when any problem is found (each as file:line: message on stdout), else 0;
the one-line summary goes to stderr, as ``python -m dnd_ft.scenarios lint`` does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dnd_ft.scenarios.frontmatter import DEFAULT_CATEGORIES
from dnd_ft.tools.cli import Command
from dnd_ft.tools.errors import UnknownToolError
from dnd_ft.tools.registry import ToolRegistry


def _configure_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH",
        help="scenario files, or folders searched recursively for *.md",
    )  # fmt: skip


def _check(args: argparse.Namespace, registry: ToolRegistry) -> int:
    from dnd_ft.scenarios.toolcheck import check_corpus

    check = check_corpus(args.paths, registry)
    for problem in check.problems:
        sys.stdout.write(f"{problem}\n")
    if check.problems:
        files = len({p.path for p in check.problems})
        sys.stderr.write(
            f"{len(check.problems)} problem(s) in {files} file(s) against registry "
            f"{registry.name!r}; checked {check.summary()}\n"
        )
        return 1
    sys.stderr.write(f"ok: registry {registry.name!r}: {check.summary()}\n")
    return 0


def _configure_scaffold(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the tool the scenario offers and calls")
    parser.add_argument(
        "--out", type=Path, default=Path("."), metavar="DIR",
        help="folder to write <name>-starter.md into (default: the current folder)",
    )  # fmt: skip
    parser.add_argument(
        "--category", choices=DEFAULT_CATEGORIES, default="rules",
        help="the scenario's category (default: rules)",
    )  # fmt: skip


def _scaffold(args: argparse.Namespace, registry: ToolRegistry) -> int:
    from dnd_ft.scenarios.scaffold import write_scaffold

    try:
        path = write_scaffold(registry, args.name, args.out, args.category, args.tools)
    except UnknownToolError as exc:
        sys.stderr.write(f"error: {exc}; scaffold one of those, or pass --tools FILE\n")
        return 1
    except FileExistsError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    sys.stdout.write(f"wrote {path}: replace its TODOs, then lint it\n")
    return 0


CHECK = Command(
    "check",
    "check scenario files against the registry: unknown tools, calls failing their schema",
    _configure_check,
    _check,
)
SCAFFOLD = Command(
    "scaffold",
    "write a starter scenario that offers and calls one tool",
    _configure_scaffold,
    _scaffold,
)
COMMANDS = (CHECK, SCAFFOLD)
