"""Tiny Qwen3 / Gemma3 models built offline from config, with random but fixed weights.

They are the real architectures (``Qwen3ForCausalLM``, ``Gemma3ForCausalLM``) at toy size, so
every stage (training, evaluation, GGUF and Cactus export) runs on a CPU in seconds with the
same code paths as the real models. Built once into
``<cache>/models/<name>-<hash>/`` (hash of the architecture, seed, tokenizer inputs, chat
template and ``BUILDER_VERSION``) and reused; see ``dnd_ft.models.cache`` for atomicity.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path
from typing import Any

from dnd_ft.chat.templates import chat_template, wants_think
from dnd_ft.models import gemma_tokenizer, hermes_tokenizer
from dnd_ft.models.cache import cached_build, spec_hash
from dnd_ft.models.config import ModelConfig
from dnd_ft.models.errors import ModelLoadError

log = logging.getLogger(__name__)

BUILDER_VERSION = 1  # bump when the build changes in a way the spec does not capture
TINY_FAMILIES = ("qwen", "gemma")


def tiny_seed(model_cfg: ModelConfig) -> int:
    """The weight-init seed: ``model.tiny.seed``, or a fixed one derived from the name."""
    if model_cfg.tiny.seed is not None:
        return int(model_cfg.tiny.seed)
    return int.from_bytes(hashlib.sha256(model_cfg.name.encode()).digest()[:4], "big")


def built_template(model_cfg: ModelConfig) -> str:
    """The chat template written into a built folder (chat_format=template has no model
    template to fall back on here, so it gets the family's format)."""
    fmt = model_cfg.chat_format
    if fmt == "template":
        fmt = "hermes" if model_cfg.family == "qwen" else "functiongemma"
    return chat_template(fmt, think=fmt == "hermes" and wants_think(model_cfg))


def tiny_spec(model_cfg: ModelConfig) -> dict[str, Any]:
    """Everything the built folder depends on; its hash names the folder."""
    if model_cfg.family not in TINY_FAMILIES:
        raise ModelLoadError(
            f"model.source=tiny builds families {', '.join(TINY_FAMILIES)}, not "
            f"model.family={model_cfg.family!r}; set model.family or use another model.source"
        )
    spec: dict[str, Any] = {
        "kind": "tiny",
        "builder_version": BUILDER_VERSION,
        "family": model_cfg.family,
        "arch": as_plain_dict(model_cfg.tiny),
        "seed": tiny_seed(model_cfg),
        "template": hashlib.sha256(built_template(model_cfg).encode()).hexdigest(),
    }
    if model_cfg.family == "qwen":
        from dnd_ft.assets import ASSETS

        spec["tokenizer"] = {"smollm2_wheel": ASSETS["smollm2"].identity, "hermes": 1}
    else:
        spec["tokenizer"] = {
            "corpus": gemma_tokenizer.corpus_sha256(),
            "vocab": gemma_tokenizer.VOCAB_SIZE,
        }
    return spec


def tiny_model_dir(model_cfg: ModelConfig, cache_dir: str | Path) -> Path:
    """Folder of the tiny model, built first if missing (seconds)."""
    spec = tiny_spec(model_cfg)
    final = Path(cache_dir) / "models" / f"{model_cfg.name}-{spec_hash(spec)}"
    return cached_build(final, lambda tmp: _build(model_cfg, tmp, Path(cache_dir)), spec)


def as_plain_dict(node: Any) -> dict[str, Any]:
    """A dataclass, OmegaConf node (what Hydra passes) or mapping as a plain dict."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return dataclasses.asdict(node)
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(node, DictConfig):
            return OmegaConf.to_container(node, resolve=True)  # type: ignore[return-value]
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        pass
    return dict(node)


def _build(model_cfg: ModelConfig, folder: Path, cache_dir: Path) -> None:
    import torch

    arch = model_cfg.tiny
    template = built_template(model_cfg)
    if model_cfg.family == "qwen":
        tok = hermes_tokenizer.build_hermes_tokenizer(
            cache_dir,
            template,
            qwen_style=True,
            model_max_length=arch.max_position_embeddings,
        )
        config = _qwen3_config(arch, tok)
    else:
        tok = gemma_tokenizer.build_gemma_tokenizer(
            folder, template, model_max_length=arch.max_position_embeddings
        )
        config = _gemma3_config(arch, tok)
    from transformers import AutoModelForCausalLM, GenerationConfig

    # fork_rng: seeding must not change the caller's random stream.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(tiny_seed(model_cfg))
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id,
        eos_token_id=_stop_ids(tok, model_cfg.family),
        pad_token_id=config.pad_token_id,
    )
    model.save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    if model_cfg.family == "gemma":
        gemma_tokenizer.fix_saved_config(folder)
    n_params = sum(p.numel() for p in model.parameters())
    log.info(
        "tiny %s: %s, %.2fM parameters, vocab %d",
        model_cfg.name,
        type(model).__name__,
        n_params / 1e6,
        config.vocab_size,
    )


def _stop_ids(tok, family: str) -> list[int]:
    """Tokens that end a generation: the end of a turn, and the end of text."""
    if family == "qwen":
        names = [tok.eos_token, hermes_tokenizer.ENDOFTEXT]
    else:
        names = [tok.eos_token, "<end_of_turn>"]
    return [tok.convert_tokens_to_ids(n) for n in names]


def _shared_config(arch, tok) -> dict[str, Any]:
    """The config fields both tiny families take from `arch` and the tokenizer."""
    return {
        "vocab_size": len(tok),  # exact: no unreachable rows for a random model to sample
        "hidden_size": arch.hidden_size,
        "intermediate_size": arch.intermediate_size,
        "num_hidden_layers": arch.num_hidden_layers,
        "num_attention_heads": arch.num_attention_heads,
        "num_key_value_heads": arch.num_key_value_heads,
        "head_dim": arch.head_dim,
        "max_position_embeddings": arch.max_position_embeddings,
        "tie_word_embeddings": arch.tie_word_embeddings,
        "eos_token_id": tok.eos_token_id,
        "pad_token_id": tok.pad_token_id,
    }


def _qwen3_config(arch, tok):
    from transformers import Qwen3Config

    window = {}
    if arch.window_from_layer is not None:  # layers from this index on attend locally
        window = {"use_sliding_window": True, "sliding_window": arch.sliding_window,
                  "max_window_layers": arch.window_from_layer}  # fmt: skip
    return Qwen3Config(
        **_shared_config(arch, tok),
        rope_parameters={"rope_type": "default", "rope_theta": float(arch.rope_theta)},
        # Qwen3 sets BOS to <|endoftext|> in config.json although its tokenizer adds none.
        bos_token_id=tok.pad_token_id,
        **window,
    )


def _gemma3_config(arch, tok):
    from transformers import Gemma3TextConfig

    return Gemma3TextConfig(
        **_shared_config(arch, tok),
        # Without this transformers scales queries by 1/sqrt(256) and llama.cpp by
        # 1/sqrt(head_dim): their logits then differ by up to 3 (measured, see NOTES).
        query_pre_attn_scalar=arch.head_dim,
        sliding_window=arch.sliding_window,
        bos_token_id=tok.bos_token_id,
    )
