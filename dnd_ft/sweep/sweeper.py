"""`Sweep`: ask Optuna for trials, launch them through Hydra's launcher, tell Optuna how each
job's run folder says it ended; stop at `n_trials` complete or pruned trials.

Every job gets the fixed overrides, its sampled values, `trial.{study,storage,number}` (so it
reaches its trial through the storage, docs/sweeps.md) and its own run folder
`<sweep dir>/<trial number>_<run name>`. Runs of the same command (on this or other machines)
share the study: each continues where the storage says the study is.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from dnd_ft.errors import ConfigError, DndFtError
from dnd_ft.pipeline import stages
from dnd_ft.pipeline.status import read_status
from dnd_ft.sweep import study as studies
from dnd_ft.sweep.outputs import read_metrics, write_outputs
from dnd_ft.sweep.samplers import make_sampler
from dnd_ft.sweep.space import SearchSpace, build
from dnd_ft.tuning.config import DIRECTIONS
from dnd_ft.tuning.pruners import PRUNERS
from dnd_ft.tuning.storage import describe, open_storage

log = logging.getLogger(__name__)

WAIT_SECONDS = 5.0  # poll while other workers finish the study's last trials


class SweepFailed(DndFtError):
    """Too many trials failed: the config (not the search) is probably broken."""


class Sweep:
    def __init__(self, conf: DictConfig, hydra_context: Any, config: DictConfig, launcher: Any):
        self.conf, self.hydra_context, self.config, self.launcher = (
            conf, hydra_context, config, launcher
        )  # fmt: skip
        self.sweep_dir = Path(config.hydra.sweep.dir)
        self.storage_url = str(conf.storage or self.sweep_dir / "optuna.journal")

    def run(self, arguments: list[str]) -> list[Any]:
        import optuna

        conf = self.conf
        space = build(OmegaConf.to_container(conf.params, resolve=True) or {}, list(arguments))
        self._check(space)
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, self.sweep_dir / "multirun.yaml")
        settings = {
            "objective": list(conf.objective),
            "direction": list(conf.direction),
            "pruner": OmegaConf.to_container(conf.pruner, resolve=True),
        }
        storage = open_storage(self.storage_url)
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # we log each trial ourselves
        study = studies.open_study(conf.study_name, storage, make_sampler(conf.sampler, space.dims),
                                   settings)  # fmt: skip
        log.info("sweep: study %r in %s, %d trial(s) wanted", conf.study_name,
                 describe(self.storage_url), conf.n_trials)  # fmt: skip
        if conf.enqueue and not study.get_trials(deepcopy=False):
            for params in OmegaConf.to_container(conf.enqueue, resolve=True):
                unknown = sorted(set(params) - set(space.dims))
                if unknown:
                    raise ConfigError(
                        [
                            f"hydra.sweeper.enqueue: {unknown} are not in "
                            f"hydra.sweeper.params ({', '.join(space.dims)})"
                        ]
                    )
                study.enqueue_trial(params)
        returns: list[Any] = []
        try:
            returns = self._loop(study, storage, space)
        finally:
            write_outputs(study, self.sweep_dir, conf, space)
        return returns

    def _loop(self, study: Any, storage: Any, space: SearchSpace) -> list[Any]:
        conf, returns = self.conf, []
        first = True
        while True:
            studies.recover_stale(study, storage, conf.retry_stale, conf.stale_after_seconds)
            n = studies.counts(study)
            if n.done >= conf.n_trials:
                break
            self._check_failures(n)
            room = conf.n_trials - n.done - n.running
            if room <= 0:  # other workers run the last trials: wait for them
                time.sleep(WAIT_SECONDS)
                continue
            batch = [study.ask(space.dims) for _ in range(min(conf.n_jobs, room))]
            for trial in batch:
                studies.claim(trial)
            overrides = [self.job_overrides(space, trial) for trial in batch]
            for trial in batch:
                log.info("sweep: trial %d: %s", trial.number, " ".join(
                    f"{k}={v}" for k, v in trial.params.items()))  # fmt: skip
            try:
                if first:  # composes each job's config: a bad override fails here, not in a job
                    self.validate_batch_is_legal(overrides)
                    first = False
                with studies.Heartbeat(batch):
                    results = self.launcher.launch(overrides, initial_job_idx=batch[0].number)
            except BaseException as exc:  # a bad override, Ctrl-C, or the launcher failed
                for trial in batch:
                    _fail(study, storage, trial.number, f"sweep stopped: {type(exc).__name__}")
                raise
            for trial, result in zip(batch, results, strict=True):
                self.tell(study, storage, trial, result)
            returns.append(results)
        return returns

    def job_overrides(self, space: SearchSpace, trial: Any) -> list[str]:
        n = trial.number
        # one W&B group per study (unless the command names its own)
        group = [] if any(o.startswith("tracking.group=") for o in space.fixed) else [
            f"tracking.group={_quoted(self.conf.study_name)}"
        ]  # fmt: skip
        return (
            space.overrides(trial.params)
            + group
            + [
                f"trial.study={_quoted(self.conf.study_name)}",
                f"trial.storage={_quoted(self.storage_url)}",
                f"trial.number={n}",
                f"hydra.sweep.subdir={n}_${{run_name}}",
            ]
        )

    def validate_batch_is_legal(self, batch: list[list[str]]) -> None:
        for overrides in batch:
            self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))

    def tell(self, study: Any, storage: Any, trial: Any, result: Any) -> None:
        """Tell the study how the job ended, from its run folder."""
        from hydra.core.utils import JobStatus
        from optuna.trial import TrialState

        run_dir = Path(result.hydra_cfg.hydra.runtime.output_dir)
        trial.set_user_attr("run_dir", str(run_dir))
        status = read_status(run_dir) or {}
        metrics = read_metrics(run_dir)
        if "train/steps" in metrics:
            trial.set_user_attr("train_steps", metrics["train/steps"])
        state = status.get("status")
        if result.status == JobStatus.FAILED:
            error = f"{type(result._return_value).__name__}: {result._return_value}"
        elif state == "pruned":
            trial.set_user_attr("pruned_at_step", status.get("pruned_at_step"))
            study.tell(trial, state=TrialState.PRUNED)
            log.info("sweep: trial %d pruned at step %s", trial.number,
                     status.get("pruned_at_step"))  # fmt: skip
            return
        elif state != "ok":
            error = status.get("error") or status.get("signal") or f"job status {state}"
        else:
            values, error = [], None
            for key in self.conf.objective:
                value = metrics.get(key)
                if not isinstance(value, (int, float)) or not math.isfinite(value):
                    error = (f"objective {key} is {value!r} in {run_dir}/metrics.json "
                             f"(keys: {', '.join(sorted(metrics)) or 'none'})")  # fmt: skip
                    break
                values.append(float(value))
            if error is None:
                study.tell(trial, values)
                log.info(
                    "sweep: trial %d: %s",
                    trial.number,
                    ", ".join(
                        f"{k} {v:.4g}" for k, v in zip(self.conf.objective, values, strict=True)
                    ),
                )
                return
        trial.set_user_attr("error", str(error).splitlines()[0][:500])
        study.tell(trial, state=TrialState.FAIL)
        log.warning("sweep: trial %d failed: %s", trial.number, str(error).splitlines()[0])

    def _check(self, space: SearchSpace) -> None:
        c, problems = self.conf, []
        if len(c.objective) != len(c.direction):
            problems.append(
                f"hydra.sweeper.direction: {len(c.direction)} direction(s) for "
                f"{len(c.objective)} objective(s) {list(c.objective)}; give one each"
            )
        problems += [f"hydra.sweeper.direction: {d!r} is not one of {', '.join(DIRECTIONS)}"
                     for d in c.direction if d not in DIRECTIONS]  # fmt: skip
        if c.pruner.name not in PRUNERS:
            problems.append(f"hydra.sweeper.pruner.name: {c.pruner.name!r} is not one of "
                            f"{', '.join(PRUNERS)}")  # fmt: skip
        elif c.pruner.name != "none" and len(c.objective) > 1:
            problems.append("hydra.sweeper.pruner.name: Optuna's pruners work on one objective; "
                            "set pruner.name=none for a multi-objective study")  # fmt: skip
        if c.n_trials < 1 or c.n_jobs < 1:
            problems.append("hydra.sweeper.n_trials and n_jobs must be at least 1")
        if not space.dims:
            problems.append("hydra.sweeper.params: nothing to search; give at least one "
                            "choice(...), range(...), interval(...) or {type: ...}")  # fmt: skip
        job = self.hydra_context.config_loader.load_sweep_config(self.config, space.fixed)
        planned = set(job.stages)
        for key in c.objective:
            owner = stages.owner(key)
            if owner is None or owner not in planned:
                problems.append(
                    f"hydra.sweeper.objective: {key} is written by stage {owner or '?'}, which "
                    f"is not in stages={list(job.stages)}; add it or pick a key those stages "
                    "write (metrics.json)"
                )
        if c.pruner.name != "none" and ("train" not in planned or job.trainer.eval_steps <= 0):
            problems.append("hydra.sweeper.pruner: a trial reports its val loss every "
                            "trainer.eval_steps while training; keep train in stages and set "
                            "trainer.eval_steps > 0, or pruner.name=none")  # fmt: skip
        if c.pruner.name == "wilcoxon" and not job.trainer.target_logits_only:
            problems.append("hydra.sweeper.pruner.name: wilcoxon pairs each val conversation's "
                            "loss, which our own loss computes; keep "
                            "trainer.target_logits_only=true or choose another pruner")  # fmt: skip
        if problems:
            raise ConfigError(problems)

    def _check_failures(self, n: studies.Counts) -> None:
        finished = n.done + n.failed
        if finished >= 3 and n.failed / max(finished, 1) > float(
            self.conf.max_failure_rate
        ):  # fmt: skip
            raise SweepFailed(
                f"sweep stopped: {n.failed} of {finished} finished trials failed (more than "
                f"hydra.sweeper.max_failure_rate={self.conf.max_failure_rate}); each trial's "
                f"error is in its status.json under {self.sweep_dir} and in trials.md"
            )
        if n.failed >= max(self.conf.n_trials, 3) * 2:
            raise SweepFailed(f"sweep stopped: {n.failed} trials failed; see {self.sweep_dir}")


def _fail(study: Any, storage: Any, number: int, why: str) -> None:
    from optuna.trial import TrialState

    try:
        storage.set_trial_user_attr(studies.trial_id(storage, study.study_name, number),
                                    "error", why)  # fmt: skip
        study.tell(number, state=TrialState.FAIL)
    except Exception as exc:  # finished meanwhile; nothing to undo
        log.debug("could not fail trial %d: %s", number, exc)


def _quoted(text: str) -> str:
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"
