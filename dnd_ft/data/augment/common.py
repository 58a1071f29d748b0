"""Helpers the augmentation techniques share: walking a record's strings, pairing calls and results."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dnd_ft.tools import SRD, ToolExecutor, ToolRegistry

StrFn = Callable[[str], str]


@dataclass
class AugmentContext:
    """What techniques may use: the tool registry and SRD data (opened on first use)."""

    registry: ToolRegistry
    srd_factory: Callable[[], SRD] | None = None
    _srd: SRD | None = field(default=None, repr=False)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # per-run indexes

    @property
    def srd(self) -> SRD:
        if self._srd is None:
            from dnd_ft.tools import SRD

            self._srd = self.srd_factory() if self.srd_factory else SRD()
        return self._srd

    def executor(self, seed: int) -> ToolExecutor:
        """A fresh executor: its results are what the tools really return."""
        from dnd_ft.tools import ToolExecutor

        return ToolExecutor(self.registry, seed=seed, srd=self.srd)


@dataclass(frozen=True)
class CallRef:
    """Where a tool call sits: assistant message, call index, and its result message (or None)."""

    message: int
    index: int
    result: int | None
    name: str
    arguments: dict[str, Any]


def compact_json(value: Any) -> str:
    """Tool results as the scenario parser stores them: compact JSON, non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def iter_calls(messages: list[dict[str, Any]]) -> Iterator[CallRef]:
    """Every call with its result: the n calls of a turn pair with the n tool messages after it."""
    for i, message in enumerate(messages):
        calls = message.get("tool_calls") or []
        if message.get("role") != "assistant" or not calls:
            continue
        results = []
        for j in range(i + 1, len(messages)):
            if messages[j].get("role") != "tool":
                break
            results.append(j)
        for k, call in enumerate(calls):
            func = call.get("function", call)
            args = func.get("arguments")
            if isinstance(args, str):
                args = json.loads(args)
            yield CallRef(
                i, k, results[k] if k < len(results) else None, func["name"], dict(args or {})
            )


def set_arguments(messages: list[dict[str, Any]], ref: CallRef, arguments: dict[str, Any]) -> None:
    call = messages[ref.message]["tool_calls"][ref.index]
    call.get("function", call)["arguments"] = arguments


def result_of(messages: list[dict[str, Any]], ref: CallRef) -> Any:
    """The decoded JSON result of a call, or None when it has none or it is not JSON."""
    if ref.result is None:
        return None
    try:
        return json.loads(messages[ref.result].get("content") or "")
    except json.JSONDecodeError:
        return None


def map_strings(record: dict[str, Any], fn: StrFn) -> None:
    """Apply ``fn`` in place to every text a model sees, plus call arguments and the flow title."""
    if isinstance(record.get("flow"), str):
        record["flow"] = fn(record["flow"])
    for message in record["messages"]:
        if isinstance(message.get("content"), str):
            message["content"] = fn(message["content"])
        if message.get("role") == "user" and message.get("name"):
            message["name"] = fn(message["name"])
        for call in message.get("tool_calls") or []:
            func = call.get("function", call)
            func["arguments"] = _map_value(func.get("arguments"), fn)


def word_replacer(mapping: Mapping[str, str]) -> StrFn:
    """Replace whole words (longest first, one pass, so renames never chain)."""
    if not mapping:
        return lambda text: text
    alternation = "|".join(re.escape(k) for k in sorted(mapping, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w'’-])({alternation})(?![\w-])")
    return lambda text: pattern.sub(lambda m: mapping[m.group(1)], text)


def all_text(record: dict[str, Any]) -> str:
    """Every string of the record joined, to check that a new name is not already used."""
    parts: list[str] = []

    def grab(text: str) -> str:
        parts.append(text)
        return text

    map_strings(copy.deepcopy(record), grab)
    return "\n".join(parts)


def _map_value(value: Any, fn: StrFn) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map_value(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_value(v, fn) for v in value]
    return value
