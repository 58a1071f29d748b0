"""``python -m dnd_ft.registry``: the versions of each model line, their lineage and aliases.

    python -m dnd_ft.registry list [--line LINE]
    python -m dnd_ft.registry show VERSION            # v2, latest, dm-qwen3:production
    python -m dnd_ft.registry diff V1 V2
    python -m dnd_ft.registry promote VERSION --alias production
    python -m dnd_ft.registry verify VERSION          # every recorded file, by sha256
    python -m dnd_ft.registry export VERSION [OVERRIDE ...]   # e.g. export=gguf_q4_k_m

``--dir`` is the registry (default: outputs/registry of this checkout, or $DND_FT_REGISTRY);
``--line`` picks the model line when the registry has several. Exit codes: 0 ok, 1 a
registry problem (the message says which and how to fix it), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from dnd_ft.registry.store import ModelRegistryError, Registry, Version

HEADLINE = ("eval/tool_name_f1", "eval/tool_args_exact", "eval/rouge_l",
            "forgetting/tool_name_f1_delta")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    registry = Registry(args.dir)
    try:
        if args.cmd == "list":
            _list(registry, args.line)
        elif args.cmd == "show":
            _show(registry.resolve(args.version, _line(registry, args.line, args.version)))
        elif args.cmd == "diff":
            a = registry.resolve(args.a, _line(registry, args.line, args.a))
            b = registry.resolve(args.b, _line(registry, args.line, args.b))
            sys.stdout.write(render_diff(a, b))
        elif args.cmd == "promote":
            line = _line(registry, args.line, args.version)
            version = registry.promote(args.version, args.alias, line)
            sys.stdout.write(f"{version.line}: {args.alias} -> {version.name}\n")
        elif args.cmd == "verify":
            version = registry.resolve(args.version, _line(registry, args.line, args.version))
            problems = registry.verify(version)
            for problem in problems:
                sys.stderr.write(problem + "\n")
            if problems:
                return 1
            sys.stdout.write(
                f"{version.ref}: {len(version.record.get('files', {}))} files intact\n"
            )
        else:
            version = registry.resolve(args.version, _line(registry, args.line, args.version))
            return export(registry, version, args.overrides)
    except ModelRegistryError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


def default_dir() -> Path:
    from dnd_ft.locations import project_root

    return Path(os.environ.get("DND_FT_REGISTRY") or project_root() / "outputs" / "registry")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dnd_ft.registry",
                                     description="Model versions, lineage and aliases.")  # fmt: skip
    parser.add_argument("--dir", type=Path, default=default_dir(), help="the registry folder")
    parser.add_argument("--line", help="model line (default: the only one)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="every version with its parent, aliases and scores")
    sub.add_parser("show", help="one version's record").add_argument("version")
    p_diff = sub.add_parser("diff", help="what changed between two versions")
    p_diff.add_argument("a")
    p_diff.add_argument("b")
    p_promote = sub.add_parser("promote", help="point an alias at a version")
    p_promote.add_argument("version")
    p_promote.add_argument("--alias", required=True, help="e.g. production")
    sub.add_parser("verify", help="check a version's files by sha256").add_argument("version")
    p_export = sub.add_parser("export", help="run the export stage on a version, keep the result")
    p_export.add_argument("version")
    p_export.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. export=gguf_q4_k_m")
    return parser


def _line(registry: Registry, line: str | None, ref: str) -> str | None:
    if line or ":" in ref:
        return line
    lines = registry.lines()
    if len(lines) == 1:
        return lines[0]
    if not lines:
        raise ModelRegistryError(f"registry {registry.root} is empty; register a run first "
                            "(stages=[data,train,eval,register])")  # fmt: skip
    raise ModelRegistryError(f"registry {registry.root} has lines {', '.join(lines)}; pick one "
                        f"with --line or write <line>:{ref}")  # fmt: skip


def _list(registry: Registry, only: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    if not registry.lines():
        sys.stderr.write(f"registry {registry.root} is empty; register a run with "
                         "stages=[data,train,eval,register] (docs/maintenance.md)\n")  # fmt: skip
        return
    table = Table(title=f"registry {registry.root}")
    for column in ("version", "aliases", "parent", "base model", "scenarios (train)",
                   "tools", *(h.split("/", 1)[1] for h in HEADLINE), "exports"):  # fmt: skip
        table.add_column(column)
    for line in [only] if only else registry.lines():
        aliases: dict[str, list[str]] = {}
        for alias, name in registry.aliases(line).items():
            aliases.setdefault(name, []).append(alias)
        for v in registry.versions(line):
            r = v.record
            parent = (r.get("parent") or {}).get("ref", "")
            table.add_row(v.ref, ", ".join(sorted(aliases.get(v.name, []))), parent,
                          r["base_model"].get("name", ""),
                          str(len(r["data"]["scenarios"].get("train", []))),
                          str(len(r["tools"]["names"])),
                          *(_fmt(r["metrics"].get(h)) for h in HEADLINE),
                          ", ".join(_export_label(e) for e in r.get("exports", [])))  # fmt: skip
    Console(file=sys.stdout, width=200).print(table)


def _show(version: Version) -> None:
    record = {k: v for k, v in version.record.items() if k != "config"}
    record["path"] = str(version.path)
    record["files"] = len(record.get("files", {}))
    sys.stdout.write(json.dumps(record, indent=2) + "\n")


def render_diff(a: Version, b: Version) -> str:
    """What differs between two versions: lineage, data, tools, settings and scores."""
    ra, rb = a.record, b.record
    lines = [f"{a.ref} -> {b.ref}"]

    def row(label: str, x: Any, y: Any) -> None:
        if x != y:
            lines.append(f"  {label}: {x} -> {y}")

    row("base model", ra["base_model"].get("name"), rb["base_model"].get("name"))
    row("chat format", ra.get("chat_format"), rb.get("chat_format"))
    row("parent", (ra.get("parent") or {}).get("ref"), (rb.get("parent") or {}).get("ref"))
    row("data sha256", ra["data"]["sha256"][:12], rb["data"]["sha256"][:12])
    for split in ("train", "val", "test"):
        old = set(ra["data"]["scenarios"].get(split, []))
        new = set(rb["data"]["scenarios"].get(split, []))
        if old != new:
            lines.append(f"  {split} scenarios: +{sorted(new - old)} -{sorted(old - new)}")
    added = sorted(set(rb["tools"]["names"]) - set(ra["tools"]["names"]))
    removed = sorted(set(ra["tools"]["names"]) - set(rb["tools"]["names"]))
    if added or removed:
        lines.append(f"  tools: +{added} -{removed}")
    row("seed", ra.get("seed"), rb.get("seed"))
    row("code", (ra.get("code") or {}).get("commit"), (rb.get("code") or {}).get("commit"))
    for key in sorted(set(_flat(ra.get("config", {}).get("trainer", {}), "trainer"))
                      | set(_flat(rb.get("config", {}).get("trainer", {}), "trainer"))):  # fmt: skip
        x = _flat(ra.get("config", {}).get("trainer", {}), "trainer").get(key)
        y = _flat(rb.get("config", {}).get("trainer", {}), "trainer").get(key)
        row(key, x, y)
    for key in sorted(set(ra["metrics"]) | set(rb["metrics"])):
        if key.startswith(("eval/", "forgetting/", "export/")) and not _counter(key):
            x, y = ra["metrics"].get(key), rb["metrics"].get(key)
            if isinstance(x, float) and isinstance(y, float):
                if abs(x - y) > 1e-9:
                    lines.append(f"  {key}: {x:.4f} -> {y:.4f} ({y - x:+.4f})")
            else:
                row(key, x, y)
    return "\n".join(lines) + "\n"


def export(registry: Registry, version: Version, overrides: list[str]) -> int:
    """Run the export stage on ``version``'s adapter in a run folder of its own, then add
    what it wrote to the version (files first, then the record: never a dangling entry)."""
    from dnd_ft.registry.stage import add_exports_to

    if version.adapter_dir is None:
        raise ModelRegistryError(f"{version.ref} is a whole model, not an adapter; its weights "
                            "are the export (merged/)")  # fmt: skip
    model = version.record["base_model"]["name"]
    run_dir = version.path.parent / f".export-{version.name}-{os.getpid()}"
    command = [sys.executable, "-m", "dnd_ft", "stages=[export]", f"model={model}",
               f"export.adapter_dir={version.adapter_dir}", f"hydra.run.dir={run_dir}",
               "tracking=none", *overrides]  # fmt: skip
    sys.stdout.write("+ " + " ".join(command) + "\n")
    sys.stdout.flush()
    code = subprocess.call(command)
    if code != 0:
        sys.stderr.write(f"error: the export failed (exit {code}); its log: {run_dir}/dnd_ft.log\n")
        return 1
    version = add_exports_to(registry, version, run_dir)
    shutil.rmtree(run_dir, ignore_errors=True)  # its files are the version's now (linked)
    sys.stdout.write(f"{version.ref}: {len(version.record['exports'])} export(s) recorded\n")
    return 0


def _counter(key: str) -> bool:
    """Counts and speeds: they change with every run and say nothing about quality."""
    last = key.rsplit("/", 1)[-1]
    return last.startswith("n_") or last.endswith("_per_s")


def _flat(value: Any, prefix: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.update(_flat(item, f"{prefix}.{key}"))
    return out


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else ("" if value is None else str(value))


def _export_label(entry: dict[str, Any]) -> str:
    return entry.get("quant") or entry["kind"]
