"""Schema of the `registry` group: where versions are kept and which line a run adds to."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

LINE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass
class RegistryConfig:
    # The local registry: one folder per model line, a folder per version inside it.
    dir: str = "${paths.output_dir}/registry"
    # The model line a run registers into (versions v1, v2, ... are numbered per line);
    # trainer.init_from=v2 (or latest) is looked up in this line.
    line: str = "${model.name}"
    aliases: list[str] = field(default_factory=lambda: ["latest"])  # moved to the new version
    # Files are hard-linked into the version when they are on the same filesystem (outputs
    # are never rewritten in place: every writer replaces whole files), else copied.
    link_files: bool = True
    # With tracking=wandb and an online run, also link the model artifact into this W&B
    # Registry collection, e.g. "wandb-registry-model/dnd-game-master"; null: not linked.
    wandb_collection: str | None = None


def check_registry(cfg: Any) -> Iterable[str]:
    r = cfg.registry
    if not LINE_RE.match(str(r.line)):
        yield (
            f"registry.line: {r.line!r} is not a usable line name; use letters, digits, '.', "
            "'_' or '-' (e.g. registry.line=dm-qwen3)"
        )
    for alias in r.aliases:
        if not LINE_RE.match(str(alias)) or re.fullmatch(r"v\d+", str(alias)):
            yield (
                f"registry.aliases: {alias!r} is not an alias; aliases are names such as latest "
                "or production (v<N> names a version)"
            )
