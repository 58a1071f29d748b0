"""Gemma 3 turns with FunctionGemma tool calling (google/functiongemma-270m-it).

Layout, as the official ``chat_template.jinja`` renders it (see `fg_syntax` for sources)::

    <bos><start_of_turn>developer
    {system}<start_function_declaration>declaration:...<end_function_declaration><end_of_turn>
    <start_of_turn>user
    {text}<end_of_turn>
    <start_of_turn>model
    {text}<start_function_call>call:NAME{k:v}<end_function_call><start_function_response>response:NAME{...}<end_function_response>{text}<end_of_turn>

A model turn that calls tools has no ``<end_of_turn>``: the model stops by emitting
``<start_function_response>`` (a stop string), the results follow inside the same turn, and
the model continues after ``<end_function_response>`` without a new header. So the loss of a
calling turn covers its text, its calls and that first ``<start_function_response>``; the
results themselves carry none. `render_prompt` after a tool result adds no header.

Choices, documented because the template leaves them open:
- System prompt: the template puts it in the ``developer`` turn, followed directly by the
  declarations. With tools we add Google's trigger sentence ("You are a model that can do
  function calling with the following functions") after the system prompt, as in every
  FunctionGemma example; ``trigger=False`` drops it.
- Tool results: an object result is written as ``response:NAME{k:v}``, any other JSON value
  as ``response:NAME{value:...}`` and non-JSON text as ``response:NAME{value:<escape>text<escape>}``
  (the BFCL handler's rule for the template's string case).
- A user message right after tool results (never in our data) first closes the model turn
  with ``<end_of_turn>`` instead of running on in it as the template would.
"""

from __future__ import annotations

import json
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
    split_system,
    text_of,
    tool_calls_of,
)
from dnd_ft.chat.fg_syntax import (
    FGSyntaxError,
    escape,
    format_declaration,
    format_object,
    format_value,
    parse_prefix,
)
from dnd_ft.chat.tokens import GEMMA

BOS, SOT, EOT = GEMMA["bos"], GEMMA["start_of_turn"], GEMMA["end_of_turn"]
CALL_START, CALL_END = GEMMA["start_function_call"], GEMMA["end_function_call"]
RESP_START, RESP_END = GEMMA["start_function_response"], GEMMA["end_function_response"]
DECL_START, DECL_END = GEMMA["start_function_declaration"], GEMMA["end_function_declaration"]
TRIGGER = "You are a model that can do function calling with the following functions"
_CALL = re.compile(re.escape(CALL_START) + r"(.*?)(?:" + re.escape(CALL_END) + r"|\Z)", re.DOTALL)
_ROLES = {"assistant": "model", "system": "developer"}


def format_call(name: str, arguments: Mapping[str, Any]) -> str:
    return f"{CALL_START}call:{name}{format_object(arguments)}{CALL_END}"


def format_response(name: str, content: str) -> str:
    try:
        value = json.loads(content)
    except json.JSONDecodeError:
        body = "{value:" + escape(content) + "}"
    else:
        body = (
            format_object(value)
            if isinstance(value, dict)
            else "{value:" + format_value(value) + "}"
        )
    return f"{RESP_START}response:{name}{body}{RESP_END}"


def parse_call(body: str) -> dict[str, Any] | None:
    """``call:NAME{...}`` (the text between the call markers) as ``{"name", "arguments"}``."""
    body = body.strip()
    if not body.startswith("call:"):
        return None
    brace = body.find("{")
    name = body[5 : brace if brace != -1 else len(body)].strip()
    if not name:
        return None
    if brace == -1:
        return {"name": name, "arguments": {}}
    try:
        arguments, end = parse_prefix(body[brace:])
    except FGSyntaxError:
        return None
    if not isinstance(arguments, dict) or body[brace + end :].strip():
        return None
    return {"name": name, "arguments": arguments}


class FunctionGemmaFormat(ChatFormat):
    name = "functiongemma"
    stop_strings = [EOT, RESP_START, GEMMA["eos"]]
    declaration_prefix = "declaration:"
    call_block = _CALL

    def __init__(self, *, trigger: bool = True, **options: Any) -> None:
        super().__init__(**options)
        self.trigger = trigger

    @property
    def options(self) -> dict[str, Any]:
        return {**super().options, "trigger": self.trigger}

    def _render(self, messages: Sequence[Message], tools: Sequence[Mapping] | None) -> Rendered:
        b = TextBuilder()
        b.add(BOS)
        system, rest = split_system(messages)
        if tools or system is not None:
            developer = (system or "").strip()
            if tools and self.trigger:
                developer = f"{developer}\n\n{TRIGGER}" if developer else TRIGGER
            declarations = "".join(
                f"{DECL_START}{format_declaration(t)}{DECL_END}" for t in tools or ()
            )
            b.add(f"{SOT}developer\n{developer}{declarations}{EOT}\n")
        state = None  # what the open model turn last holds: None | "tool_call" | "tool_response"
        for i, message in enumerate(rest):
            role = message.get("role")
            if role == "tool":
                # the first result's marker is what the model emits to stop after its calls
                b.add(RESP_START, loss=state == "tool_call")
                b.add(
                    format_response(str(message.get("name") or "tool"), text_of(message))[
                        len(RESP_START) :
                    ]
                )
                state = "tool_response"
                continue
            if state in ("tool_call", "tool_response") and role != "assistant":
                b.add(f"{EOT}\n")  # close the open model turn (see module docstring)
                state = None
            if role == "assistant":
                if state != "tool_response":
                    b.add(f"{SOT}model\n")
                calls = tool_calls_of(message)
                b.add(
                    text_of(message).strip() + "".join(format_call(n, a) for n, a in calls),
                    loss=True,
                )
                if calls:
                    state = "tool_call"
                    if next_role(rest, i) != "tool":
                        b.add(RESP_START, loss=True)
                else:
                    b.add(EOT, loss=True)
                    b.add("\n")
                    state = None
            else:
                b.add(f"{SOT}{_ROLES.get(role, role)}\n{self.user_text(message).strip()}{EOT}\n")
        return b.build()

    def render_prompt(self, messages: Sequence[Message], tools: Sequence[Mapping] | None) -> str:
        text = self.render(messages, tools).text
        last = messages[-1].get("role") if messages else None
        if last == "tool" or (last == "assistant" and messages[-1].get("tool_calls")):
            return text  # the model continues its open turn after the results
        return text + f"{SOT}model\n"

    def parse_assistant(self, text: str) -> ParsedTurn:
        return parse_call_blocks(self.cut_at_stop(text), _CALL, parse_call)
