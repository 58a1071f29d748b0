"""Parse JSON tool calls out of assistant text: Hermes ``<tool_call>`` blocks, bare JSON objects."""

from __future__ import annotations

import json
import re
from typing import Any

from dnd_ft.chat.base import ParsedTurn, parse_call_blocks
from dnd_ft.chat.tokens import HERMES

_START, _END = HERMES["tool_call_start"], HERMES["tool_call_end"]
CALL_BLOCK = re.compile(re.escape(_START) + r"(.*?)(?:" + re.escape(_END) + r"|\Z)", re.DOTALL)
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)\s*", re.DOTALL)


def call_from_json(obj: Any) -> dict[str, Any] | None:
    """``{"name", "arguments"}`` from a decoded call object, or None if it is not one.

    ``arguments`` may be an object or a JSON string; ``parameters`` is accepted as an alias
    (some models write it).
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return None
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            return None
    if not isinstance(args, dict):
        return None
    return {"name": obj["name"], "arguments": args}


def parse_hermes(text: str) -> ParsedTurn:
    """Content and calls of Hermes-style output (``<tool_call>\\n{json}\\n</tool_call>``).

    A block whose JSON does not decode to a call, or that is never closed and does not
    decode, goes to ``malformed`` as its raw text. ``<think>`` blocks are dropped.
    """
    return parse_call_blocks(_THINK.sub("", text), CALL_BLOCK, _json_call)


def _json_call(body: str) -> dict[str, Any] | None:
    try:
        return call_from_json(json.loads(body.strip()))
    except json.JSONDecodeError:
        return None


def parse_json_objects(text: str) -> ParsedTurn:
    """Fallback: every top-level JSON object in ``text`` that looks like a call is one.

    Used for chat templates whose call syntax we do not know; objects that decode but are
    not calls stay in the content.
    """
    decoder = json.JSONDecoder()
    calls: list[dict[str, Any]] = []
    kept: list[str] = []
    pos = 0
    i = text.find("{")
    while i != -1:
        try:
            obj, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            i = text.find("{", i + 1)
            continue
        call = call_from_json(obj)
        if call is not None:
            calls.append(call)
            kept.append(text[pos:i])
            pos = end
        i = text.find("{", end)
    kept.append(text[pos:])
    return ParsedTurn(content="".join(kept).strip(), tool_calls=calls)
