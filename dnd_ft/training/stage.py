"""The `train` stage: data splits in, a PEFT adapter (or a fully fine-tuned model) out.

    python -m dnd_ft stages=[data,train] model=tiny_qwen3 debug=smoke
    python -m dnd_ft ... hydra.run.dir=<old run dir>       # resumes (trainer.resume=auto)

Reads run_dir/data/{train,val}.jsonl (from the data stage), writes:
    run_dir/train/checkpoints/checkpoint-N/   periodic, keep-last-N, COMPLETE marker last
    run_dir/train/loss_curve.png, history.json, summary.json
    run_dir/adapter/                          PEFT adapter + tokenizer (lora / qlora)
    run_dir/merged/                           the whole model (method=full)

Merging an adapter into its base is the export stage's (stages=[..., export]).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dnd_ft.errors import ConfigError, Pruned, StageError
from dnd_ft.training import backends, checkpoints
from dnd_ft.training.batching import Example, packed_rows, packing_efficiency, plain_rows
from dnd_ft.training.checks import check_trainer
from dnd_ft.training.precision import resolve
from dnd_ft.utils.hardware import detect
from dnd_ft.utils.io import atomic_write_text

if TYPE_CHECKING:
    from dnd_ft.core.context import RunContext

log = logging.getLogger(__name__)


def run(ctx: RunContext) -> None:
    cfg, t = ctx.cfg, ctx.cfg.trainer
    problems = list(check_trainer(cfg))  # again here: the stage may be called directly
    if problems:
        raise ConfigError(problems)
    hw = detect()
    precision = resolve(t.precision, hw, t.method)
    name, reason = backends.select(t, cfg.model)
    log.info("train: backend %s (%s), method %s, precision %s on %s",
             name, reason, t.method, precision.name, hw.accelerator)  # fmt: skip
    data_dir = Path(ctx.artifacts.get("data_dir") or ctx.run_dir / "data")
    if not (data_dir / "train.jsonl").is_file():  # fail before the (slow) model load
        raise StageError(
            f"train: no training data at {data_dir}/train.jsonl; run the data stage first "
            "(stages=[data,train]) or rerun in the run folder that has it (hydra.run.dir=...)"
        )
    from dnd_ft.training import init

    parent = init.parent_of(cfg)  # trainer.init_from; checked before anything loads
    train_dir = ctx.stage_dir("train")
    info = checkpoints.run_info(cfg)
    resume_from = checkpoints.resolve_resume(str(t.resume), train_dir / "checkpoints", info)
    if parent is not None and t.init_mode == "resume" and resume_from is None:
        resume_from = init.resume_checkpoint(parent, info)

    from dnd_ft.training import artifacts, loop
    from dnd_ft.training.errors import loading_errors, training_errors

    backend = backends.get(name)
    with loading_errors(cfg):
        # a resumed checkpoint of a new_adapter run still needs its parent merged in first
        model_cfg = init.model_config(cfg, parent)
        loaded = backend.load(model_cfg, t, Path(cfg.paths.cache_dir), precision, parent)
    train_ex, stats = encode_split(
        data_dir, "train", loaded.tokenizer, int(t.max_length), loss_weights=t.loss_weights
    )
    # the val loss stays the plain mean, comparable across weightings
    val_ex, _ = encode_split(data_dir, "val", loaded.tokenizer, int(t.max_length), required=False)
    rows = packed_rows(train_ex, int(t.max_length)) if t.packing else plain_rows(train_ex)
    log.info("train: %d examples (%d tokens) in %d rows%s; %d val examples", len(train_ex),
             stats["tokens"], len(rows), " (packed)" if t.packing else "", len(val_ex))  # fmt: skip

    if t.max_tokens > 0:
        from omegaconf import OmegaConf

        # the budget becomes the step count this run trains for (resolved: a detached copy)
        t = OmegaConf.create(OmegaConf.to_container(t, resolve=True))
        t.max_steps = budget_steps(int(t.max_tokens), stats["tokens"], len(rows), t)
        log.info("train: a budget of %d tokens is %d steps of about %d tokens",
                 t.max_tokens, t.max_steps, t.max_tokens // t.max_steps)  # fmt: skip
    with training_errors(cfg, hw.accelerator, precision.name, str(data_dir), str(train_dir)):
        result = loop.train(
            loaded, rows, plain_rows(val_ex), t, train_dir / "checkpoints", precision,
            resume_from=resume_from, tracker=ctx.tracker, checkpoint_info=info,
            description=f"train {cfg.model.name}", use_cpu=hw.accelerator == "cpu",
            trial=ctx.trial,
        )  # fmt: skip
    metrics = _metrics(result, train_ex, rows, stats, int(t.max_length), t.packing)
    metrics["train/peak_memory_mb"] = round(artifacts.peak_memory_mb(hw.accelerator), 1)
    if result.pruned_at is not None:
        metrics["train/pruned_at_step"] = result.pruned_at
    if parent is not None:
        metrics["train/init_mode"] = str(t.init_mode)
    if ctx.world_size > 1:
        metrics["train/processes"] = ctx.world_size  # DDP: steps are global, tokens per rank

    # The model: an adapter (lora/qlora) or the whole fine-tuned model (full); a pruned
    # trial's is not kept (nothing evaluates or exports it), its record below is.
    ctx.metrics.update(metrics)
    if not ctx.is_main:  # under DDP rank 0 saves the model and writes the record
        return
    if result.pruned_at is None and loaded.method == "full":
        out = artifacts.save_full_model(loaded, ctx.run_dir / "merged", cfg.model)
        ctx.artifacts["merged_dir"] = out
    elif result.pruned_at is None:
        lineage = (lambda out: init.save_lineage(out, parent, t.init_mode)) if parent else None
        out = artifacts.save_adapter(loaded, ctx.run_dir / "adapter", cfg.model, lineage)
        ctx.artifacts["adapter_dir"] = out

    # The record: history, loss curve, summary; the same to the tracker.
    artifacts.write_history(result.history, train_dir / "history.json")
    plot = artifacts.plot_loss(result.history, train_dir / "loss_curve.png",
                               f"{cfg.run_name}: {cfg.model.name} {t.method}")  # fmt: skip
    summary = {**metrics, "backend": name, "backend_reason": reason, "precision": precision.name,
               "device": hw.accelerator, "resumed_from": result.resumed_from,
               "stopped_early_at": result.stopped_early_at,
               "init_from": parent.label if parent else None}  # fmt: skip
    atomic_write_text(train_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    if ctx.tracker is not None:
        ctx.tracker.summary(metrics)
        if plot is not None:
            ctx.tracker.log_image("train/loss_curve", plot)
    log.info("train: %d steps, loss %s -> %s, eval_loss %s, %.0f tokens/s", result.steps,
             metrics.get("train/loss_first"), metrics.get("train/loss_last"),
             metrics.get("train/eval_loss"), metrics["train/tokens_per_second"])  # fmt: skip
    if result.pruned_at is not None:
        raise Pruned(result.pruned_at, float(result.pruned_value or float("nan")))


def budget_steps(max_tokens: int, tokens: int, n_rows: int, t: Any) -> int:
    """Optimizer steps that train on about ``max_tokens`` real tokens: the rows' mean length
    times the rows a step takes (batch x accumulation x processes)."""
    import math
    import os

    per_step = tokens / max(n_rows, 1) * t.batch_size * t.grad_accum
    per_step *= int(os.environ.get("WORLD_SIZE", "1"))
    return max(1, math.ceil(max_tokens / max(per_step, 1.0)))


def encode_split(
    data_dir: Path,
    split: str,
    tokenizer: Any,
    max_length: int,
    required: bool = True,
    loss_weights: Any = None,
) -> tuple[list[Example], dict[str, int]]:
    """Tokenize one split; examples longer than max_length are cut, ones with no loss dropped.

    loss_weights: ``trainer.loss_weights`` (call, decision); None or all 1.0 gives examples
    without weights (the plain loss)."""
    from dnd_ft.chat.base import Rendered
    from dnd_ft.chat.tokenize import encode
    from dnd_ft.data.rows import load_split

    path = data_dir / f"{split}.jsonl"
    if not path.is_file():
        if not required:
            return [], {"tokens": 0, "truncated": 0, "dropped": 0}
        raise StageError(
            f"train: no {split} split at {path}; run the data stage first "
            "(stages=[data,train]) or rerun in the run folder that has it (hydra.run.dir=...)"
        )
    examples, truncated, dropped, longest = [], 0, 0, 0
    rows = load_split(data_dir, split)
    for row in rows:
        rendered = Rendered(row["text"], list(row["spans"]), list(row.get("call_spans") or []))
        enc = encode(rendered, tokenizer)
        ids, labels = enc.input_ids, enc.labels
        weights = token_weights(enc, loss_weights)
        longest = max(longest, len(ids))
        if len(ids) > max_length:
            truncated += 1
            ids, labels = ids[:max_length], labels[:max_length]
            weights = weights[:max_length] if weights else None
        if all(label == -100 for label in labels[1:]):
            dropped += 1  # nothing to learn: the loss spans were cut off (or absent)
            continue
        examples.append(Example(ids, labels, weights))
    if truncated or dropped:
        log.warning(
            "%s split: %d of %d examples cut to trainer.max_length=%d, %d dropped "
            "without loss tokens",
            split,
            truncated,
            len(rows),
            max_length,
            dropped,
        )
    if dropped * 2 > len(rows) or (required and not examples):
        raise StageError(
            f"train: {dropped} of {len(rows)} {split} examples have no loss tokens within "
            f"trainer.max_length={max_length} (the longest has {longest} tokens); raise "
            f"trainer.max_length (or model.max_seq_length) to at least {longest}, or check the "
            "data stage report (run_dir/data/report.json)"
        )
    stats = {"tokens": sum(len(e) for e in examples), "truncated": truncated, "dropped": dropped}
    return examples, stats


def token_weights(enc: Any, loss_weights: Any) -> list[float] | None:
    """Per-token loss weights from ``trainer.loss_weights``: a turn's first token (the decision)
    gets ``decision``, other tokens of a call block ``call``, the rest 1.0. None when all 1.0."""
    if loss_weights is None or (loss_weights.call == 1.0 and loss_weights.decision == 1.0):
        return None
    call, decision = float(loss_weights.call), float(loss_weights.decision)
    return [
        decision if opens else call if in_call else 1.0
        for opens, in_call in zip(enc.opens_span, enc.in_call, strict=True)
    ]


def _metrics(
    result: Any,
    examples: list[Example],
    rows: list[dict],
    stats: dict[str, int],
    max_length: int,
    packing: bool,
) -> dict[str, Any]:
    from dnd_ft.training.artifacts import first_last

    loss_first, loss_last = first_last(result.history, "loss")
    metrics: dict[str, Any] = {
        "train/loss_first": loss_first,
        "train/loss_last": loss_last,
        "train/eval_loss": result.eval_loss,
        "train/steps": result.steps,
        "train/seconds": round(result.seconds, 3),
        "train/tokens": result.tokens,
        "train/tokens_per_second": round(result.tokens_per_second, 1),
        "train/examples": len(examples),
        "train/rows": len(rows),
        "train/truncated_examples": stats["truncated"],
        "train/padding_efficiency": round(result.padding_efficiency, 4),
    }
    # Packed: how full the rows are (real tokens / rows x max_length); unpacked this is the
    # same measured ratio as padding_efficiency, so the key is always comparable.
    metrics["train/packing_efficiency"] = (
        round(packing_efficiency(examples, rows, max_length), 4)
        if packing
        else metrics["train/padding_efficiency"]
    )
    return {k: v for k, v in metrics.items() if v is not None}
