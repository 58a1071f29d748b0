"""Run the configured stages in order, with one failure policy for all of them.

Whatever happens the run folder ends with a status.json that says so (docs/failures.md): ok,
failed (which stage, the error), interrupted (SIGINT/SIGTERM), or pruned (a sweep's pruner
stopped training; the later stages are skipped, docs/sweeps.md); the tracker is finished
either way, and metrics.json never mixes this attempt's numbers with an older attempt's.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dnd_ft.core.context import RunContext
from dnd_ft.core.metrics import Metrics
from dnd_ft.errors import ConfigError, Pruned, StageError
from dnd_ft.pipeline import stages
from dnd_ft.pipeline.config import validate
from dnd_ft.pipeline.manifest import write_manifest
from dnd_ft.pipeline.signals import signal_name, stop_on_signals
from dnd_ft.pipeline.status import RunStatus, read_status, started_at
from dnd_ft.utils import distributed
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
    rank, world = distributed.rank(), distributed.world_size()
    # Under DDP rank 0 keeps the run's records; the other processes keep theirs aside.
    records = run_dir if rank == 0 else run_dir / ".ranks" / str(rank)
    status = RunStatus(records, stages.ordered(list(cfg.stages)))
    fresh = read_status(records) is None
    started = time.time()
    with stop_on_signals(), environment(run_environment(cfg)), library_output_to_log():
        try:
            validate(cfg)
            if world > 1:
                check_distributed(cfg)
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
        if rank == 0:
            atomic_write_text(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
            write_manifest(cfg, run_dir)
            save_hydra_files(cfg, run_dir)
        ctx = RunContext(cfg=cfg, run_dir=run_dir, metrics=fresh_metrics(records, cfg.stages),
                         rank=rank, world_size=world)  # fmt: skip
        ctx.tracker = _open_tracker(cfg, run_dir) if rank == 0 else None
        try:
            ctx.trial = _open_trial(cfg)
            for name in status.data["stages"]:
                status.stage(name)
                log.info("stage %s: start", name)
                start = time.perf_counter()
                pruned = None
                try:
                    if ctx.is_main or name == "train":
                        stages.load(name)(ctx)
                    elif name == "data":  # rank 0 builds it; the others train on it
                        wait_for_stage(run_dir, "data", since=started)
                    else:
                        log.info("stage %s: rank 0 runs it", name)
                except Pruned as exc:
                    pruned = exc
                seconds = time.perf_counter() - start
                ctx.metrics.update({f"time/{name}_seconds": round(seconds, 3)})
                if pruned is not None:
                    log.info("stage %s: %s; the stages after it are skipped", name, pruned)
                    status.pruned(pruned.step, pruned.value)
                    break
                log.info("stage %s: done in %.1fs", name, seconds)
            else:
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
                if cfg.trial.number is not None:
                    trial = {"trial/number": cfg.trial.number, "trial/state": status.status}
                    ctx.tracker.summary(trial)
                ctx.tracker.finish(metrics=ctx.metrics.values, status=status.status)
    return ctx.metrics


def check_distributed(cfg: DictConfig) -> None:
    """Settings a multi-process (DDP) run needs; ConfigError otherwise."""
    from hydra.core.hydra_config import HydraConfig

    problems = []
    given = HydraConfig.get().overrides.hydra if HydraConfig.initialized() else []
    if not any(str(o).startswith("hydra.run.dir=") for o in given):
        problems.append(
            f"hydra.run.dir: {distributed.world_size()} processes must share one run folder, "
            "and the default folder's name holds each process's own clock; pass one, e.g. "
            "hydra.run.dir=outputs/ddp/runs/my_run"
        )
    if cfg.trial.number is not None:
        problems.append("trial: a sweep's trial trains in one process (its pruner stops one "
                        "process); launch the sweep without torchrun")  # fmt: skip
    if problems:
        raise ConfigError(problems)


def wait_for_stage(run_dir: Path, name: str, since: float, timeout_s: float = 3600.0) -> None:
    """Block until rank 0's status.json (of this launch, not an older attempt) says stage
    ``name`` finished; StageError when rank 0 stopped or never got there."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        status = read_status(run_dir) or {}
        current = started_at(status) >= since - 120  # this launch's rank 0, not an old attempt
        if current and name in status.get("completed", []):
            return
        if current and status.get("status") in ("failed", "interrupted"):
            raise StageError(f"rank 0 stopped in stage {status.get('stage')}: "
                             f"{status.get('error') or status.get('signal')}")  # fmt: skip
        time.sleep(1.0)
    raise StageError(f"stage {name}: rank 0 did not finish it within {timeout_s:.0f} s "
                     f"({run_dir}/status.json)")  # fmt: skip


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


def _open_trial(cfg: DictConfig):
    """The run's Optuna trial when a sweep launched it (``trial.*`` keys), else None."""
    if cfg.trial.number is None:
        return None
    from dnd_ft.tuning.trial import open_link

    try:
        return open_link(cfg.trial)
    except Exception as exc:
        raise StageError(
            f"trial: cannot open trial {cfg.trial.number} of study {cfg.trial.study!r} in "
            f"{cfg.trial.storage} ({type(exc).__name__}: {exc}); the trial.* keys are set by "
            "the sweeper (python -m dnd_ft -m sweep=...): do not set them by hand"
        ) from exc


def _open_tracker(cfg: DictConfig, run_dir: Path):
    if cfg.tracking.backend == "none":
        return None
    from dnd_ft.tracking import start_tracker

    return start_tracker(cfg, run_dir)
