"""The options of a config group, and one option loaded on its own (a baseline model, say).

Inside a Hydra app the run's config search path decides, so folders a user added with
``hydra.searchpath=[file://...]`` count; elsewhere (tests, scripts) the bundled configs do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dnd_ft.config.store import CONFIG_DIR
from dnd_ft.errors import ConfigError


def search_dirs() -> list[Path]:
    """Config folders in search-path order (``file://`` sources; packages are not read)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return [CONFIG_DIR]
    sources = HydraConfig.get().runtime.config_sources
    return [Path(s.path) for s in sources if s.schema == "file"] or [CONFIG_DIR]


def group_options(group: str) -> list[str]:
    """Names of the config files of ``group`` on the search path."""
    return sorted({p.stem for d in search_dirs() for p in (d / group).glob("*.yaml")})


def load_option(group: str, name: str, schema: type) -> Any:
    """The option ``name`` of ``group`` merged onto ``schema``, as composition merges it."""
    from omegaconf import OmegaConf

    for folder in search_dirs():
        path = folder / group / f"{name}.yaml"
        if path.is_file():
            loaded = OmegaConf.load(path)
            loaded.pop("defaults", None)
            return OmegaConf.merge(OmegaConf.structured(schema), loaded)
    raise ConfigError(
        [f"{group}={name}: no such {group} config; use one of {', '.join(group_options(group))}"]
    )
