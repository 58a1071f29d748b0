"""Ollama Modelfiles: a GGUF plus a Go ``text/template`` that renders what training saw.

Ollama renders a chat with the Modelfile's TEMPLATE rather than the GGUF's Jinja template
(but see docs/export.md on Qwen3); for tool calling it uses ``.Tools`` and ``.ToolCalls``.
These templates follow our chat formats piece by piece (the fixed strings are imported from
the formats, as in ``dnd_ft.chat.templates``), and a test renders them with Go's
text/template on the data Ollama builds (tests/export/ollama_template.go mirrors Ollama's api
and template types) for sample conversations and compares the text with the format's
(tests/export/test_modelfile.py, skipped without ``go``). Checked against Ollama's source at
v0.33.0-rc2, not in a running Ollama.

Hermes (Qwen, SmolLM2) and FunctionGemma (Gemma 3, `modelfile_functiongemma`); gemma3 and
template formats get none. A FunctionGemma Modelfile also says ``PARSER functiongemma``:
Ollama's parser for a TEMPLATE looks for JSON calls, its built-in FunctionGemma parser reads
``call:NAME{...}`` into ``tool_calls`` (and, as any PARSER, keeps Ollama from preferring the
GGUF's Jinja template). The stop strings are the format's.

Ollama's data model decides some differences, all documented in docs/export.md:
- ``.System`` carries the system prompt (every system message, joined; system messages in
  ``.Messages`` are skipped), consecutive messages of one role other than tool are merged,
  and a message has no speaker name: an app writes "Name: text" into the user content itself.
- Ollama decodes tools into its Go structs, which keep only some JSON-schema keywords
  (``minLength``, ``minimum``, ``additionalProperties`` ... are dropped; ``items`` is kept
  whole). Hermes prints the schemas as JSON, so its models see them without those keywords;
  FunctionGemma declarations only ever show kept ones.
- Ollama writes JSON (Hermes tool schemas, call arguments) with Go's ``json.Marshal``:
  compact, map keys sorted. Training wrote Python's ``json.dumps`` (spaces, schema order): the
  same values in other bytes. JSON numbers reach the template as float64: a float written
  ``3.0`` in training comes back ``3``.

LM Studio reads the chat template embedded in the GGUF (checked by the export) instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dnd_ft.chat.hermes import THINK_EMPTY, TOOLS_FOOTER, TOOLS_HEADER
from dnd_ft.export.modelfile_functiongemma import functiongemma_template
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

# Ollama's own output parser where the TEMPLATE's calls are not JSON (model/parsers).
PARSERS = {"functiongemma": "functiongemma"}


def modelfile_template(chat_format: str, *, think: bool = False, trigger: bool = True) -> str:
    """The Ollama TEMPLATE for ``chat_format`` (hermes, functiongemma); ``think`` (hermes)
    and ``trigger`` (functiongemma) as the format options of those names."""
    if chat_format == "hermes":
        return _HERMES.replace("@@THINK@@", THINK_EMPTY if think else "")
    if chat_format == "functiongemma":
        return functiongemma_template(trigger=trigger)
    raise ValueError(
        f"no Ollama template for chat_format={chat_format!r} (hermes and functiongemma have "
        "one); the GGUF's embedded template still serves LM Studio and llama.cpp"
    )


def write_modelfile(gguf: Path, fmt: Any, adapter: Path | None = None) -> Path | None:
    """``<gguf stem>.Modelfile`` beside ``gguf``; None for a format without a template.

    adapter: a LoRA GGUF beside ``gguf`` that Ollama applies to it (``ADAPTER``); the
    Modelfile is then named after the adapter."""
    think, trigger = bool(getattr(fmt, "think", False)), bool(getattr(fmt, "trigger", True))
    try:
        template = modelfile_template(fmt.name, think=think, trigger=trigger)
    except ValueError:
        return None
    if '"""' in template:  # it would end Ollama's quoted TEMPLATE value early
        raise ValueError(f'the {fmt.name} TEMPLATE contains """, which a Modelfile cannot quote')
    parser = f"PARSER {PARSERS[fmt.name]}\n" if fmt.name in PARSERS else ""
    named = adapter or gguf
    stops = "".join(f'PARAMETER stop "{s}"\n' for s in fmt.stop_strings)
    text = (
        f"# ollama create <name> -f {named.stem}.Modelfile   (docs/export.md)\n"
        f"FROM ./{gguf.name}\n"
        + (f"ADAPTER ./{adapter.name}\n" if adapter else "")
        + f'TEMPLATE """{template}"""\n'
        f"{parser}"
        f"{stops}"
        "PARAMETER temperature 0\n"
    )
    path = gguf.with_name(f"{named.stem}.Modelfile")
    atomic_write_text(path, text)
    return path
