"""Parse the body of a ```` ```tool_call ```` fence into :class:`ToolCall` objects.

Two spellings are accepted:

- JSON: one object ``{"name": ..., "arguments": {...}}`` or a list of such objects.
- Shorthand: one call per statement, ``roll_dice(notation="1d20+5", reason="attack")``.

The shorthand is parsed with :mod:`ast` and each keyword value is read from its literal
nodes (`_node_value`, a closure-free ``ast.literal_eval``); nothing is ever evaluated, so
``__import__('os').system('x')``
is rejected as "not a call of a plain tool name" without running anything. The common
shape (see :func:`_plain_shorthand`) is read by regular expressions first: ``ast.parse``
costs about 10 us a call, a twelfth of ``benchmarks/bench_scenarios.py``'s time without it.
"""

from __future__ import annotations

import ast
import json
import keyword
import re
from collections.abc import Callable
from typing import Any

from dnd_ft.scenarios.model import ToolCall

#: ``add(line, message)``: records one problem at a 1-based file line.
AddProblem = Callable[[int, str], None]

_JSON_HINT = 'expected {"name": "TOOL", "arguments": {...}} or a list of them'
_SHORTHAND_HINT = 'expected one call per line, like roll_dice(notation="1d20", reason="attack")'
_JSON_SPACE = re.compile(r"[ \t\n\r]*")  # whitespace as JSON defines it
_JSON_WHITESPACE = " \t\n\r"
_DECODER = json.JSONDecoder()
_CALL_KEYS = frozenset({"name", "arguments"})
_SCALARS = frozenset({str, int, float, bool, type(None)})  # JSON's scalar types


def parse_calls(body: str, first_line: int, add: AddProblem) -> list[ToolCall]:
    """Parse one tool_call fence body whose first line is file line ``first_line``.

    Problems go to ``add``; the calls that did parse are returned so later checks can still
    look at them.
    """
    stripped = body.strip()
    if not stripped:
        add(first_line - 1, f"empty tool_call block; {_SHORTHAND_HINT}")
        return []
    if stripped[0] in "{[":
        return _parse_json(body, first_line, add)
    return _parse_shorthand(body, first_line, add)


def json_error_line(text: str, exc: json.JSONDecodeError) -> int | None:
    """The 0-based line of ``text`` to blame for ``exc``; None when ``text`` is blank.

    That is the line where the decoder stopped (``exc.lineno - 1``), except where the fix
    belongs after the token before it: a missing ``,`` or ``:`` (the decoder notices it at
    the next token, often on the next line), a trailing ``,`` before ``}`` or ``]``, and
    text that ends early (a missing ``}``: the decoder stops at the end, which would be the
    closing fence's line).
    """
    pos = exc.pos
    before = text[:pos].rstrip(_JSON_WHITESPACE)
    if (
        exc.msg.endswith(" delimiter")
        or not text[pos:].strip(_JSON_WHITESPACE)
        or (before.endswith(",") and text[pos] in "]}")
    ):
        if not before:
            return None
        pos = len(before) - 1
    return text.count("\n", 0, pos)


def _parse_json(body: str, first_line: int, add: AddProblem) -> list[ToolCall]:
    try:
        data = _CALL_DECODER.decode(body)
    except json.JSONDecodeError as exc:
        line = first_line + (json_error_line(body, exc) or 0)  # body is not blank: never None
        add(line, f"invalid JSON in tool_call block: {exc.msg}; {_JSON_HINT}")
        return []
    except _DuplicateKeyError as exc:
        line = first_line + _line_of_repeat(body, exc.key)
        add(line, f"key {exc.key!r} is given twice in tool_call block; keep one")
        return []
    if not isinstance(data, list):
        line = first_line + body.count("\n", 0, _skip_space(body, 0))
        return _keep([_json_call(data, line, add)])
    if not data:
        line = first_line + body.count("\n", 0, _skip_space(body, 0))  # the '[' line
        add(line, f"empty list in tool_call block; {_JSON_HINT}")
    lines = _item_lines(body, first_line, len(data))
    return _keep([_json_call(item, line, add) for item, line in zip(data, lines, strict=True)])


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as a dict; json.loads alone would keep the last of two equal keys."""
    data = dict(pairs)
    if len(data) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return data


# json.loads(body, object_pairs_hook=...) builds a new decoder, scanner included, on every
# call: most of the cost of reading a short call. One shared decoder does the same (json.loads
# would also reject a leading BOM, but a body that starts with one is read as shorthand).
_CALL_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)


def _line_of_repeat(body: str, key: str) -> int:
    """Lines before the second ``"key":`` in ``body`` (0 when it is spelt with escapes)."""
    found = list(re.finditer(re.escape(json.dumps(key, ensure_ascii=False)) + r"[ \t\n\r]*:", body))
    return body.count("\n", 0, found[1].start()) if len(found) > 1 else 0


def _item_lines(body: str, first_line: int, count: int) -> list[int]:
    """The file line on which each of the ``count`` items of the JSON list ``body`` starts.

    json.loads keeps no positions. ``body`` already passed it, so it is valid JSON: the walk
    only skips whitespace and the '[' or ',' before each item, and the decoder steps over
    the item itself.
    """
    lines = []
    line, counted = first_line, 0  # ``line`` is the file line of body offset ``counted``
    pos = _skip_space(body, 0)  # at '['
    for _ in range(count):
        pos = _skip_space(body, pos + 1)  # past '[' or ',': the item's first character
        line += body.count("\n", counted, pos)
        counted = pos
        lines.append(line)
        pos = _skip_space(body, _DECODER.raw_decode(body, pos)[1])  # at ',' or ']'
    return lines


def _skip_space(text: str, pos: int) -> int:
    """Offset of the first character at or after ``pos`` that is not JSON whitespace."""
    if not pos:  # the usual call: str.lstrip costs a fifth of a regex match
        return len(text) - len(text.lstrip(_JSON_WHITESPACE))
    match = _JSON_SPACE.match(text, pos)
    return match.end() if match else pos  # '*' always matches; this keeps type checkers calm


def _keep(calls: list[ToolCall | None]) -> list[ToolCall]:
    return [call for call in calls if call is not None]


def _json_call(item: Any, line: int, add: AddProblem) -> ToolCall | None:
    if not isinstance(item, dict):
        add(line, f"tool call must be a JSON object, got {type(item).__name__}; {_JSON_HINT}")
        return None
    if extra := item.keys() - _CALL_KEYS:
        names = ", ".join(map(repr, sorted(extra)))
        add(line, f"unknown key(s) {names} in tool call; {_JSON_HINT}")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        add(line, f'tool call needs a string "name"; {_JSON_HINT}')
        return None
    arguments = item.get("arguments", None)
    if not isinstance(arguments, dict):
        add(line, f'tool call {name!r}: "arguments" must be a JSON object; {_JSON_HINT}')
        return None
    return ToolCall(name=name, arguments=arguments, line=line)


# One shorthand call per line with only literal keyword values: strings without escapes,
# small integers, True/False/None and flat lists of those. Spaces and tabs only: Python
# rejects some other whitespace (vertical tab, no-break space) outside strings.
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_SCALAR = (
    r"'[^'\\\n\r\x00\ud800-\udfff]*'|\"[^\"\\\n\r\x00\ud800-\udfff]*\""
    r"|-?(?:0|[1-9][0-9]{0,17})|True|False|None"
)
_SCALAR_RE = re.compile(_SCALAR)
_LIST = rf"\[[ \t]*(?:(?:{_SCALAR})[ \t]*(?:,[ \t]*(?:{_SCALAR})[ \t]*)*)?\]"
_CALL_HEAD_RE = re.compile(rf"({_IDENT})[ \t]*\([ \t]*")
_KWARG_RE = re.compile(rf"({_IDENT})[ \t]*=[ \t]*({_SCALAR}|{_LIST})[ \t]*([,)])[ \t]*")
_CONSTANTS = {"True": True, "False": False, "None": None}


def _plain_shorthand(body: str, first_line: int) -> list[ToolCall] | None:
    """The calls in ``body`` when every line is blank or one call in the common shape.

    None means "not sure": ``ast`` then parses the block and reports any problem. Only what
    Python would read the same way is accepted: no keywords as names, no repeated argument,
    no escapes in strings, no trailing comma, no indented line. A test checks that this and
    the ``ast`` path agree on fuzzed blocks.
    """
    if "\0" in body:
        return None
    calls = []
    for offset, line in enumerate(body.split("\n")):
        if not line.strip(" \t"):
            continue
        head = _CALL_HEAD_RE.match(line)
        if head is None or keyword.iskeyword(name := head[1]):
            return None
        arguments: dict[str, Any] = {}
        pos, closed = head.end(), line.startswith(")", head.end())
        if closed:
            pos += 1
        while not closed:
            kwarg = _KWARG_RE.match(line, pos)
            if kwarg is None or keyword.iskeyword(key := kwarg[1]) or key in arguments:
                return None
            arguments[key] = _plain_value(kwarg[2])
            pos, closed = kwarg.end(), kwarg[3] == ")"
        if line[pos:].strip(" \t"):
            return None
        calls.append(ToolCall(name, arguments, first_line + offset))
    return calls


def _plain_value(text: str) -> Any:
    """The value of a literal that matched ``_SCALAR`` or ``_LIST``."""
    first = text[0]
    if first in "'\"":
        return text[1:-1]  # no escapes: the source text is the value
    if first == "[":
        return [_plain_value(item[0]) for item in _SCALAR_RE.finditer(text)]
    return _CONSTANTS[text] if text in _CONSTANTS else int(text)


def _parse_shorthand(body: str, first_line: int, add: AddProblem) -> list[ToolCall]:
    plain = _plain_shorthand(body, first_line)
    return _ast_shorthand(body, first_line, add) if plain is None else plain


def _ast_shorthand(body: str, first_line: int, add: AddProblem) -> list[ToolCall]:
    try:
        tree = ast.parse(body, mode="exec")
    except SyntaxError as exc:
        # never past the last line with text, where the closing fence is
        offset = min((exc.lineno or 1) - 1, body.rstrip().count("\n"))
        add(first_line + offset, f"cannot parse tool call: {exc.msg}; {_SHORTHAND_HINT}")
        return []
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        add(first_line, f"cannot parse tool call: {exc}; {_SHORTHAND_HINT}")
        return []
    calls = []
    for stmt in tree.body:
        line = first_line + stmt.lineno - 1
        call = _shorthand_call(stmt, line, add)
        if call is not None:
            calls.append(call)
    return calls


def _shorthand_call(stmt: ast.stmt, line: int, add: AddProblem) -> ToolCall | None:
    node = stmt.value if isinstance(stmt, ast.Expr) else None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        add(line, f"not a call of a plain tool name; {_SHORTHAND_HINT}")
        return None
    name = node.func.id
    ok = True
    if node.args:
        add(
            line, f"tool call {name!r}: positional arguments are not allowed, name them (key=value)"
        )
        ok = False
    arguments: dict[str, Any] = {}
    for kw in node.keywords:
        if kw.arg is None:
            add(line, f"tool call {name!r}: '**' unpacking is not allowed; write key=value")
            ok = False
            continue
        value, error = _literal(kw.value)
        if kw.arg in arguments:  # Python's compiler rejects it; its parser keeps the last
            error = "given twice; keep one"
        if error:
            add(line, f"tool call {name!r}: argument {kw.arg!r}: {error}")
            ok = False
        else:
            arguments[kw.arg] = value
    return ToolCall(name=name, arguments=arguments, line=line) if ok else None


def _literal(node: ast.expr) -> tuple[Any, str]:
    """Return ``(value, "")`` for a JSON-compatible literal, else ``(None, reason)``."""
    if type(node) is ast.Constant and type(node.value) in _SCALARS:
        return node.value, ""  # the common case, without the walk
    if isinstance(node, ast.Name) and node.id in ("true", "false", "null"):
        fix = {"true": "True", "false": "False", "null": "None"}[node.id]
        return None, f"{node.id!r} is JSON spelling; write {fix} in the shorthand"
    try:
        value = _node_value(node)
    except (ValueError, TypeError, RecursionError):
        return (
            None,
            "only literal values (strings, numbers, True/False/None, lists, dicts) are allowed",
        )
    bad = _non_json(value)
    if bad:
        return None, f"{bad} values are not allowed; use strings, numbers, lists or dicts"
    return _tuples_to_lists(value), ""


def _node_value(node: ast.expr) -> Any:
    """The value of a literal node: ``ast.literal_eval``'s job, without its nested recursive
    closures, which leave cyclic garbage behind on every call with a list or dict argument
    (load_corpus pauses the garbage collector on the promise that parsing makes none)."""
    if type(node) is ast.Constant:
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [_node_value(item) for item in node.elts]
    if isinstance(node, ast.Set):  # a literal, but not JSON: _non_json names it
        return {_node_value(item) for item in node.elts}
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):  # {**other}
            raise ValueError("dict unpacking is not a literal")
        return {_node_value(k): _node_value(v) for k, v in zip(node.keys, node.values, strict=True)}  # type: ignore[arg-type]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _node_value(node.operand)
        if type(value) in (int, float):
            return -value if isinstance(node.op, ast.USub) else value
    raise ValueError(f"not a literal: {type(node).__name__}")


def _non_json(value: Any) -> str:
    """Name of the first type in ``value`` that JSON cannot hold, or ``""``."""
    if value is None or isinstance(value, str | bool | int | float):
        return ""
    if isinstance(value, list | tuple):
        return next((bad for v in value if (bad := _non_json(v))), "")
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return "non-string dict key"
        return next((bad for v in value.values() if (bad := _non_json(v))), "")
    return type(value).__name__


def _tuples_to_lists(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_tuples_to_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _tuples_to_lists(v) for k, v in value.items()}
    return value
