"""Run the configured stages in order, with one failure policy for all of them.

Whatever happens the run folder ends with a status.json that says so (docs/failures.md): ok,
failed (which stage, the error), or interrupted (SIGINT/SIGTERM); the tracker is finished
either way, and metrics.json never mixes this attempt's numbers with an older attempt's.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dnd_ft.core.context import RunContext
from dnd_ft.core.metrics import Metrics
from dnd_ft.errors import ConfigError, StageError
from dnd_ft.pipeline import stages
from dnd_ft.pipeline.config import validate
from dnd_ft.pipeline.manifest import write_manifest
from dnd_ft.pipeline.signals import signal_name, stop_on_signals
from dnd_ft.pipeline.status import RunStatus, read_status
from dnd_ft.utils.disk import DiskFullError, failed_path, is_disk_full
from dnd_ft.utils.io import atomic_write_text
from dnd_ft.utils.logs import library_output_to_log
from dnd_ft.utils.offline import environment, offline

log = logging.getLogger(__name__)


def run_pipeline(cfg: DictConfig) -> Metrics:
    """Validate `cfg`, then run its stages; returns the run's metrics.

    Raises what a stage raised (a full disk as `DiskFullError`), after recording it; a
    SIGTERM arrives as `Interrupted` (a KeyboardInterrupt), recorded as interrupted.
    """
    run_dir = Path(cfg.paths.run_dir)
    status = RunStatus(run_dir, stages.ordered(list(cfg.stages)))
    fresh = read_status(run_dir) is None
    with stop_on_signals(), environment(run_environment(cfg)), library_output_to_log():
        try:
            validate(cfg)
            for name in status.data["stages"]:  # Unsloth before transformers; resume checks
                if stages.STAGES[name].setup:
                    stages.resolve(stages.STAGES[name].setup)(cfg)
        except (ConfigError, StageError) as exc:
            # Refused before anything ran: a new folder records why; an existing run's
            # folder is left exactly as it was (its settings are what the message points to).
            if fresh:
                status.failed(exc)
            raise
        status.write()
        atomic_write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
        write_manifest(cfg, run_dir)
        save_hydra_files(cfg, run_dir)
        ctx = RunContext(cfg=cfg, run_dir=run_dir, metrics=fresh_metrics(run_dir, cfg.stages))
        ctx.tracker = _open_tracker(cfg, run_dir)
        try:
            for name in status.data["stages"]:
                status.stage(name)
                log.info("stage %s: start", name)
                start = time.perf_counter()
                stages.load(name)(ctx)
                seconds = time.perf_counter() - start
                ctx.metrics.update({f"time/{name}_seconds": round(seconds, 3)})
                log.info("stage %s: done in %.1fs", name, seconds)
            status.ok()
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM through stop_on_signals
            status.interrupted(signal_name(exc))
            raise
        except BaseException as exc:
            if is_disk_full(exc) and not isinstance(exc, DiskFullError):
                disk = DiskFullError(failed_path(exc) or run_dir, f"stage {status.data['stage']}")
                status.failed(disk)
                raise disk from exc
            status.failed(exc)
            raise
        finally:
            if ctx.tracker is not None:
                ctx.tracker.finish(metrics=ctx.metrics.values, status=status.status)
    return ctx.metrics


def fresh_metrics(run_dir: Path, planned: list[str]) -> Metrics:
    """The run's metrics, without an earlier attempt's keys for the stages about to run.

    A rerun in the same folder (a resume, or ``stages=[eval]`` on a trained run) keeps what
    the stages it skips measured, and starts clean for the ones it repeats: a failure
    halfway can never leave the older attempt's numbers looking like this one's.
    """
    metrics = Metrics(run_dir / "metrics.json")
    stale = [k for k in metrics.values if stages.owner(k) in set(planned)]
    if stale:
        log.info("dropping %d metrics of an earlier attempt of stages %s", len(stale), planned)
        metrics.drop(stale)
    return metrics


def save_hydra_files(cfg: DictConfig, run_dir: Path) -> None:
    """``.hydra/`` as Hydra writes it (configs/hydra/default.yaml turns Hydra's own copy off:
    it would be written before the config is checked, and overwrite a refused rerun's)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return
    hydra = HydraConfig.get()
    folder = run_dir / ".hydra"
    atomic_write_text(folder / "config.yaml", OmegaConf.to_yaml(cfg))
    atomic_write_text(folder / "hydra.yaml", OmegaConf.to_yaml({"hydra": hydra}))
    atomic_write_text(folder / "overrides.yaml", OmegaConf.to_yaml(hydra.overrides.task))


def run_environment(cfg: DictConfig) -> dict[str, str]:
    """Environment of one run, restored afterwards (a multirun's jobs share a process)."""
    # Library progress bars (dataset saves, weight loading) say nothing a user needs.
    env: dict[str, str] = {"HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
    if offline():
        env["DND_FT_OFFLINE"] = "1"  # the user asked for no network: no asset fetches either
    if cfg.model.source != "hub":
        # Offline models never need the hub; this also stops library look-ups and telemetry,
        # and the hub's progress bars (kept for hub models: a download should show progress).
        env.update(HF_HUB_OFFLINE="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    return env


def _open_tracker(cfg: DictConfig, run_dir: Path):
    if cfg.tracking.backend == "none":
        return None
    from dnd_ft.tracking import start_tracker

    return start_tracker(cfg, run_dir)
