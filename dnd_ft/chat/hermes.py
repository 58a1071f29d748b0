"""ChatML with Hermes-style tool calls, exactly as Qwen2.5's and Qwen3's chat templates render.

Source: the ``chat_template`` of Qwen/Qwen2.5-*-Instruct and Qwen/Qwen3-* (tokenizer_config.json):
the system message, then ``# Tools`` with one JSON schema per line inside ``<tools>``; calls as
``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>``; tool results as a ``user``
turn wrapping each result in ``<tool_response>``, consecutive results in one turn. JSON is
written like HF's ``tojson`` filter (``json.dumps``, ``", "``/``": "`` separators, non-ASCII
kept). SmolLM2 speaks ChatML too.

Qwen3 and ``<think>``: in non-thinking mode (``enable_thinking=False``) Qwen3's generation
prompt is ``<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n``; its template adds the block to
the last assistant turn only, so the template is not prefix-consistent. With ``think=True`` we
put the empty block in the header of *every* assistant turn, outside the loss: each trained
turn then looks exactly like a non-thinking generation from `render_prompt` (the same prompt
Cactus builds for Qwen3 with thinking off). Qwen2.5 and SmolLM2 have no think block
(``think=False``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dnd_ft.chat.base import (
    ChatFormat,
    Message,
    ParsedTurn,
    Rendered,
    TextBuilder,
    next_role,
    prev_role,
    split_system,
    text_of,
    tojson,
    tool_calls_of,
)
from dnd_ft.chat.jsoncalls import CALL_BLOCK, parse_hermes
from dnd_ft.chat.tokens import HERMES

IM_START, IM_END = HERMES["im_start"], HERMES["im_end"]
THINK_EMPTY = "<think>\n\n</think>\n\n"
TOOLS_HEADER = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
TOOLS_FOOTER = (
    "\n</tools>\n\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)


def format_call(name: str, arguments: dict[str, Any]) -> str:
    return f'<tool_call>\n{{"name": "{name}", "arguments": {tojson(arguments)}}}\n</tool_call>'


class HermesFormat(ChatFormat):
    name = "hermes"
    stop_strings = [IM_END, "<|endoftext|>"]
    call_block = CALL_BLOCK

    def __init__(self, *, think: bool = False, **options: Any) -> None:
        super().__init__(**options)
        self.think = think

    @property
    def options(self) -> dict[str, Any]:
        return {**super().options, "think": self.think}

    @property
    def assistant_header(self) -> str:
        return f"{IM_START}assistant\n" + (THINK_EMPTY if self.think else "")

    def _render(self, messages: Sequence[Message], tools: Sequence[Mapping] | None) -> Rendered:
        b = TextBuilder()
        system, rest = split_system(messages)
        if tools:
            b.add(f"{IM_START}system\n")
            if system is not None:
                b.add(system + "\n\n")
            b.add(TOOLS_HEADER + "".join("\n" + tojson(dict(t)) for t in tools) + TOOLS_FOOTER)
            b.add(f"{IM_END}\n")
        elif system is not None:
            b.add(f"{IM_START}system\n{system}{IM_END}\n")
        for i, message in enumerate(rest):
            role = message.get("role")
            if role == "assistant":
                b.add(self.assistant_header)
                b.add(self._assistant_body(message) + IM_END, loss=True)
                b.add("\n")
            elif role == "tool":
                if prev_role(rest, i) != "tool":
                    b.add(f"{IM_START}user")
                b.add(f"\n{HERMES['tool_response_start']}\n{text_of(message)}\n"
                      f"{HERMES['tool_response_end']}")  # fmt: skip
                if next_role(rest, i) != "tool":
                    b.add(f"{IM_END}\n")
            else:
                b.add(f"{IM_START}{role}\n{self.user_text(message)}{IM_END}\n")
        return b.build()

    def render_prompt(self, messages: Sequence[Message], tools: Sequence[Mapping] | None) -> str:
        return self.render(messages, tools).text + self.assistant_header

    def parse_assistant(self, text: str) -> ParsedTurn:
        return parse_hermes(self.cut_at_stop(text))

    def _assistant_body(self, message: Message) -> str:
        content = text_of(message)
        if self.think:
            content = content.lstrip("\n")  # as Qwen3 writes content after </think>
        calls = [format_call(n, a) for n, a in tool_calls_of(message)]
        # Qwen: a newline before the first call only when there is content, between calls always
        return content + ("\n" if content and calls else "") + "\n".join(calls)
