"""Run the configured stages in order, with one failure policy for all of them."""

from __future__ import annotations

import json
import logging
import os
import time
import traceback
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from dnd_ft.config.validate import validate
from dnd_ft.pipeline import stages
from dnd_ft.pipeline.context import RunContext
from dnd_ft.pipeline.manifest import write_manifest
from dnd_ft.pipeline.metrics import Metrics
from dnd_ft.utils.io import atomic_write_text

log = logging.getLogger(__name__)


def run_pipeline(cfg: DictConfig) -> Metrics:
    """Validate `cfg`, then run its stages; returns the run's metrics.

    Whatever happens, the run folder ends with `status.json` (ok or failed, and which stage)
    and the tracker is finished, so a failed run is never left looking like a running one.
    """
    validate(cfg)
    if cfg.model.source != "hub":
        # Offline models never need the hub; this also stops library look-ups and telemetry.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if "train" in cfg.stages:
        # Unsloth must be imported before transformers/trl, so before any stage runs.
        from dnd_ft.training.backends import preimport

        preimport(cfg.trainer, cfg.model)
    run_dir = Path(cfg.paths.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    write_manifest(cfg, run_dir)
    ctx = RunContext(cfg=cfg, run_dir=run_dir, metrics=Metrics(run_dir / "metrics.json"))
    ctx.tracker = _open_tracker(cfg, run_dir)
    status: dict[str, Any] = {"status": "running", "stage": None}
    try:
        for name in stages.ordered(list(cfg.stages)):
            status["stage"] = name
            log.info("stage %s: start", name)
            start = time.perf_counter()
            stages.load(name)(ctx)
            seconds = time.perf_counter() - start
            ctx.metrics.update({f"time/{name}_seconds": round(seconds, 3)})
            log.info("stage %s: done in %.1fs", name, seconds)
        status = {"status": "ok", "stage": None}
    except BaseException as exc:
        status.update(
            status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()
        )
        raise
    finally:
        atomic_write_text(run_dir / "status.json", json.dumps(status, indent=2) + "\n")
        if ctx.tracker is not None:
            ctx.tracker.finish(metrics=ctx.metrics.values, failed=status["status"] != "ok")
    return ctx.metrics


def _open_tracker(cfg: DictConfig, run_dir: Path) -> Any:
    if cfg.tracking.backend == "none":
        return None
    from dnd_ft.tracking import start_tracker

    return start_tracker(cfg, run_dir)
