"""Plain Gemma 3: its own turn layout, and tools through text alone (no FunctionGemma tokens).

For Gemma 3 checkpoints used with their stock chat template and tokenizer (llama.cpp, Ollama),
where the FunctionGemma control tokens are not in the vocabulary. Turns follow Gemma 3's
``chat_template``: ``<bos>``, no system role (the system prompt is prepended to the first user
turn with a blank line), ``user``/``model`` turns closed by ``<end_of_turn>``.

Tools follow Google's prompt-based function calling guide for Gemma 3: the declarations
(JSON, one per line) go into the same first-turn prefix; the model calls tools in a
```` ```tool_code ```` block of Python calls, one per line (``roll_dice(notation="1d20+5")``);
results come back in a user turn as one ```` ```tool_output ```` block per result. Python call
syntax round-trips every JSON value: strings as JSON string literals (valid Python), ``true``/
``false``/``null`` as ``True``/``False``/``None``, and a key that is not an identifier as
``**{"key": value}`` (so are Python keywords such as ``class``).
"""

from __future__ import annotations

import ast
import json
import keyword
import re
from collections.abc import Mapping, Sequence
from typing import Any

from dnd_ft.chat.base import (
    ChatFormat,
    Message,
    ParsedTurn,
    Rendered,
    TextBuilder,
    next_role,
    parse_call_blocks,
    prev_role,
    split_system,
    text_of,
    tojson,
    tool_calls_of,
)
from dnd_ft.chat.tokens import GEMMA

BOS, SOT, EOT = GEMMA["bos"], GEMMA["start_of_turn"], GEMMA["end_of_turn"]
TOOLS_PREAMBLE = (
    "You can call these functions (JSON schemas, one per line):\n{tools}\n\n"
    "To call functions, end your reply with a block of Python calls, one per line:\n"
    "```tool_code\nfunction_name(parameter=value)\n```\n"
    "Their results come back in ```tool_output``` blocks, in the same order."
)
_CODE = re.compile(r"```tool_code\n(.*?)(?:\n```|\Z)", re.DOTALL)


def py_literal(value: Any) -> str:
    """A JSON-compatible value as a Python literal that `ast.literal_eval` reads back exactly."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return (
            "{"
            + ", ".join(f"{py_literal(str(k))}: {py_literal(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    raise ValueError(f"cannot write {type(value).__name__} {value!r} as a Python literal")


def _plain_key(key: Any) -> bool:
    return isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)


def format_call(name: str, arguments: Mapping[str, Any]) -> str:
    plain = [f"{k}={py_literal(v)}" for k, v in arguments.items() if _plain_key(k)]
    other = {k: v for k, v in arguments.items() if not _plain_key(k)}
    return f"{name}({', '.join(plain + ([f'**{py_literal(other)}'] if other else []))})"


def parse_call(line: str) -> dict[str, Any] | None:
    """Inverse of `format_call`; None unless ``line`` is exactly one keyword-only call."""
    try:
        node = ast.parse(line.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or node.args:
        return None
    arguments: dict[str, Any] = {}
    try:
        for kw in node.keywords:
            value = ast.literal_eval(kw.value)
            if kw.arg is None:
                if not isinstance(value, dict):
                    return None
                arguments.update(value)
            else:
                arguments[kw.arg] = value
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return None
    return {"name": node.func.id, "arguments": arguments}


class Gemma3Format(ChatFormat):
    name = "gemma3"
    stop_strings = [EOT, GEMMA["eos"]]
    call_block = _CODE

    def _render(self, messages: Sequence[Message], tools: Sequence[Mapping] | None) -> Rendered:
        b = TextBuilder()
        b.add(BOS)
        system, rest = split_system(messages)
        prefix = "\n\n".join(p for p in (system, self._tools_text(tools)) if p)
        if prefix and (not rest or rest[0].get("role") != "user"):
            b.add(f"{SOT}user\n{prefix.strip()}{EOT}\n")  # no user turn to carry it
            prefix = ""
        for i, message in enumerate(rest):
            role = message.get("role")
            if role == "assistant":
                b.add(f"{SOT}model\n")
                b.add(self._assistant_body(message) + EOT, loss=True)
                b.add("\n")
            elif role == "tool":
                if prev_role(rest, i) != "tool":
                    b.add(f"{SOT}user\n")
                b.add(f"```tool_output\n{text_of(message).strip()}\n```")
                b.add("\n" if next_role(rest, i) == "tool" else f"{EOT}\n")
            else:
                text = self.user_text(message).strip()
                if prefix:
                    text, prefix = f"{prefix.strip()}\n\n{text}", ""
                b.add(f"{SOT}user\n{text}{EOT}\n")  # Gemma 3 has user and model turns only
        return b.build()

    def render_prompt(self, messages: Sequence[Message], tools: Sequence[Mapping] | None) -> str:
        return self.render(messages, tools).text + f"{SOT}model\n"

    def parse_assistant(self, text: str) -> ParsedTurn:
        return parse_call_blocks(self.cut_at_stop(text), _CODE, parse_call, per_line=True)

    @staticmethod
    def _tools_text(tools: Sequence[Mapping] | None) -> str:
        if not tools:
            return ""
        return TOOLS_PREAMBLE.format(tools="\n".join(tojson(dict(t)) for t in tools))

    @staticmethod
    def _assistant_body(message: Message) -> str:
        content = text_of(message).strip()
        calls = tool_calls_of(message)
        if not calls:
            return content
        block = "```tool_code\n" + "\n".join(format_call(n, a) for n, a in calls) + "\n```"
        return f"{content}\n\n{block}" if content else block
