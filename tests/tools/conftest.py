"""Shared fixtures of the tools tests: the real default registry and the real SRD file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dnd_ft.assets import asset_path
from dnd_ft.tools.executors import SRD
from dnd_ft.tools.registry import ToolRegistry


@pytest.fixture(scope="session")
def registry() -> ToolRegistry:
    return ToolRegistry.default()


@pytest.fixture(scope="session")
def srd() -> Iterator[SRD]:
    with SRD(asset_path("srd")) as db:  # fetched from PyPI once, then cached
        yield db
