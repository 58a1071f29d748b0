"""Fallback: render through the tokenizer's own chat template (``apply_chat_template``).

For models whose format has no module here. The loss spans come from rendering prefixes:
an assistant message starts where the conversation rendered up to it with the generation
prompt stops agreeing with the full rendering, and ends after the first end-of-turn marker
that follows (the tokenizer's EOS or a known marker). Calls are parsed back as Hermes
``<tool_call>`` JSON, else as bare JSON objects with ``name`` and ``arguments``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from dnd_ft.chat.base import (
    ChatFormat,
    Message,
    ParsedTurn,
    Rendered,
    text_of,
    tool_calls_of,
)
from dnd_ft.chat.jsoncalls import CALL_BLOCK, parse_hermes, parse_json_objects

log = logging.getLogger(__name__)
END_MARKERS = ("<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|end|>", "</s>", "<|endoftext|>")


class TemplateFormat(ChatFormat):
    name = "template"
    call_block = CALL_BLOCK  # templates that write Hermes calls; others mark none

    def __init__(self, tokenizer: Any, **options: Any) -> None:
        super().__init__(**options)
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise ValueError(
                "chat_format=template needs a tokenizer with a chat_template; pick "
                "model.chat_format=hermes|gemma3|functiongemma or a model that ships a template"
            )
        self.tokenizer = tokenizer
        template = tokenizer.chat_template if isinstance(tokenizer.chat_template, str) else ""
        eos = getattr(tokenizer, "eos_token", None)
        markers = [m for m in END_MARKERS if m in template]
        self.stop_strings = list(dict.fromkeys(([eos] if eos else []) + markers))

    def _render(self, messages: Sequence[Message], tools: Sequence[Mapping] | None) -> Rendered:
        msgs = self._prepare(messages)
        full = self._apply(msgs, tools, generation=False)
        spans = []
        for i, message in enumerate(msgs):
            if message["role"] != "assistant":
                continue
            prompt = self._apply(msgs[:i], tools, generation=True)
            start = len(os.path.commonprefix([full, prompt]))
            if start < len(prompt):
                log.debug("chat template is not prefix-consistent before message %d", i)
            end = self._turn_end(full, start)
            if end > start:
                spans.append((start, end))
        return Rendered(full, spans)

    def render_prompt(self, messages: Sequence[Message], tools: Sequence[Mapping] | None) -> str:
        return self._apply(self._prepare(messages), tools, generation=True)

    def parse_assistant(self, text: str) -> ParsedTurn:
        text = self.cut_at_stop(text)
        parsed = parse_hermes(text)
        if parsed.tool_calls or parsed.malformed:
            return parsed
        return parse_json_objects(parsed.content)

    def _turn_end(self, text: str, start: int) -> int:
        found = [(i, m) for m in self.stop_strings if (i := text.find(m, start)) != -1]
        if not found:
            return len(text.rstrip())
        i, marker = min(found)
        return i + len(marker)

    def _prepare(self, messages: Sequence[Message]) -> list[dict[str, Any]]:
        """Plain dicts with the speaker folded into user text and call arguments as dicts."""
        out = []
        for m in messages:
            msg: dict[str, Any] = {"role": m["role"], "content": text_of(m)}
            if m["role"] == "user":
                msg["content"] = self.user_text(m)
            elif m["role"] == "tool" and m.get("name"):
                msg["name"] = m["name"]
            if m.get("tool_calls"):
                msg["tool_calls"] = [
                    {"type": "function", "function": {"name": n, "arguments": a}}
                    for n, a in tool_calls_of(m)
                ]
            out.append(msg)
        return out

    def _apply(
        self, msgs: list[dict[str, Any]], tools: Sequence[Mapping] | None, generation: bool
    ) -> str:
        try:
            return self.tokenizer.apply_chat_template(
                msgs, tools=list(tools) if tools else None, tokenize=False,
                add_generation_prompt=generation,
            )  # fmt: skip
        except Exception as exc:  # jinja raises its own errors; name the fix
            raise ValueError(
                f"the tokenizer's chat template cannot render this conversation: {exc}; "
                "use model.chat_format=hermes, gemma3 or functiongemma instead"
            ) from exc
