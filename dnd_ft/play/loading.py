"""Build a session from the composed config: its context, chat format, executor and backend.

What plays, in order of precedence: ``play.backend=replay`` (no model), ``play.gguf`` (the
file in llama.cpp), else the HF model ``model=...`` with the weights ``play.version`` names
(a registry version, a run or adapter folder), else ``eval.adapter_dir``, else the base
model. The chat format is the dataset's own (``format.json`` beside the weights) when one is
known, so a fine-tuned model is prompted exactly as it trained; else the model's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dnd_ft.agent.session import Context
from dnd_ft.errors import StageError

log = logging.getLogger(__name__)


@dataclass
class Weights:
    """The HF weights to load: the model config (maybe pointed at a local folder), the
    adapter on top (or None), and the dataset they trained beside (or None)."""

    model_cfg: Any
    adapter_dir: Path | None = None
    data_dir: Path | None = None
    label: str = ""


def load_context(cfg: Any, registry: Any) -> Context:
    """The scenario's context (``play.scenario`` / ``play.flow``), or a fresh one offering
    every tool of the registry. StageError lists a scenario's lint problems."""
    p = cfg.play
    if p.scenario is None:
        return Context.fresh(registry.names())
    from dnd_ft.scenarios import parse_file

    result = parse_file(Path(p.scenario), registry)
    if result.problems or not result.scenarios:
        listed = "\n".join(f"  {problem}" for problem in result.problems)
        raise StageError(f"play.scenario: {p.scenario} does not lint; fix it first:\n{listed}")
    try:
        return Context.from_scenario(result.scenarios[0], p.flow)
    except ValueError as exc:
        raise StageError(f"play.flow: {exc}") from None


def resolve_weights(cfg: Any) -> Weights:
    """Which HF weights ``play.version`` / ``eval.adapter_dir`` name (see the module doc)."""
    from omegaconf import OmegaConf

    from dnd_ft.models.identity import mismatch
    from dnd_ft.models.lineage import read_base

    ref = cfg.play.version
    if ref is not None:
        from dnd_ft.registry.parent import resolve_parent

        parent = resolve_parent(str(ref), cfg.registry.dir, str(cfg.registry.line))
        adapter, model_dir, data_dir, label = (parent.adapter_dir, parent.model_dir,
                                               parent.data_dir, parent.label)  # fmt: skip
    elif cfg.eval.adapter_dir:
        adapter, model_dir, label = Path(cfg.eval.adapter_dir), None, str(cfg.eval.adapter_dir)
        data_dir = adapter.parent / "data"
    else:
        return Weights(cfg.model, label=f"{cfg.model.name} (base model)")
    model_cfg = cfg.model
    if adapter is not None:
        if not (adapter / "adapter_config.json").is_file():
            raise StageError(f"play: {adapter} has no adapter_config.json; give an adapter "
                             "folder the train stage wrote (<run>/adapter)")  # fmt: skip
        wrong = mismatch(adapter, cfg.model, "play.version" if ref else "eval.adapter_dir")
        if wrong:
            raise StageError(wrong)
        model_dir = read_base(adapter)  # trained on a merged parent: that folder is the base
    if model_dir is not None:
        model_cfg = OmegaConf.merge(cfg.model, {"source": "local", "local_path": str(model_dir)})
    has_format = data_dir is not None and (Path(data_dir) / "format.json").is_file()
    return Weights(model_cfg, adapter, Path(data_dir) if has_format else None, label)


def chat_format(cfg: Any, data_dir: Path | None, tokenizer: Any = None) -> Any:
    """The dataset's format when ``data_dir`` has one, else the model's (``model.chat_format``
    with ``data.format``'s options)."""
    from dnd_ft.chat.formats import format_for_run, load_format

    if data_dir is not None:
        return load_format(data_dir, tokenizer)
    return format_for_run(cfg, tokenizer)


def load_backend(cfg: Any, context: Context, tools: list[dict[str, Any]]) -> tuple[Any, Any, str]:
    """``(generate, chat format, what plays)`` for the composed config."""
    p = cfg.play
    if p.backend == "replay":
        from dnd_ft.play.backends import ReplayGenerate

        fmt = chat_format(cfg, None, _template_tokenizer(cfg))
        label = f"replay of {context.source or context.scenario_id}"
        return ReplayGenerate(fmt, context.replay, tools), fmt, label
    if p.gguf:
        # the file holds the weights; a version given beside it only says how it was prompted
        weights = resolve_weights(cfg) if p.version is not None else Weights(cfg.model)
        fmt = chat_format(cfg, weights.data_dir, _template_tokenizer(cfg))
        return _gguf(cfg, fmt), fmt, f"{p.gguf} (llama.cpp)"
    return _hf(cfg, resolve_weights(cfg))


def _template_tokenizer(cfg: Any) -> Any:
    """The HF tokenizer, only for the one format that renders with its chat template."""
    if cfg.model.chat_format != "template":
        return None
    from dnd_ft.models import load_tokenizer

    return load_tokenizer(cfg.model, cfg.paths.cache_dir)


def _gguf(cfg: Any, fmt: Any) -> Any:
    from dnd_ft.export.llamacpp import GGUFModel
    from dnd_ft.play.backends import GGUFGenerate

    p = cfg.play
    gguf = GGUFModel(Path(p.gguf), n_ctx=int(cfg.model.max_seq_length), seed=int(p.seed))
    return GGUFGenerate(gguf, fmt.stop_strings, max_new_tokens=int(p.max_new_tokens),
                        temperature=float(p.temperature), stream=bool(p.stream))  # fmt: skip


def _hf(cfg: Any, weights: Weights) -> tuple[Any, Any, str]:
    from dnd_ft.models import load_model, load_tokenizer
    from dnd_ft.play.backends import HFGenerate
    from dnd_ft.utils.hardware import detect

    p, cache = cfg.play, cfg.paths.cache_dir
    tokenizer = load_tokenizer(weights.model_cfg, cache)
    fmt = chat_format(cfg, weights.data_dir, tokenizer)
    model = load_model(weights.model_cfg, cache)
    if weights.adapter_dir is not None:
        from peft import PeftModel

        from dnd_ft.models.lineage import merge_parents

        log.info("loading adapter %s", weights.adapter_dir)
        model = merge_parents(model, weights.adapter_dir)  # new_adapter: its parents first
        # merged: LoRA generates at the base model's speed (3x faster than unmerged on CPU)
        model = PeftModel.from_pretrained(model, str(weights.adapter_dir)).merge_and_unload()
    accelerator = detect().accelerator
    if accelerator in ("cuda", "mps"):  # load_model leaves placement to the caller
        model = model.to(accelerator)
    window = getattr(model.config, "max_position_embeddings", None) or 0
    generate = HFGenerate(
        model, tokenizer, fmt.stop_strings,
        max_new_tokens=int(p.max_new_tokens), temperature=float(p.temperature),
        seed=int(p.seed), max_length=max(int(cfg.model.max_seq_length), int(window)),
        stream=bool(p.stream),
    )  # fmt: skip
    return generate, fmt, f"{weights.label or cfg.model.name} on {accelerator}"
