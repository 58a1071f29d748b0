"""The GGUF part of the export stage: convert, quantize, check and score every requested type.

Writes ``export/gguf/<model>-<quant>.gguf`` (plus a Modelfile beside each, see `modelfile`),
``export/gguf/table.md`` and ``table.json`` (per type: size, checks, tool-call scores,
tokens/s) and returns the metrics (``export/<quant>/...``) and the table for the manifest.
A type that loses more than ``export.max_f1_drop`` of tool_name_f1 against f16 (or, without
an f16, against the HF model's eval) fails the stage after everything is written, naming it.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from dnd_ft.errors import StageError
from dnd_ft.export.gguf import CONVERTER_TYPES, convert, have_llama_cpp, quantize
from dnd_ft.export.imatrix import imatrix_for_run, quantize_with_imatrix
from dnd_ft.export.lora_gguf import LORA_TYPE, write_lora_pair
from dnd_ft.export.trained import adapter_dir, trained_format
from dnd_ft.utils.io import atomic_write_jsonl, atomic_write_text, file_sha256

log = logging.getLogger(__name__)

# Columns of the size/quality table: (metrics key under export/<quant>/, heading)
TABLE = (
    ("bytes", "size (MB)"),
    ("eval/tool_name_f1", "tool_name_f1"),
    ("eval/tool_args_exact", "args exact"),
    ("eval/malformed_rate", "malformed"),
    ("eval/gen_tokens_per_s", "tokens/s"),
    ("max_logit_diff", "max |dlogit|"),
    ("top1_agreement", "top-1 agree"),
)


def export_ggufs(
    ctx: Any,
    merged_dir: Path,
    tokenizer: Any,
    probe_ids: Any,
    expected_logits: Any,
    lora: tuple[Path, Path] | None = None,
) -> dict[str, Any]:
    """Every GGUF of ``export.gguf`` from ``merged_dir``, and with ``lora`` (the base folder
    and the adapter folder) the LoRA GGUF beside its base's; returns metrics, files, table."""
    e = ctx.cfg.export
    out_dir = ctx.stage_dir("export") / "gguf"
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = list(dict.fromkeys(e.gguf))
    files, seconds, imatrix = _write_files(ctx, merged_dir, out_dir, wanted)
    bases: dict[str, Path] = {}  # LoRA type -> the base GGUF it is applied to
    if lora is not None:
        base, adapter, took = write_lora_pair(ctx, out_dir, *lora)
        files[LORA_TYPE], seconds[LORA_TYPE], bases[LORA_TYPE] = adapter, took, base
        wanted.append(LORA_TYPE)

    metrics: dict[str, Any] = {}
    entries: dict[str, dict[str, Any]] = {}
    for quant, path in files.items():
        size = path.stat().st_size
        metrics[f"export/{quant}/bytes"] = size
        metrics[f"export/{quant}/convert_seconds"] = seconds[quant]
        entries[quant] = {"path": str(path), "bytes": size, "sha256": file_sha256(path)}
        if imatrix is not None and quant in imatrix["types"]:
            metrics[f"export/{quant}/imatrix"] = 1
            entries[quant]["imatrix"] = imatrix["path"]
        if quant in bases:
            entries[quant]["base"] = str(bases[quant])
            entries[quant]["base_sha256"] = file_sha256(bases[quant])

    fmt = trained_format(ctx, tokenizer)
    if e.modelfile:
        from dnd_ft.export.modelfile import write_modelfile

        for quant, path in files.items():
            if quant in bases:
                modelfile = write_modelfile(bases[quant], fmt, adapter=path)
            else:
                modelfile = write_modelfile(path, fmt)
            if modelfile is not None:
                entries[quant]["modelfile"] = str(modelfile)

    failures: list[str] = []
    if e.verify and not have_llama_cpp():
        log.warning("export.verify: llama-cpp-python is not installed, so the GGUF files are "
                    "not checked in llama.cpp (pip install -e '.[gguf]')")  # fmt: skip
    elif e.verify:
        failures = _verify_and_score(ctx, files, bases, fmt, tokenizer, probe_ids,
                                     expected_logits, metrics, entries)  # fmt: skip
    table = _table(ctx, wanted, metrics)
    atomic_write_text(out_dir / "table.md", table + "\n")
    atomic_write_text(out_dir / "table.json", json.dumps(entries, indent=2) + "\n")
    if ctx.tracker is not None:
        keys = [k for k, _ in TABLE]
        rows = [[q, *[metrics.get(f"export/{q}/{k}") for k in keys]] for q in files]
        ctx.tracker.log_table("export/gguf", ["quant", *keys], rows)
    log.info("export gguf:\n%s", table)
    return {"metrics": metrics, "files": entries, "failures": failures}


def _write_files(
    ctx: Any, merged_dir: Path, out_dir: Path, wanted: list[str]
) -> tuple[dict[str, Path], dict[str, float], dict[str, Any] | None]:
    """The GGUF files of ``wanted`` (converted, then quantized from f32), the seconds each
    took, and the importance matrix they were quantized with (None without export.imatrix)."""
    e, name, cache_dir = ctx.cfg.export, ctx.cfg.model.name, ctx.cfg.paths.cache_dir
    files: dict[str, Path] = {}
    seconds: dict[str, float] = {}
    imatrix = None
    for quant in (q for q in wanted if q in CONVERTER_TYPES):
        files[quant] = out_dir / f"{name}-{quant}.gguf"
        seconds[quant] = convert(merged_dir, files[quant], quant, cache_dir)
    quantized = [q for q in wanted if q not in CONVERTER_TYPES]
    if quantized:
        # The quantizer starts from float32, so nothing is rounded twice.
        source = files.get("f32") or out_dir / f".source-{name}-f32.gguf"
        source_seconds = seconds.get("f32") or convert(merged_dir, source, "f32", cache_dir)
        try:
            if e.imatrix:
                imatrix = imatrix_for_run(ctx, source, out_dir)
                imatrix["types"] = quantized
            for quant in quantized:
                files[quant] = out_dir / f"{name}-{quant}.gguf"
                if imatrix is not None:
                    took = quantize_with_imatrix(source, files[quant], quant,
                                                 Path(imatrix["path"]), cache_dir=cache_dir)  # fmt: skip
                else:
                    took = quantize(source, files[quant], quant)
                seconds[quant] = source_seconds + took
        finally:
            if "f32" not in files:
                source.unlink(missing_ok=True)
    return {q: files[q] for q in wanted}, seconds, imatrix


def _verify_and_score(
    ctx: Any,
    files: dict[str, Path],
    bases: dict[str, Path],
    fmt: Any,
    tokenizer: Any,
    probe_ids: Any,
    expected_logits: Any,
    metrics: dict[str, Any],
    entries: dict[str, dict[str, Any]],
) -> list[str]:
    from dnd_ft.evaluation.generate import build_prompts, prediction_records
    from dnd_ft.evaluation.stage import Evaluator, eval_data_dir, load_rows
    from dnd_ft.export import llamacpp
    from dnd_ft.export.verify import check_gguf, sample_conversations

    cfg, e = ctx.cfg, ctx.cfg.export
    data_dir = eval_data_dir(ctx, adapter_dir(ctx))
    rows, _ = load_rows(data_dir, cfg.eval.split, cfg.eval.fallback_split,
                        e.eval_max_examples or cfg.eval.max_examples)  # fmt: skip
    merged_template = _merged_template(ctx)
    probe = [int(t) for t in probe_ids[0].tolist()]
    conversations = sample_conversations(rows)
    evaluator = Evaluator(cfg, rows, ctx.stage_dir("export") / "gguf") if e.eval else None
    prompts = build_prompts(rows, fmt) if e.eval else []
    max_length = int(cfg.model.max_seq_length)
    failures: list[str] = []
    for quant, path in files.items():
        model, lora = (bases[quant], path) if quant in bases else (path, None)
        with llamacpp.GGUFModel(model, n_ctx=len(probe) + 8, logits_all=True, lora=lora) as gguf:
            check = check_gguf(gguf, quant, tokenizer=tokenizer, fmt=fmt,
                               template=merged_template, conversations=conversations,
                               probe_ids=probe, expected_logits=expected_logits[0].numpy())  # fmt: skip
        entries[quant]["checks"] = check.to_dict()
        metrics[f"export/{quant}/tokens_equal"] = int(check.tokens_equal)
        metrics[f"export/{quant}/template_equal"] = int(check.template_equal)
        metrics[f"export/{quant}/max_logit_diff"] = check.max_logit_diff
        metrics[f"export/{quant}/top1_agreement"] = check.top1_agreement
        metrics[f"export/{quant}/logit_scale"] = check.logit_scale
        failures += [f"{quant}: {p}" for p in check.problems]
        if evaluator is None:
            continue
        with llamacpp.GGUFModel(model, n_ctx=max_length, seed=int(cfg.seed), lora=lora) as gguf:
            start = time.perf_counter()
            generations = llamacpp.generate_texts(
                gguf, tokenizer, [p.prompt for p in prompts], stop_strings=fmt.stop_strings,
                max_new_tokens=int(cfg.eval.max_new_tokens), max_length=max_length,
            )  # fmt: skip
            elapsed = time.perf_counter() - start
        records = prediction_records(rows, prompts, generations, fmt)
        report = evaluator.score(records, elapsed)
        for key, value in report.metrics.items():
            metrics[f"export/{quant}/eval/{key}"] = value
        atomic_write_jsonl(path.with_suffix(".predictions.jsonl"), records)
    failures += _f1_drops(ctx, list(files), metrics)
    return failures


def _f1_drops(ctx: Any, quants: list[str], metrics: dict[str, Any]) -> list[str]:
    """Types whose tool_name_f1 falls more than export.max_f1_drop below the reference."""
    margin = float(ctx.cfg.export.max_f1_drop)
    if "f16" in quants and "export/f16/eval/tool_name_f1" in metrics:
        ref_name, ref = "f16", metrics["export/f16/eval/tool_name_f1"]
    elif "eval/tool_name_f1" in (hf := hf_metrics(ctx)):
        ref_name, ref = "the HF model", hf["eval/tool_name_f1"]
    else:
        return []
    out = []
    for quant in quants:
        score = metrics.get(f"export/{quant}/eval/tool_name_f1")
        if score is not None and ref is not None and ref - score > margin:
            out.append(
                f"{quant}: tool_name_f1 {score:.3f} is {ref - score:.3f} below {ref_name} "
                f"({ref:.3f}), more than export.max_f1_drop={margin}; use a larger type "
                f"(q8_0, q6_k, q5_k_m) or raise export.max_f1_drop"
            )
    return out


def raise_failures(failures: list[str]) -> None:
    if failures:
        raise StageError("export: GGUF checks failed:\n  " + "\n  ".join(failures))


def _table(ctx: Any, quants: list[str], metrics: dict[str, Any]) -> str:
    head = "| type | " + " | ".join(h for _, h in TABLE) + " |"
    lines = [head, "|" + "---|" * (len(TABLE) + 1)]
    scores = hf_metrics(ctx)
    hf = {k: scores.get(f"eval/{k[5:]}") for k, _ in TABLE if k.startswith("eval/")}
    if any(v is not None for v in hf.values()):
        cells = [_cell(k, hf.get(k)) for k, _ in TABLE]
        lines.append("| HF model (eval stage) | " + " | ".join(cells) + " |")
    for q in quants:
        cells = [_cell(k, metrics.get(f"export/{q}/{k}")) for k, _ in TABLE]
        label = f"{q} + imatrix" if metrics.get(f"export/{q}/imatrix") else q
        label = "base f16 + LoRA f16" if q == LORA_TYPE else label
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if key == "bytes":
        return f"{value / 2**20:.1f}"
    if key == "max_logit_diff":
        return f"{value:.3g}"
    if key.endswith("tokens_per_s"):
        return f"{value:.0f}"
    return f"{value:.3f}"


def hf_metrics(ctx: Any) -> dict[str, Any]:
    """The HF model's eval scores: this run's, else those of the run whose adapter this is
    (its metrics.json), else none."""
    if any(k.startswith("eval/") for k in ctx.metrics.values):
        return dict(ctx.metrics.values)
    adapter = adapter_dir(ctx)
    path = adapter.parent / "metrics.json" if adapter else None
    if path is not None and path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return {}


def _merged_template(ctx: Any) -> str | None:
    path = Path(ctx.artifacts["export_dir"]) / "chat_template.jinja"
    return path.read_text(encoding="utf-8") if path.is_file() else None
