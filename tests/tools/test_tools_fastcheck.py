"""The quick argument check against jsonschema, the authority.

``compile_check`` must say "valid" exactly where jsonschema finds no error (for JSON's own
types; for others it may only be unsure), and ``validate_arguments`` must give jsonschema's
messages, on the default registry's tools and on random schemas of the subset, with argument
sets built to hit the edges: bools against integers, floats, NaN, unicode, missing and extra
keys, nested arrays, repeated items.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from dnd_ft.scenarios import load_corpus
from dnd_ft.tools.fastcheck import compile_check
from dnd_ft.tools.registry import ToolRegistry, default_registry_path

CORPUS = default_registry_path().parents[2] / "scenarios"

STRINGS = ["", "a", "Goblin 1", "é", "e\u0301", "✓ ok", "\x00", "\ud800", "  ", "1", "true",
           "strength", "fire", "prone", "x" * 81]  # fmt: skip
NUMBERS = [0, 1, -1, 2, 5, 20, 30, 31, 10**20, -(10**20), 0.0, -0.0, 0.5, 1.0, 2.0, -1.5,
           1e300, math.inf, -math.inf, math.nan]  # fmt: skip
SCALARS = [*STRINGS, *NUMBERS, True, False, None]


def reference(schema: dict[str, Any], arguments: dict[str, Any]) -> list[str]:
    """What validate_arguments said before the quick check: jsonschema's messages, sorted."""
    messages = []
    for error in Draft202012Validator(schema).iter_errors(dict(arguments)):
        path = ".".join(str(p) for p in error.absolute_path)
        messages.append(f"{path}: {error.message}" if path else error.message)
    return sorted(messages)


def random_value(rng: random.Random, depth: int = 0) -> Any:
    """Any JSON value: scalars from the edge lists, lists (nested, repeated), objects."""
    roll = rng.random()
    if depth > 2 or roll < 0.6:
        return rng.choice(SCALARS)
    if roll < 0.85:
        items = [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
        return items + items[:1] if rng.random() < 0.3 else items  # a repeated item
    return {rng.choice(["a", "name", "x"]): random_value(rng, depth + 1) for _ in range(2)}


def random_schema(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    """A schema of the subset (always a valid JSON Schema)."""
    kind = rng.choice(["string", "integer", "number", "boolean", "null", "array", "any"])
    if depth == 0 or (kind == "any" and depth < 2 and rng.random() < 0.3):
        kind = "object"
    schema: dict[str, Any] = {} if kind == "any" else {"type": kind}
    if rng.random() < 0.15 and kind not in ("object", "any"):
        other = rng.choice([k for k in ("string", "integer", "null", "array") if k != kind])
        schema["type"] = [kind, other]
    if rng.random() < 0.3:
        schema["description"] = "annotations are ignored"
    if kind in ("string", "any") and rng.random() < 0.6:
        schema[rng.choice(["minLength", "maxLength"])] = rng.choice([0, 1, 2, 8])
    if kind in ("string", "any") and rng.random() < 0.3:
        schema["enum"] = rng.sample(["strength", "fire", "prone", "é", "", "1", "true"], 3)
    if kind in ("integer", "number", "any") and rng.random() < 0.7:
        for key in rng.sample(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"], 2):
            schema[key] = rng.choice([0, 1, 5, 30, 0.5, -1.5])
    if kind in ("array", "any") and rng.random() < 0.8:
        if rng.random() < 0.8:
            schema["items"] = random_schema(rng, depth + 1) if depth < 2 else {"type": "string"}
        if rng.random() < 0.5:
            schema[rng.choice(["minItems", "maxItems"])] = rng.choice([0, 1, 3])
        if rng.random() < 0.5:
            schema["uniqueItems"] = rng.random() < 0.8
    if kind == "object":
        names = rng.sample(["target", "amount", "name", "dc", "tags", "é"], rng.randint(0, 4))
        schema["properties"] = {n: random_schema(rng, depth + 1) for n in names}
        if names and rng.random() < 0.7:
            schema["required"] = rng.sample(names, rng.randint(1, len(names)))
        if rng.random() < 0.7:
            schema["additionalProperties"] = rng.random() < 0.3
    return schema


def fitting_value(rng: random.Random, schema: dict[str, Any]) -> Any:
    """A value that often fits ``schema`` (an edge case of its type), sometimes not."""
    if rng.random() < 0.15:
        return random_value(rng)
    if "enum" in schema and rng.random() < 0.7:
        return rng.choice(schema["enum"])
    kind = schema.get("type", rng.choice(["string", "integer", "array"]))
    kind = rng.choice(kind) if isinstance(kind, list) else kind
    if kind == "string":
        return rng.choice(STRINGS)
    if kind in ("integer", "number"):
        return rng.choice([*NUMBERS, True, False, 3, 7.0, 31.0])
    if kind == "boolean":
        return rng.choice([True, False, 0, 1])
    if kind == "null":
        return rng.choice([None, 0, ""])
    if kind == "array":
        item = schema.get("items", {})
        items = [fitting_value(rng, item) for _ in range(rng.randint(0, 4))]
        return items + items[:1] if rng.random() < 0.2 else items
    return arguments_for(rng, schema)


def arguments_for(rng: random.Random, schema: dict[str, Any]) -> dict[str, Any]:
    """An object for ``schema``: its properties, some left out, sometimes an extra key."""
    properties = schema.get("properties", {})
    out = {n: fitting_value(rng, s) for n, s in properties.items() if rng.random() < 0.85}
    if rng.random() < 0.15:
        out[rng.choice(["extra", "Target", "amount ", "é"])] = random_value(rng)
    return out


def _agree(schema: dict[str, Any], arguments: dict[str, Any]) -> bool:
    """Assert that the quick check never calls invalid arguments valid; return whether it
    was unsure of valid ones (then jsonschema answers: right, only slower)."""
    check = compile_check(schema)
    assert check is not None, schema
    want = reference(schema, arguments)
    quick = check(arguments)
    assert not (quick and want), (schema, arguments, want)
    return not quick and not want


def test_default_registry_tools_all_have_a_quick_check(registry: ToolRegistry) -> None:
    for spec in registry:
        assert compile_check(spec.parameters) is not None, spec.name


def test_quick_check_agrees_with_jsonschema_on_the_default_tools(registry: ToolRegistry) -> None:
    rng = random.Random(0)
    for spec in registry:
        for _ in range(600):
            arguments = arguments_for(rng, spec.parameters)
            assert not _agree(spec.parameters, arguments), arguments
            assert registry.validate_arguments(spec.name, arguments) == reference(
                spec.parameters, arguments
            )


def test_quick_check_agrees_with_jsonschema_on_random_schemas() -> None:
    rng = random.Random(1)
    invalid = unsure = 0
    for index in range(400):
        schema = random_schema(rng)
        Draft202012Validator.check_schema(schema)
        spec = {"name": f"t{index}", "description": "a generated tool", "parameters": schema}
        registry = ToolRegistry.from_specs([spec])
        for _ in range(15):
            arguments = arguments_for(rng, schema)
            unsure += _agree(schema, arguments)
            want = reference(schema, arguments)
            assert registry.validate_arguments(f"t{index}", arguments) == want
            invalid += bool(want)
    assert 1500 < invalid < 4500, invalid  # both answers are well represented (of 6,000)
    assert unsure < 60, unsure  # valid sets left to jsonschema: mixed lists, NaN in a list


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"type": "integer"}, 3.0),  # an integer in Draft 6 and later
        ({"type": "integer"}, True),  # but a bool is not
        ({"type": "number", "minimum": 1}, False),  # bool is no number: minimum skips it
        ({"minimum": 1}, "0"),
        ({"type": "number", "maximum": 1}, math.nan),  # NaN passes every bound
        ({"type": "array", "uniqueItems": True}, [1, True]),  # 1 and True are different
        ({"type": "array", "uniqueItems": True}, [1, 1.0]),  # 1 and 1.0 are not
        ({"type": "array", "uniqueItems": True}, [[1], [True]]),
        ({"type": "array", "uniqueItems": True}, ["é", "e\u0301"]),  # no normalisation
        ({"enum": ["1"]}, 1),
        ({"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}, [[1], [2.0]]),
        ({"type": "array", "items": {"type": "array", "maxItems": 1}}, [[], [1, 2]]),
        ({"type": "string", "minLength": 2}, "\ud800\udc00"),  # two code points to Python
        ({"type": "object", "required": ["a"]}, {"a": None}),
        ({"type": ["string", "null"], "minLength": 1}, None),
    ],
)
def test_quick_check_agrees_on_edge_cases(schema: dict[str, Any], value: Any) -> None:
    wrapped = {"type": "object", "properties": {"v": schema}}
    _agree(wrapped, {"v": value})
    assert ToolRegistry.from_specs(
        [{"name": "t", "description": "edge", "parameters": wrapped}]
    ).validate_arguments("t", {"v": value}) == reference(wrapped, {"v": value})


@pytest.mark.parametrize(
    "value", [(1, 2), Decimal(3), 2**70 + 0.0, type("S", (str,), {})("s"), {"a": (1,)}]
)
def test_quick_check_is_never_wrong_about_other_python_types(value: Any) -> None:
    """Tuples, Decimals and subclasses are not JSON: the check may say False (unsure), then
    jsonschema answers; it never says True where jsonschema finds an error."""
    for schema in [{"type": "array"}, {"type": "number", "minimum": 5}, {"type": "string"},
                   {"type": "array", "uniqueItems": True}, {"minLength": 3}, {}]:  # fmt: skip
        wrapped = {"type": "object", "properties": {"v": schema}}
        check = compile_check(wrapped)
        assert check is not None
        if check({"v": value}):
            assert not reference(wrapped, {"v": value}), (schema, value)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/x"}}, "$defs": {"x": {}}},
        {"type": "string", "pattern": "^a"},
        {"type": "string", "format": "email"},
        {"const": 1},
        {"enum": [1, 2]},
        {"anyOf": [{"type": "string"}]},
        {"type": "array", "items": True},
        {"type": "object", "additionalProperties": {"type": "string"}},
        {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"},
        {"type": "object", "patternProperties": {"^x": {}}},
        {"type": "custom"},
    ],
)
def test_schemas_outside_the_subset_get_no_quick_check(schema: dict[str, Any]) -> None:
    assert compile_check(schema) is None


def test_a_schema_outside_the_subset_still_validates() -> None:
    spec = {
        "name": "shout",
        "description": "shout something",
        "parameters": {"type": "object", "properties": {"text": {"type": "string", "pattern": "^[A-Z]+$"}}},
    }  # fmt: skip
    registry = ToolRegistry.from_specs([spec])
    assert registry.validate_arguments("shout", {"text": "HEY"}) == []
    assert registry.validate_arguments("shout", {"text": "hey"}) == [
        "text: 'hey' does not match '^[A-Z]+$'"
    ]


def test_every_call_of_the_real_corpus_passes_the_quick_check(registry: ToolRegistry) -> None:
    result = load_corpus([CORPUS], registry)
    assert result.ok
    calls = [
        call
        for scenario in result.scenarios
        for flow in scenario.flows
        for turn in flow.turns
        for call in turn.tool_calls
    ]
    assert len(calls) > 300
    for call in calls:
        check = compile_check(registry.get(call.name).parameters)
        assert check is not None and check(call.arguments), call
