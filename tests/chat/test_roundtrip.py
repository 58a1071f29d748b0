"""Render, then parse every assistant span back: the same text and the same calls come out."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from dnd_ft.chat.base import arguments_of, text_of
from dnd_ft.chat.fg_syntax import format_value, parse_value
from dnd_ft.chat.formats import get_format
from dnd_ft.chat.gemma3 import format_call as py_call
from dnd_ft.chat.gemma3 import parse_call as parse_py_call
from tests.chat.test_golden import VARIANTS, make


def expected_turns(messages: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    out = []
    for m in messages:
        if m["role"] == "assistant":
            calls = [
                {
                    "name": c["function"]["name"],
                    "arguments": arguments_of(c["function"]["arguments"]),
                }
                for c in m.get("tool_calls") or []
            ]
            out.append((text_of(m).strip(), calls))
    return out


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_span_parses_back_to_its_assistant_message(
    variant: str, record: dict[str, Any]
) -> None:
    fmt = make(variant)
    rendered = fmt.render(record["messages"], record["tools"])
    parsed = [fmt.parse_assistant(span) for span in rendered.loss_text()]
    assert [(p.content, p.tool_calls) for p in parsed] == expected_turns(record["messages"])
    assert all(not p.malformed for p in parsed)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_generated_text_past_the_stop_string_is_ignored(variant: str) -> None:
    fmt = make(variant)
    stop = fmt.stop_strings[0]
    parsed = fmt.parse_assistant(f"Roll for it.{stop}garbage after the turn")
    assert parsed.content == "Roll for it."


def same(a: Any, b: Any) -> bool:
    """Equal as JSON: unlike ==, tells true from 1 and 1.0 from 1."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kinds = ["str", "int", "float", "bool", "null"] + (["list", "dict"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind == "str":
        alphabet = "ab Z09:,{}[]\"'\\\n\té—💥<>"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
    if kind == "int":
        return rng.choice([0, -1, 7, 10**12, -(10**18)])
    if kind == "float":
        return rng.choice([0.5, -2.25, 1e-05, 3.0, 1.5e20, rng.random()])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "list":
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    keys = ["name", "Target", "dc", "a b", "x:y", "1st", "", "é", "k-1", "k.2", "{}"]
    return {rng.choice(keys): random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))}


def test_functiongemma_object_syntax_round_trips_exactly() -> None:
    rng = random.Random(0)
    for _ in range(500):
        value = {"root": random_value(rng)}
        text = format_value(value)
        back = parse_value(text)
        assert same(back, value), text


def test_functiongemma_values_keep_their_json_types() -> None:
    value = {"n": 3, "f": 3.0, "b": True, "z": None, "s": "3", "t": "true", "l": [1, "1"]}
    back = parse_value(format_value(value))
    assert back == value
    assert [type(back[k]) for k in "nfbzst"] == [int, float, bool, type(None), str, str]


def test_gemma3_python_calls_round_trip_exactly() -> None:
    rng = random.Random(1)
    for _ in range(300):
        arguments = {
            k: random_value(rng) for k in ["notation", "a b", "class", "x"][: rng.randrange(0, 4)]
        }
        line = py_call("roll_dice", arguments)
        assert same(parse_py_call(line), {"name": "roll_dice", "arguments": arguments}), line


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_arguments_given_as_json_strings_render_like_dicts(
    variant: str, record: dict[str, Any]
) -> None:
    as_strings = json.loads(json.dumps(record))
    for m in as_strings["messages"]:
        for c in m.get("tool_calls") or []:
            c["function"]["arguments"] = json.dumps(arguments_of(c["function"]["arguments"]))
    fmt = make(variant)
    assert fmt.render(as_strings["messages"], record["tools"]) == fmt.render(
        record["messages"], record["tools"]
    )


def test_unknown_format_names_the_choices() -> None:
    with pytest.raises(
        ValueError, match="unknown format 'chatml'.*hermes, gemma3, functiongemma, template"
    ):
        get_format("chatml")
