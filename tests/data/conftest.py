"""Fixtures of the data tests: fixture scenarios, plus the chat tests' record and tokenizer."""

from __future__ import annotations

from pathlib import Path

from tests.chat.conftest import record, tiny_tokenizer  # noqa: F401  # shared fixtures

SCENARIOS = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "scenarios"
