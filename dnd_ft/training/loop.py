"""The training loop: transformers' Trainer on our own input_ids/labels.

Why not TRL's SFTTrainer: the data stage already renders each chat in the model's format and
marks the assistant spans that carry loss, so all SFTTrainer would add is a second
tokenization and masking pass (with its own chat-template assumptions: TRL's assistant-only
loss needs `{% generation %}` markers, which the Gemma3 tool template lacks). Speed comes
from the loss: on a CPU TRL 1.16 scores every position (its labelled-positions kernel needs
Triton), while `label_positions_loss` projects only the assistant tokens onto the vocabulary
(benchmarks/bench_train.py: 7.5x TRL's tokens/s on tiny_qwen3 here; docs/training.md).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from transformers import PrinterCallback, ProgressCallback, Trainer, TrainingArguments

from dnd_ft.errors import StageError
from dnd_ft.training.backends.base import LoadedModel
from dnd_ft.training.batching import Collator, RowDataset
from dnd_ft.training.callbacks import (
    CheckpointMarker,
    EarlyStopping,
    Monitor,
    NonFiniteGuard,
    TrialReporter,
)
from dnd_ft.training.precision import Precision
from dnd_ft.training.progress import TrainProgress

log = logging.getLogger(__name__)


@dataclass
class LoopResult:
    """What one call of `train` measured."""

    steps: int  # optimizer steps reached (including those before a resume)
    seconds: float  # wall time of the training loop in this process, evaluation excluded
    tokens: int  # real tokens trained on in this process
    history: list[dict[str, float]] = field(default_factory=list)  # one row per log event
    eval_loss: float | None = None  # final val loss
    stopped_early_at: int | None = None
    resumed_from: str | None = None
    padding_efficiency: float = 0.0  # real tokens / token slots of the batches trained on
    pruned_at: int | None = None  # the step a sweep's pruner stopped training at
    pruned_value: float | None = None  # the val loss it stopped on

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


class DndTrainer(Trainer):
    """Trainer that counts real tokens and computes logits only where the loss needs them.

    Real (unpadded) tokens, sent per row by the collator, go into
    `state.num_input_tokens_seen`, which checkpoints save and a resume restores (the
    Trainer's own counter would count padding, or rely on the pad id never occurring in
    packed rows); `slots_seen` counts batch positions with padding, for padding efficiency.
    With `target_logits_only` the loss is `dnd_ft.training.loss.label_positions_loss`.
    """

    slots_seen = 0
    eval_seconds = 0.0  # time in evaluate(), taken out of the training throughput
    target_logits_only = False
    embedding_learning_rate: float | None = None
    # When a list: refilled at each evaluation with every val row's mean target loss, in
    # row order (a sweep's wilcoxon pruner pairs them across trials).
    eval_row_losses: list[float] | None = None
    _eval_rows: dict[int, tuple[float, int]] | None = None  # row id -> (loss sum, targets)

    def create_optimizer(self, model=None):
        """The Trainer's optimizer, with trained embedding rows moved to their own group at
        `embedding_learning_rate` (no weight decay); the scheduler then scales every group
        alike. Done before the first step, while the optimizer has no state."""
        optimizer = super().create_optimizer(model)
        if self.embedding_learning_rate is None:
            return optimizer
        rows = {id(p) for p in embedding_parameters(self.model if model is None else model)}
        moved = []
        for group in optimizer.param_groups:
            moved += [p for p in group["params"] if id(p) in rows]
            group["params"] = [p for p in group["params"] if id(p) not in rows]
        if moved:
            optimizer.add_param_group(
                {"params": moved, "lr": self.embedding_learning_rate, "weight_decay": 0.0}
            )
        return optimizer

    def _get_num_items_in_batch(self, batch_samples, device):
        """The Trainer's normaliser over an accumulated batch, counted in weights when the
        batches carry loss weights (so the loss stays a weighted mean across accumulation).
        Overrides a private Trainer method (transformers 4.5x-5.x); without weights, theirs."""
        if not batch_samples or "loss_weights" not in batch_samples[0]:
            return super()._get_num_items_in_batch(batch_samples, device)
        total = sum(
            (b["loss_weights"][..., 1:] * (b["labels"][..., 1:] != -100)).sum()
            for b in batch_samples
        )
        return total.to(device)

    def evaluation_loop(
        self,
        dataloader,
        description,
        prediction_loss_only=None,
        ignore_keys=None,
        metric_key_prefix="eval",
    ):
        """The Trainer's loop, with our own val loss: the mean over every target token of the
        val set (each row counted once), the same whatever the eval batch size or number of
        processes. The Trainer's is a mean of per-batch means, which moves with both. It is
        unweighted (trainer.loss_weights shape the training loss only), so trials of a sweep
        over those weights are compared on one measure."""
        self._eval_rows = {} if self.target_logits_only else None
        output = super().evaluation_loop(
            dataloader, description, prediction_loss_only, ignore_keys, metric_key_prefix
        )
        rows, self._eval_rows = self._eval_rows, None
        if rows is not None:
            if self.accelerator.num_processes > 1:  # every process gathers, rows or not
                from accelerate.utils import gather_object

                gathered: dict[int, tuple[float, int]] = {}
                for row_id, stats in gather_object(list(rows.items())):
                    gathered.setdefault(int(row_id), tuple(stats))
                rows = gathered
            total = sum(s for s, _ in rows.values())
            count = sum(n for _, n in rows.values())
            if count:
                output.metrics[f"{metric_key_prefix}_loss"] = total / count
            if self.eval_row_losses is not None:
                self.eval_row_losses[:] = [s / max(n, 1) for _, (s, n) in sorted(rows.items())]
        return output

    def evaluate(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return super().evaluate(*args, **kwargs)
        finally:
            self.eval_seconds += time.perf_counter() - start

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        real = inputs.pop("num_real_tokens", None)
        weights = inputs.pop("loss_weights", None)
        row_ids = inputs.pop("row_ids", None)
        if real is not None and model.training:
            counts = real.new_tensor([int(real.sum()), inputs["input_ids"].numel()])
            if self.accelerator.num_processes > 1:  # DDP: count every process's tokens
                counts = self.accelerator.reduce(counts, reduction="sum")
            self.state.num_input_tokens_seen += int(counts[0])
            self.slots_seen += int(counts[1])
        if not self.target_logits_only:  # the config check keeps weights off this path
            return super().compute_loss(
                model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
            )
        from dnd_ft.training.loss import label_positions_loss

        stats: list[tuple[float, int]] | None = None
        if self._eval_rows is not None and row_ids is not None and not model.training:
            stats = []
        loss, outputs = label_positions_loss(model, inputs, num_items_in_batch, weights, stats)
        if stats is not None:
            for row_id, row in zip(row_ids.tolist(), stats, strict=True):
                self._eval_rows.setdefault(int(row_id), row)  # a row a sampler repeated: once
        if num_items_in_batch is None:
            if model.training:  # a per-batch mean: scale for accumulation here
                loss = loss / self.current_gradient_accumulation_steps
        elif self.args.average_tokens_across_devices:
            # num_items is a count over every process (evaluation too): DDP's mean of the
            # processes' gradients (or the gathered eval losses) then gives the global mean
            loss = loss * self.accelerator.num_processes
        return (loss, outputs) if return_outputs else loss


def embedding_parameters(model: Any) -> list[Any]:
    """Trainable embedding weights: PEFT's trainable-token deltas (LoRA with
    lora.train_control_tokens), else the input and output embedding matrices (method=full)."""
    deltas = [
        p for n, p in model.named_parameters() if p.requires_grad and "trainable_tokens_" in n
    ]
    if deltas:
        return deltas
    found: dict[int, Any] = {}
    for get in ("get_input_embeddings", "get_output_embeddings"):
        module = getattr(model, get)() if hasattr(model, get) else None
        weight = getattr(module, "weight", None)
        if weight is not None and weight.requires_grad:
            found[id(weight)] = weight  # tied embeddings: one tensor, listed once
    return list(found.values())


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def training_arguments(
    t: DictConfig,
    out_dir: Path,
    precision: Precision,
    has_eval: bool,
    gradient_checkpointing: bool,
    use_cpu: bool,
) -> TrainingArguments:
    """TrainingArguments from the trainer config; every value traces back to a config key."""
    evaluate = has_eval and t.eval_steps > 0
    # transformers 5.x renamed gradient_checkpointing to activation_checkpointing (the old
    # name warns); older versions only know the old name.
    ckpt = (
        "activation_checkpointing"
        if "activation_checkpointing" in TrainingArguments.__dataclass_fields__
        else "gradient_checkpointing"
    )
    checkpointing = (
        {ckpt: True, f"{ckpt}_kwargs": {"use_reentrant": False}} if gradient_checkpointing else {}
    )
    return TrainingArguments(
        output_dir=str(out_dir),
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.eval_batch_size,
        gradient_accumulation_steps=t.grad_accum,
        learning_rate=t.learning_rate,
        lr_scheduler_type=t.lr_scheduler,
        warmup_steps=t.warmup_ratio,  # a float < 1 is a fraction of the total steps
        weight_decay=t.weight_decay,
        max_grad_norm=t.max_grad_norm,
        optim=t.optimizer,
        num_train_epochs=t.epochs,
        max_steps=t.max_steps if t.max_steps > 0 else -1,
        seed=t.seed,
        data_seed=t.seed,
        bf16=precision.autocast == "bf16",
        fp16=precision.autocast == "fp16",
        use_cpu=use_cpu,
        **checkpointing,
        logging_steps=max(t.logging_steps, 1),
        logging_first_step=True,  # so train/loss_first is the loss before any update
        logging_nan_inf_filter=False,  # NonFiniteGuard must see NaN, not a smoothed value
        eval_strategy="steps" if evaluate else "no",
        eval_steps=t.eval_steps if evaluate else None,
        save_strategy="steps" if t.save_steps > 0 else "no",
        save_steps=t.save_steps if t.save_steps > 0 else 500,
        save_total_limit=None,  # CheckpointMarker rotates, after marking complete
        prediction_loss_only=True,
        remove_unused_columns=False,  # our rows are already exactly the model inputs
        label_names=["labels"],
        dataloader_num_workers=t.dataloader_workers,
        dataloader_pin_memory=_has_cuda() and not use_cpu,  # pinning is for host->GPU copies
        report_to="none",  # our Monitor feeds the tracker; no second W&B run from the Trainer
        disable_tqdm=True,  # TrainProgress replaces the tqdm bar
    )


def train(
    loaded: LoadedModel,
    train_rows: list[dict],
    eval_rows: list[dict],
    t: DictConfig,
    checkpoint_dir: Path,
    precision: Precision,
    *,
    resume_from: Path | None = None,
    tracker: Any = None,
    checkpoint_info: dict[str, Any] | None = None,
    description: str = "train",
    use_cpu: bool = False,
    trial: Any = None,
) -> LoopResult:
    """Train `loaded.model` in place on prepared rows; returns what was measured.

    Raises NonFiniteLoss from the guard and lets other exceptions (OOM, ...) through;
    the stage turns them into StageErrors with a fix. ``trial``: a sweep's TrialLink, which
    gets every periodic val loss and may stop training early (``LoopResult.pruned_at``).
    """
    tokenizer = loaded.tokenizer
    pad_id = (
        tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    )
    args = training_arguments(
        t,
        checkpoint_dir,
        precision,
        has_eval=bool(eval_rows),
        gradient_checkpointing=t.gradient_checkpointing and not loaded.owns_gradient_checkpointing,
        use_cpu=use_cpu,
    )
    from dnd_ft.utils.distributed import is_main

    progress = TrainProgress(description, enabled=t.progress and is_main())  # one bar under DDP
    monitor = Monitor(tracker=tracker, progress=progress)
    callbacks: list[Any] = [
        NonFiniteGuard(),
        monitor,
        CheckpointMarker(checkpoint_dir, t.save_total_limit, checkpoint_info or {}),
    ]
    stopper = None
    if t.early_stopping.patience > 0 and eval_rows:
        stopper = EarlyStopping(t.early_stopping.patience, t.early_stopping.min_delta)
        callbacks.append(stopper)
    reporter = None
    eval_row_losses: list[float] | None = None  # per val conversation, for wilcoxon
    if trial is not None and trial.reports and eval_rows:
        eval_row_losses = [] if trial.per_instance else None
        reporter = TrialReporter(trial, eval_row_losses)
        callbacks.append(reporter)
    trainer = DndTrainer(
        model=loaded.model,
        args=args,
        train_dataset=RowDataset(train_rows),
        eval_dataset=RowDataset(eval_rows, with_ids=True) if eval_rows else None,
        data_collator=Collator(pad_token_id=pad_id),
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    # Our loss is already normalised over the accumulated batch (or scaled in compute_loss).
    trainer.target_logits_only = bool(t.target_logits_only) and loaded.backend == "hf"
    trainer.loss_is_scaled_for_ga = True if trainer.target_logits_only else None
    trainer.embedding_learning_rate = t.embedding_learning_rate
    if eval_row_losses is not None and not trainer.target_logits_only:
        raise StageError(
            "hydra.sweeper.pruner.name=wilcoxon pairs per-conversation val losses, which our "
            "own loss computes (trainer.target_logits_only=true with the hf backend); set "
            "that, or choose another pruner"
        )
    trainer.eval_row_losses = eval_row_losses
    for default in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(default)
    try:
        trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    finally:
        progress.stop()
    train_seconds = max(monitor.train_seconds - trainer.eval_seconds, 0.0)
    eval_loss = None
    if reporter is not None and reporter.pruned_at is not None:
        eval_loss = reporter.pruned_value  # measured at the step training stopped
    elif eval_rows:
        last = [r for r in monitor.history if "eval_loss" in r]
        if last and last[-1]["step"] == trainer.state.global_step:
            eval_loss = last[-1]["eval_loss"]  # the periodic eval just ran on this model
        else:
            eval_loss = float(trainer.evaluate()["eval_loss"])
    return LoopResult(
        steps=trainer.state.global_step,
        seconds=train_seconds,
        tokens=monitor.tokens_seen,
        history=monitor.history,
        eval_loss=eval_loss,
        stopped_early_at=stopper.stopped_at if stopper else None,
        resumed_from=str(resume_from) if resume_from else None,
        padding_efficiency=monitor.tokens_seen / trainer.slots_seen if trainer.slots_seen else 0.0,
        pruned_at=reporter.pruned_at if reporter else None,
        pruned_value=reporter.pruned_value if reporter else None,
    )
