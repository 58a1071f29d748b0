"""Helpers for training tests: a tiny Qwen3/Gemma3 built directly from config, learnable toy
data and a CLI runner. Loop-level tests use these so they do not depend on the model and data
stages; the stage and CLI tests run the real pipeline instead.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

from dnd_ft.training.batching import IGNORE, Example

REPO_ROOT = Path(__file__).resolve().parents[2]
VOCAB = 128
# The pipeline's data and train stages under the fast debug overlay.
SMOKE_ARGS = ("debug=smoke", "stages=[data,train]")


def tiny_qwen3(seed: int = 0):
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(seed)
    cfg = Qwen3Config(
        vocab_size=VOCAB,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=512,
        use_cache=False,
        tie_word_embeddings=True,
    )
    return Qwen3ForCausalLM(cfg)


def tiny_gemma3(seed: int = 0):
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(seed)
    cfg = Gemma3TextConfig(
        vocab_size=VOCAB,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        query_pre_attn_scalar=16,
        sliding_window=16,
        max_position_embeddings=512,
        use_cache=False,
    )
    return Gemma3ForCausalLM(cfg)


def toy_examples(n: int, seed: int = 0, lo: int = 12, hi: int = 40) -> list[Example]:
    """Counting runs `a, a+1, a+2, ...` over the 32 tokens 3..34 (so even a few LoRA steps cut
    the loss well below ln(VOCAB)): a 4-token prompt without loss, then the continuation."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        length, start = rng.randint(lo, hi), rng.randrange(32)
        ids = [3 + (start + k) % 32 for k in range(length)]
        out.append(Example(ids, [IGNORE] * 4 + ids[4:]))
    return out


def run_cli(
    *args: str,
    cwd: Path,
    timeout: int = 300,
    env: dict | None = None,
) -> subprocess.CompletedProcess:
    """`python -m dnd_ft ARGS` in a subprocess, offline, one thread."""
    full_env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    full_env.update(
        {
            "OMP_NUM_THREADS": "1",
            "HF_HUB_OFFLINE": "1",
            "WANDB_MODE": "offline",
            "WANDB_SILENT": "true",
            **(env or {}),
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "dnd_ft", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
    )


def read_metrics(run_dir: Path) -> dict:
    import json

    return json.loads((run_dir / "metrics.json").read_text())


def adapter_tensors(adapter_dir: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(adapter_dir / "adapter_model.safetensors"))


def reload_and_generate(model_name: str, adapter_dir: Path, max_new_tokens: int = 5):
    """Base model from the models stage + the saved adapter via PeftModel; greedy tokens of a
    chat prompt. Returns (peft model, base logits, adapted logits, generated ids)."""
    import torch
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from peft import PeftModel

    from dnd_ft.config.store import CONFIG_DIR
    from dnd_ft.models import load_model, load_tokenizer
    from dnd_ft.pipeline.config import register_configs

    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[f"model={model_name}"])
    GlobalHydra.instance().clear()
    tok = load_tokenizer(cfg.model, cfg.paths.cache_dir)
    base = load_model(cfg.model, cfg.paths.cache_dir)
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "I attack the goblin!"}],
        add_generation_prompt=True,
        tokenize=False,
    )
    ids = tok(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        base_logits = base(input_ids=ids).logits
    model = PeftModel.from_pretrained(base, str(adapter_dir))
    model.eval()
    with torch.no_grad():
        adapted_logits = model(input_ids=ids).logits
        out = model.generate(input_ids=ids, max_new_tokens=max_new_tokens, do_sample=False)
    return model, base_logits, adapted_logits, out[0, ids.shape[1] :]
