"""What ``trainer.init_from`` names: a registry version, an adapter, a model or a run folder.

The data stage takes its replay rows from the parent's training split, training starts from
its weights, evaluation scores the parent's held-out split again (the forgetting check) and
the register stage records it as the new version's parent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnd_ft.registry.store import ModelRegistryError, Registry, Version

MODES = ("continue", "new_adapter", "resume")


@dataclass(frozen=True)
class Parent:
    label: str  # how records name it: "line:v1", or the folder
    adapter_dir: Path | None = None  # its LoRA adapter
    model_dir: Path | None = None  # its whole model (a full fine-tune or a merged export)
    data_dir: Path | None = None  # the datasets it trained and was scored on
    run_dir: Path | None = None  # the run that made it (resume: the interrupted one)
    metrics: dict[str, Any] = field(default_factory=dict)  # what it scored (eval/...)
    version: Version | None = None

    @property
    def weights(self) -> Path | None:
        return self.adapter_dir or self.model_dir


def resolve_parent(init_from: str, registry_dir: str | Path, line: str) -> Parent:
    """The parent ``init_from`` names; ModelRegistryError saying what was looked for otherwise.

    A path wins over a registry reference of the same spelling; anything with a ``/`` is
    taken as a path."""
    path = Path(str(init_from)).expanduser()
    if path.exists():
        return _from_folder(path)
    if "/" in str(init_from) or str(init_from).startswith("."):
        raise ModelRegistryError(
            f"trainer.init_from: {init_from} does not exist; give an adapter folder "
            "(<run>/adapter), a run folder, or a registry version (v1, latest, <line>:v2)"
        )
    version = Registry(registry_dir).resolve(str(init_from), line)
    return Parent(
        label=version.ref,
        adapter_dir=version.adapter_dir,
        model_dir=version.model_dir,
        data_dir=_dataset(version.data_dir),
        run_dir=Path(version.record["run_dir"]) if version.record.get("run_dir") else None,
        metrics=dict(version.record.get("metrics", {})),
        version=version,
    )


def run_parent(cfg: Any) -> Parent | None:
    """The parent a run's ``trainer.init_from`` names, as a new generation's stages use it
    (replay, forgetting, seen tools); None without one, and for init_mode=resume (the same
    training finished, not a new generation)."""
    t = cfg.trainer
    if not t.init_from or t.init_mode == "resume":
        return None
    return resolve_parent(str(t.init_from), cfg.registry.dir, str(cfg.registry.line))


def _from_folder(path: Path) -> Parent:
    path = path.resolve()
    if (path / "adapter_config.json").is_file():  # <run>/adapter
        run = path.parent
        return Parent(str(path), adapter_dir=path, data_dir=_dataset(run / "data"),
                      run_dir=run, metrics=_metrics(run))  # fmt: skip
    if (path / "config.json").is_file():  # <run>/merged or <run>/export/merged
        run = path.parent.parent if path.parent.name == "export" else path.parent
        return Parent(str(path), model_dir=path, data_dir=_dataset(run / "data"),
                      run_dir=run, metrics=_metrics(run))  # fmt: skip
    if (path / "adapter" / "adapter_config.json").is_file() or (path / "train").is_dir():
        adapter = path / "adapter"
        merged = path / "merged"
        return Parent(
            str(path),
            adapter_dir=adapter if (adapter / "adapter_config.json").is_file() else None,
            model_dir=merged if (merged / "config.json").is_file() else None,
            data_dir=_dataset(path / "data"),
            run_dir=path,
            metrics=_metrics(path),
        )
    raise ModelRegistryError(
        f"trainer.init_from: {path} holds no adapter (adapter_config.json), model "
        "(config.json) or run (adapter/, train/); point it at one of those"
    )


def _dataset(folder: Path | None) -> Path | None:
    return folder if folder is not None and (folder / "format.json").is_file() else None


def _metrics(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "metrics.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
