"""The format registry: pick a chat format by name, and save or load a dataset's choice.

``get_format(chat_format, tokenizer)`` picks one by its ``model.chat_format`` name;
`format_for_run` derives the options from a run's config, and the data stage saves them in
``format.json`` beside the dataset so training and evaluation render exactly the same way
(`load_format`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dnd_ft.chat.base import ChatFormat
from dnd_ft.chat.errors import ChatFormatError
from dnd_ft.chat.templates import wants_think

FORMATS = ("hermes", "gemma3", "functiongemma", "template")
FORMAT_FILE = "format.json"


def get_format(chat_format: str, tokenizer: Any = None, **options: Any) -> ChatFormat:
    """The format called ``chat_format`` (a ``model.chat_format`` value).

    options: ``speaker_names`` and ``learn_tool_names`` (all), ``think`` (hermes: None = detect ``<think>`` in the
    tokenizer's chat template), ``trigger`` (functiongemma). ``template`` needs ``tokenizer``.
    """
    if chat_format == "hermes":
        from dnd_ft.chat.hermes import HermesFormat

        if options.get("think") is None:
            template = getattr(tokenizer, "chat_template", None)
            options["think"] = isinstance(template, str) and "<think>" in template
        return HermesFormat(**options)
    if chat_format == "functiongemma":
        from dnd_ft.chat.functiongemma import FunctionGemmaFormat

        return FunctionGemmaFormat(**options)
    if chat_format == "gemma3":
        from dnd_ft.chat.gemma3 import Gemma3Format

        return Gemma3Format(**options)
    if chat_format == "template":
        from dnd_ft.chat.template import TemplateFormat

        return TemplateFormat(tokenizer, **options)
    raise ChatFormatError(
        f"model.chat_format: unknown format {chat_format!r}; use one of {', '.join(FORMATS)}"
    )


def run_options(chat_format: str, model_cfg: Any, format_cfg: Any) -> dict[str, Any]:
    """Format options for a run: ``data.format`` settings, with ``think`` resolved for Qwen3.

    ``data.format.think: null`` means: Qwen3 models (by name or hub id) get the empty think
    block, other hermes models none; the tokenizer's template decides when neither says.
    """
    options: dict[str, Any] = {"speaker_names": bool(format_cfg.speaker_names)}
    if format_cfg.get("learn_tool_names"):
        options["learn_tool_names"] = True
    if chat_format == "hermes":
        think = format_cfg.think
        if think is None:
            think = True if wants_think(model_cfg) else None
        options["think"] = think
    elif chat_format == "functiongemma":
        options["trigger"] = bool(format_cfg.trigger)
    return options


def format_for_run(cfg: Any, tokenizer: Any = None) -> ChatFormat:
    """The format a run renders with, from ``cfg.model.chat_format`` and ``cfg.data.format``."""
    chat_format = cfg.model.chat_format
    return get_format(
        chat_format, tokenizer, **run_options(chat_format, cfg.model, cfg.data.format)
    )


def format_spec(fmt: ChatFormat) -> dict[str, Any]:
    """What `load_format` needs; the data stage writes it to ``format.json``."""
    return {"chat_format": fmt.name, "options": fmt.options, "stop_strings": list(fmt.stop_strings)}


def load_format(data_dir: str | Path, tokenizer: Any = None) -> ChatFormat:
    """The format a dataset was rendered with, from its ``format.json``."""
    path = Path(data_dir) / FORMAT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no format.json; run the data stage first (stages=[data])")
    spec = json.loads(path.read_text(encoding="utf-8"))
    return get_format(spec["chat_format"], tokenizer, **spec.get("options", {}))
