"""Hydra's ConfigStore: the root schema and one schema per group, registered once per process.

Each group file starts with ``defaults: [/schema/<group>@_here_, _self_]``, so Hydra merges it
onto the dataclass: a misspelt key in a file or on the command line fails at startup naming
the key. The schemas live in a group of their own (``schema``), not among a group's options:
``model=base_model`` is not a choice, and Hydra lists the real ones when a choice is wrong.
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
SCHEMA_GROUP = "schema"

_registered = False


def register(
    root: type, groups: Mapping[str, type], resolvers: Mapping[str, Callable[..., object]]
) -> None:
    """Store ``root`` as ``base_train`` and each group's schema as ``schema/<group>``, and
    register the resolvers; later calls do nothing (Hydra's store is global)."""
    global _registered
    if _registered:
        return
    cs = ConfigStore.instance()
    cs.store(name=ROOT_NAME, node=root)
    for group, schema in groups.items():
        cs.store(group=SCHEMA_GROUP, name=group, node=schema)
    for name, resolver in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)
    _registered = True
