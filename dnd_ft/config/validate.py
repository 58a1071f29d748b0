"""Cross-field checks that a schema alone cannot express.

Every check returns messages of the form `key: what is wrong; how to fix it`. All problems
are collected and raised together so the user fixes them in one go.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable

from omegaconf import DictConfig

from dnd_ft.config.schema.model import CHAT_FORMATS, FAMILIES, SOURCES
from dnd_ft.errors import ConfigError
from dnd_ft.pipeline.stages import STAGES, available

Check = Callable[[DictConfig], Iterable[str]]


def _one_of(key: str, value: object, allowed: Iterable[str]) -> Iterable[str]:
    allowed = tuple(allowed)
    if value not in allowed:
        yield f"{key}: {value!r} is not one of {', '.join(allowed)}"


def check_stages(cfg: DictConfig) -> Iterable[str]:
    for stage in cfg.stages:
        if stage not in STAGES:
            yield from _one_of("stages", stage, STAGES)
        elif not available(stage):
            yield f"stages: {stage!r} is not available in this version; remove it from stages"
    if len(set(cfg.stages)) != len(cfg.stages):
        yield f"stages: {list(cfg.stages)} repeats a stage; list each once"


def check_model(cfg: DictConfig) -> Iterable[str]:
    m = cfg.model
    yield from _one_of("model.family", m.family, FAMILIES)
    yield from _one_of("model.chat_format", m.chat_format, CHAT_FORMATS)
    yield from _one_of("model.source", m.source, SOURCES)
    needs = {"hub": "hub_id", "local": "local_path", "gguf_asset": "gguf_asset"}
    key = needs.get(m.source)
    if key and not m.get(key):
        yield f"model.{key}: required when model.source={m.source}; set model.{key}=..."
    if m.source == "tiny" and m.tiny.hidden_size % m.tiny.num_attention_heads:
        yield "model.tiny.hidden_size: must be a multiple of model.tiny.num_attention_heads"
    if m.source == "tiny" and m.max_seq_length > m.tiny.max_position_embeddings:
        yield (
            f"model.max_seq_length: {m.max_seq_length} exceeds model.tiny.max_position_embeddings "
            f"({m.tiny.max_position_embeddings}); raise the latter or lower the former"
        )


def check_data(cfg: DictConfig) -> Iterable[str]:
    s = cfg.data.split
    fractions = (s.train, s.val, s.test)
    if any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        yield (
            f"data.split: train+val+test must be non-negative and sum to 1, got "
            f"{s.train}+{s.val}+{s.test}={sum(fractions):g}"
        )
    if not cfg.data.categories:
        yield "data.categories: list at least one scenario category"
    yield from _one_of("data.unicode_form", cfg.data.unicode_form, ("NFC", "NFKC", "NFD", "NFKD"))


def check_tracking(cfg: DictConfig) -> Iterable[str]:
    yield from _one_of("tracking.backend", cfg.tracking.backend, ("none", "wandb"))
    yield from _one_of("tracking.mode", cfg.tracking.mode, ("offline", "online", "disabled"))


CHECKS: list[Check] = [check_stages, check_model, check_data, check_tracking]

# Stage packages keep their own checks beside their code; importing a module registers them.
CHECK_MODULES = ("dnd_ft.data.checks", "dnd_ft.training.checks", "dnd_ft.config.schema.eval")


def register_check(check: Check) -> Check:
    """Decorator for stage packages that add their own cross-field checks."""
    if check not in CHECKS:
        CHECKS.append(check)
    return check


def validate(cfg: DictConfig) -> None:
    """Raise ConfigError listing every problem, or return when the config can run."""
    for module in CHECK_MODULES:
        importlib.import_module(module)
    problems = [p for check in CHECKS for p in check(cfg)]
    if problems:
        raise ConfigError(problems)
