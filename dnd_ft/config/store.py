"""Hydra's ConfigStore: the root schema and one schema per group, registered once per process.

Each group file starts with ``defaults: [base_<group>, _self_]``, so Hydra merges it onto the
dataclass: a misspelt key in a file or on the command line fails at startup naming the key.
Which schemas exist is the stage registry's business (`dnd_ft.pipeline.config`); this module
only knows how to store them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from dnd_ft.locations import bundled

CONFIG_DIR = bundled("configs")  # two stat calls: the checkout's configs/ or the wheel's copy
ROOT_NAME = "base_train"

_registered = False


def register(
    root: type, groups: Mapping[str, type], resolvers: Mapping[str, Callable[..., object]]
) -> None:
    """Store ``root`` as ``base_train`` and each group's schema as ``<group>/base_<group>``,
    and register the resolvers; later calls do nothing (Hydra's store is global)."""
    global _registered
    if _registered:
        return
    cs = ConfigStore.instance()
    cs.store(name=ROOT_NAME, node=root)
    for group, schema in groups.items():
        cs.store(group=group, name=f"base_{group}", node=schema)
    for name, resolver in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)
    _registered = True


def is_schema_entry(group: str, option: str) -> bool:
    """Whether ``option`` of ``group`` is the stored schema rather than a config file."""
    return option == f"base_{group}"
