"""Schema of the `export` group and its checks.

The export stage writes the merged model and checks it (logits against base + adapter, an
exact reload), then the GGUF files of ``export.gguf``, each checked and scored in llama.cpp,
with an Ollama Modelfile beside each, and with ``export.cactus`` a Cactus weights bundle for
phone apps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnd_ft.config.checks import one_of
from dnd_ft.export.gguf import CONVERTER_TYPES, GGUF_TYPES, have_llama_cpp
from dnd_ft.models.identity import mismatch

DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass
class ExportConfig:
    # Merge the LoRA adapter into the base in float32 and save safetensors, the tokenizer
    # (tokenizer.model too where the base has one) and the chat template training used.
    merged: bool = True
    dtype: str = "auto"  # of the saved weights; auto = the base model's own dtype
    adapter_dir: str | None = None  # export this adapter (default: this run's adapter/)
    # GGUF types to write from the merged model: f32, f16, bf16, q8_0 (llama.cpp's converter)
    # and q4_0, q5_0, q3_k_m, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k (llama.cpp's quantizer,
    # which needs llama-cpp-python: the gguf extra). Empty: no GGUF.
    gguf: list[str] = field(default_factory=list)
    # Check each GGUF in llama.cpp (tokens, embedded template, logits) and score its tool
    # calls with the eval stage's replay; skipped with a warning without llama-cpp-python.
    verify: bool = True
    eval: bool = True  # the tool-call evaluation part of verify (the slow part)
    # Held-out conversations scored per GGUF (None: as many as eval.max_examples).
    eval_max_examples: int | None = None
    # A type whose tool_name_f1 falls more than this below f16's (or the HF model's) fails.
    max_f1_drop: float = 0.1
    modelfile: bool = True  # an Ollama Modelfile (tool-calling TEMPLATE, stops) beside each GGUF
    # A Cactus bundle of the merged model (Qwen3 and Gemma 3 trained in Cactus's own tool
    # format; checked at startup), quantized to cactus_bits in groups of 128.
    cactus: bool = False
    cactus_bits: int = 4


def check_export(cfg: Any) -> Iterable[str]:
    e = cfg.export
    yield from one_of("export.dtype", e.dtype, DTYPES)
    if e.adapter_dir and not Path(e.adapter_dir, "adapter_config.json").is_file():
        yield (
            f"export.adapter_dir: {e.adapter_dir} holds no adapter_config.json; point it at a "
            "run's adapter/ folder or leave it unset (this run's own adapter)"
        )
    elif e.adapter_dir:
        wrong = mismatch(Path(e.adapter_dir), cfg.model, "export.adapter_dir")
        if wrong:
            yield wrong
    for i, quant in enumerate(e.gguf):
        if quant not in GGUF_TYPES:
            yield (
                f"export.gguf[{i}]: unknown GGUF type {quant!r}; choose from "
                f"{', '.join(GGUF_TYPES)}"
            )
        elif quant not in CONVERTER_TYPES and "export" in cfg.stages and not have_llama_cpp():
            yield (
                f"export.gguf[{i}]: {quant} is written by llama.cpp's quantizer, which needs "
                "llama-cpp-python: pip install -e '.[gguf]' (builds llama.cpp, about 12 min on "
                f"2 cores), or keep to {', '.join(CONVERTER_TYPES)}"
            )
    if e.gguf and not e.merged:
        yield (
            "export.gguf: GGUF files are converted from the merged model; set "
            "export.merged=true (the default) or export.gguf=[]"
        )
    if e.cactus:
        yield from _cactus_problems(cfg)
    if not 0 <= e.max_f1_drop <= 1:
        yield f"export.max_f1_drop: {e.max_f1_drop} is not a share of F1 between 0 and 1"
    if "export" in cfg.stages and not e.merged:
        yield (
            "export.merged: false leaves the export stage nothing to write; set "
            "export.merged=true or drop export from stages"
        )


def _cactus_problems(cfg: Any) -> Iterable[str]:
    from dnd_ft.export.cactus import BITS, compatibility

    e, m = cfg.export, cfg.model
    if e.cactus_bits not in BITS:
        yield f"export.cactus_bits: {e.cactus_bits}; Cactus quantizes to {BITS} bits"
    if not e.merged:
        yield "export.cactus: the bundle is converted from the merged model; set export.merged=true"
    hidden = m.tiny.hidden_size if m.source == "tiny" else None  # others: checked at export
    yield from compatibility(family=m.family, name=m.name, chat_format=m.chat_format,
                             hidden_size=hidden, model_type=None)  # fmt: skip
