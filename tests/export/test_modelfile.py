"""The Ollama Modelfile's TEMPLATE, rendered by Go's text/template on the data Ollama builds
(tests/export/ollama_template.go), gives the prompt training saw: Hermes with JSON compared as
values (Ollama writes it with Go's encoder) on the schemas as Ollama keeps them, FunctionGemma
byte for byte."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dnd_ft.chat.base import text_of, tool_calls_of
from dnd_ft.chat.fg_syntax import escape
from dnd_ft.chat.formats import get_format
from dnd_ft.evaluation.generate import dm_turns
from dnd_ft.export.modelfile import modelfile_template, write_modelfile
from dnd_ft.export.modelfile_functiongemma import tool_content
from dnd_ft.tools.registry import ToolRegistry
from tests.chat.conftest import RECORD

GO_RENDERER = Path(__file__).with_name("ollama_template.go")
REGISTRIES = sorted((Path(__file__).resolve().parents[2] / "configs" / "tools").glob("*.yaml"))
needs_go = pytest.mark.skipif(shutil.which("go") is None, reason="Go is not installed")
Case = tuple[list[dict[str, Any]], list | None]


def _ollama_request(
    fmt: Any, messages: list[dict[str, Any]], tools: list | None, tool_text: Callable = str
) -> dict:
    """The /api/chat body a client sends for these messages (Ollama's native API)."""
    out = []
    for m in messages:
        msg: dict[str, Any] = {"role": m["role"], "content": text_of(m)}
        if m["role"] == "user":
            msg["content"] = fmt.user_text(m)  # Ollama has no speaker: the app writes it
        if m["role"] == "tool":
            msg["tool_name"] = m.get("name") or ""
            msg["content"] = tool_text(msg["content"])
        if calls := tool_calls_of(m):
            msg["tool_calls"] = [{"function": {"name": n, "arguments": a}} for n, a in calls]
        out.append(msg)
    return {"messages": out, **({"tools": tools} if tools else {})}


@pytest.fixture(scope="module")
def go_render(tmp_path_factory) -> Callable[[str, dict], str]:
    """Build the renderer once; returns render(template, request) -> the prompt."""
    folder = tmp_path_factory.mktemp("ollama_template")
    binary = folder / "ollama_template"
    env = {**os.environ, "GOCACHE": str(folder / "gocache")}
    build = subprocess.run(["go", "build", "-o", str(binary), str(GO_RENDERER)],
                           capture_output=True, text=True, env=env)  # fmt: skip
    assert build.returncode == 0, build.stderr

    def render(template: str, request: dict) -> str:
        payload = json.dumps({"template": template, "request": request})
        proc = subprocess.run([str(binary)], input=payload, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    return render


def _canonical_json(text: str) -> str:
    """Every JSON object in ``text`` rewritten compactly with sorted keys."""
    decoder, out, i = json.JSONDecoder(), [], 0
    while i < len(text):
        if text[i] == "{":
            try:
                value, end = decoder.raw_decode(text, i)
            except json.JSONDecodeError:
                pass
            else:
                out.append(json.dumps(value, sort_keys=True, separators=(",", ":")))
                i = end
                continue
        out.append(text[i])
        i += 1
    return "".join(out)


# The JSON-schema keys Ollama's api structs have fields for; it drops the others on decoding.
_PROPERTY = ("anyOf", "type", "items", "description", "enum", "properties", "required")
_PARAMETERS = ("type", "$defs", "items", "required", "properties")


def _property_as_ollama_keeps(schema: dict) -> dict:
    out = {k: v for k, v in schema.items() if k in _PROPERTY and v not in (None, "", [])}
    if "anyOf" in out:
        out["anyOf"] = [_property_as_ollama_keeps(s) for s in out["anyOf"]]
    if "properties" in out:
        out["properties"] = _properties_as_ollama_keeps(out["properties"])
    return out


def _properties_as_ollama_keeps(properties: dict) -> dict:
    return {name: _property_as_ollama_keeps(schema) for name, schema in properties.items()}


def _as_ollama_keeps(tools: list | None) -> list | None:
    """``tools`` after Ollama's api.Tool decoding (``items`` and ``$defs`` are typed ``any``)."""
    kept = []
    for tool in tools or []:
        fn, params = tool["function"], tool["function"].get("parameters") or {}
        params = {k: v for k, v in params.items() if k in _PARAMETERS and v not in (None, [])}
        params = {"type": "", "properties": None, **params}
        if params["properties"] is not None:
            params["properties"] = _properties_as_ollama_keeps(params["properties"])
        description = fn.get("description", "")
        function = {"name": fn["name"], "description": description, "parameters": params}
        kept.append({"type": tool["type"], "function": function})
    return kept or tools


def _record_cases() -> list[Case]:
    record = json.loads(RECORD.read_text(encoding="utf-8"))
    messages, tools = record["messages"], record["tools"]
    cases: list[Case] = [(messages[:i], tools) for i in dm_turns(messages)]
    cases.append((messages[1:2], None))  # no system prompt, no tools
    cases.append(([{"role": "system", "content": "You are the DM."}, messages[1]], None))
    return cases


# A tool with every nested shape FunctionGemma declarations spell out.
_NESTED_TOOL = {"type": "function", "function": {
    "name": "place_tokens", "description": "Put tokens on the battle map.",
    "parameters": {"type": "object", "required": ["tokens"], "properties": {
        "tokens": {"type": "array", "description": "Tokens to place.", "minItems": 1, "items": {
            "type": "object", "required": ["name", "at"], "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "description": "Who.", "minLength": 1},
                "at": {"type": "object", "properties": {
                    "x": {"type": "integer"}, "y": {"type": "integer", "description": "Row."},
                }, "required": ["x", "y"]},
                "tags": {"type": "array", "items": {"type": ["string", "null"], "enum": ["a", None]}},
                "facing": {"type": "string", "description": "Way.", "enum": ["n", "e", "s", "w"]},
            }}},
        "layer": {"type": "string", "description": "Map layer.", "enum": ["floor", "air"]},
        "options": {"type": "object", "description": "Extras.", "required": ["grid"], "properties": {
            "grid": {"type": "boolean", "description": "Snap to the grid."},
            "scale": {"type": "number", "description": "Zoom."},
        }},
        "note": {"description": "No type at all."},
    }}}}  # fmt: skip


def _registry_cases() -> list[Case]:
    """The spellcasting registry (every tool of ours) and calls with nested values."""
    tools = ToolRegistry.from_file(REGISTRIES[-1]).schemas() + [_NESTED_TOOL]
    slots = {"1": 4, "2": 2}  # keys that are no identifiers: <escape>d
    call = {"caster": "Élodie", "spell": "Magic Missile", "slot_level": 1, "slots": slots}
    options = {"grid": True, "scale": 2.5, "odd key": "x", "_k.1-2": "y"}
    token = {"name": "Goblin 1", "at": {"x": 3, "y": -2}, "tags": ["a", None]}
    place = {"tokens": [token], "options": options, "layer": "air"}
    result = json.dumps({"slots_left": {"1": 3}, "ok": True, "note": None})
    messages = [
        {"role": "system", "content": "You are the DM."},
        {"role": "user", "name": "Élodie", "content": "Magic missile at the goblin!"},
        {"role": "assistant", "content": "Three darts of light.", "tool_calls": [
            {"type": "function", "function": {"name": "cast_spell", "arguments": call}},
            {"type": "function", "function": {"name": "place_tokens", "arguments": place}}]},
        {"role": "tool", "name": "cast_spell", "content": result},
        {"role": "tool", "name": "place_tokens", "content": "[1, 2.5, \"x\"]"},
        {"role": "assistant", "content": "The goblin crumples."},
        {"role": "user", "name": "Thorin", "content": "I loot it."},
    ]  # fmt: skip
    return [(messages[:i], tools) for i in (*dm_turns(messages), 3, len(messages))]


@needs_go
@pytest.mark.parametrize("think", [False, True])
def test_hermes_modelfile_template_renders_the_training_prompt(think, go_render) -> None:
    fmt = get_format("hermes", think=think)
    template = modelfile_template("hermes", think=think)
    cases = _record_cases()
    assert any(m["role"] == "tool" for m in cases[-3][0])  # results grouped in one user turn
    for messages, tools in cases:
        expected = fmt.render_prompt(messages, _as_ollama_keeps(tools))
        got = go_render(template, _ollama_request(fmt, messages, tools))
        assert _canonical_json(got) == _canonical_json(expected)
        assert "additionalProperties" not in got  # Ollama drops keys it has no field for
    assert "additionalProperties" in json.dumps(cases[0][1])


@needs_go
@pytest.mark.parametrize("trigger", [True, False])
def test_functiongemma_modelfile_template_renders_the_training_prompt(trigger, go_render) -> None:
    fmt = get_format("functiongemma", trigger=trigger)
    template = modelfile_template("functiongemma", trigger=trigger)
    for messages, tools in _record_cases() + _registry_cases():
        expected = fmt.render_prompt(messages, tools)
        # the declarations only show what Ollama's structs keep
        assert fmt.render_prompt(messages, _as_ollama_keeps(tools)) == expected
        request = _ollama_request(fmt, messages, tools, tool_text=tool_content)
        assert go_render(template, request) == expected


@needs_go
def test_functiongemma_json_results_sent_as_is_get_the_embedded_templates_form(go_render) -> None:
    """A client that sends a JSON result unchanged gets ``{value:<escape>...<escape>}``."""
    fmt = get_format("functiongemma")
    messages, tools = _record_cases()[1]  # after the start_initiative result
    result = messages[-1]["content"]
    assert result.startswith('{"')
    trained = fmt.render_prompt(messages, tools)
    expected = trained.replace(tool_content(result), "{value:" + escape(result) + "}")
    assert expected != trained
    got = go_render(modelfile_template("functiongemma"), _ollama_request(fmt, messages, tools))
    assert got == expected


def _dicts(value: Any) -> Iterator[dict]:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _dicts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _dicts(v)


@pytest.mark.parametrize("registry", REGISTRIES, ids=lambda p: p.stem)
def test_go_key_order_is_the_declarations_order(registry) -> None:
    """Go's templates visit map keys in byte order, FunctionGemma sorts them case-insensitively:
    the same order wherever lower-casing does not reorder the keys of one object."""
    for d in _dicts(ToolRegistry.from_file(registry).schemas()):
        assert sorted(d) == sorted(d, key=str.lower), sorted(d)


def test_modelfile_names_its_gguf_and_stops(tmp_path) -> None:
    gguf = tmp_path / "tiny_qwen3-q4_k_m.gguf"
    gguf.write_bytes(b"GGUF")
    path = write_modelfile(gguf, get_format("hermes", think=True))
    text = path.read_text()
    assert path.name == "tiny_qwen3-q4_k_m.Modelfile"
    assert "FROM ./tiny_qwen3-q4_k_m.gguf\n" in text
    assert 'PARAMETER stop "<|im_end|>"' in text and "<think>" in text
    assert "PARSER" not in text


def test_functiongemma_modelfile_has_its_parser_and_stops(tmp_path) -> None:
    gguf = tmp_path / "tiny_gemma3-q8_0.gguf"
    fmt = get_format("functiongemma", trigger=False)
    text = write_modelfile(gguf, fmt).read_text()
    assert "FROM ./tiny_gemma3-q8_0.gguf\n" in text and "{{ end }}<bos>{{ if or .System" in text
    assert "PARSER functiongemma\n" in text and "function calling" not in text
    stops = [line.split('"')[1] for line in text.splitlines() if line.startswith("PARAMETER stop")]
    assert stops == ["<end_of_turn>", "<start_function_response>", "<eos>"] == fmt.stop_strings
    assert write_modelfile(gguf, get_format("gemma3")) is None  # no template for stock Gemma 3
