"""The `register` stage: this run's result becomes the next version of its model line.

    python -m dnd_ft stages=[data,train,eval,export,register] registry.line=dm-qwen3

The version folder gets the adapter (or the whole model), the datasets it trained and was
scored on (the next generation replays its training split and re-scores its held-out one),
the exports with their manifest, metrics.json, config.yaml and manifest.json; version.json
records the lineage (base model and revision, parent, data hash and scenario list, tool
registry digest, chat format, seed, code commit, metrics, exports with sha256). Files are
hard-linked where possible, so a version costs no second copy of the weights.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from dnd_ft.core.lineage import PARENTS_FILE, chain, write_parents
from dnd_ft.errors import StageError
from dnd_ft.registry.parent import resolve_parent
from dnd_ft.registry.store import RECORD, Registry, Version, add_tree, file_list
from dnd_ft.utils.io import atomic_write_text

log = logging.getLogger(__name__)

DATA_FILES = ("train.jsonl", "val.jsonl", "test.jsonl", "format.json", "report.json", "report.md")
RUN_FILES = ("metrics.json", "config.yaml", "manifest.json")


def run(ctx: Any) -> None:
    cfg = ctx.cfg
    run_dir = Path(ctx.run_dir)
    weights = _weights(run_dir)
    registry = Registry(cfg.registry.dir)
    link = bool(cfg.registry.link_files)

    def fill(folder: Path, name: str) -> dict[str, Any]:
        kind, source = weights
        add_tree(source, folder / kind, link)
        if kind == "adapter":
            _keep_parents(source, folder, link)
        data = run_dir / "data"
        for file in DATA_FILES:
            if (data / file).is_file():
                add_tree(data / file, folder / "data" / file, link)
        for file in RUN_FILES:
            if (run_dir / file).is_file():
                add_tree(run_dir / file, folder / file, link=False)  # metrics.json may still grow
        exports = _add_exports(run_dir / "export", folder / "exports", link)
        return version_record(ctx, folder, kind, exports)

    version = registry.register(str(cfg.registry.line), fill, list(cfg.registry.aliases))
    ctx.metrics.update({"registry/version": version.ref})
    ctx.artifacts["registry_version"] = version.path
    log.info("register: %s in %s (aliases: %s)", version.ref, version.path.parent,
             ", ".join(cfg.registry.aliases) or "none")  # fmt: skip
    if ctx.tracker is not None and hasattr(ctx.tracker, "log_model_version"):
        ctx.tracker.log_model_version(version, collection=cfg.registry.wandb_collection)


def _weights(run_dir: Path) -> tuple[str, Path]:
    if (run_dir / "adapter" / "adapter_config.json").is_file():
        return "adapter", run_dir / "adapter"
    if (run_dir / "merged" / "config.json").is_file():
        return "merged", run_dir / "merged"
    raise StageError(
        f"register: {run_dir} has no trained result (adapter/ or merged/) to register; run "
        "the train stage first (stages=[data,train,eval,register]) or register the run folder "
        "that has one (hydra.run.dir=<run> stages=[register])"
    )


def _keep_parents(source: Path, folder: Path, link: bool) -> None:
    """Copy the adapters the run's adapter ``source`` was trained on top of into the
    version's ``parents/`` and point the version's lineage file there, so the version never
    depends on another folder."""
    record = chain(source)
    if not record:
        return
    from dnd_ft.core.lineage import read_base, read_parents

    adapter = folder / "adapter"
    kept, labels = [], []
    for i, (path, entry) in enumerate(zip(read_parents(source), record.get("merge_first", []),
                                          strict=True)):  # fmt: skip
        add_tree(path, folder / "parents" / str(i), link)
        kept.append(folder / "parents" / str(i))
        labels.append(entry.get("label", ""))
    base = read_base(source)
    if base is not None:
        add_tree(base, folder / "parents" / "base", link)
        base = folder / "parents" / "base"
    (adapter / PARENTS_FILE).unlink()  # a hard link to the run's file: replace, never edit
    write_parents(adapter, kept, labels, base_dir=base)


def _add_exports(export_dir: Path, target: Path, link: bool) -> list[dict[str, Any]]:
    """The export stage's files (merged model, GGUFs, Cactus bundle) and what it checked."""
    manifest_path = export_dir / "manifest.json"
    if not manifest_path.is_file():
        return []
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    target.mkdir(parents=True, exist_ok=True)
    kept = _relocated(manifest, str(export_dir.resolve()), "exports")  # no path to the run
    atomic_write_text(target / "manifest.json", json.dumps(kept, indent=2) + "\n")
    exports = []
    merged = export_dir / "merged"
    if merged.is_dir():
        add_tree(merged, target / "merged", link)
        exports.append({"kind": "merged", "path": "exports/merged",
                        "dtype": manifest.get("merged", {}).get("dtype"),
                        "checks": manifest.get("checks", {})})  # fmt: skip
    for quant, entry in (manifest.get("gguf") or {}).items():
        path = Path(entry["path"])
        if path.is_file():
            add_tree(path, target / "gguf" / path.name, link)
            exports.append({"kind": "gguf", "quant": quant, "path": f"exports/gguf/{path.name}",
                            "bytes": entry.get("bytes"), "sha256": entry.get("sha256"),
                            "checks": entry.get("checks", {})})  # fmt: skip
        modelfile = Path(entry.get("modelfile") or "")
        if entry.get("modelfile") and modelfile.is_file():
            add_tree(modelfile, target / "gguf" / modelfile.name, link)
    cactus = manifest.get("cactus")
    if isinstance(cactus, dict) and Path(cactus.get("path", "")).is_dir():
        add_tree(Path(cactus["path"]), target / "cactus", link)
        exports.append({"kind": "cactus", "path": "exports/cactus",
                        "bits": cactus.get("bits")})  # fmt: skip
    return exports


def _relocated(value: Any, old: str, new: str) -> Any:
    """``value`` with every path string under ``old`` moved under ``new`` (relative)."""
    if isinstance(value, dict):
        return {k: _relocated(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_relocated(v, old, new) for v in value]
    if isinstance(value, str) and (value == old or value.startswith(old + "/")):
        return new + value[len(old) :]
    return value


def version_record(ctx: Any, folder: Path, kind: str, exports: list[dict[str, Any]]) -> dict:
    """version.json's lineage and results (the store adds line, version, created, files)."""
    cfg = ctx.cfg
    manifest = _json(folder / "manifest.json")
    identity = (_json(folder / kind / "dnd_ft_model.json") or {}).get("model") or {}
    from omegaconf import OmegaConf

    from dnd_ft.tools.registry import ToolRegistry

    return {
        "run_dir": str(ctx.run_dir),
        "run_name": cfg.run_name,
        "weights": kind,
        "base_model": identity or {"name": cfg.model.name},
        "chat_format": identity.get("chat_format", cfg.model.chat_format),
        "parent": _parent(cfg),
        "data": _data(folder / "data", manifest),
        "tools": {
            "name": cfg.tools.name,
            "sha256": (manifest.get("tool_registry") or {}).get("sha256"),
            "names": ToolRegistry.from_config(cfg.tools).names(),
        },
        "seed": int(cfg.seed),
        "method": cfg.trainer.method,
        "code": manifest.get("git"),
        "packages": manifest.get("packages"),
        "overrides": manifest.get("overrides"),
        "metrics": dict(ctx.metrics.values),
        "per_tool": _per_tool(Path(ctx.run_dir) / "eval" / "report.json"),
        "exports": exports,
        "config": OmegaConf.to_container(cfg, resolve=True),
    }


def _parent(cfg: Any) -> dict[str, Any] | None:
    t = cfg.trainer
    if not t.init_from or "train" not in cfg.stages:
        return None
    parent = resolve_parent(str(t.init_from), cfg.registry.dir, str(cfg.registry.line))
    record: dict[str, Any] = {"ref": parent.label, "mode": str(t.init_mode)}
    if parent.version is not None:
        record["version"] = parent.version.name
        record["line"] = parent.version.line
    return record


def _data(data: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The datasets' hash (the rendered rows themselves) and which scenarios each split has."""
    digest = hashlib.sha256()
    scenarios: dict[str, list[str]] = {}
    replayed = 0
    for split in ("train", "val", "test"):
        path = data / f"{split}.jsonl"
        if not path.is_file():
            continue
        digest.update(split.encode() + b"\0" + path.read_bytes())
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        new = [r for r in rows if not str(r.get("augmentation", "")).startswith("replay")]
        replayed += len(rows) - len(new)
        scenarios[split] = sorted({r["scenario_id"] for r in new})
    report = _json(data / "report.json") or {}
    return {
        "sha256": digest.hexdigest(),
        "scenarios": scenarios,
        "replayed_rows": replayed,
        "replay": report.get("replay"),
        "corpus": manifest.get("scenario_corpus"),
    }


def _per_tool(report: Path) -> list[dict[str, Any]]:
    """The fine-tuned model's scores per tool (eval/report.json), [] without an eval."""
    models = (_json(report) or {}).get("models", {})
    return list(models.get("fine-tuned", {}).get("tools", []))


def _json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def add_exports_to(registry: Registry, version: Version, run_dir: Path) -> Version:
    """Add the exports an export run (``registry export``) wrote in ``run_dir`` to
    ``version``: its files under exports/ first, then the record, replaced whole."""
    import os

    folder = version.path / "exports"
    staging = version.path / f".exports-{os.getpid()}"
    exports = _add_exports(run_dir / "export", staging, link=True)
    if not exports:
        raise StageError(f"register: {run_dir}/export has no manifest.json; the export wrote "
                         "nothing to add")  # fmt: skip
    with registry.locked(version.line):
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
        metrics = _json(run_dir / "metrics.json") or {}
        record = {
            **version.record,
            "exports": exports,
            "metrics": {
                **version.record.get("metrics", {}),
                **{k: v for k, v in metrics.items() if k.startswith("export/")},
            },
        }
        record["files"] = file_list(version.path)
        atomic_write_text(version.path / RECORD, json.dumps(record, indent=2) + "\n")
    return Version(version.line, version.name, version.path, record)
