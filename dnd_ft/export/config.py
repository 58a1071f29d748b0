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
    # An importance matrix computed on the training chats (llama-imatrix) for the quantizer's
    # types (q4_0 ... q6_k), applied by llama-quantize; both are built once from the installed
    # llama-cpp-python's source (about 10 min on 2 cores; needs cmake and a C++ compiler).
    imatrix: bool = False
    imatrix_chunks: int = 64  # calibration chunks at most (of imatrix_ctx tokens each)
    imatrix_ctx: int = 512
    # Also write the adapter as a LoRA GGUF with an f16 GGUF of its base (llama.cpp's
    # convert_lora_to_gguf.py; Ollama's ADAPTER). Only for adapters that trained no embedding
    # rows: trainer.method=lora with trainer.lora.train_control_tokens=false.
    lora_gguf: bool = False
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
    if e.imatrix or e.lora_gguf:
        yield from _llama_tools_problems(cfg)
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


def _llama_tools_problems(cfg: Any) -> Iterable[str]:
    from dnd_ft.export.imatrix import IMATRIX_TYPES
    from dnd_ft.export.llamacpp_tools import build_problem
    from dnd_ft.export.lora_gguf import config_problems

    e = cfg.export
    if e.imatrix and not any(q in IMATRIX_TYPES for q in e.gguf):
        yield (
            f"export.imatrix: none of export.gguf={list(e.gguf)} reads an importance matrix; "
            f"add one of {', '.join(IMATRIX_TYPES)} or set export.imatrix=false"
        )
    if e.imatrix and e.imatrix_chunks < 1:
        yield f"export.imatrix_chunks: {e.imatrix_chunks}; calibrate on at least 1 chunk"
    if e.imatrix and e.imatrix_ctx < 32:
        yield f"export.imatrix_ctx: {e.imatrix_ctx} tokens per chunk; use 32 or more (512 is usual)"
    if e.lora_gguf:
        yield from config_problems(cfg)
    if e.lora_gguf and e.adapter_dir and Path(e.adapter_dir, "adapter_config.json").is_file():
        from dnd_ft.export.lora_gguf import adapter_problem

        if problem := adapter_problem(Path(e.adapter_dir)):
            yield problem
    if "export" not in cfg.stages:
        return
    key = "export.imatrix" if e.imatrix else "export.lora_gguf"
    if not have_llama_cpp():
        yield (
            f"{key}: llama.cpp's tools are built from the installed llama-cpp-python's source; "
            "pip install -e '.[gguf]'"
        )
    elif problem := build_problem():
        yield f"{key}: {problem}"


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
