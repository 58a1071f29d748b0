"""Which base model and chat format an adapter or fine-tuned model belongs to.

Training writes ``dnd_ft_model.json`` into every adapter and model folder it saves; stages that
take such a folder from the config (``eval.adapter_dir``, ``export.adapter_dir``) check it
against the configured model before loading anything, so an adapter trained on one model is
never silently evaluated (or merged) on another.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

IDENTITY_FILE = "dnd_ft_model.json"
KEYS = ("name", "family", "size", "source", "hub_id", "revision", "chat_format")
MUST_MATCH = ("name", "chat_format")  # another base or another format: the weights mean nothing


def identity(model_cfg: Any) -> dict[str, Any]:
    return {key: model_cfg.get(key) for key in KEYS}


def write_identity(folder: Path, model_cfg: Any) -> None:
    (Path(folder) / IDENTITY_FILE).write_text(
        json.dumps({"model": identity(model_cfg)}, indent=2) + "\n", encoding="utf-8"
    )


def read_identity(folder: Path) -> dict[str, Any] | None:
    path = Path(folder) / IDENTITY_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("model")


def mismatch(folder: Path, model_cfg: Any, key: str) -> str | None:
    """A problem message when ``folder`` was trained for another model or chat format than
    ``model_cfg`` (None when they agree, or when the folder does not say: made elsewhere)."""
    saved = read_identity(folder)
    if saved is None:
        return None
    wrong = [k for k in MUST_MATCH if saved.get(k) != model_cfg.get(k)]
    if not wrong:
        return None
    was = ", ".join(f"{k}={saved.get(k)}" for k in MUST_MATCH)
    now = ", ".join(f"{k}={model_cfg.get(k)}" for k in MUST_MATCH)
    return (
        f"{key}: {folder} was trained for model {was}, but this run's model is {now}; set "
        f"model={saved.get('name')} to use it, or point {key} at an adapter of {model_cfg.get('name')}"
    )
