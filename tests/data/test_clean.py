"""Cleaning normalises text, drops empty turns, and reports everything it does."""

from __future__ import annotations

import copy
from typing import Any

from dnd_ft.data.clean import clean_records, flag_overlength, normalize_whitespace


def test_whitespace_rules() -> None:
    assert normalize_whitespace("  a  \r\nb\t\n\n\n\n c \n") == "a\nb\n\n c"


def test_unicode_is_normalised_everywhere(record: dict[str, Any]) -> None:
    record["messages"][1]["content"] = "Cafe\u0301 time"  # e + combining acute
    record["messages"][2]["tool_calls"][0]["function"]["arguments"] = {
        "combatants": ["E\u0301lodie"]
    }
    before = copy.deepcopy(record)
    [cleaned], actions = clean_records([record], "NFC")
    assert cleaned["messages"][1]["content"] == "Café time"
    assert cleaned["messages"][2]["tool_calls"][0]["function"]["arguments"] == {
        "combatants": ["Élodie"]
    }
    assert [(a.action, a.detail) for a in actions] == [("normalized", "2 message(s) changed")]
    assert record == before  # inputs untouched


def test_empty_turns_are_dropped_and_reported(record: dict[str, Any]) -> None:
    record["messages"][1]["content"] = "   "
    record["messages"][8]["content"] = ""
    [cleaned], actions = clean_records([record])
    assert len(cleaned["messages"]) == len(record["messages"]) - 1  # the empty tool result stays
    assert {(a.action, a.detail) for a in actions} == {
        ("dropped_empty_turn", "message 1 (user)"),
        ("empty_tool_result", "message 8 (add_condition)"),
        ("normalized", "1 message(s) changed"),  # the blank user turn
    }


def test_a_record_without_assistant_turns_is_dropped(record: dict[str, Any]) -> None:
    record["messages"] = [m for m in record["messages"] if m["role"] in ("system", "user")]
    kept, actions = clean_records([record])
    assert kept == []
    assert actions[-1].action == "dropped_record" and actions[-1].record_id == "golden/ambush"


def test_over_length_is_reported_and_dropped_only_when_asked() -> None:
    items, counts, ids = ["a", "b", "c"], [10, 99, None], ["x", "y", "z"]
    kept, actions = flag_overlength(items, counts, ids, max_length=50, drop=False)
    assert kept == items
    assert [a.to_dict() for a in actions] == [
        {"record_id": "y", "action": "overlength", "detail": "99 tokens > max_length 50; kept"}
    ]
    kept, actions = flag_overlength(items, counts, ids, max_length=50, drop=True)
    assert kept == ["a", "c"] and actions[0].detail.endswith("dropped")
