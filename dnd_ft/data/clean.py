"""Cleaning: unicode and whitespace normalisation, empty turns, over-length examples.

Nothing is changed silently: every change is returned as a `CleanAction` for the data report.
Over-length examples are reported and only dropped when asked; they are never truncated.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

_MANY_NEWLINES = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)


@dataclass(frozen=True)
class CleanAction:
    """One thing cleaning did (or found) to one record."""

    record_id: str
    action: str  # normalized | dropped_empty_turn | empty_tool_result | dropped_record | overlength
    detail: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def normalize_whitespace(text: str) -> str:
    """Strip the ends and trailing spaces of lines, collapse 3+ newlines to one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _MANY_NEWLINES.sub("\n\n", _TRAILING_SPACE.sub("", text)).strip()


def normalize(text: str, unicode_form: str) -> str:
    return normalize_whitespace(unicodedata.normalize(unicode_form, text))


def clean_records(
    records: Iterable[dict[str, Any]], unicode_form: str = "NFC"
) -> tuple[list[dict[str, Any]], list[CleanAction]]:
    """Cleaned copies of ``records`` (inputs untouched) and what was done to them."""
    kept, actions = [], []
    for record in records:
        cleaned, acts = clean_record(record, unicode_form)
        actions += acts
        if cleaned is not None:
            kept.append(cleaned)
    return kept, actions


def clean_record(
    record: dict[str, Any], unicode_form: str = "NFC"
) -> tuple[dict[str, Any] | None, list[CleanAction]]:
    """One record cleaned; None when nothing trainable is left (no assistant turn)."""
    rid = str(record.get("id", "?"))
    record = copy.deepcopy(record)
    actions: list[CleanAction] = []
    changed = 0
    messages = []
    for i, message in enumerate(record.get("messages", [])):
        before = message.get("content") or ""
        message["content"] = normalize(before, unicode_form)
        changed += message["content"] != before
        if message.get("name"):
            message["name"] = unicodedata.normalize(unicode_form, message["name"]).strip()
        for call in message.get("tool_calls") or []:
            func = call.get("function", call)
            new_args = _normalize_value(func.get("arguments"), unicode_form)
            changed += new_args != func.get("arguments")
            func["arguments"] = new_args
        role = message.get("role")
        if not message["content"] and not message.get("tool_calls"):
            if role == "tool":  # dropping it would unpair a call and its result
                actions.append(
                    CleanAction(rid, "empty_tool_result", f"message {i} ({message.get('name')})")
                )
            else:
                actions.append(CleanAction(rid, "dropped_empty_turn", f"message {i} ({role})"))
                continue
        messages.append(message)
    record["messages"] = messages
    if changed:
        actions.append(CleanAction(rid, "normalized", f"{changed} message(s) changed"))
    if not any(m.get("role") == "assistant" for m in messages):
        actions.append(CleanAction(rid, "dropped_record", "no assistant turn left after cleaning"))
        return None, actions
    return record, actions


def flag_overlength(
    items: Sequence[Any],
    counts: Sequence[int | None],
    ids: Sequence[str],
    max_length: int,
    drop: bool,
) -> tuple[list[Any], list[CleanAction]]:
    """Report items whose token count exceeds ``max_length``; drop them only if ``drop``."""
    kept, actions = [], []
    for item, count, rid in zip(items, counts, ids, strict=True):
        if count is not None and count > max_length:
            verb = "dropped" if drop else "kept"
            actions.append(
                CleanAction(rid, "overlength", f"{count} tokens > max_length {max_length}; {verb}")
            )
            if drop:
                continue
        kept.append(item)
    return kept, actions


def _normalize_value(value: Any, unicode_form: str) -> Any:
    """Unicode-normalise every string inside tool-call arguments (dicts, lists, JSON text)."""
    if isinstance(value, str):
        return unicodedata.normalize(unicode_form, value)
    if isinstance(value, dict):
        return {
            unicodedata.normalize(unicode_form, k): _normalize_value(v, unicode_form)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_normalize_value(v, unicode_form) for v in value]
    return value
