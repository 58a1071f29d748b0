"""Tool registry (declared as data in ``configs/tools/``), executors and reference docs.

Names are imported lazily so ``import dnd_ft.tools`` stays cheap: jsonschema, d20 and the
SRD database load only when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dnd_ft.tools.errors import RegistryError, ToolExecutionError, UnknownToolError
    from dnd_ft.tools.executors import SRD, CombatTracker, ToolExecutor
    from dnd_ft.tools.registry import ToolRegistry, default_registry_path
    from dnd_ft.tools.spec import ToolSpec

_EXPORTS = {
    "RegistryError": "dnd_ft.tools.errors",
    "ToolExecutionError": "dnd_ft.tools.errors",
    "UnknownToolError": "dnd_ft.tools.errors",
    "ToolSpec": "dnd_ft.tools.spec",
    "ToolRegistry": "dnd_ft.tools.registry",
    "default_registry_path": "dnd_ft.tools.registry",
    "ToolExecutor": "dnd_ft.tools.executors",
    "CombatTracker": "dnd_ft.tools.executors",
    "SRD": "dnd_ft.tools.executors",
}

__all__ = [
    "SRD",
    "CombatTracker",
    "RegistryError",
    "ToolExecutionError",
    "ToolExecutor",
    "ToolRegistry",
    "ToolSpec",
    "UnknownToolError",
    "default_registry_path",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dnd_ft.tools' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
