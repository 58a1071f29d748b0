"""Starting a training from an earlier result (``trainer.init_from``, docs/maintenance.md).

Three modes, each a different promise about what is trained:

- ``continue``: the parent's own adapter keeps training (same rank, same targets, its
  control-token rows); the result replaces the parent on the same base weights.
- ``new_adapter``: the parent is merged into the base and a fresh adapter (this run's
  ``trainer.lora``) trains on top; the result needs its parents, which it names
  (`dnd_ft.models.lineage`), and the registry keeps them with it.
- ``resume``: an interrupted run is finished from its newest checkpoint (optimizer, schedule
  and step count included): the same training, not a new generation.

A parent of another base model or chat format is refused by name before anything loads.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from dnd_ft.errors import ConfigError
from dnd_ft.models.identity import mismatch
from dnd_ft.registry.parent import Parent, resolve_parent
from dnd_ft.registry.store import ModelRegistryError

log = logging.getLogger(__name__)


def parent_of(cfg: Any) -> Parent | None:
    """The parent ``trainer.init_from`` names (None when unset); ConfigError when it cannot
    be used with this run's model, chat format, method or mode."""
    t = cfg.trainer
    if not t.init_from:
        return None
    try:
        parent = resolve_parent(str(t.init_from), cfg.registry.dir, str(cfg.registry.line))
    except ModelRegistryError as exc:
        message = str(exc)
        if not message.startswith("trainer.init_from"):
            message = f"trainer.init_from={t.init_from}: {message}"
        raise ConfigError([message]) from exc
    problems = list(_problems(parent, cfg))
    if problems:
        raise ConfigError(problems)
    return parent


def _problems(parent: Parent, cfg: Any) -> Any:
    t, mode = cfg.trainer, cfg.trainer.init_mode
    key = "trainer.init_from"
    if mode == "resume":
        if parent.run_dir is None or not (parent.run_dir / "train" / "checkpoints").is_dir():
            yield (
                f"{key}: {parent.label} has no train/checkpoints/ to resume; init_mode=resume "
                "takes the folder of an interrupted run (continue/new_adapter take a result)"
            )
        return
    if parent.weights is None:
        yield f"{key}: {parent.label} holds no adapter or model to start from"
        return
    wrong = mismatch(parent.weights, cfg.model, key)
    if wrong:
        yield wrong
    if mode == "continue" and t.method in ("lora", "qlora"):
        if parent.adapter_dir is None:
            yield (
                f"{key}: {parent.label} is a whole model, not an adapter, so there is no adapter "
                "to continue; use trainer.init_mode=new_adapter (a fresh adapter on top of it)"
            )
        else:
            yield from _shape_problems(parent.adapter_dir, t)
    if t.method == "qlora" and (mode == "new_adapter" or _has_chain(parent)):
        yield (
            f"{key}: new_adapter merges {parent.label} into the base, which 4-bit weights "
            "cannot take exactly; use trainer.method=lora or init_mode=continue"
        )


def _shape_problems(adapter_dir: Path, t: Any) -> Any:
    """``continue`` trains the parent's adapter itself: a different shape asked for in
    ``trainer.lora`` would be silently ignored, so it is refused."""
    saved = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    wanted = {"r": t.lora.r, "alpha": t.lora.alpha,
              "target_modules": sorted(t.lora.target_modules)}  # fmt: skip
    have = {"r": saved.get("r"), "alpha": saved.get("lora_alpha"),
            "target_modules": sorted(saved.get("target_modules") or [])}  # fmt: skip
    for name in wanted:
        if wanted[name] != have[name]:
            yield (
                f"trainer.lora.{name}: {wanted[name]} but the parent adapter {adapter_dir} has "
                f"{have[name]}; init_mode=continue trains that adapter as it is: set "
                f"trainer.lora.{name}={have[name]}, or use trainer.init_mode=new_adapter"
            )


def _has_chain(parent: Parent) -> bool:
    from dnd_ft.models.lineage import read_base, read_parents

    adapter = parent.adapter_dir
    return adapter is not None and bool(read_parents(adapter) or read_base(adapter))


def model_config(cfg: Any, parent: Parent | None) -> Any:
    """The model config to load base weights from: the parent's own base folder when its
    weights replace the base (a whole-model parent, or one that had a base folder itself)."""
    from dnd_ft.models.lineage import read_base

    base = None
    if parent is not None and cfg.trainer.init_mode != "resume":
        base = parent.model_dir if parent.adapter_dir is None else read_base(parent.adapter_dir)
    if base is None:
        return cfg.model
    from omegaconf import OmegaConf

    log.info("train: base weights from %s", base)
    return OmegaConf.merge(cfg.model, {"source": "local", "local_path": str(base)})


def prepare(model: Any, parent: Parent, trainer_cfg: Any, wrap: Any, adapter_kwargs: Any) -> Any:
    """``model`` (the base weights, already `model_config`'s) made ready to train from
    ``parent``: its parent chain merged, then the mode's adapter (continue: the parent's,
    trainable; new_adapter: the parent merged and ``wrap`` a fresh one)."""
    from peft import PeftModel

    from dnd_ft.models.lineage import merge_parents

    adapter = parent.adapter_dir
    if adapter is not None:
        model = merge_parents(model, adapter)
    mode, lora = trainer_cfg.init_mode, trainer_cfg.method in ("lora", "qlora")
    if adapter is not None and mode == "continue" and lora:
        log.info("train: continuing the adapter of %s", parent.label)
        return PeftModel.from_pretrained(model, str(adapter), is_trainable=True)
    if adapter is not None:
        log.info("train: %s merged into the base", parent.label)
        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    return wrap(model, adapter_kwargs()) if lora else model


def save_lineage(out: Path, parent: Parent, mode: str) -> None:
    """Write the parents the saved adapter ``out`` needs (new_adapter; continue inherits
    its parent's), so every later load applies them first."""
    from dnd_ft.models.lineage import chain, read_base, read_parents, write_parents

    adapter = parent.adapter_dir
    if mode == "resume":
        return
    if adapter is None:  # a fresh adapter on a whole-model parent: that model is the base
        write_parents(out, [], [], base_dir=parent.model_dir)
        return
    parents = read_parents(adapter)
    labels = [e.get("label", "") for e in chain(adapter).get("merge_first", [])]
    if mode == "new_adapter":
        parents, labels = [*parents, adapter], [*labels, parent.label]
    write_parents(out, parents, labels, base_dir=read_base(adapter))


def resume_checkpoint(parent: Parent, info: dict[str, Any]) -> Path | None:
    """The newest complete checkpoint of the interrupted run (init_mode=resume)."""
    from dnd_ft.training.checkpoints import latest_complete, resolve_resume

    assert parent.run_dir is not None  # checked by parent_of
    # latest_complete, not resume=auto: that would also clean up the other run's folder
    found = latest_complete(parent.run_dir / "train" / "checkpoints")
    if found is not None:
        return resolve_resume(str(found), found.parent, info)  # completeness, same settings
    raise ConfigError([
        f"trainer.init_from: {parent.label} has no complete checkpoint to resume (its first "
        "save never finished); train it again, or use init_mode=continue on a result"
    ])  # fmt: skip
    return found
