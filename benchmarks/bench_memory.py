"""Benchmark: peak memory and speed of LoRA training on real models, per memory setting.

    python benchmarks/bench_memory.py [--models smollm2_135m gemma3_270m_offline]
                                      [--settings plain checkpointing checkpointing_b1]
                                      [--steps 3] [--threads 2]

Each (model, setting) is a fresh ``python -m dnd_ft experiment=smollm2_proof
model=<model> stages=[data,train]`` run of ``--steps`` optimizer steps on the real corpus
(the proof settings: LoRA r=16 with control-token rows, fp32, batch 2 of ~2-3k-token chats),
in its own process, so each peak is its own. Printed per run:

- ``peak RSS MB``: ``train/peak_memory_mb`` from the run's metrics.json, the process's
  maximum resident set (``getrusage``), or the CUDA peak allocated on a GPU: the figure a
  user's run records, measured the same way.
- ``tokens/s``: ``train/tokens_per_second`` (real, unpadded tokens over the training time).
- ``wall s`` and ``CPU s`` of the whole run (data stage and model load included); CPU time
  is the one a busy shared machine cannot inflate.

Settings: ``plain`` is the proof experiment without gradient checkpointing (as it was before
issue 12); ``checkpointing`` with ``trainer.gradient_checkpointing=true`` (the experiment's
setting now); ``checkpointing_b1`` also trades batch 2 x 1 for
batch 1 x 2 (the same tokens per optimizer step); ``checkpointing_no_rows`` measures what
training the control-token rows costs. The targets (issue 12): SmolLM2-135M at
most 4 GB, Gemma 3 270M at most 6 GB, at most 1.3x the time of ``plain``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {
    "plain": ["trainer.gradient_checkpointing=false"],
    "checkpointing": ["trainer.gradient_checkpointing=true"],
    "checkpointing_b1": [
        "trainer.gradient_checkpointing=true", "trainer.batch_size=1", "trainer.grad_accum=2"
    ],
    # what the control-token rows cost (a diagnosis, not a setting to train with: the
    # added tokens then keep their initial rows)
    "checkpointing_no_rows": [
        "trainer.gradient_checkpointing=true", "trainer.lora.train_control_tokens=false"
    ],
}  # fmt: skip


def run(model: str, setting: str, steps: int, threads: int, out: Path) -> dict[str, float]:
    """One training run in a child process; its metrics and the CPU time it used."""
    cmd = [
        sys.executable, "-m", "dnd_ft", "experiment=smollm2_proof", f"model={model}",
        "stages=[data,train]", "tracking=none", f"trainer.max_steps={steps}",
        "trainer.eval_steps=0", "trainer.save_steps=0", "trainer.progress=false",
        f"hydra.run.dir={out}", *SETTINGS[setting],
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "DND_FT_OFFLINE": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{model} {setting} failed:\n{proc.stderr[-3000:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "peak": metrics["train/peak_memory_mb"],
        "tokens_per_second": metrics["train/tokens_per_second"],
        "train_seconds": metrics.get("train/seconds", float("nan")),
        "wall": wall,
        "cpu": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["smollm2_135m", "gemma3_270m_offline"])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS)[:3], choices=list(SETTINGS))
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    print(f"{'model':<22} {'setting':<18} {'peak RSS MB':>11} {'tokens/s':>9} "
          f"{'vs plain':>8} {'wall s':>7} {'CPU s':>7}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            baseline = None
            for setting in args.settings:
                r = run(model, setting, args.steps, args.threads, Path(tmp) / f"{model}-{setting}")
                if setting == "plain":
                    baseline = r["tokens_per_second"]
                ratio = f"{baseline / r['tokens_per_second']:.2f}x" if baseline else "-"
                print(f"{model:<22} {setting:<18} {r['peak']:>11.0f} "
                      f"{r['tokens_per_second']:>9.1f} {ratio:>8} {r['wall']:>7.0f} "
                      f"{r['cpu']:>7.0f}", flush=True)  # fmt: skip
    print(
        f"steps {args.steps}, threads {args.threads}; 'vs plain' is the time per token "
        "relative to the setting without checkpointing (the target is at most 1.30x)"
    )


if __name__ == "__main__":
    main()
