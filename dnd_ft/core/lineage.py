"""``dnd_ft_parents.json``: what an adapter was trained on top of (``trainer.init_mode``).

An adapter trained with ``new_adapter`` has a base that is not the base model but the base
with its parents merged in (or a merged model folder), so it names them: ``merge_first``,
adapters oldest first, and ``base_dir``, a model folder that replaces the base. Paths are
stored relative to the adapter folder, so a registry version moves as one folder. Loading
(merging the chain) is `dnd_ft.models.lineage`; this module is only the file, torch-free,
for the registry that copies the chain into each version.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

PARENTS_FILE = "dnd_ft_parents.json"


def _read(adapter_dir: Path) -> dict[str, Any]:
    path = Path(adapter_dir) / PARENTS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def read_parents(adapter_dir: Path) -> list[Path]:
    """The adapters to merge into the base before this one, oldest first (absolute paths)."""
    # Stored relative to the adapter folder, so a registry version moves as one folder.
    entries = _read(adapter_dir).get("merge_first", [])
    return [(Path(adapter_dir) / e["path"]).resolve() for e in entries]


def read_base(adapter_dir: Path) -> Path | None:
    """A model folder that replaces the configured base under this adapter, if any."""
    base = _read(adapter_dir).get("base_dir")
    return (Path(adapter_dir) / base).resolve() if base else None


def chain(adapter_dir: Path) -> dict[str, Any]:
    """The raw record (``merge_first`` entries with labels, ``base_dir``), {} when none."""
    return _read(adapter_dir)


def write_parents(
    adapter_dir: Path, parents: list[Path], labels: list[str], base_dir: Path | None = None
) -> None:
    """Record ``parents`` (oldest first) and ``base_dir`` relative to ``adapter_dir``."""

    def rel(path: Path) -> str:
        return os.path.relpath(Path(path).resolve(), Path(adapter_dir).resolve())

    record: dict[str, Any] = {
        "merge_first": [
            {"path": rel(p), "label": label} for p, label in zip(parents, labels, strict=True)
        ]
    }
    if base_dir is not None:
        record["base_dir"] = rel(base_dir)
    if record["merge_first"] or base_dir is not None:
        text = json.dumps(record, indent=2) + "\n"
        (Path(adapter_dir) / PARENTS_FILE).write_text(text, encoding="utf-8")
