"""The merged model: base + LoRA adapter as one standalone folder, checked by reloading it.

The merge happens in float32 whatever the saved dtype, so the update is not rounded twice,
and PEFT merges the trained control-token rows (trainable_token_indices) with the LoRA
matrices. What a converter needs later travels along: the tokenizer files and chat template
training saved with the adapter, and ``tokenizer.model`` (Gemma's SentencePiece model, which
llama.cpp and Cactus read) from the base folder when the tokenizer save did not write one.

Two checks, both recorded: the merged weights give the same next-token logits as base +
adapter (``max_logit_diff``, float32 rounding only), and the saved file reloads to exactly
those weights in the saved dtype (``reload_exact``).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnd_ft.errors import StageError
from dnd_ft.models.identity import write_identity
from dnd_ft.utils.disk import disk_errors
from dnd_ft.utils.io import atomic_dir, file_sha256

log = logging.getLogger(__name__)

# Base + adapter and the merged model differ by float32 rounding only: a few 1e-6 on the
# tiny models; 1e-3 leaves room for deeper models and still catches a lost adapter or row.
MAX_LOGIT_DIFF = 1e-3
SIDE_FILES = ("tokenizer.model",)  # converters need these; a tokenizer save may not write them


@dataclass
class MergedModel:
    path: Path
    dtype: str
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {bytes, sha256}
    max_logit_diff: float | None = None  # None: a full fine-tune, nothing was merged
    reload_exact: bool = False

    @property
    def bytes(self) -> int:
        return sum(f["bytes"] for f in self.files.values())


def merge_adapter(base: Any, adapter_dir: Path, probe_ids: Any) -> tuple[Any, Any]:
    """``base`` (float32) with the adapter of ``adapter_dir`` merged in, and the logits base +
    adapter gave on ``probe_ids`` (a 1 x T LongTensor) before merging, to check against."""
    import torch
    from peft import PeftModel

    adapted = PeftModel.from_pretrained(base, str(adapter_dir))
    adapted.eval()
    with torch.no_grad():
        expected = adapted(input_ids=probe_ids).logits
    return adapted.merge_and_unload(), expected


def export_merged(
    model: Any,
    tokenizer: Any,
    out: Path,
    *,
    dtype: str,
    base_dir: Path | None,
    model_cfg: Any,
    probe_ids: Any = None,
    expected_logits: Any = None,
) -> MergedModel:
    """Save ``model`` (float32, merged) to ``out`` in ``dtype`` and verify it.

    expected_logits: what base + adapter gave on ``probe_ids`` (`merge_adapter`); None for a
    full fine-tune, where nothing was merged.
    """
    import torch

    model.eval()
    diff = None
    if expected_logits is not None:
        with torch.no_grad():
            diff = float((model(input_ids=probe_ids).logits - expected_logits).abs().max())
        if diff > MAX_LOGIT_DIFF:
            raise StageError(
                f"export: the merged model's logits differ from base + adapter by {diff:.3g} "
                f"(allowed {MAX_LOGIT_DIFF:g}); the adapter did not merge cleanly. Check that "
                "peft and transformers match the versions the adapter was trained with"
            )
    torch_dtype = getattr(torch, dtype)
    model = model.to(torch_dtype)
    model.config.use_cache = True  # the export is for inference
    save_folder(model, tokenizer, out, base_dir, model_cfg)
    exact = reloads_exactly(out, model)
    if not exact:
        raise StageError(f"export: {out} does not reload to the weights that were saved")
    files = {p.name: {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
             for p in sorted(out.iterdir()) if p.is_file()}  # fmt: skip
    return MergedModel(out, dtype, files, diff, exact)


def save_folder(
    model: Any, tokenizer: Any, out: Path, base_dir: Path | None, model_cfg: Any = None
) -> None:
    """``model`` and ``tokenizer`` as a folder llama.cpp's and Cactus's converters read:
    safetensors, tokenizer files with their token types, the base's side files
    (``tokenizer.model``), and our identity record when ``model_cfg`` is given."""
    with atomic_dir(out) as tmp, disk_errors(out, "the merged model"):
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        record_token_types(tmp, tokenizer)
        if model_cfg is not None:
            write_identity(tmp, model_cfg)
        for name in SIDE_FILES:
            if base_dir is not None and (base_dir / name).is_file() and not (tmp / name).exists():
                shutil.copy2(base_dir / name, tmp / name)


def record_token_types(folder: Path, tokenizer: Any) -> None:
    """Write ``added_tokens_decoder`` (each added token's id, text and special flag) into the
    saved tokenizer_config.json. transformers 5 no longer writes it, and llama.cpp's
    converter reads the token types of a SentencePiece vocabulary from it: without it Gemma's
    ``<start_of_turn>`` and the function-call markers become normal pieces that llama.cpp
    spells out letter by letter."""
    import json

    path = folder / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("added_tokens_decoder"):
        return
    config["added_tokens_decoder"] = {
        str(i): {"content": t.content, "special": bool(t.special), "lstrip": bool(t.lstrip),
                 "rstrip": bool(t.rstrip), "normalized": bool(t.normalized),
                 "single_word": bool(t.single_word)}
        for i, t in sorted(tokenizer.added_tokens_decoder.items())
    }  # fmt: skip
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def reloads_exactly(folder: Path, model: Any) -> bool:
    """Whether the folder's weights equal ``model``'s, tensor for tensor, bit for bit."""
    import torch
    from transformers import AutoModelForCausalLM

    reloaded = AutoModelForCausalLM.from_pretrained(str(folder), dtype=model.dtype)
    saved = reloaded.state_dict()
    for name, tensor in model.state_dict().items():
        if name not in saved or not torch.equal(saved[name].cpu(), tensor.cpu()):
            log.warning("export: %s differs after reloading %s", name, folder)
            return False
    return True


def base_dtype(model_dir: Path) -> str:
    """The dtype the base model's config.json declares (float32 when it says none)."""
    import json

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    name = str(config.get("dtype") or config.get("torch_dtype") or "float32")
    return name.removeprefix("torch.")
