"""Benchmark: our train loop against a plain TRL SFTTrainer script, same model, data and masks.

    OMP_NUM_THREADS=1 python benchmarks/bench_train.py [--model tiny_qwen3] [--steps 10]
                                                      [--batch-size 2] [--max-length 4096]

Both sides get the data stage's output of the sample corpus (tokenized once with the model's
tokenizer), the same base model, LoRA config, batch size, max length, learning rate, seed and
number of optimizer steps, fp32 on CPU. Loss is on the assistant tokens only on both sides:
ours through our labels, TRL through a pre-tokenized dataset with a `completion_mask` column
and `completion_only_loss=True`. Throughput is real (unpadded) tokens per second of the
training loop (on_train_begin to on_train_end; model loading and dataset preparation are not
counted). TRL runs twice: padded batches (its default) and `padding_free=True` (its rows
flattened into one sequence, no padding slots). Then the same loop with packing on reports how
full its rows are.

Where the gap comes from (measured, docs/training.md): TRL 1.16's fused LM head computes
log-probabilities, entropy and top-1 at every position; its kernel that scores labelled
positions only needs Triton (CUDA/XPU), so on CPU the fallback does the whole vocabulary
projection for every token, while ours does it for the assistant tokens only. The
`stock loss` line (ours, every position) shows the same effect inside our loop.

Prints numbers only (no assertions on time); targets: ours >= 1.3x TRL, packing >= 0.90.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # TRL's telemetry would look up the hub
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def compose(model: str):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from dnd_ft.config.store import CONFIG_DIR
    from dnd_ft.pipeline.config import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return hydra_compose("train", overrides=[f"model={model}", "debug=smoke"])


def build_data(cfg, run_dir: Path) -> Path:
    """Run the real data stage on the sample corpus into run_dir/data."""
    from omegaconf import open_dict

    from dnd_ft.core.context import RunContext
    from dnd_ft.core.metrics import Metrics
    from dnd_ft.data.stage import run as data_stage

    with open_dict(cfg):
        cfg.paths.run_dir = str(run_dir)
    ctx = RunContext(cfg=cfg, run_dir=run_dir, metrics=Metrics(run_dir / "metrics.json"))
    data_stage(ctx)
    return run_dir / "data"


def trainer_cfg(cfg, args, packing: bool = False, target_logits_only: bool = True):
    from omegaconf import open_dict

    t = cfg.trainer.copy()
    with open_dict(t):
        t.update(
            {
                "max_steps": args.steps,
                "batch_size": args.batch_size,
                "max_length": args.max_length,
                "packing": packing,
                "save_steps": 0,
                "eval_steps": 0,
                "logging_steps": 1,
                "progress": False,
                "target_logits_only": target_logits_only,
            }
        )
    return t


def run_ours(cfg, t, data_dir: Path) -> tuple[float, float, int]:
    """(tokens/s, padding efficiency, rows) of dnd_ft.training.loop on the train split."""
    from dnd_ft.training import backends
    from dnd_ft.training.batching import packed_rows, plain_rows
    from dnd_ft.training.loop import train
    from dnd_ft.training.precision import Precision
    from dnd_ft.training.stage import encode_split

    fp32 = Precision("fp32", "float32", None)
    loaded = backends.get("hf").load(cfg.model, t, Path(cfg.paths.cache_dir), fp32)
    examples, _ = encode_split(data_dir, "train", loaded.tokenizer, int(t.max_length))
    rows = packed_rows(examples, int(t.max_length)) if t.packing else plain_rows(examples)
    with tempfile.TemporaryDirectory() as out:
        result = train(loaded, rows, [], t, Path(out), fp32, use_cpu=True)
    return result.tokens_per_second, result.padding_efficiency, len(rows)


def run_trl(cfg, t, data_dir: Path, padding_free: bool = False) -> float:
    """Tokens/s of TRL's SFTTrainer on the same token ids and assistant-only masks."""
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from dnd_ft.models import load_model, load_tokenizer
    from dnd_ft.training.backends.base import peft_lora_config
    from dnd_ft.training.stage import encode_split

    tokenizer = load_tokenizer(cfg.model, cfg.paths.cache_dir)
    model = load_model(cfg.model, cfg.paths.cache_dir, dtype=torch.float32)
    model.config.use_cache = False
    examples, _ = encode_split(data_dir, "train", tokenizer, int(t.max_length))
    dataset = Dataset.from_list(
        [
            {"input_ids": e.input_ids, "completion_mask": [int(x != -100) for x in e.labels]}
            for e in examples
        ]
    )

    class Clock(TrainerCallback):
        start = end = 0.0

        def on_train_begin(self, args, state, control, **kwargs):
            Clock.start = time.perf_counter()

        def on_train_end(self, args, state, control, **kwargs):
            Clock.end = time.perf_counter()

    with tempfile.TemporaryDirectory() as out:
        args = SFTConfig(
            output_dir=out,
            max_steps=t.max_steps,
            per_device_train_batch_size=t.batch_size,
            gradient_accumulation_steps=t.grad_accum,
            learning_rate=t.learning_rate,
            lr_scheduler_type=t.lr_scheduler,
            warmup_steps=t.warmup_ratio,
            seed=t.seed,
            # padding_free refuses to cut rows; encode_split already cut them to max_length
            max_length=None if padding_free else int(t.max_length),
            packing=False,
            padding_free=padding_free,
            completion_only_loss=True,
            bf16=False,
            gradient_checkpointing=False,  # TRL's defaults; 4.4x slower on CPU
            use_cpu=True,
            report_to="none",
            logging_steps=1,
            save_strategy="no",
            include_num_input_tokens_seen="non_padding",
            dataloader_pin_memory=False,
            disable_tqdm=True,
        )
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_lora_config(t),
            callbacks=[Clock()],
        )
        trainer.train()
        tokens = trainer.state.num_input_tokens_seen
    return tokens / (Clock.end - Clock.start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny_qwen3")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=4096)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    cfg = compose(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = build_data(cfg, Path(tmp) / "run")
        t = trainer_cfg(cfg, args)
        print(
            f"model {args.model}, {args.steps} steps, batch {args.batch_size}, "
            f"max_length {args.max_length}, LoRA r={t.lora.r}, fp32, "
            f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
        )
        trl_tps = run_trl(cfg, t, data_dir)
        trl_free_tps = run_trl(cfg, t, data_dir, padding_free=True)
        stock_tps, _, _ = run_ours(cfg, trainer_cfg(cfg, args, target_logits_only=False), data_dir)
        ours_tps, ours_eff, _ = run_ours(cfg, t, data_dir)
        print(f"TRL SFTTrainer      {trl_tps:10,.0f} tokens/s  (padded batches)")
        print(f"TRL, padding_free   {trl_free_tps:10,.0f} tokens/s")
        print(
            f"dnd_ft, stock loss  {stock_tps:10,.0f} tokens/s  (trainer.target_logits_only=false)"
        )
        print(
            f"dnd_ft train loop   {ours_tps:10,.0f} tokens/s  (padding efficiency {ours_eff:.3f})"
        )
        print(
            f"ratio ours / TRL    {ours_tps / trl_tps:10.2f}x  (target >= 1.3; stock loss "
            f"{stock_tps / trl_tps:.2f}x)"
        )
        print(
            f"ratio ours / TRL padding_free {ours_tps / trl_free_tps:6.2f}x  (stock loss "
            f"{stock_tps / trl_free_tps:.2f}x)"
        )
        packed_tps, packed_eff, rows = run_ours(cfg, trainer_cfg(cfg, args, packing=True), data_dir)
        print(
            f"dnd_ft with packing {packed_tps:10,.0f} tokens/s  ({rows} rows of "
            f"{args.max_length}; real tokens / batch tokens {packed_eff:.3f}, target >= 0.90)"
        )


if __name__ == "__main__":
    main()
