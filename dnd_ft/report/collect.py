"""Find run folders and read what the leaderboard needs from them.

A run folder is any folder holding a ``metrics.json``; its ``manifest.json`` names the model
(name, family, size, source) and the run. Folders are found recursively, so a multirun folder or the
whole ``outputs/`` tree can be passed at once.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# "old split": an incremental run (trainer.init_from) scored on its parent's held-out split;
# beside the parent's own fine-tuned row it shows what the new training forgot. "rollout": the
# fine-tuned model's live rollouts (eval.mode=rollout or both), beside its replay scores.
VARIANTS = {
    "fine-tuned": "eval/",
    "old split": "eval/old/",
    "rollout": "eval/rollout/",
    "baseline": "baseline/eval/",
}
GGUF_VARIANT = "gguf "  # + the type: the export stage's scores of each GGUF (export/<type>/eval/)
_GGUF_EVAL = re.compile(r"^export/([a-z0-9_]+)/eval/")
SKIP_DIRS = {"leaderboard", "wandb", "adapter", "checkpoints", "data", ".hydra"}
_SIZE = re.compile(r"^\s*([\d.]+)\s*([kmbt]?)\s*$", re.IGNORECASE)
_SCALE = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


@dataclass
class Run:
    """One run folder: its model, status and metrics."""

    path: Path
    run_name: str
    model: str
    family: str
    size: str
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)
    source: str = "unknown"  # the manifest's model.source: "hub", "gguf_asset", "tiny", ...

    @property
    def smoke(self) -> bool:
        """A random-init tiny model (``model.source: tiny``): its numbers test the pipeline,
        not a model's quality. A manifest without a source (older runs) is not smoke."""
        return self.source == "tiny"

    def variants(self) -> list[str]:
        """The scored variants: fine-tuned, baseline, then each exported GGUF type."""
        quants = dict.fromkeys(m.group(1) for k in self.metrics if (m := _GGUF_EVAL.match(k)))
        names = [*VARIANTS, *(GGUF_VARIANT + q for q in quants)]
        return [v for v in names if self.has_variant(v)]

    def has_variant(self, variant: str) -> bool:
        return any(_owns(variant, k) for k in self.metrics)

    def variant_metrics(self, variant: str) -> dict[str, Any]:
        """The variant's metrics without their prefix (``eval/rouge_l`` -> ``rouge_l``)."""
        prefix = _prefix(variant)
        return {k[len(prefix) :]: v for k, v in self.metrics.items() if _owns(variant, k)}


def _owns(variant: str, key: str) -> bool:
    """Whether ``key`` is the variant's: under its prefix and not under a longer variant's
    (``eval/rollout/pass_rate`` is the rollout's, not the fine-tuned replay's)."""
    prefix = _prefix(variant)
    if not key.startswith(prefix):
        return False
    return not any(p != prefix and p.startswith(prefix) and key.startswith(p)
                   for p in VARIANTS.values())  # fmt: skip


def _prefix(variant: str) -> str:
    if variant.startswith(GGUF_VARIANT):
        return f"export/{variant[len(GGUF_VARIANT) :]}/eval/"
    return VARIANTS[variant]


def size_key(size: str) -> float:
    """Parameters implied by a human size ("270M", "0.6B"); "tiny" and unknowns sort first."""
    match = _SIZE.match(str(size))
    if not match:
        return 0.0
    return float(match.group(1)) * _SCALE[match.group(2).lower()]


def find_run_dirs(paths: Iterable[str | Path]) -> list[Path]:
    """Every folder under ``paths`` (or a path itself) that holds a metrics.json, sorted."""
    found: set[Path] = set()
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            raise FileNotFoundError(f"{root}: no such folder; pass run folders or a folder of runs")
        if (root / "metrics.json").is_file():
            found.add(root.resolve())
        for metrics in root.rglob("metrics.json"):
            rel = metrics.parent.relative_to(root).parts
            if not any(p in SKIP_DIRS or p.startswith(".") for p in rel):
                found.add(metrics.parent.resolve())
    return sorted(found)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: not valid JSON ({exc}); the run may have been cut short"
        ) from None


def load_run(path: Path) -> Run:
    """Read one run folder; model fields fall back to "unknown" when the manifest is missing."""
    metrics = _read_json(path / "metrics.json")
    manifest = _read_json(path / "manifest.json")
    status = _read_json(path / "status.json").get("status", "unknown")
    model = manifest.get("model") or {}
    if not manifest:
        log.warning("%s has no manifest.json; its model is shown as unknown", path)
    return Run(
        path=path,
        run_name=str(manifest.get("run_name") or path.name),
        model=str(model.get("name") or "unknown"),
        family=str(model.get("family") or "unknown"),
        size=str(model.get("size") or "?"),
        status=str(status),
        metrics=metrics,
        source=str(model.get("source") or "unknown"),
    )


def collect_runs(paths: Iterable[str | Path]) -> list[Run]:
    """Runs under ``paths`` that have eval metrics, ordered by family, size, model and name."""
    runs = [load_run(p) for p in find_run_dirs(paths)]
    with_eval = [r for r in runs if any(r.has_variant(v) for v in VARIANTS)]
    for r in runs:
        if r not in with_eval:
            log.info("skipping %s: no eval metrics", r.path)
    return sorted(
        with_eval, key=lambda r: (r.family, size_key(r.size), r.model, r.run_name, str(r.path))
    )
