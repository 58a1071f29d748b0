"""Reading tool specs from YAML / JSON files, with every problem named by file:line.

Accepted file shapes:

- a Hydra group file (``configs/tools/*.yaml``): a mapping with ``specs`` (and ``name``,
  ``defaults``, ``srd_edition``, ``seed``, which the registry itself ignores);
- a bare list of ``{name, description, parameters}`` specs;
- a list in the OpenAI / Hugging Face ``{"type": "function", "function": {...}}`` form
  (the two spec forms may be mixed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from dnd_ft.tools.errors import RegistryError
from dnd_ft.tools.spec import ToolSpec, parse_spec

# Keys of the `tools` config group (dnd_ft/config/schema/tools.py) plus Hydra's `defaults`.
_GROUP_KEYS = {"defaults", "name", "specs", "srd_edition", "seed"}


def read_spec_file(path: str | Path) -> tuple[str, list[ToolSpec]]:
    """Load ``(registry name, specs)`` from a YAML or JSON file; raise `RegistryError` on any problem."""
    path = Path(path)
    if not path.is_file():
        raise RegistryError(f"{path}: no such tool registry file")
    suffix = path.suffix.lower()
    if suffix not in {".yaml", ".yml", ".json"}:
        raise RegistryError(f"{path}: unknown registry format {suffix!r}; use .yaml, .yml or .json")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise RegistryError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise RegistryError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None

    name = path.stem
    if isinstance(data, dict):
        unknown = sorted(set(data) - _GROUP_KEYS)
        if unknown:
            raise RegistryError(
                f"{path}: unknown top-level key(s) {', '.join(unknown)}; "
                f"a registry file has {', '.join(sorted(_GROUP_KEYS))}"
            )
        if "specs" not in data:
            raise RegistryError(f"{path}: no 'specs' list; add `specs:` with one entry per tool")
        name = str(data.get("name") or name)
        entries = data["specs"]
    else:
        entries = data
    if not isinstance(entries, list):
        raise RegistryError(f"{path}: expected a list of tool specs, got {type(entries).__name__}")
    return name, parse_entries(entries, source=str(path), lines=_entry_lines(text))


def parse_entries(
    entries: Iterable[Any], source: str = "<specs>", lines: Sequence[int] = ()
) -> list[ToolSpec]:
    """Parse every entry; raise one `RegistryError` listing all bad entries and duplicates."""
    specs: list[ToolSpec] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        where = f"{source}:{lines[index]}" if index < len(lines) else source
        label = f"specs[{index}]"
        if name := _entry_name(entry):
            label += f" ({name!r})"
        spec, entry_problems = parse_spec(entry)
        problems.extend(f"{where}: {label}: {p}" for p in entry_problems)
        if spec is None:
            continue
        if spec.name in seen:
            problems.append(
                f"{where}: {label}: duplicate tool name {spec.name!r} (first at specs[{seen[spec.name]}])"
            )
            continue
        seen[spec.name] = index
        specs.append(spec)
    if problems:
        raise RegistryError(f"{len(problems)} problem(s) in tool specs:\n" + "\n".join(problems))
    return specs


def _entry_name(entry: Any) -> str | None:
    """The tool name of a raw entry in either form, for error labels."""
    if not isinstance(entry, Mapping):
        return None
    inner = entry.get("function")
    name = inner.get("name") if isinstance(inner, Mapping) else entry.get("name")
    return name if isinstance(name, str) else None


def _entry_lines(text: str) -> list[int]:
    """1-based line of each spec entry, read from the YAML node tree (JSON is YAML too).

    Best effort: an empty list when the structure is unusual; errors then name only the file.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    if isinstance(node, yaml.MappingNode):
        node = next((v for k, v in node.value if getattr(k, "value", None) == "specs"), None)
    if not isinstance(node, yaml.SequenceNode):
        return []
    return [item.start_mark.line + 1 for item in node.value]
