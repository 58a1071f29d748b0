"""Chat formats: each model family's native chat and tool-call text, as one layer.

A format turns a conversation in the Hugging Face convention (``messages`` + ``tools``) into
the exact text a model trains on, marks the characters that carry loss, builds generation
prompts and parses generated text back into content and tool calls. Beside the formats:
their control strings (`tokens`), the Jinja templates written into model folders
(`templates`) and the token labels that turn loss spans into masks (`tokenize`).

This package imports no pipeline stage: data, models, training, evaluation and export all
build on it (the import contract in setup.cfg keeps it so). No torch here.

    fmt = get_format("hermes", tokenizer, think=True)
    rendered = fmt.render(messages, tools)       # Rendered(text, spans)
    prompt = fmt.render_prompt(messages[:-1], tools)
    parsed = fmt.parse_assistant(generated)      # ParsedTurn(content, tool_calls, malformed)
"""

from dnd_ft.chat.base import ChatFormat, ParsedTurn, Rendered
from dnd_ft.chat.errors import ChatFormatError
from dnd_ft.chat.formats import (
    FORMAT_FILE,
    FORMATS,
    format_for_run,
    format_spec,
    get_format,
    load_format,
    run_options,
)
from dnd_ft.chat.templates import chat_template, wants_think
from dnd_ft.chat.tokens import control_strings

__all__ = [
    "FORMATS",
    "FORMAT_FILE",
    "ChatFormat",
    "ChatFormatError",
    "ParsedTurn",
    "Rendered",
    "chat_template",
    "control_strings",
    "format_for_run",
    "format_spec",
    "get_format",
    "load_format",
    "run_options",
    "wants_think",
]
