"""Ollama Modelfiles: a GGUF plus a Go ``text/template`` that renders what training saw.

Ollama ignores the GGUF's Jinja template for tool calling; it needs a TEMPLATE that uses
``.Tools`` and ``.ToolCalls``. These templates follow our chat formats piece by piece (the
fixed strings are imported from the formats, as in ``dnd_ft.chat.templates``) and a test
renders them with Go's text/template for the sample conversations and compares the text with
the format's (tests/export/test_modelfile.py, skipped without ``go``).

Hermes only (Qwen, SmolLM2). FunctionGemma declarations spell out each parameter schema in
their own syntax, which a TEMPLATE can only write from the fields of Ollama's Go tool
structs; those could not be checked against a running Ollama here, so Gemma exports get no
Modelfile rather than an unproven one (llama.cpp and LM Studio use the embedded template).

Ollama's data model decides two differences, both documented in docs/export.md:
- ``.System`` carries the system prompt (system messages in ``.Messages`` are skipped) and a
  message has no speaker name: an app writes "Name: text" into the user content itself.
- Ollama writes JSON (tool schemas, call arguments) with Go's ``json.Marshal``: compact, keys
  sorted. Training wrote Python's ``json.dumps`` (spaces, schema order): the same values in
  other bytes.

LM Studio reads the chat template embedded in the GGUF (checked by the export) instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dnd_ft.chat.hermes import THINK_EMPTY, TOOLS_FOOTER, TOOLS_HEADER
from dnd_ft.utils.io import atomic_write_text

# No `{{-` anywhere: it would also trim the newlines the format writes before it.
_HERMES = (
    "{{ if or .System .Tools }}<|im_start|>system\n"
    "{{ if .System }}{{ .System }}{{ if .Tools }}\n\n{{ end }}{{ end }}"
    "{{ if .Tools }}"
    + TOOLS_HEADER
    + "{{ range .Tools }}\n{{ json . }}{{ end }}"
    + TOOLS_FOOTER
    + "{{ end }}<|im_end|>\n{{ end }}"
    '{{ $prev := "" }}'
    "{{ range $i, $m := .Messages }}"
    '{{ if and (eq $prev "tool") (ne .Role "tool") }}<|im_end|>\n{{ end }}'
    '{{ if eq .Role "user" }}<|im_start|>user\n{{ .Content }}<|im_end|>\n'
    '{{ else if eq .Role "assistant" }}<|im_start|>assistant\n@@THINK@@{{ .Content }}'
    "{{ range $j, $c := .ToolCalls }}{{ if or $m.Content $j }}\n{{ end }}"
    '<tool_call>\n{"name": "{{ .Function.Name }}", "arguments": '
    "{{ json .Function.Arguments }}}\n</tool_call>{{ end }}<|im_end|>\n"
    '{{ else if eq .Role "tool" }}{{ if ne $prev "tool" }}<|im_start|>user{{ end }}'
    "\n<tool_response>\n{{ .Content }}\n</tool_response>"
    "{{ end }}"
    '{{ if ne .Role "system" }}{{ $prev = .Role }}{{ end }}'
    "{{ end }}"
    '{{ if eq $prev "tool" }}<|im_end|>\n{{ end }}'
    '{{ if ne $prev "assistant" }}<|im_start|>assistant\n@@THINK@@{{ end }}'
)

STOPS = {
    "hermes": ["<|im_end|>", "<|endoftext|>"],
}


def modelfile_template(chat_format: str, *, think: bool = False) -> str:
    """The Ollama TEMPLATE for ``chat_format`` (hermes only, see the module docstring)."""
    if chat_format == "hermes":
        return _HERMES.replace("@@THINK@@", THINK_EMPTY if think else "")
    raise ValueError(
        f"no Ollama template for chat_format={chat_format!r} (hermes has one); the GGUF's "
        "embedded template still serves LM Studio and llama.cpp"
    )


def write_modelfile(gguf: Path, fmt: Any) -> Path | None:
    """``<gguf stem>.Modelfile`` beside ``gguf``; None for a format without a template."""
    try:
        template = modelfile_template(fmt.name, think=bool(getattr(fmt, "think", False)))
    except ValueError:
        return None
    stops = "".join(f'PARAMETER stop "{s}"\n' for s in STOPS[fmt.name])
    text = (
        f"# ollama create <name> -f {gguf.stem}.Modelfile   (docs/export.md)\n"
        f"FROM ./{gguf.name}\n"
        f'TEMPLATE """{template}"""\n'
        f"{stops}"
        "PARAMETER temperature 0\n"
    )
    path = gguf.with_name(f"{gguf.stem}.Modelfile")
    atomic_write_text(path, text)
    return path
