"""Schema of the `model` group (which base model, its family and chat format) and its checks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from dnd_ft.chat.formats import FORMATS as CHAT_FORMATS
from dnd_ft.config.checks import one_of

FAMILIES = ("qwen", "gemma", "llama")
SOURCES = ("hub", "tiny", "gguf_asset", "local")
GEMMA_FORMATS = ("functiongemma", "gemma3")  # the chat formats a Gemma GGUF asset converts for


@dataclass
class TinyArchConfig:
    """Architecture of an offline model built from config with random weights (source=tiny).

    The family (model.family) picks the real architecture: qwen -> Qwen3ForCausalLM with
    SmolLM2's BPE tokenizer, gemma -> Gemma3ForCausalLM with a locally trained SentencePiece
    tokenizer. Sizes are in units (features, heads, tokens). Any change here changes the cache
    key, so the model is rebuilt under a new folder rather than overwritten.
    """

    hidden_size: int = 128  # keep a multiple of 128: Cactus quantizes in groups of 128
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 32  # set explicitly: the families' defaults assume much larger models
    max_position_embeddings: int = 2048
    sliding_window: int = 128  # tokens; gemma, and qwen layers from window_from_layer on
    # qwen only (Gemma 3 has its own sliding layers): layers from this index on attend within
    # `sliding_window` tokens, as Qwen3's use_sliding_window/max_window_layers allow. null =
    # full attention in every layer, the only Qwen3 layout llama.cpp runs (its GGUF export
    # then matches). The demo sets 1: a random-init model over ~1,500-token prompts learns
    # the call syntax far sooner with one local layer (docs/evaluation.md, tiny models).
    window_from_layer: int | None = None
    rope_theta: float = 1_000_000.0  # qwen only; Qwen3's base (experiments: docs/evaluation.md)
    tie_word_embeddings: bool = True  # as the small real Qwen3 and Gemma 3 models do
    seed: int | None = None  # weight init seed; None derives a fixed one from model.name


@dataclass
class ModelConfig:
    name: str = MISSING  # short name, also the config file name: qwen3_0_6b
    family: str = MISSING  # one of FAMILIES: groups runs side by side in W&B and reports
    size: str = MISSING  # human size for leaderboards: "0.6B", "tiny"
    chat_format: str = MISSING  # one of CHAT_FORMATS: how conversations and tool calls render
    source: str = "hub"  # one of SOURCES
    hub_id: str | None = None  # Hugging Face repo id when source=hub
    revision: str | None = None  # pin a hub commit for reproducibility
    local_path: str | None = None  # a folder with weights when source=local
    gguf_asset: str | None = None  # asset name (dnd_ft.assets) when source=gguf_asset
    tiny: TinyArchConfig = field(default_factory=TinyArchConfig)  # used when source=tiny
    max_seq_length: int = 2048  # tokens; longer examples are reported by the data stage
    trust_remote_code: bool = False


def check_model(cfg: Any) -> Iterable[str]:
    """Cross-field checks of ``model``: values and combinations a type cannot rule out."""
    m = cfg.model
    yield from one_of("model.family", m.family, FAMILIES)
    yield from one_of("model.chat_format", m.chat_format, CHAT_FORMATS)
    yield from one_of("model.source", m.source, SOURCES)
    needs = {"hub": "hub_id", "local": "local_path", "gguf_asset": "gguf_asset"}
    key = needs.get(m.source)
    if key and not m.get(key):
        yield f"model.{key}: required when model.source={m.source}; set model.{key}=..."
    if m.source == "gguf_asset" and m.family == "gemma" and m.chat_format not in GEMMA_FORMATS:
        yield (
            f"model.chat_format: {m.chat_format!r} is not a Gemma format; a Gemma GGUF asset "
            f"takes model.chat_format={' or '.join(GEMMA_FORMATS)}"
        )
    w = m.tiny.window_from_layer if m.source == "tiny" else None
    if w is not None and not 0 <= w <= m.tiny.num_hidden_layers:
        yield (
            f"model.tiny.window_from_layer: {w} is not a layer index; use 0 to "
            f"{m.tiny.num_hidden_layers} or null (full attention everywhere)"
        )
    if m.source == "tiny" and m.tiny.hidden_size % m.tiny.num_attention_heads:
        yield "model.tiny.hidden_size: must be a multiple of model.tiny.num_attention_heads"
    if m.source == "tiny" and m.max_seq_length > m.tiny.max_position_embeddings:
        yield (
            f"model.max_seq_length: {m.max_seq_length} exceeds model.tiny.max_position_embeddings "
            f"({m.tiny.max_position_embeddings}); raise the latter or lower the former"
        )


def model_config(name: str) -> Any:
    """The ``model`` group's option ``name`` (a file of configs/model/ or of the search path),
    merged onto the schema as the pipeline composes it."""
    from dnd_ft.config.options import load_option

    return load_option("model", name, ModelConfig)
