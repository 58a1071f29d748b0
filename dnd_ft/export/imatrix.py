"""An importance matrix for the quantized GGUF types, computed on the training chats.

llama.cpp's quantizers round each weight row to fewer bits; an importance matrix (the mean
squared activation entering each column of every matrix, gathered while the model reads
calibration text) tells them which columns to keep most precise. Calibrating on the very
chats the model was trained on (its chat format, tool declarations and calls) keeps the
precision where this model's own inputs put it. ``llama-imatrix`` computes it from the f32
conversion and ``llama-quantize --imatrix`` applies it (see `llamacpp_tools` for why these
two are programs, not library calls).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from dnd_ft.errors import StageError
from dnd_ft.export.gguf import QUANTIZER_TYPES
from dnd_ft.export.isolated import run_command, tail

log = logging.getLogger(__name__)

# Types whose llama.cpp quantizer reads an importance matrix (q8_0 and the float types do
# not: they round each value on its own).
IMATRIX_TYPES = tuple(QUANTIZER_TYPES)


def calibration_text(rows: list[dict[str, Any]]) -> str:
    """The training chats, rendered as training saw them, one after another."""
    return "\n".join(str(r["text"]) for r in rows if r.get("text"))


def compute_imatrix(
    source: Path, text: str, out: Path, *, cache_dir: str | Path, chunks: int, n_ctx: int
) -> dict[str, Any]:
    """``llama-imatrix`` over ``text`` (chunks of ``n_ctx`` tokens, at most ``chunks``) on the
    GGUF ``source``; writes ``out`` (GGUF format) and returns what went into it."""
    from dnd_ft.export.llamacpp_tools import program

    binary = program(cache_dir, "llama-imatrix")
    tmp = out.with_name(f".tmp-{out.name}")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as calib:
        calib.write(text)
        calib.flush()
        cmd = [str(binary), "-m", str(source), "-f", calib.name, "-o", str(tmp),
               "-c", str(n_ctx), "--chunks", str(chunks), "--parse-special", "--no-ppl",
               "-t", str(_threads())]  # fmt: skip
        start = time.perf_counter()
        code, output = run_command(cmd)
    seconds = time.perf_counter() - start
    if code != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise StageError(f"export.imatrix: llama-imatrix failed on {source}:\n{tail(output)}")
    os.replace(tmp, out)
    out.with_name(f"{out.name}.log").write_text(output, encoding="utf-8")
    log.info("imatrix: %s from %d chunks of %d tokens (%.1fs)", out, chunks, n_ctx, seconds)
    return {"path": str(out), "chunks": chunks, "n_ctx": n_ctx, "seconds": seconds,
            "calibration_chars": len(text)}  # fmt: skip


def quantize_with_imatrix(
    source: Path, out: Path, quant: str, imatrix: Path, *, cache_dir: str | Path
) -> float:
    """``llama-quantize --imatrix``: ``source`` (f32 GGUF) to ``out`` in ``quant``; seconds."""
    from dnd_ft.export.llamacpp_tools import program

    binary = program(cache_dir, "llama-quantize")
    tmp = out.with_name(f".tmp-{out.name}")
    cmd = [str(binary), "--imatrix", str(imatrix), str(source), str(tmp),
           QUANTIZER_TYPES[quant], str(_threads())]  # fmt: skip
    start = time.perf_counter()
    code, output = run_command(cmd)
    seconds = time.perf_counter() - start
    out.with_name(f"{out.name}.quantize.log").write_text(output, encoding="utf-8")
    if code != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise StageError(f"export.gguf: llama-quantize could not quantize {source} to {quant} "
                         f"with {imatrix.name}:\n{tail(output)}")  # fmt: skip
    os.replace(tmp, out)
    log.info("gguf %s (imatrix): %s (%.1f MB, %.1fs)", quant, out, out.stat().st_size / 2**20,
             seconds)  # fmt: skip
    return seconds


def imatrix_for_run(ctx: Any, source: Path, out_dir: Path) -> dict[str, Any]:
    """The importance matrix of ``source`` over this model's training chats."""
    from dnd_ft.data.rows import load_split
    from dnd_ft.export.trained import format_data_dir

    e, cfg = ctx.cfg.export, ctx.cfg
    data_dir = format_data_dir(ctx)
    if data_dir is None or not (data_dir / "train.jsonl").is_file():
        raise StageError(
            "export.imatrix: no training split to calibrate on (data/train.jsonl of this run "
            "or beside export.adapter_dir); run the data stage or set export.imatrix=false"
        )
    text = calibration_text(load_split(data_dir, "train"))
    out = out_dir / "imatrix" / f"{cfg.model.name}.imatrix.gguf"
    out.parent.mkdir(parents=True, exist_ok=True)
    return compute_imatrix(source, text, out, cache_dir=cfg.paths.cache_dir,
                           chunks=int(e.imatrix_chunks), n_ctx=int(e.imatrix_ctx))  # fmt: skip


def _threads() -> int:
    return int(os.environ.get("OMP_NUM_THREADS") or 0) or max(1, os.cpu_count() or 1)
