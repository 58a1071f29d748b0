"""The `export` stage: the fine-tuned model as a standalone, verified folder.

    python -m dnd_ft stages=[data,train,eval,export]
    python -m dnd_ft stages=[export] export.adapter_dir=<run>/adapter    # an earlier run's

Writes ``export/merged/`` (safetensors, config, tokenizer, chat template; ``tokenizer.model``
for Gemma), the GGUF files of ``export.gguf`` with their Modelfiles and size/quality table
(``export/gguf/``, see `gguf_export`), a Cactus bundle with ``export.cactus``
(``export/cactus/``, see `cactus_export`) and ``export/manifest.json`` (what was merged, the
files with their sha256, the checks); adds ``export/...`` keys to metrics.json.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dnd_ft.errors import StageError
from dnd_ft.utils.io import atomic_write_text

if TYPE_CHECKING:
    from dnd_ft.core.context import RunContext

log = logging.getLogger(__name__)

PROBE_TOKENS = 256  # tokens of a training chat the logit check runs on


def run(ctx: RunContext) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dnd_ft.export.merge import base_dtype, export_merged, merge_adapter
    from dnd_ft.models import load_model, resolve_model_dir
    from dnd_ft.utils.io import file_sha256

    cfg, e = ctx.cfg, ctx.cfg.export
    adapter_dir, full_dir = _source(ctx)
    base_dir = resolve_model_dir(cfg.model, cfg.paths.cache_dir)
    source = adapter_dir or full_dir
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    probe = _probe_ids(ctx, tokenizer)
    expected = None
    lora: tuple[Path, Path] | None = None
    if adapter_dir is not None:
        from dnd_ft.evaluation.stage import local_model_config
        from dnd_ft.models.lineage import merge_parents, read_base

        parent_base = read_base(adapter_dir)  # an adapter trained on a merged parent
        base_cfg = local_model_config(cfg.model, parent_base) if parent_base else cfg.model
        base = load_model(base_cfg, cfg.paths.cache_dir, dtype=torch.float32)
        base = merge_parents(base, adapter_dir)  # init_mode=new_adapter: its parents first
        if e.lora_gguf:  # the base the adapter applies to, saved before merging changes it
            lora = (_lora_base(ctx, base, tokenizer, base_dir, adapter_dir), adapter_dir)
        model, expected = merge_adapter(base, adapter_dir, probe)
    else:
        if e.lora_gguf:
            raise StageError(
                f"export.lora_gguf: {full_dir} is a whole model (a full fine-tune), with no "
                "adapter to convert; set export.lora_gguf=false (its merged GGUF is export.gguf)"
            )
        model = AutoModelForCausalLM.from_pretrained(str(full_dir), dtype=torch.float32)
    # The GGUF checks compare with float32 logits; export_merged casts the model in place.
    reference = expected
    if reference is None and e.gguf:  # a full fine-tune: the model itself is the reference
        with torch.no_grad():
            reference = model.eval()(input_ids=probe).logits
    dtype = base_dtype(base_dir) if e.dtype == "auto" else e.dtype
    out = ctx.stage_dir("export") / "merged"
    result = export_merged(model, tokenizer, out, dtype=dtype, base_dir=base_dir,
                           model_cfg=cfg.model, probe_ids=probe, expected_logits=expected)  # fmt: skip
    manifest = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "model": {
            k: cfg.model.get(k)
            for k in ("name", "family", "size", "source", "hub_id", "revision", "chat_format")
        },  # fmt: skip
        "base_dir": str(base_dir),
        "adapter_dir": str(adapter_dir) if adapter_dir else None,
        "adapter_sha256": file_sha256(adapter_dir / "adapter_model.safetensors")
        if adapter_dir
        else None,
        "full_model_dir": str(full_dir) if full_dir else None,
        "merged": {"path": str(out), "dtype": dtype, "files": result.files},
        "checks": {
            "max_logit_diff": result.max_logit_diff,
            "reload_exact": result.reload_exact,
            "probe_tokens": int(probe.shape[-1]),
        },  # fmt: skip
    }
    metrics = {
        "export/merged_bytes": result.bytes,
        "export/merged_reload_exact": int(result.reload_exact),
    }
    if result.max_logit_diff is not None:
        metrics["export/merged_max_logit_diff"] = result.max_logit_diff
    ctx.artifacts["export_dir"] = out
    failures: list[str] = []
    if e.gguf or lora:
        from dnd_ft.export.gguf_export import export_ggufs

        del model  # llama.cpp loads each GGUF next; free the model first
        ggufs = export_ggufs(ctx, out, tokenizer, probe, reference, lora=lora)
        metrics.update(ggufs["metrics"])
        manifest["gguf"] = ggufs["files"]
        failures = ggufs["failures"]
    if e.cactus:
        from dnd_ft.export.cactus_export import export_cactus

        bundle = export_cactus(ctx, out, manifest["adapter_sha256"])
        metrics.update(bundle["metrics"])
        manifest["cactus"] = bundle["bundle"]
    atomic_write_text(out.parent / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    ctx.metrics.update(metrics)
    log.info("export: %s (%s, %.1f MB), logits within %s of base + adapter", out, dtype,
             result.bytes / 2**20, result.max_logit_diff)  # fmt: skip
    if failures:
        from dnd_ft.export.gguf_export import raise_failures

        raise_failures(failures)


def _lora_base(
    ctx: RunContext, base: Any, tokenizer: Any, base_dir: Path, adapter_dir: Path
) -> Path:
    """The adapter's base as a folder for the LoRA GGUF's base file (refused first when the
    adapter trained rows llama.cpp's LoRA converter cannot take)."""
    from dnd_ft.export.lora_gguf import adapter_problem, save_base

    if problem := adapter_problem(adapter_dir):
        raise StageError(problem)
    return save_base(base, tokenizer, ctx.stage_dir("export") / "gguf" / ".lora-base", base_dir)


def _source(ctx: RunContext) -> tuple[Path | None, Path | None]:
    """(adapter folder, full model folder): exactly one of them is set."""
    e = ctx.cfg.export
    adapter = e.adapter_dir or ctx.artifacts.get("adapter_dir")
    if adapter is None and (ctx.run_dir / "adapter" / "adapter_config.json").is_file():
        adapter = ctx.run_dir / "adapter"
    if adapter is not None:
        adapter = Path(adapter)
        if not (adapter / "adapter_config.json").is_file():
            raise StageError(
                f"export: {adapter} has no adapter_config.json; set export.adapter_dir to a "
                "folder the train stage wrote (<run>/adapter)"
            )
        return adapter, None
    full = ctx.artifacts.get("merged_dir") or ctx.run_dir / "merged"
    if (Path(full) / "config.json").is_file():
        return None, Path(full)
    raise StageError(
        f"export: nothing to export in {ctx.run_dir}: no adapter/ or merged/ folder; train "
        "first (stages=[data,train,export]) or set export.adapter_dir=<run>/adapter"
    )


def _probe_ids(ctx: RunContext, tokenizer: Any) -> Any:
    """Token ids of the first training chat (its first PROBE_TOKENS), as a 1 x T tensor."""
    import torch

    from dnd_ft.data.rows import load_split

    data_dir = Path(ctx.artifacts.get("data_dir") or ctx.run_dir / "data")
    text = None
    for split in ("train", "val", "test"):
        if (data_dir / f"{split}.jsonl").is_file():
            rows = load_split(data_dir, split)
            if rows:
                text = rows[0]["text"]
                break
    if text is None:  # an adapter from elsewhere: a short chat in the model's own template
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": "I roll for initiative!"}], tokenize=False,
            add_generation_prompt=True,
        )  # fmt: skip
    ids = tokenizer(text, add_special_tokens=False)["input_ids"][:PROBE_TOKENS]
    return torch.tensor([ids])


def estimate(cfg: Any, parameters: int) -> int:
    """Bytes the stage writes: the merged weights in their dtype (tokenizer files are small),
    each GGUF at its bits per weight, and the float32 GGUF the quantizer starts from."""
    from dnd_ft.export.gguf import CONVERTER_TYPES

    per = 4 if cfg.export.dtype in ("auto", "float32") else 2
    bits = {"f32": 32, "f16": 16, "bf16": 16, "q8_0": 8.5, "q6_k": 6.6, "q5_k_m": 5.7,
            "q5_k_s": 5.5, "q5_0": 5.5, "q4_k_m": 4.9, "q4_k_s": 4.6, "q4_0": 4.5, "q3_k_m": 3.9}  # fmt: skip
    gguf = sum(bits.get(q, 16) / 8 for q in cfg.export.gguf)
    if cfg.export.lora_gguf:  # the base in f16, and in float32 while it is converted
        gguf += 2 + 4
    if any(q not in CONVERTER_TYPES for q in cfg.export.gguf) and "f32" not in cfg.export.gguf:
        gguf += 4
    return int(parameters * (per + gguf)) + 50 * 2**20
