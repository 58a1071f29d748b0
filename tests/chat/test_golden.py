"""Golden files: each format renders the fixed record exactly as committed.

Regenerate after an intended format change with ``DND_FT_UPDATE_GOLDEN=1 pytest tests/chat``
and review the diff like code.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from dnd_ft.chat.formats import ChatFormat, get_format
from tests.chat.conftest import GOLDEN

VARIANTS: dict[str, dict[str, Any]] = {
    "hermes": {"chat_format": "hermes", "think": False},
    "hermes_qwen3": {"chat_format": "hermes", "think": True},
    "functiongemma": {"chat_format": "functiongemma"},
    "gemma3": {"chat_format": "gemma3"},
}


def make(variant: str) -> ChatFormat:
    options = dict(VARIANTS[variant])
    return get_format(options.pop("chat_format"), **options)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_render_matches_golden_file(variant: str, record: dict[str, Any]) -> None:
    text = make(variant).render(record["messages"], record["tools"]).text
    path = GOLDEN / f"{variant}.txt"
    if os.environ.get("DND_FT_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
