"""The data stage: scenario records -> cleaned, split, rendered chat examples. No torch here.

Entry points (see docs/data.md):

- ``dnd_ft.data.stage.run(ctx)`` / ``build_datasets(...)``: the pipeline stage
- ``dnd_ft.data.rows.load_split(data_dir, split)``: rows for training and evaluation
- ``dnd_ft.data.config``: the `data` group's schema and checks

The chat formats it renders with are a layer of their own, below it: `dnd_ft.chat`.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "load_split": "dnd_ft.data.rows",
    "build_datasets": "dnd_ft.data.stage",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Re-exports, imported on first use so ``import dnd_ft.data`` stays free."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dnd_ft.data' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
