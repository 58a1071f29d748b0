"""``python -m dnd_ft.tools``: list the tools, generate their reference, run one call, check
a scenario corpus against the registry, or start a scenario for a tool.

    python -m dnd_ft.tools list [--tools FILE]
    python -m dnd_ft.tools docs [--tools FILE] [--out FILE]
    python -m dnd_ft.tools call NAME '{"notation": "2d6+3"}' [--seed N] [--tools FILE]
    python -m dnd_ft.tools check [--tools FILE] PATH...
    python -m dnd_ft.tools scaffold NAME [--tools FILE] [--out DIR] [--category C]

``check`` and ``scaffold`` read and write scenario files, a layer above this package: they
live in `dnd_ft.scenarios.toolcli`, and the entry point (``dnd_ft/tools/__main__.py``) adds
them through ``main(commands=...)``, so nothing in ``dnd_ft.tools`` imports the scenarios.

Exit codes: 0 ok, 1 bad registry file, failed call or problems found (the error goes to
stderr), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dnd_ft.tools.errors import RegistryError, ToolExecutionError
from dnd_ft.tools.registry import ToolRegistry


@dataclass(frozen=True)
class Command:
    """A subcommand defined outside this module (by a layer above; see the module docstring).

    configure: adds the command's own arguments (``--tools`` is already there).
    run: does the work and returns the exit status; `RegistryError` and `ToolExecutionError`
    are reported like the built-in commands' errors.
    """

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, ToolRegistry], int]


def main(argv: list[str] | None = None, commands: Sequence[Command] = ()) -> int:
    parser = _parser(commands)
    args = parser.parse_args(argv)
    extra = {command.name: command for command in commands}
    try:
        registry = ToolRegistry.from_file(args.tools) if args.tools else ToolRegistry.default()
        if args.cmd in extra:
            return extra[args.cmd].run(args, registry)
        if args.cmd == "list":
            _list(registry)
        elif args.cmd == "docs":
            _docs(registry, args.out)
        else:
            _call(registry, args.name, args.arguments, args.seed)
    except (RegistryError, ToolExecutionError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


def _parser(commands: Sequence[Command] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dnd_ft.tools", description="Inspect and run the D&D tool registry."
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--tools", type=Path, help="registry file (YAML/JSON); default configs/tools/default.yaml"
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", parents=[common], help="table of tools and their required arguments")
    p_docs = sub.add_parser("docs", parents=[common], help="markdown reference of the registry")
    p_docs.add_argument("--out", type=Path, help="write here instead of stdout")
    p_call = sub.add_parser(
        "call", parents=[common], help="run one tool call and print its JSON result"
    )
    p_call.add_argument("name")
    p_call.add_argument("arguments", help="the call's arguments as a JSON object")
    p_call.add_argument("--seed", type=int, default=0, help="seed of the dice (default 0)")
    for command in commands:
        command.configure(sub.add_parser(command.name, parents=[common], help=command.help))
    return parser


def _list(registry: ToolRegistry) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"tools: {registry.name} ({len(registry)})")
    table.add_column("name", style="bold")
    table.add_column("required args")
    table.add_column("description")
    for spec in registry:
        table.add_row(spec.name, ", ".join(spec.required), spec.description)
    Console(file=sys.stdout).print(table)


def _docs(registry: ToolRegistry, out: Path | None) -> None:
    from dnd_ft.tools.docs import render_markdown

    text = render_markdown(registry)
    if out is None:
        sys.stdout.write(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        sys.stdout.write(f"wrote {out}\n")


def _call(registry: ToolRegistry, name: str, arguments: str, seed: int) -> None:
    from dnd_ft.tools.executors import ToolExecutor

    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError as exc:
        raise ToolExecutionError(
            f"arguments are not valid JSON ({exc.msg}): {arguments!r}"
        ) from None
    result = ToolExecutor(registry, seed=seed).execute(name, parsed)
    sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
