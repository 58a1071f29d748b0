"""Shared fixtures of the scenario tests: the real default tool registry and fixture paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnd_ft.tools.registry import ToolRegistry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "scenarios"


@pytest.fixture(scope="session")
def registry() -> ToolRegistry:
    return ToolRegistry.default()


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES
