"""metrics.json: one flat JSON object of slash-separated keys that every stage adds to."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from dnd_ft.utils.io import atomic_write_text


class Metrics:
    """W&B-summary-style metrics, written to disk after every update so a crash loses nothing."""

    def __init__(self, path: Path):
        self.path = path
        self.values: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}

    def update(self, values: dict[str, Any], prefix: str = "") -> None:
        for key, value in values.items():
            self.values[f"{prefix}{key}"] = _plain(value)
        self._write()

    def drop(self, keys: list[str]) -> None:
        """Forget ``keys`` (an earlier attempt's numbers for a stage that runs again)."""
        for key in keys:
            self.values.pop(key, None)
        self._write()

    def _write(self) -> None:
        atomic_write_text(self.path, json.dumps(self.values, indent=2, sort_keys=True) + "\n")

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def _plain(value: Any) -> Any:
    """JSON-safe scalar: numpy/torch scalars become Python numbers, NaN stays visible as null."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
