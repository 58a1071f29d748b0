"""Reading tool specs from YAML / JSON files, with every problem named by file:line.

Accepted file shapes:

- a Hydra group file (``configs/tools/*.yaml``): a mapping with ``specs`` and optional
  ``extra_specs`` (added after them), ``name``, ``defaults``, ``srd_edition`` and ``seed``
  (the registry itself ignores the last two). ``defaults`` entries naming another file of the
  same folder (``- default``) are read first and merged as Hydra merges them, so a file that
  extends the default set gives the same tools here as ``tools=<file>`` does in a run;
- a bare list of ``{name, description, parameters}`` specs;
- a list in the OpenAI / Hugging Face ``{"type": "function", "function": {...}}`` form
  (the two spec forms may be mixed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from dnd_ft.tools.errors import RegistryError
from dnd_ft.tools.spec import ToolSpec, parse_spec

# Keys of the `tools` config group (dnd_ft/tools/config.py) plus Hydra's `defaults`.
_GROUP_KEYS = {"defaults", "name", "specs", "extra_specs", "srd_edition", "seed"}
SPEC_LISTS = ("specs", "extra_specs")  # a group's spec lists, in registry order


class Section(NamedTuple):
    """One list of raw spec entries and where it was read (``lines``: 1-based, per entry)."""

    key: str  # "specs" or "extra_specs": labels problems (``extra_specs[0]``)
    entries: Sequence[Any]
    source: str = "<specs>"
    lines: Sequence[int] = ()


def read_spec_file(path: str | Path) -> tuple[str, list[ToolSpec]]:
    """Load ``(registry name, specs)`` from a YAML or JSON file; raise `RegistryError` on any problem."""
    path = Path(path)
    data, text = _load(path)
    if not isinstance(data, dict):
        if not isinstance(data, list):
            raise RegistryError(f"{path}: expected a list of tool specs, got {type(data).__name__}")
        return path.stem, parse_entries(data, source=str(path), lines=_entry_lines(text))
    merged = _merge_group(path, data, text, chain=(path.resolve(),))
    if "specs" not in merged:
        raise RegistryError(f"{path}: no 'specs' list; add `specs:` with one entry per tool")
    sections = []
    for key in SPEC_LISTS:
        if key not in merged:
            continue
        entries, source, source_text = merged[key]
        if not isinstance(entries, list):
            raise RegistryError(
                f"{source}: '{key}' must be a list of tool specs, got {type(entries).__name__}"
            )
        sections.append(Section(key, entries, str(source), _entry_lines(source_text, key)))
    name = merged.get("name", (None,))[0]
    return str(name or path.stem), parse_sections(sections)


def parse_entries(
    entries: Iterable[Any], source: str = "<specs>", lines: Sequence[int] = ()
) -> list[ToolSpec]:
    """Parse every entry; raise one `RegistryError` listing all bad entries and duplicates."""
    return parse_sections([Section("specs", list(entries), source, lines)])


def parse_sections(sections: Iterable[Section]) -> list[ToolSpec]:
    """Parse the entries of every section in order; one `RegistryError` lists every bad entry
    and every name used twice (across sections too)."""
    specs: list[ToolSpec] = []
    problems: list[str] = []
    seen: dict[str, str] = {}  # tool name -> label of its first entry
    for section in sections:
        for index, entry in enumerate(section.entries):
            lines = section.lines
            where = f"{section.source}:{lines[index]}" if index < len(lines) else section.source
            label = f"{section.key}[{index}]"
            first_label = label
            if name := _entry_name(entry):
                label += f" ({name!r})"
            spec, entry_problems = parse_spec(entry)
            problems.extend(f"{where}: {label}: {p}" for p in entry_problems)
            if spec is None:
                continue
            if spec.name in seen:
                problems.append(
                    f"{where}: {label}: duplicate tool name {spec.name!r} "
                    f"(first at {seen[spec.name]})"
                )
                continue
            seen[spec.name] = first_label
            specs.append(spec)
    if problems:
        raise RegistryError(f"{len(problems)} problem(s) in tool specs:\n" + "\n".join(problems))
    return specs


def _load(path: Path) -> tuple[Any, str]:
    """The parsed content and the text of a YAML or JSON file."""
    if not path.is_file():
        raise RegistryError(f"{path}: no such tool registry file")
    suffix = path.suffix.lower()
    if suffix not in {".yaml", ".yml", ".json"}:
        raise RegistryError(f"{path}: unknown registry format {suffix!r}; use .yaml, .yml or .json")
    text = path.read_text(encoding="utf-8")
    try:
        return (json.loads(text) if suffix == ".json" else yaml.safe_load(text)), text
    except json.JSONDecodeError as exc:
        raise RegistryError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise RegistryError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None


def _merge_group(
    path: Path, data: dict[str, Any], text: str, chain: tuple[Path, ...]
) -> dict[str, tuple[Any, Path, str]]:
    """A group file's keys merged over the sibling files its ``defaults`` name, as Hydra does:
    in list order, ``_self_`` (last when not listed) standing for the file's own keys, a key
    set later replacing the whole earlier value (lists too). Each key keeps the file it came
    from, so problems name that file's lines. Entries naming no file of the folder are
    Hydra's own (``/schema/tools@_here_``, a ConfigStore name such as ``base_tools``) and are
    skipped; Hydra itself rejects a misspelt one when the file is composed (``tools=<file>``).
    ``chain``: the files being read, for cycles."""
    unknown = sorted(set(data) - _GROUP_KEYS)
    if unknown:
        raise RegistryError(
            f"{path}: unknown top-level key(s) {', '.join(unknown)}; "
            f"a registry file has {', '.join(sorted(_GROUP_KEYS))}"
        )
    defaults = data.get("defaults") or []
    if not isinstance(defaults, list):
        raise RegistryError(f"{path}: 'defaults' must be a list, got {type(defaults).__name__}")
    if "_self_" not in defaults:
        defaults = [*defaults, "_self_"]
    own = {k: (v, path, text) for k, v in data.items() if k != "defaults"}
    merged: dict[str, tuple[Any, Path, str]] = {}
    for item in defaults:
        if item == "_self_":
            merged.update(own)
        elif isinstance(item, str) and (path.parent / f"{item}.yaml").is_file():
            merged.update(_read_base(path, item, chain))
    return merged


def _read_base(path: Path, item: str, chain: tuple[Path, ...]) -> dict[str, tuple[Any, Path, str]]:
    """The merged keys of the sibling file named by ``item``, a ``defaults`` entry of ``path``."""
    base = path.parent / f"{item}.yaml"
    if base.resolve() in chain:
        names = " -> ".join(p.name for p in (*chain, base))
        raise RegistryError(f"{path}: defaults form a cycle ({names}); remove one of the entries")
    data, text = _load(base)
    if not isinstance(data, dict):
        raise RegistryError(
            f"{path}: defaults entry {item!r}: {base} is a bare list, not a group file with specs"
        )
    return _merge_group(base, data, text, (*chain, base.resolve()))


def _entry_name(entry: Any) -> str | None:
    """The tool name of a raw entry in either form, for error labels."""
    if not isinstance(entry, Mapping):
        return None
    inner = entry.get("function")
    name = inner.get("name") if isinstance(inner, Mapping) else entry.get("name")
    return name if isinstance(name, str) else None


def _entry_lines(text: str, key: str = "specs") -> list[int]:
    """1-based line of each entry of the ``key`` list (or of a bare list), read from the YAML
    node tree (JSON is YAML too).

    Best effort: an empty list when the structure is unusual; errors then name only the file.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    if isinstance(node, yaml.MappingNode):
        node = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
    if not isinstance(node, yaml.SequenceNode):
        return []
    return [item.start_mark.line + 1 for item in node.value]
