"""A quick "certainly valid" test for tool arguments, in front of jsonschema.

Why hand-written: jsonschema walks a schema through its generic keyword dispatch (a
validator per subschema, a type-checker look-up per keyword), about 40 us for one call's
arguments, which was a third of the time of linting a real scenario file: nearly every
call in a real corpus has arguments of its own, so memoising the answers hit under 1%.
Tool schemas use a small subset of JSON Schema, so each is compiled once, one closure per
(sub)schema, to answer one question, "would jsonschema find nothing wrong here?", in
about a microsecond.

jsonschema stays the authority. :func:`compile_check` returns None for a schema that uses
anything outside the subset (then every call goes to jsonschema), and the compiled check
returns True only when every keyword is satisfied, mirroring jsonschema's Draft 2020-12
rules for JSON's own types (``bool`` is not an integer, ``3.0`` is one, a keyword skips
values of the types it does not apply to). Anything else, an invalid value or one it is
unsure of (an ``int`` subclass, a tuple, a list holding a NaN and ``uniqueItems``),
returns False, and the caller asks jsonschema, whose messages are the ones users see. A
fuzz test (tests/tools/test_tools_fastcheck.py) checks on thousands of generated argument
sets that it never says True where jsonschema finds an error, and that it is rarely unsure.

The subset: ``type`` (a name or a list of names), ``enum`` (of strings), ``minimum``,
``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``, ``minLength``, ``maxLength``,
``minItems``, ``maxItems``, ``uniqueItems``, ``items`` (a schema), ``properties``,
``required`` and ``additionalProperties`` (true or false), plus annotations
(``description``, ``title``, ``default``, ``examples``, ``$comment``, ``deprecated``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

#: ``check(value) -> bool``: True only when jsonschema would find no error in ``value``.
Check = Callable[[Any], bool]

_ANNOTATIONS = {"description", "title", "default", "examples", "$comment", "deprecated"}
_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_KEYWORDS = {"type", "enum", "minLength", "maxLength", "minItems", "maxItems", "uniqueItems",
             "items", "properties", "required", "additionalProperties", *_BOUNDS}  # fmt: skip
_KNOWN = frozenset(_KEYWORDS | _ANNOTATIONS)


def _is_integer(value: Any) -> bool:  # Draft 6 and later: 3.0 is an integer, True is not
    kind = type(value)
    return kind is int or (kind is float and value.is_integer())


def _is_number(value: Any) -> bool:  # bool is no number
    kind = type(value)
    return kind is int or kind is float


# Exact types only: a subclass (an IntEnum, a str subclass) is left to jsonschema.
_TYPES: dict[str, Check] = {
    "string": lambda value: type(value) is str,
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda value: value is True or value is False,
    "null": lambda value: value is None,
    "array": lambda value: type(value) is list,
    "object": lambda value: type(value) is dict,
}


class _Unsupported(Exception):
    """The schema uses something outside the subset: jsonschema checks every call."""


class _Node(NamedTuple):
    """One schema's keywords, checked and read; None (or False) where absent."""

    types: tuple[str, ...] | None
    allowed: frozenset[str] | None  # enum
    bounds: tuple[Any, Any, Any, Any] | None  # minimum, maximum, exclusive ones
    length: tuple[int | None, int | None] | None  # minLength, maxLength
    count: tuple[int | None, int | None] | None  # minItems, maxItems
    unique: bool
    item: Check | None
    members: tuple[dict[str, Check], frozenset[str], bool] | None  # properties, required, extra


def compile_check(schema: Any) -> Check | None:
    """The quick check of ``schema``, or None when it uses anything outside the subset."""
    try:
        return _compile(schema)
    except _Unsupported:
        return None


def _compile(schema: Any) -> Check:
    node = _read(schema)
    one = node.types[0] if node.types is not None and len(node.types) == 1 else None
    if one in _ONE_TYPE and (node.allowed is None or one == "string"):
        # a value of another type fails the type test: only this type's keywords count
        return _ONE_TYPE[one](node)
    return _any_type(node)


def _read(schema: Any) -> _Node:
    if not isinstance(schema, dict) or not schema.keys() <= _KNOWN:
        raise _Unsupported
    names = schema.get("type")
    if names is not None:
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not names:
            raise _Unsupported
        if not all(isinstance(name, str) and name in _TYPES for name in names):
            raise _Unsupported
        names = tuple(dict.fromkeys(names))
    allowed = None
    if "enum" in schema:
        members = schema["enum"]
        if not isinstance(members, list) or not all(type(m) is str for m in members):
            raise _Unsupported  # jsonschema's equality keeps 1, 1.0 and True apart; a set not
        allowed = frozenset(members)
    bounds = None
    if schema.keys() & set(_BOUNDS):
        bounds = tuple(schema.get(key) for key in _BOUNDS)
        if not all(bound is None or _is_number(bound) for bound in bounds):
            raise _Unsupported
    unique = schema.get("uniqueItems", False)
    if type(unique) is not bool:
        raise _Unsupported
    item = _compile(schema["items"]) if "items" in schema else None
    return _Node(
        names, allowed, bounds, _sizes(schema, "minLength", "maxLength"),
        _sizes(schema, "minItems", "maxItems"), unique, item, _members(schema),
    )  # fmt: skip


def _sizes(schema: dict[str, Any], low: str, high: str) -> tuple[int | None, int | None] | None:
    if low not in schema and high not in schema:
        return None
    sizes = (schema.get(low), schema.get(high))
    if not all(n is None or (type(n) is int and n >= 0) for n in sizes):
        raise _Unsupported
    return sizes


def _members(schema: dict[str, Any]) -> tuple[dict[str, Check], frozenset[str], bool] | None:
    if not schema.keys() & {"properties", "required", "additionalProperties"}:
        return None
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    extra = schema.get("additionalProperties", True)
    if not isinstance(properties, dict) or not isinstance(required, list):
        raise _Unsupported
    if not all(type(name) is str for name in required) or type(extra) is not bool:
        raise _Unsupported
    checks = {name: _compile(subschema) for name, subschema in properties.items()}
    return checks, frozenset(required), extra


# --- checks of one value against what one schema says ---------------------------------
# Each mirrors jsonschema's own test, negated: ``minimum`` fails when ``value < minimum``,
# so a NaN passes every bound there, and here.


def _in_bounds(value: Any, bounds: tuple[Any, Any, Any, Any]) -> bool:
    low, high, above, below = bounds
    return not (
        (low is not None and value < low)
        or (high is not None and value > high)
        or (above is not None and value <= above)
        or (below is not None and value >= below)
    )


def _size_ok(size: int, sizes: tuple[int | None, int | None]) -> bool:
    low, high = sizes
    return not ((low is not None and size < low) or (high is not None and size > high))


def _distinct(items: list[Any]) -> bool:
    """Whether ``items`` are unique by jsonschema's rule, for lists of strings or of numbers;
    False (unsure) for others: a set takes True for 1, and jsonschema's sort-based test
    misses duplicates beside a NaN."""
    if all(type(item) is str for item in items) or all(
        (type(item) is int or type(item) is float) and item == item for item in items
    ):
        return len(set(items)) == len(items)  # 1 and 1.0 are one value to jsonschema too
    return False


def _array_ok(value: list[Any], node: _Node) -> bool:
    if node.count is not None and not _size_ok(len(value), node.count):
        return False
    if node.unique and not _distinct(value):
        return False
    item = node.item
    return item is None or all(item(each) for each in value)


def _members_ok(
    value: dict[str, Any], members: tuple[dict[str, Check], frozenset[str], bool]
) -> bool:
    checks, needed, extra = members
    if not value.keys() >= needed:
        return False
    for key, item in value.items():
        check = checks.get(key)
        if check is None:
            if not extra:
                return False
        elif not check(item):
            return False
    return True


# --- one closure per schema: for a schema of one type, the usual case, and for any -----


def _string(node: _Node) -> Check:
    allowed = node.allowed
    low, high = node.length or (None, None)
    if low is None and high is None:
        if allowed is None:
            return _TYPES["string"]
        return lambda value: type(value) is str and value in allowed
    return lambda value: (
        type(value) is str
        and (allowed is None or value in allowed)
        and (low is None or len(value) >= low)
        and (high is None or len(value) <= high)
    )


def _numeric(test: Check) -> Callable[[_Node], Check]:
    def build(node: _Node) -> Check:
        bounds = node.bounds
        if bounds is None:
            return test
        return lambda value: test(value) and _in_bounds(value, bounds)

    return build


def _array(node: _Node) -> Check:
    return lambda value: type(value) is list and _array_ok(value, node)


def _object(node: _Node) -> Check:
    members = node.members
    if members is None:
        return _TYPES["object"]
    return lambda value: type(value) is dict and _members_ok(value, members)


_ONE_TYPE: dict[str, Callable[[_Node], Check]] = {
    "string": _string,
    "integer": _numeric(_is_integer),
    "number": _numeric(_is_number),
    "array": _array,
    "object": _object,
}


def _any_type(node: _Node) -> Check:
    """A schema of several types or none: each keyword applies to the values of its type."""
    tests = None if node.types is None else [_TYPES[name] for name in node.types]
    allowed = node.allowed

    def check(value: Any) -> bool:
        if tests is not None and not any(test(value) for test in tests):
            return False
        if allowed is not None and not (type(value) is str and value in allowed):
            return False
        kind = type(value)
        if kind is str:
            return node.length is None or _size_ok(len(value), node.length)
        if kind is int or kind is float:
            return node.bounds is None or _in_bounds(value, node.bounds)
        if kind is list:
            return _array_ok(value, node)
        if kind is dict:
            return node.members is None or _members_ok(value, node.members)
        return kind is bool or value is None  # other types: unsure

    return check
