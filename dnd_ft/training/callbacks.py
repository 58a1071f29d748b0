"""Trainer callbacks: checkpoint markers, NaN guard, early stopping, history and progress.

Each callback does one thing; `loop.py` decides which ones a run gets.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from dnd_ft.training import checkpoints

log = logging.getLogger(__name__)


class NonFiniteLoss(RuntimeError):
    """Raised out of trainer.train() when a logged loss or gradient norm is NaN or inf."""

    def __init__(self, step: int, key: str, value: float):
        self.step, self.key, self.value = step, key, value
        super().__init__(f"{key} became {value} at step {step}")


class CheckpointMarker(TrainerCallback):
    """After the Trainer has written checkpoint-N: mark it complete, then rotate old ones."""

    def __init__(self, root: Path, keep: int, info: dict[str, Any]):
        self.root, self.keep, self.info = root, keep, info

    def on_save(self, args, state, control, **kwargs):
        path = self.root / f"checkpoint-{state.global_step}"
        if path.is_dir() and state.is_world_process_zero:  # under DDP rank 0 wrote it
            checkpoints.mark_complete(path, {**self.info, "step": state.global_step})
            checkpoints.rotate(self.root, self.keep)
            log.info("checkpoint %s complete", path.name)
        return control


class NonFiniteGuard(TrainerCallback):
    """Stop at the first logged NaN/inf loss or gradient norm instead of training on garbage.

    Raising (rather than setting should_training_stop) also keeps the Trainer from saving a
    poisoned checkpoint at this step. The Trainer's own `logging_nan_inf_filter` must be off,
    or it would hide the NaN by logging the mean of the previous losses.
    """

    def on_log(self, args, state, control, logs=None, **kwargs):
        for key in ("loss", "grad_norm", "eval_loss"):
            value = (logs or {}).get(key)
            if isinstance(value, (int, float)) and not math.isfinite(value):
                raise NonFiniteLoss(state.global_step, key, float(value))
        return control


class EarlyStopping(TrainerCallback):
    """Stop when eval_loss has not improved by min_delta for `patience` evaluations.

    Unlike transformers' EarlyStoppingCallback this does not require load_best_model_at_end
    (which ties save and eval cadence together); the final adapter is the last one. The
    counter starts over when a run is resumed.
    """

    def __init__(self, patience: int, min_delta: float):
        self.patience, self.min_delta = patience, min_delta
        self.best = math.inf
        self.bad = 0
        self.stopped_at: int | None = None

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        loss = (metrics or {}).get("eval_loss")
        if loss is None:
            return control
        if loss < self.best - self.min_delta:
            self.best, self.bad = loss, 0
        else:
            self.bad += 1
            if self.bad >= self.patience:
                log.info(
                    "early stopping at step %d: eval_loss %.4f has not improved on %.4f "
                    "for %d evaluations",
                    state.global_step,
                    loss,
                    self.best,
                    self.bad,
                )
                self.stopped_at = state.global_step
                control.should_training_stop = True
        return control


class TrialReporter(TrainerCallback):
    """Report each periodic val loss to the sweep's trial; stop when its pruner says so.

    ``link`` is a `dnd_ft.tuning.trial.TrialLink`: the pruner's verdict comes from the study's
    storage, so it holds wherever the job runs. Only the main process reports (one value per
    step under DDP; every process gets the same stop through the Trainer's control)."""

    def __init__(self, link: Any, row_losses: list[float] | None = None):
        self.link = link
        # wilcoxon: the trainer fills this with each val conversation's loss while evaluating
        self.row_losses = row_losses
        self.rounds = 0
        self.pruned_at: int | None = None
        self.pruned_value: float | None = None

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        loss = (metrics or {}).get("eval_loss")
        if loss is None or not state.is_world_process_zero:
            return control
        if self.row_losses is not None:
            losses, self.row_losses[:] = list(self.row_losses), []
            self.rounds += 1
            stop = self.link.report_instances(self.rounds - 1, losses)
            if stop is not None:
                log.info("sweep: the pruner stops %s at step %d (conversation %d of val: "
                         "worse than the best trial's, paired)", self.link.where,
                         state.global_step, stop + 1)  # fmt: skip
                self.pruned_at, self.pruned_value = state.global_step, float(loss)
                control.should_training_stop = True
            return control
        if self.link.report(state.global_step, loss):
            log.info("sweep: the pruner stops %s at step %d (val loss %.4f)",
                     self.link.where, state.global_step, loss)  # fmt: skip
            self.pruned_at, self.pruned_value = state.global_step, float(loss)
            control.should_training_stop = True
        return control


class Monitor(TrainerCallback):
    """Keeps the loss history, measures tokens/s, feeds the tracker and the progress bar.

    Tokens are the real (unpadded) tokens the Trainer subclass counts into
    `state.num_input_tokens_seen`; the rate is measured between consecutive log events so
    evaluation time does not dilute it.
    """

    def __init__(self, tracker: Any = None, progress: Any = None):
        self.tracker, self.progress = tracker, progress
        self.history: list[dict[str, float]] = []
        self.start_tokens = 0
        self.start_time = 0.0
        self.train_seconds = 0.0
        self.tokens_seen = 0  # real tokens trained on in this process (not before a resume)
        self._last: tuple[float, int] | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        # After a resume the state (restored from the checkpoint) already holds the log of
        # the steps before it: keep those rows so loss_first and the curve cover the whole run.
        self.history = [_row(r) for r in state.log_history if "loss" in r or "eval_loss" in r]
        self.start_tokens = state.num_input_tokens_seen
        self.start_time = time.perf_counter()
        self._last = (self.start_time, self.start_tokens)
        if self.progress is not None:
            self.progress.start(total=state.max_steps, done=state.global_step)
        return control

    def on_step_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress.advance(state.global_step)
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = dict(logs or {})
        now = time.perf_counter()
        row: dict[str, float] = {"step": state.global_step}
        if "loss" in logs:
            t0, n0 = self._last or (now, state.num_input_tokens_seen)
            rate = (state.num_input_tokens_seen - n0) / max(now - t0, 1e-9)
            self._last = (now, state.num_input_tokens_seen)
            row.update(
                loss=logs["loss"],
                learning_rate=logs.get("learning_rate", math.nan),
                tokens_per_second=rate,
            )
            if "grad_norm" in logs:
                row["grad_norm"] = logs["grad_norm"]
            log.info(
                "step %d/%d  loss %.4f  lr %.2e  %.0f tok/s",
                state.global_step,
                state.max_steps,
                logs["loss"],
                row["learning_rate"],
                rate,
            )
            if self.progress is not None:
                self.progress.update_stats(loss=logs["loss"], tokens_per_second=rate)
        if "eval_loss" in logs:
            row["eval_loss"] = logs["eval_loss"]
            log.info("step %d  eval_loss %.4f", state.global_step, logs["eval_loss"])
            # Evaluation time is not training time: restart the rate window after it.
            self._last = (now, state.num_input_tokens_seen)
        if len(row) > 1:
            self.history.append(row)
            if self.tracker is not None:
                self.tracker.log(
                    {f"train/{k}": v for k, v in row.items() if k != "step"}, step=state.global_step
                )
        return control

    def on_train_end(self, args, state, control, **kwargs):
        self.train_seconds = time.perf_counter() - self.start_time
        self.tokens_seen = state.num_input_tokens_seen - self.start_tokens
        if self.progress is not None:
            self.progress.stop()
        return control


def _row(entry: dict[str, Any]) -> dict[str, float]:
    """A Trainer log_history entry in the Monitor's row format."""
    keys = ("loss", "learning_rate", "grad_norm", "eval_loss")
    return {"step": entry["step"], **{k: entry[k] for k in keys if k in entry}}
