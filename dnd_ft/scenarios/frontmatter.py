"""The YAML front matter between the leading ``---`` lines of a scenario file."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from dnd_ft.tools.registry import ToolRegistry

AddProblem = Callable[[int, str], None]

DEFAULT_CATEGORIES: tuple[str, ...] = (
    "combat",
    "exploration",
    "social",
    "rules",
    "puzzle",
    "trap",
    "travel",
    "shopping",
    "downtime",
)
KEYS = ("id", "title", "category", "tags", "tools")
# ids become record ids ``<id>/<flow>`` and file-system friendly names, so keep them plain
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# libyaml's C loader is several times faster than the pure-Python one; both are "safe"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class FrontMatter:
    """Validated front matter; ``id_line`` lets the corpus check point at the ``id:`` key."""

    id: str | None = None
    id_line: int = 0
    category: str = ""
    title: str = ""
    tags: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    tools_known: bool = False  # False when the front matter or its tools list is unreadable


def split(lines: list[str], add: AddProblem) -> tuple[str, int] | None:
    """Find the front matter in ``lines``: return ``(yaml_text, body_start)`` (0-based).

    Returns ``("", 0)`` when there is none (after reporting it) and ``None`` when it is
    opened but never closed (the whole file would be YAML, so parsing stops).
    """
    if not lines or lines[0].rstrip() != "---":
        add(
            1,
            "missing front matter: start the file with a '---' line, then YAML with "
            "at least 'id' and 'category', then a closing '---' line",
        )
        return "", 0
    for i in range(1, len(lines)):
        if lines[i].rstrip() in ("---", "..."):
            return "\n".join(lines[1:i]), i + 1
    add(1, "front matter is never closed: add a '---' line after the YAML")
    return None


def parse(
    text: str,
    add: AddProblem,
    categories: Sequence[str],
    registry: ToolRegistry,
) -> FrontMatter:
    """Parse and check the YAML ``text`` that starts on file line 2."""
    meta = FrontMatter()
    data, lines = _load(text, add)
    if data is None:
        return meta
    meta.tools_known = True
    for key, value in data.items():
        line = lines.get(str(key), 2)
        if key not in KEYS:
            add(
                line,
                f"unknown front-matter key {key!r}{_did_you_mean(str(key), KEYS)}; "
                f"allowed keys: {', '.join(KEYS)}",
            )
        elif key == "id":
            if isinstance(value, str) and _ID_RE.fullmatch(value):
                meta.id, meta.id_line = value, line
            else:
                add(
                    line,
                    f"'id' must be a word of letters, digits, '.', '_' or '-' (like "
                    f"goblin-ambush), got {value!r}",
                )
        elif key == "category":
            if isinstance(value, str) and value in categories:
                meta.category = value
            else:
                add(
                    line,
                    f"unknown category {value!r}{_did_you_mean(str(value), categories)}; "
                    f"allowed: {', '.join(categories)}",
                )
        elif key == "title":
            if isinstance(value, str):
                meta.title = value.strip()
            else:
                add(line, f"'title' must be a string, got {value!r}")
        else:  # tags, tools
            items = _string_list(key, value, line, add)
            if items is None:
                meta.tools_known = meta.tools_known and key != "tools"
            elif key == "tags":
                meta.tags = items
            else:
                meta.tools = _check_tools(items, line, add, registry)
    for key in ("id", "category"):
        if key not in data:
            add(1, f"front matter is missing required key {key!r}")
    return meta


def _load(text: str, add: AddProblem) -> tuple[dict[str, Any] | None, dict[str, int]]:
    """YAML-load ``text``, returning the mapping and the file line of each top-level key."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = _plain_mapping(node)
        if data is None and node is not None:
            data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        # an error found at the end of the YAML (unclosed bracket) points past its last line
        last = text.count("\n") + 2
        line = min(mark.line + 2, last) if mark is not None else 2
        context = getattr(exc, "context", None)
        problem = getattr(exc, "problem", None) or str(exc)
        add(line, f"invalid YAML in front matter: {f'{context}: ' if context else ''}{problem}")
        return None, {}
    finally:
        loader.dispose()
    if data is None:
        add(2, "empty front matter; add at least 'id' and 'category'")
        return None, {}
    if not isinstance(data, dict):
        add(
            2,
            "front matter must be a YAML mapping of keys (id, category, ...), "
            f"got {type(data).__name__}",
        )
        return None, {}
    # +2: YAML line 0 is file line 2 (line 1 is the opening '---')
    lines: dict[str, int] = {}  # keyed by the key's text: YAML may turn `1:` into an int
    for key_node, _ in node.value:
        key, line = str(key_node.value), key_node.start_mark.line + 2
        if key in lines:
            add(
                line,
                f"front-matter key {key!r} is given twice (first on line {lines[key]}); keep one",
            )
        lines[key] = line
    return data, lines


_STR = "tag:yaml.org,2002:str"


def _plain_mapping(node: yaml.Node | None) -> dict[str, Any] | None:
    """The usual front matter, a mapping of strings and lists of strings, read off the nodes.

    The composer has already resolved every scalar's tag, and a ``str`` scalar constructs to
    its ``value``, so this equals ``construct_document`` for such a mapping. PyYAML's
    constructor walks the same nodes in Python at about 5 us a value, a fifth of the time of
    parsing a whole scenario. Anything else (numbers, nulls, nesting, merge keys) returns
    None and goes through the constructor.
    """
    if not isinstance(node, yaml.MappingNode) or node.tag != "tag:yaml.org,2002:map":
        return None
    data: dict[str, Any] = {}
    for key, value in node.value:
        if type(key) is not yaml.ScalarNode or key.tag != _STR:
            return None
        if type(value) is yaml.ScalarNode and value.tag == _STR:
            data[key.value] = value.value
        elif type(value) is yaml.SequenceNode and value.tag == "tag:yaml.org,2002:seq":
            items = value.value
            if not all(type(item) is yaml.ScalarNode and item.tag == _STR for item in items):
                return None
            data[key.value] = [item.value for item in items]
        else:
            return None
    return data


def _string_list(key: str, value: Any, line: int, add: AddProblem) -> tuple[str, ...] | None:
    """``value`` as a tuple of names; None (after reporting) when it is not a list of names."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        add(line, f"{key!r} must be a list of names, like [a, b], got {value!r}")
        return None
    return tuple(value)


def _check_tools(
    tools: tuple[str, ...],
    line: int,
    add: AddProblem,
    registry: ToolRegistry,
) -> tuple[str, ...]:
    seen: set[str] = set()
    for name in tools:
        if name in seen:
            add(line, f"tool {name!r} is listed twice in 'tools'")
        elif name not in registry:
            known = registry.names()
            add(
                line,
                f"unknown tool {name!r} in 'tools'{_did_you_mean(name, known)}; "
                f"known tools: {', '.join(known)}",
            )
        seen.add(name)
    return tuple(dict.fromkeys(tools))


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
