"""The Ollama Modelfile's TEMPLATE, rendered by Go's text/template as Ollama renders it, gives
the prompt training saw (JSON compared as values: Ollama writes it with Go's encoder)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dnd_ft.chat.base import split_system, text_of, tool_calls_of
from dnd_ft.chat.formats import get_format
from dnd_ft.evaluation.generate import dm_turns
from dnd_ft.export.modelfile import modelfile_template, write_modelfile
from tests.chat.conftest import RECORD

GO_RENDERER = Path(__file__).with_name("ollama_template.go")
needs_go = pytest.mark.skipif(shutil.which("go") is None, reason="Go is not installed")


def _ollama_data(fmt: Any, messages: list[dict[str, Any]], tools: list | None) -> dict:
    """The template data Ollama builds for a chat request of these messages."""
    system, rest = split_system(messages)
    out = []
    for m in rest:
        msg: dict[str, Any] = {"Role": m["role"], "Content": text_of(m), "ToolCalls": []}
        if m["role"] == "user":
            msg["Content"] = fmt.user_text(m)  # Ollama has no speaker: the app writes it
        for name, arguments in tool_calls_of(m):
            msg["ToolCalls"].append({"Function": {"Name": name, "Arguments": arguments}})
        out.append(msg)
    return {"System": system or "", "Tools": tools or [], "Messages": out}


def _go_render(template: str, data: dict, tmp_path: Path) -> str:
    proc = subprocess.run(
        ["go", "run", str(GO_RENDERER)],
        input=json.dumps({"template": template, "data": data}),
        capture_output=True,
        text=True,
        env={**os.environ, "GOCACHE": str(tmp_path / "gocache")},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


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


def _cases() -> list[tuple[list[dict[str, Any]], list | None]]:
    record = json.loads(RECORD.read_text(encoding="utf-8"))
    messages, tools = record["messages"], record["tools"]
    cases = [(messages[:i], tools) for i in dm_turns(messages)]
    cases.append((messages[1:2], None))  # no system prompt, no tools
    cases.append(([{"role": "system", "content": "You are the DM."}, messages[1]], None))
    return cases


@needs_go
@pytest.mark.parametrize("think", [False, True])
def test_hermes_modelfile_template_renders_the_training_prompt(think, tmp_path) -> None:
    fmt = get_format("hermes", think=think)
    template = modelfile_template("hermes", think=think)
    cases = _cases()
    assert any(m["role"] == "tool" for m in cases[-3][0])  # results grouped in one user turn
    for messages, tools in cases:
        expected = fmt.render_prompt(messages, tools)
        got = _go_render(template, _ollama_data(fmt, messages, tools), tmp_path)
        assert _canonical_json(got) == _canonical_json(expected)


def test_modelfile_names_its_gguf_and_stops(tmp_path) -> None:
    gguf = tmp_path / "tiny_qwen3-q4_k_m.gguf"
    gguf.write_bytes(b"GGUF")
    path = write_modelfile(gguf, get_format("hermes", think=True))
    text = path.read_text()
    assert path.name == "tiny_qwen3-q4_k_m.Modelfile"
    assert "FROM ./tiny_qwen3-q4_k_m.gguf\n" in text
    assert 'PARAMETER stop "<|im_end|>"' in text and "<think>" in text
    assert write_modelfile(gguf, get_format("functiongemma")) is None  # no unproven template
