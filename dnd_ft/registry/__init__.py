"""The model registry: numbered versions per model line, with their lineage.

    python -m dnd_ft stages=[data,train,eval,register]           # registers v1, v2, ...
    python -m dnd_ft trainer.init_from=latest data.scenario_dirs=[new/]   # the next generation
    python -m dnd_ft.registry list | show v2 | diff v1 v2 | promote v2 --alias production

A version is one folder, ``<registry.dir>/<line>/v<N>/``, holding everything it names (the
adapter or model, the datasets it trained and was scored on, its exports, ``version.json``);
see `dnd_ft.registry.store` and docs/maintenance.md. Pure Python: no torch here.
"""

from dnd_ft.registry.store import ModelRegistryError, Registry, Version

__all__ = ["Registry", "ModelRegistryError", "Version"]
