"""Benchmark: batched vs one-at-a-time generation of the eval runner, on CPU, tiny model.

    python benchmarks/bench_eval.py [--model tiny_qwen3] [--prompts 16] [--batch-size 8]
                                    [--max-new-tokens 32] [--threads 2]

Builds the eval prompts of real scenario conversations (the DM turns of the corpus, rendered
in the model's chat format), then generates the same prompts with `generate_texts` twice:
batch size 1 and the given batch size (left padding, longest first). Greedy decoding gives
the same tokens both ways, so tokens/s compare like with like. Prints numbers only; the
target is a speed-up >= 3x.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_prompts(model_name: str, n: int, cache_dir: str):
    """n eval prompts from the scenario corpus, the model, its tokenizer and format."""
    from omegaconf import OmegaConf

    from dnd_ft.chat.formats import get_format
    from dnd_ft.evaluation.generate import build_prompts as turn_prompts
    from dnd_ft.models import load_model, load_tokenizer
    from dnd_ft.models.config import model_config as load_model_config
    from dnd_ft.scenarios import load_corpus
    from dnd_ft.scenarios.records import iter_records
    from dnd_ft.tools.registry import ToolRegistry

    model_cfg = load_model_config(model_name)
    OmegaConf.set_readonly(model_cfg, False)
    tokenizer = load_tokenizer(model_cfg, cache_dir)
    model = load_model(model_cfg, cache_dir)
    fmt = get_format(model_cfg.chat_format, tokenizer)
    registry = ToolRegistry.default()
    records = list(iter_records(load_corpus([ROOT / "scenarios"], registry).scenarios, registry))
    prompts = [p.prompt for p in turn_prompts(records, fmt)]
    step = max(1, len(prompts) // n)  # spread over the corpus: varied lengths, as in a real split
    return model, tokenizer, fmt, prompts[::step][:n]


def timed(
    model, tokenizer, prompts, batch_size: int, max_new_tokens: int, stops
) -> tuple[float, int, list[str]]:
    from dnd_ft.evaluation.generate import generate_texts

    start = time.perf_counter()
    out = generate_texts(model, tokenizer, prompts, batch_size=batch_size,
                         max_new_tokens=max_new_tokens, stop_strings=stops)  # fmt: skip
    seconds = time.perf_counter() - start
    return seconds, sum(g.new_tokens for g in out), [g.text for g in out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="tiny_qwen3", help="a configs/model/ name (default tiny_qwen3)"
    )
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument(
        "--cache-dir",
        default=os.environ.get("DND_FT_CACHE", str(Path.home() / ".cache" / "dnd-ft")),
    )
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    model, tokenizer, fmt, prompts = build_prompts(args.model, args.prompts, args.cache_dir)
    lengths = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    print(f"model {args.model}, {len(prompts)} prompts, {min(lengths)}-{max(lengths)} prompt tokens, "
          f"max_new_tokens {args.max_new_tokens}, {args.threads} threads")  # fmt: skip
    timed(model, tokenizer, prompts[:2], 2, 4, fmt.stop_strings)  # warm-up: lazy inits, caches
    one_s, one_tok, one_text = timed(
        model, tokenizer, prompts, 1, args.max_new_tokens, fmt.stop_strings
    )
    bat_s, bat_tok, bat_text = timed(
        model, tokenizer, prompts, args.batch_size, args.max_new_tokens, fmt.stop_strings
    )
    print(f"one at a time : {one_s:7.2f} s  {one_tok:5d} tokens  {one_tok / one_s:8.1f} tokens/s")
    print(
        f"batch size {args.batch_size:<3d}: {bat_s:7.2f} s  {bat_tok:5d} tokens  {bat_tok / bat_s:8.1f} tokens/s"
    )
    print(f"speed-up      : {(bat_tok / bat_s) / (one_tok / one_s):.2f}x (target >= 3x)")
    same = sum(a == b for a, b in zip(one_text, bat_text, strict=True))
    print(f"identical outputs: {same}/{len(prompts)}")


if __name__ == "__main__":
    main()
