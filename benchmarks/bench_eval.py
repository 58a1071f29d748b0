"""Benchmark: the eval runner reusing its KV cache against batched generation, on CPU.

    python benchmarks/bench_eval.py [--model tiny_qwen3] [--conversations 4] [--batch-size 8]
                                    [--max-new-tokens 32] [--threads 2] [--single]
    python benchmarks/bench_eval.py --model smollm2_135m --data outputs/<run>/data --split test

Replays whole conversations as the eval stage does (every DM turn, its gold history rendered
in the model's chat format): conversations spread over the scenario corpus, or every one of a
dataset folder's split (``--data``, the held-out split a run evaluates). The same prompts are
generated batched (``eval.reuse_cache=false``: batches of --batch-size, longest first) and
reusing one KV cache per conversation (the default), and with --single one at a time as well.
Prints wall and CPU seconds, new tokens, tokens/s and the prompt tokens prefilled of each;
exits with status 1 unless every path gives the batched texts and token counts. The target
is a speed-up of 5x over batched on SmolLM2's held-out split.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load(model_name: str, cache_dir: str, data_dir: str | None, split: str, n: int):
    """The model, its tokenizer and chat format, and the conversations to replay."""
    from omegaconf import OmegaConf

    from dnd_ft.chat.formats import get_format, load_format
    from dnd_ft.models import load_model, load_tokenizer
    from dnd_ft.models.config import model_config as load_model_config

    model_cfg = load_model_config(model_name)
    OmegaConf.set_readonly(model_cfg, False)
    tokenizer = load_tokenizer(model_cfg, cache_dir)
    model = load_model(model_cfg, cache_dir)
    # The eval stage's context budget: the model's window, at least model.max_seq_length.
    window = getattr(model.config, "max_position_embeddings", None) or 0
    max_length = max(int(model_cfg.max_seq_length), int(window))
    if data_dir is not None:
        from dnd_ft.data import load_split

        rows = load_split(Path(data_dir), split)
        return model, tokenizer, load_format(data_dir, tokenizer), rows[: n or None], max_length
    from dnd_ft.scenarios import load_corpus
    from dnd_ft.scenarios.records import iter_records
    from dnd_ft.tools.registry import ToolRegistry

    registry = ToolRegistry.default()
    rows = list(iter_records(load_corpus([ROOT / "scenarios"], registry).scenarios, registry))
    if n:  # spread over the corpus: varied lengths and categories, as in a real split
        rows = rows[:: max(1, len(rows) // n)][:n]
    return model, tokenizer, get_format(model_cfg.chat_format, tokenizer), rows, max_length


@dataclass
class Run:
    label: str
    wall_s: float
    cpu_s: float  # of the whole process, every thread
    outputs: list  # Generation per turn

    def line(self) -> str:
        new = sum(g.new_tokens for g in self.outputs)
        prefilled = sum(g.prefilled_tokens for g in self.outputs)
        return (f"{self.label:<15}: {self.wall_s:8.2f} s wall {self.cpu_s:8.2f} s CPU  "
                f"{new:6d} new tokens {new / self.wall_s:8.1f} tokens/s  "
                f"{prefilled:8d} prompt tokens prefilled")  # fmt: skip


def timed(label: str, prompts, conversations, **kwargs) -> Run:
    from dnd_ft.evaluation.generate import generate_texts

    wall, cpu = time.perf_counter(), time.process_time()
    out = generate_texts(prompts=prompts, conversations=conversations, **kwargs)
    return Run(label, time.perf_counter() - wall, time.process_time() - cpu, out)


def differences(reference: Run, other: Run) -> list[str]:
    """Turns where ``other`` did not generate what ``reference`` did."""
    return [
        f"turn {i}: {a.new_tokens} tokens {a.text[:60]!r} vs {b.new_tokens} tokens {b.text[:60]!r}"
        for i, (a, b) in enumerate(zip(reference.outputs, other.outputs, strict=True))
        if (a.text, a.new_tokens, a.prompt_tokens) != (b.text, b.new_tokens, b.prompt_tokens)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="tiny_qwen3", help="a configs/model/ name (default tiny_qwen3)"
    )
    parser.add_argument(
        "--conversations", type=int, default=4, help="how many to replay (0: all; default 4)"
    )
    parser.add_argument("--data", help="a dataset folder (<run>/data); default: the corpus")
    parser.add_argument("--split", default="test", help="the split of --data (default test)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--single", action="store_true", help="also run one prompt at a time")
    parser.add_argument(
        "--cache-dir",
        default=os.environ.get("DND_FT_CACHE", str(Path.home() / ".cache" / "dnd-ft")),
    )
    args = parser.parse_args()

    import torch

    from dnd_ft.evaluation.generate import build_prompts

    torch.set_num_threads(args.threads)
    model, tokenizer, fmt, rows, max_length = load(
        args.model, args.cache_dir, args.data, args.split, args.conversations
    )
    turns = build_prompts(rows, fmt)
    prompts = [t.prompt for t in turns]
    conversations = [t.example_id for t in turns]
    lengths = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    print(f"model {args.model}, {len(rows)} conversations, {len(prompts)} turns, "
          f"{min(lengths)}-{max(lengths)} prompt tokens ({sum(lengths)} in all), "
          f"max_new_tokens {args.max_new_tokens}, {args.threads} threads")  # fmt: skip
    common = {"model": model, "tokenizer": tokenizer, "stop_strings": fmt.stop_strings,
              "max_new_tokens": args.max_new_tokens, "max_length": max_length}  # fmt: skip
    warm = {**common, "max_new_tokens": 4}  # lazy inits and allocator caches of both paths
    timed("warm-up", prompts[:2], None, batch_size=2, **warm)
    timed("warm-up", prompts[:2], conversations[:2], **warm)

    runs = [timed(f"batch size {args.batch_size}", prompts, None, batch_size=args.batch_size,
                  **common)]  # fmt: skip
    if args.single:
        runs.append(timed("one at a time", prompts, None, batch_size=1, **common))
    runs.append(timed("reusing cache", prompts, conversations, **common))
    for run in runs:
        print(run.line())
    batched, reused = runs[0], runs[-1]
    print(
        f"reuse speed-up : {batched.wall_s / reused.wall_s:.2f}x wall, "
        f"{batched.cpu_s / reused.cpu_s:.2f}x CPU (target >= 5x on SmolLM2's held-out split)"
    )
    fallbacks = sum(g.cache_fallback for g in reused.outputs)
    cut = sum(g.truncated for g in reused.outputs)
    print(f"cache fallbacks: {fallbacks}, truncated prompts: {cut}")
    wrong = {run.label: differences(batched, run) for run in runs[1:]}
    for label, turns_wrong in wrong.items():
        print(
            f"{label}: identical outputs in {len(prompts) - len(turns_wrong)}/{len(prompts)} turns"
        )
        for line in turns_wrong[:5]:
            print(f"  {line}")
    if any(wrong.values()):
        raise SystemExit("outputs differ from batched generation (see above)")


if __name__ == "__main__":
    main()
