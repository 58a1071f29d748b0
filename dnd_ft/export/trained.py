"""What an export needs to know about how its model was trained: the dataset it trained beside
and the chat format that dataset was rendered in (this run's, else the exported adapter's)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def adapter_dir(ctx: Any) -> Path | None:
    """``export.adapter_dir`` when set (an adapter from another run)."""
    configured = ctx.cfg.export.adapter_dir
    return Path(configured) if configured else None


def format_data_dir(ctx: Any) -> Path | None:
    """The dataset holding the training format.json: this run's, else the one beside the
    exported adapter; None when neither has one."""
    from dnd_ft.evaluation.stage import existing_data_dir

    return existing_data_dir(ctx, adapter_dir(ctx))


def trained_format(ctx: Any, tokenizer: Any) -> Any:
    """The chat format training used (format.json, else the run's config)."""
    from dnd_ft.chat.formats import format_for_run, load_format

    data_dir = format_data_dir(ctx)
    return load_format(data_dir, tokenizer) if data_dir else format_for_run(ctx.cfg, tokenizer)


def trained_format_name(ctx: Any) -> str:
    """Its name (hermes, functiongemma, ...), without loading a tokenizer."""
    from dnd_ft.chat.formats import FORMAT_FILE

    data_dir = format_data_dir(ctx)
    if data_dir is None:
        return str(ctx.cfg.model.chat_format)
    return str(json.loads((data_dir / FORMAT_FILE).read_text(encoding="utf-8"))["chat_format"])
