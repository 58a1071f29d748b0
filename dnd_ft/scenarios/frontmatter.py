"""The YAML front matter between the leading ``---`` lines of a scenario file."""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
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
# ids become record ids ``<id>/<flow>`` and file names: letters and digits of any script
# (NFC, so "é" typed either way is one id), combining marks after the first character, and
# ". _ -"; nothing a file system treats specially (no "/", spaces, controls or leading dot).
ID_PUNCTUATION = "._-"
ID_RULE = (
    "'id' must start with a letter or digit and hold only letters, digits, combining marks, "
    "'.', '_' or '-' (like goblin-ambush or taverne-élan)"
)


_NO_ID_PUNCTUATION = str.maketrans("", "", ID_PUNCTUATION)


def normalize_id(value: str) -> str | None:
    """``value`` in NFC when it is a valid scenario id, else None."""
    if value.isascii():  # the usual id: the same rule by str methods, a tenth of the cost
        valid = 0 < len(value) <= 200 and value[0].isalnum()
        return value if valid and value.translate(_NO_ID_PUNCTUATION).isalnum() else None
    return _normalize_any_id(value)


def _normalize_any_id(value: str) -> str | None:
    """:func:`normalize_id` for any text, character by character."""
    text = unicodedata.normalize("NFC", value)
    if not text or len(text.encode()) > 200 or not _id_char(text[0], first=True):
        return None
    return text if all(_id_char(ch) for ch in text[1:]) else None


def _id_char(ch: str, first: bool = False) -> bool:
    kind = unicodedata.category(ch)
    if kind[0] == "L" or kind == "Nd":
        return True
    return not first and (kind[0] == "M" or ch in ID_PUNCTUATION)


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
                f"unknown front-matter key {key!r}{did_you_mean(str(key), KEYS)}; "
                f"allowed keys: {', '.join(KEYS)}",
            )
        elif key == "id":
            normal = normalize_id(value) if isinstance(value, str) else None
            if normal is not None:
                meta.id, meta.id_line = normal, line
            else:
                add(line, f"{ID_RULE}, got {value!r}")
        elif key == "category":
            if isinstance(value, str) and value in categories:
                meta.category = value
            else:
                add(
                    line,
                    f"unknown category {value!r}{did_you_mean(str(value), categories)}; "
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
    simple = _simple_mapping(text)
    if simple is not None:
        return _with_lines(simple[0], simple[1], add)
    return _yaml_load(text, add)


def _yaml_load(text: str, add: AddProblem) -> tuple[dict[str, Any] | None, dict[str, int]]:
    """:func:`_load` by PyYAML, for any front matter."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        context = getattr(exc, "context", None)
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        if context and context.startswith(_UNFINISHED):  # found only on a later line
            mark = getattr(exc, "context_mark", None) or mark
        # an error found at the end of the YAML (unclosed bracket) points past its last line
        last = text.count("\n") + 2
        line = min(mark.line + 2, last) if mark is not None else 2
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
    return _with_lines(data, [(str(k.value), k.start_mark.line + 2) for k, _ in node.value], add)


# YAML errors about something left open (a '[' or '{', a quote, a key without ':'): the
# parser notices on a later line, but the line that opened it is the one to fix
_UNFINISHED = (
    "while parsing a flow",
    "while scanning a quoted scalar",
    "while scanning a simple key",
)


def _with_lines(
    data: dict[str, Any], keys: list[tuple[str, int]], add: AddProblem
) -> tuple[dict[str, Any], dict[str, int]]:
    """``data`` and the file line of each key (its text, as YAML may turn ``1:`` into an int);
    ``keys`` are the keys' texts and lines in file order, repeats reported."""
    lines: dict[str, int] = {}
    for key, line in keys:
        if key in lines:
            add(
                line,
                f"front-matter key {key!r} is given twice (first on line {lines[key]}); keep one",
            )
        lines[key] = line
    return data, lines


_STR = "tag:yaml.org,2002:str"
# The usual front matter line, ``key: value`` or ``key: [a, b]``, with only unquoted scalars
# that cannot be read as anything but plain text (no leading indicator, no ': ', no '#', no
# escapes, quotes only inside), or quoted ones without quotes or backslashes inside. Printable
# characters only, minus YAML 1.1's extra line breaks (U+0085, U+2028, U+2029).
_TEXT = "\u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
_PLAIN = rf"[A-Za-z0-9_{_TEXT}][A-Za-z0-9_ .,'()/!?&+*$%=<>@`^|~\\\-{_TEXT}]*"
_ITEM = rf"[A-Za-z0-9_{_TEXT}][A-Za-z0-9_ .'()/!?&+*$%=<>@`^|~\\\-{_TEXT}]*"
_QUOTED = r"\"[^\"\\\x00-\x1f\x7f-\x9f\u2028\u2029]*\"|'[^'\x00-\x1f\x7f-\x9f\u2028\u2029]*'"
_SIMPLE_LINE = re.compile(
    rf"([A-Za-z_][A-Za-z0-9_-]*): +"  # key
    rf"(?:({_QUOTED}|{_PLAIN})|\[ *((?:{_ITEM})(?: *, *(?:{_ITEM}))*)? *\]) *"  # value | [items]
)
_ITEM_SPLIT = re.compile(" *, *")
_RESOLVER = yaml.resolver.Resolver()  # what CSafeLoader resolves plain scalars with


def _simple_mapping(text: str) -> tuple[dict[str, Any], list[tuple[str, int]]] | None:
    """The front matter and its keys' lines when every line is blank or a ``_SIMPLE_LINE``
    whose scalars all resolve to strings; None when PyYAML must read it.

    PyYAML took about a tenth of the time of linting a scenario (its C composer calls back
    into Python for every scalar); this reads the usual shape in a few regex matches and asks
    PyYAML's own resolver how each plain scalar would be typed (``yes``, ``1:30``, ``~`` are
    not strings). A test checks that it and PyYAML agree on fuzzed front matter.
    """
    data: dict[str, Any] = {}
    keys: list[tuple[str, int]] = []
    for number, line in enumerate(text.split("\n"), start=2):
        if not line.strip(" "):
            continue
        read = _simple_line(line)
        if read is None:
            return None
        key, value = read
        data[key] = list(value) if isinstance(value, tuple) else value
        keys.append((key, number))
    return (data, keys) if data else None


@functools.lru_cache(maxsize=4096)  # "category: combat", "tools: [...]" repeat across files
def _simple_line(line: str) -> tuple[str, str | tuple[str, ...]] | None:
    """The key and value (a tuple for a list) of a ``_SIMPLE_LINE`` whose scalars all read
    as strings, else None."""
    match = _SIMPLE_LINE.fullmatch(line)
    if match is None:
        return None
    key, scalar, items = match.groups()
    value: str | tuple[str, ...]
    if scalar is not None:
        if scalar[0] in "'\"":
            value = scalar[1:-1]
        elif not _is_text(scalar := scalar.rstrip(" ")):
            return None
        else:
            value = scalar
    else:
        value = tuple(item.rstrip(" ") for item in _ITEM_SPLIT.split(items)) if items else ()
        if not all(_is_text(item) for item in value):
            return None
    return (key, value) if _is_text(key) else None


@functools.lru_cache(maxsize=4096)  # keys, categories and tool names repeat across files
def _is_text(scalar: str) -> bool:
    """Whether PyYAML reads the plain scalar ``scalar`` as a string."""
    if scalar[0] not in _RESOLVER.yaml_implicit_resolvers:
        return True  # no implicit type starts with this character
    return _RESOLVER.resolve(yaml.ScalarNode, scalar, (True, False)) == _STR


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
                f"unknown tool {name!r} in 'tools'{did_you_mean(name, known)}; "
                f"known tools: {', '.join(known)}",
            )
        seen.add(name)
    return tuple(dict.fromkeys(tools))


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the choice closest to ``word``, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
