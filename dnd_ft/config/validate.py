"""Run every check and collect every problem, so the user fixes them in one go."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from omegaconf import DictConfig

from dnd_ft.config.checks import Check
from dnd_ft.config.strict import unknown_keys
from dnd_ft.errors import ConfigError


def problems(
    cfg: DictConfig, root: type, checks: Iterable[Check], moved: Mapping[str, str] | None = None
) -> list[str]:
    """Unknown keys first (the other checks may trip over them), then each check's messages."""
    found = unknown_keys(cfg, root, moved=moved)
    if found:
        return found
    return [p for check in checks for p in check(cfg)]


def validate(
    cfg: DictConfig, root: type, checks: Iterable[Check], moved: Mapping[str, str] | None = None
) -> None:
    """Raise `ConfigError` listing every problem, or return when the config can run."""
    found = problems(cfg, root, checks, moved)
    if found:
        raise ConfigError(found)
