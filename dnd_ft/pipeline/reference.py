"""docs/configuration.md: every config key with its type, default and comment, from the schemas.

    python -m dnd_ft.pipeline.reference --out docs/configuration.md   # regenerate
    python -m dnd_ft.pipeline.reference --check                       # exit 1 when stale

The schema dataclasses carry no field metadata: a key is documented by the comment its author
wrote beside it (a trailing ``# ...``) or on the ``#`` lines just above it, so this module
reads those back from the source. ``ast`` says where each field's statement starts and ends,
``tokenize`` where the comments are (a ``#`` inside a string is not one); a comment block
after a blank line that follows another field is a heading over the keys below it
(``# Optimisation.`` in the trainer schema), not a key's own comment.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import inspect
import io
import re
import sys
import textwrap
import tokenize
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dnd_ft.pipeline import stages

COMMAND = "python -m dnd_ft.pipeline.reference --out docs/configuration.md"
DEFAULT_OUT = Path("docs/configuration.md")
# Sections beyond the stage registry's groups: the primary config's own keys first, the
# sweeper's (set by configs/sweep/*.yaml under hydra.sweeper) last.
RUN_KEYS = "dnd_ft.pipeline.schema:RunKeys"
SWEEPER = "dnd_ft.tuning.config:OptunaSweeperConfig"
# Intros of sections whose schema module's docstring covers more than the section.
INTROS = {
    "paths": "Where runs, caches and the bundled scenarios live.",
    "hydra.sweeper": "The `dnd_ft_optuna` sweeper (`hydra/sweeper=dnd_ft_optuna`), which the "
    "Optuna files of configs/sweep/ select and set; docs/sweeps.md explains a study.",
}
# Linters' pragmas share the comment with the description (``# type: ignore[...]  # tokens``).
_PRAGMA = re.compile(r"type:\s*ignore(\[[^\]]*\])?|fmt:\s*\w+|noqa(:[\w, ]+)?|pragma:.*")


@dataclass(frozen=True)
class Key:
    name: str  # dotted from the config root: trainer.lora.r
    type: str  # the annotation as written: str | None
    default: str  # rendered as a YAML value would be written; "" for a nested section
    doc: str  # the field's comments, pragmas removed


@dataclass
class Section:
    prefix: str  # dotted path of the section ("" for the primary config's own keys)
    intro: str  # the class docstring (for a group without one: its module's)
    source: str  # "module:Class"
    rows: list[Key | str] = field(default_factory=list)  # str: a heading over the keys below
    presets: list[tuple[str, str]] = field(default_factory=list)  # (path, first comment line)
    nested: bool = False  # a sub-section of the section before it


def comments(cls: type) -> tuple[dict[str, str], dict[str, str]]:
    """The comments of ``cls``'s fields: ``({field: its comment}, {field: heading above it})``."""
    source = textwrap.dedent(inspect.getsource(cls))
    lines = source.splitlines()
    found: dict[int, tuple[str, bool]] = {}  # line (1-based) -> (text, alone on its line)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            alone = not tok.line[: tok.start[1]].strip()
            found[tok.start[0]] = (_strip_pragmas(tok.string), alone)
    body = ast.parse(source).body[0]
    assert isinstance(body, ast.ClassDef)
    docs: dict[str, str] = {}
    headings: dict[str, str] = {}
    previous_end = 0  # last line of the field before, 0 before the first
    for node in body.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        name, start, end = node.target.id, node.lineno, node.end_lineno or node.lineno
        above: list[str] = []
        row = start - 1
        while row in found and found[row][1]:
            above.insert(0, found[row][0])
            row -= 1
        inline = [found[r][0] for r in range(start, end + 1) if r in found]
        # The block sits after a blank line that follows another field: a heading.
        if above and previous_end and not lines[row - 1].strip():
            headings[name] = " ".join(t for t in above if t)
            above = []
        docs[name] = " ".join(t for t in above + inline if t)
        previous_end = end
    return docs, headings


def _strip_pragmas(comment: str) -> str:
    """The description in a comment: ``# type: ignore[x]  # tokens`` -> ``tokens``."""
    parts = re.split(r"\s+#\s*", comment.lstrip("#").strip())
    return " ".join(p for p in parts if p and not _PRAGMA.fullmatch(p))


def sections(cls: type, prefix: str, source: str, intro: str = "") -> Iterator[Section]:
    """``cls`` as one section, then each nested dataclass (and list of them) as its own."""
    docs, headings = comments(cls)
    hints = _hints(cls)
    section = Section(prefix, intro or _docstring(cls), source, nested=not intro)
    nested: list[tuple[type, str]] = []
    for f in dataclasses.fields(cls):
        key = f"{prefix}.{f.name}" if prefix else f.name
        if f.name in headings:
            section.rows.append(headings[f.name])
        kind = _optional(hints.get(f.name))
        item = _list_item(kind)
        if dataclasses.is_dataclass(kind) or item:
            sub = kind if item is None else item
            nested.append((sub, key if item is None else f"{key}[]"))  # type: ignore[arg-type]
            where = f"section `{nested[-1][1]}`"
            default = where if item is None else f"{_default(f)}; items: {where}"
            section.rows.append(Key(key, _type(f), default, docs.get(f.name, "")))
            continue
        section.rows.append(Key(key, _type(f), _default(f), docs.get(f.name, "")))
    yield section
    for sub, key in nested:
        yield from sections(sub, key, f"{sub.__module__}:{sub.__qualname__}")


def _hints(cls: type) -> dict[str, object]:
    try:
        return typing.get_type_hints(cls)
    except (NameError, TypeError):  # an annotation that names what the module lacks at runtime
        return {}


def _optional(kind: object) -> object:
    """``X`` of ``X | None``, where X is a dataclass (walked like ``X``)."""
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    is_union = typing.get_origin(kind) in (typing.Union, types.UnionType)
    return args[0] if is_union and len(args) == 1 and dataclasses.is_dataclass(args[0]) else kind


def _list_item(kind: object) -> type | None:
    """The dataclass a ``list[...]`` field holds, if it holds one."""
    args = typing.get_args(kind)
    if typing.get_origin(kind) is list and args and dataclasses.is_dataclass(args[0]):
        return args[0]  # type: ignore[return-value]
    return None


def _type(f: dataclasses.Field[object]) -> str:
    kind = f.type
    return kind if isinstance(kind, str) else getattr(kind, "__name__", repr(kind))


def _default(f: dataclasses.Field[object]) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return "required"
    return "required (`???`)" if value == "???" else f"`{literal(value)}`"


def literal(value: object) -> str:
    """``value`` as a YAML value or command-line override would write it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return value or '""'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _docstring(cls: type) -> str:
    doc = cls.__doc__ or ""
    if doc.startswith(f"{cls.__name__}("):  # the signature dataclasses writes when there is none
        return ""
    return inspect.cleandoc(doc)


def _module_intro(cls: type) -> str:
    doc = inspect.getdoc(sys.modules[cls.__module__]) or ""
    return doc.split("\n\n")[0]


def presets(folder: str) -> list[tuple[str, str]]:
    """Each ``configs/<folder>/*.yaml`` with its first comment line (after ``@package``)."""
    from dnd_ft.config.store import CONFIG_DIR

    found = []
    for path in sorted((CONFIG_DIR / folder).glob("*.yaml")):
        first = ""
        for line in path.read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if text.startswith("#") and not text.startswith("# @package"):
                first = text.lstrip("#").strip()
                break
        found.append((f"configs/{folder}/{path.name}", first))
    return found


def build() -> list[Section]:
    """Every section in pipeline order: run keys, the groups as registered, the sweeper."""
    from dnd_ft.pipeline.config import OVERLAYS

    roots = [("", RUN_KEYS, "")] + [(g, group.schema, g) for g, group in stages.GROUPS.items()]
    roots.append(("hydra.sweeper", SWEEPER, "sweep"))
    out: list[Section] = []
    for prefix, path, folder in roots:
        cls = stages.resolve(path)
        intro = INTROS.get(prefix) or _docstring(cls) or _module_intro(cls)
        found = list(sections(cls, prefix, path, intro))
        if folder:
            found[0].presets = presets(folder)
        out += found
    for group in OVERLAYS:  # no schema of their own: they set keys of the sections above
        if group != "sweep":  # listed under hydra.sweeper
            intro = f"Overlay files, off unless chosen (`{group}=<name>`); each sets keys above."
            out.append(Section(group, intro, "", presets=presets(group)))
    return out


def render(parts: list[Section]) -> str:
    """The markdown page."""
    lines = [
        "# Configuration reference",
        "",
        f"<!-- Generated from the config schemas by `{COMMAND}`; edit the schemas' comments, "
        "not this file. -->",
        "",
        "Every key of the composed `train` config: its type, its default (the schema's; a "
        "preset file of the group may override it; `${...}` is an interpolation, resolved "
        "when the run starts) and the comment beside it in the schema. Set any key on the "
        "command line (`python -m dnd_ft trainer.lora.r=32`); a misspelt key stops the run "
        "naming it (docs/troubleshooting.md).",
        "",
    ]
    for s in parts:
        depth = "###" if s.nested else "##"
        title = f"`{s.prefix}`" if s.prefix else "Run keys"
        lines += [f"{depth} {title}", ""]
        if s.intro:
            lines += [_md(s.intro.replace("``", "`")), ""]
        if s.source:
            lines += [f"Schema: `{s.source}`.", ""]
        if s.rows:
            lines += ["| Key | Type | Default | Description |", "|---|---|---|---|"]
        for row in s.rows:
            if isinstance(row, str):
                lines.append(f"| **{_md(row)}** | | | |")
            else:
                cells = (f"`{row.name}`", f"`{row.type}`", row.default, row.doc)
                lines.append("| " + " | ".join(_md(c, table=True) for c in cells) + " |")
        if s.rows:
            lines.append("")
        if s.presets:
            lines += ["Preset files:", ""]
            for path, first in s.presets:
                lines.append(f"- [`{path}`](../{path}): {_preset_note(first)}".rstrip(": "))
            lines.append("")
    return "\n".join(lines)


def _preset_note(first: str) -> str:
    """A preset's first comment line: its run command as code, the note after it as text."""
    match = re.match(r"^(\S*python -m \S.*?)(?:\s{2,}\((.*))?$", first)
    if not match:
        return _md(first)
    command, note = match.groups()
    if note is None:
        return f"`{command.strip()}`"
    # The note may go on over the next comment lines: the file has the rest.
    note = note[:-1] if note.endswith(")") else f"{note} ..."
    return f"`{command.strip()}` ({_md(note)})"


def _md(text: str, table: bool = False) -> str:
    """``text`` safe in markdown: ``<`` and ``*`` escaped outside code spans, pipes in tables."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # even parts lie outside code spans
        parts[i] = parts[i].replace("<", "&lt;").replace("*", r"\*")
    out = "`".join(parts)
    return out.replace("|", r"\|") if table else out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dnd_ft.pipeline.reference", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--out", type=Path, help=f"write here (with --check: compare; default {DEFAULT_OUT})"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when the file differs")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        return check(args.out or DEFAULT_OUT, text)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {args.out}\n")
    return 0


def check(path: Path, text: str) -> int:
    """0 when ``path`` holds ``text``; else 1, with a short diff and the command to fix it."""
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    if old == text:
        return 0
    diff = list(
        difflib.unified_diff(
            old.splitlines(), text.splitlines(), str(path), "generated", lineterm="", n=0
        )
    )
    changed = [d for d in diff if d[:1] in "+-" and not d.startswith(("+++", "---"))]
    sys.stderr.write("\n".join(diff[:40]) + ("\n..." if len(diff) > 40 else "") + "\n")
    sys.stderr.write(f"{path} is stale ({len(changed)} line(s) differ); regenerate it: {COMMAND}\n")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
