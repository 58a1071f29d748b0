"""The eval stage: score the fine-tuned model and its baseline on the held-out split.

    python -m dnd_ft                                   # data, train, eval
    python -m dnd_ft stages=[eval] eval.adapter_dir=outputs/train/<run>/adapter

Writes ``eval/predictions.jsonl`` (and ``predictions_baseline.jsonl``), ``eval/report.json``
and ``eval/report.md``; adds ``eval/...`` and ``baseline/eval/...`` keys to metrics.json.
``eval.mode=rollout`` (or ``both``) also plays the conversations live (`rollout`):
``eval/rollout/predictions.jsonl`` and ``eval/rollout/...`` keys; ``rollout`` alone skips the
replay scores (and so the baseline).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from dnd_ft.errors import StageError
from dnd_ft.evaluation.outputs import log_to_tracker, write_reports
from dnd_ft.evaluation.scoring import EvalReport, options_from_config, score_predictions
from dnd_ft.models.identity import mismatch
from dnd_ft.models.lineage import read_base
from dnd_ft.utils.io import atomic_write_jsonl

log = logging.getLogger(__name__)


def run(ctx: Any) -> None:
    """Evaluate, write the reports and update the run's metrics (see the module docstring)."""
    cfg, ecfg = ctx.cfg, ctx.cfg.eval
    adapter_dir = resolve_adapter(ctx)
    data_dir = eval_data_dir(ctx, adapter_dir)
    rows, split = load_rows(data_dir, ecfg.split, ecfg.fallback_split, ecfg.max_examples)
    ev = Evaluator(cfg, rows, ctx.stage_dir("eval"), trained_tools=known_tools(ctx, data_dir))
    merged_dir = None if adapter_dir else resolve_merged(ctx)
    tuned_cfg = local_model_config(cfg.model, merged_dir) if merged_dir else cfg.model
    if adapter_dir is not None and read_base(adapter_dir) is not None:  # trained on a merged parent
        tuned_cfg = local_model_config(cfg.model, read_base(adapter_dir))
    model, tokenizer, fmt = load_for_eval(tuned_cfg, cfg.paths.cache_dir, data_dir, cfg)
    replay = ecfg.mode != "rollout"  # eval.mode=rollout: the live rollouts alone
    same_weights_baseline = (
        replay and ecfg.baseline and not ecfg.baseline_model and adapter_dir is not None
    )

    reports: dict[str, EvalReport] = {}
    if adapter_dir is not None:
        from peft import PeftModel

        from dnd_ft.models.lineage import merge_parents

        log.info("loading adapter %s", adapter_dir)
        model = merge_parents(model, adapter_dir)  # new_adapter: its parents first
        model = PeftModel.from_pretrained(model, str(adapter_dir))
        if same_weights_baseline:
            with model.disable_adapter():  # the exact base weights, no second load
                reports["baseline"] = ev.evaluate(model, tokenizer, fmt, "baseline")
        # Merged LoRA generates at base-model speed (unmerged it ran 3x slower on the tiny
        # CPU model); merging after the baseline keeps the baseline's weights exact.
        model.merge_adapter()
    if replay:
        reports["fine-tuned"] = ev.evaluate(model, tokenizer, fmt, "fine-tuned")
    forgetting = forgetting_check(ctx, model, tokenizer, fmt) if replay else None
    rollout = rollout_check(ctx, ev, model, tokenizer, fmt)  # before a baseline frees the model

    if replay and ecfg.baseline and "baseline" not in reports:
        if ecfg.baseline_model or merged_dir:
            from dnd_ft.models.config import model_config as load_model_config

            del model  # free its memory before the second model loads
            base_cfg = load_model_config(ecfg.baseline_model) if ecfg.baseline_model else cfg.model
            base = load_for_eval(
                base_cfg, cfg.paths.cache_dir, None if ecfg.baseline_model else data_dir, cfg
            )
            reports["baseline"] = ev.evaluate(*base, "baseline")
        else:
            log.info(
                "no adapter: the evaluated model is the base model; baseline metrics equal eval"
            )
            reports["baseline"] = reports["fine-tuned"]
            atomic_write_jsonl(ev.out_dir / "predictions_baseline.jsonl", ev.records["fine-tuned"])
    if "fine-tuned" in reports:
        ctx.metrics.update(reports["fine-tuned"].metrics, prefix="eval/")
    if "baseline" in reports:
        ctx.metrics.update(reports["baseline"].metrics, prefix="baseline/eval/")

    summary = {
        "model": cfg.model.name,
        "family": cfg.model.family,
        "size": cfg.model.size,
        "baseline_model": ecfg.baseline_model or cfg.model.name,
        "split": split,
        "n_examples": len(rows),
        "n_turns": (reports["fine-tuned"].metrics if replay else rollout["metrics"]).get("n_turns"),
        "adapter_dir": str(adapter_dir) if adapter_dir else None,
        "merged_dir": str(merged_dir) if merged_dir else None,
        "models": {
            label: reports[label].to_dict()
            for label in ("fine-tuned", "baseline")
            if label in reports
        },
    }
    if forgetting is not None:
        summary["forgetting"] = forgetting
    if rollout is not None:
        summary["rollout"] = rollout
    write_reports(ev.out_dir, summary)
    log_to_tracker(ctx.tracker, summary)
    ctx.artifacts["eval_report"] = str(ev.out_dir / "report.json")


def known_tools(ctx: Any, data_dir: Path) -> set[str] | None:
    """Tools the evaluated model saw called in training: its training split's, and for an
    incremental run its parent's too (replay brings back only a share of those rows).
    None when the dataset has no training split (nothing to tell seen from unseen)."""
    from dnd_ft.evaluation.unseen import trained_tools

    if not (data_dir / "train.jsonl").is_file():
        return None
    from dnd_ft.registry.parent import run_parent

    tools = trained_tools(data_dir)
    parent = run_parent(ctx.cfg)
    if parent is not None and parent.data_dir is not None:
        tools |= trained_tools(parent.data_dir)
    return tools


def rollout_check(ctx: Any, ev: Evaluator, model: Any, tokenizer: Any, fmt: Any) -> dict | None:
    """eval.mode=rollout or both: the evaluated model plays its conversations live
    (`dnd_ft.evaluation.rollout`); metrics go to ``eval/rollout/...``. The report's rollout
    section, or None for eval.mode=replay."""
    if ctx.cfg.eval.mode == "replay":
        return None
    from dnd_ft.evaluation.rollout import evaluate_rollouts

    section = evaluate_rollouts(
        model, tokenizer, fmt, ev.rows, ctx.cfg, ev.registry, ev.srd, ev.out_dir / "rollout",
        max_length=context_window(model, ctx.cfg.model), options=ev.options,
    )  # fmt: skip
    ctx.metrics.update(section["metrics"], prefix="eval/rollout/")
    return section


def context_window(model: Any, model_cfg: Any) -> int:
    """Tokens a prompt and its generation may fill: the model's own context window, not the
    training cut (model.max_seq_length), so a long held-out conversation keeps its system
    prompt and tools."""
    window = getattr(model.config, "max_position_embeddings", None) or 0
    return max(int(model_cfg.max_seq_length), int(window))


# What the forgetting check compares, old held-out split before and after this training.
FORGETTING_METRICS = ("tool_name_f1", "tool_args_exact", "irrelevance_acc", "rouge_l")


def forgetting_check(ctx: Any, model: Any, tokenizer: Any, fmt: Any) -> dict[str, Any] | None:
    """An incremental run (trainer.init_from) scored on its parent's held-out split: the
    parent's recorded scores there (before) against this model's (after). None when the run
    has no parent, or the parent has no dataset beside it."""
    from dnd_ft.registry.parent import run_parent

    cfg, ecfg = ctx.cfg, ctx.cfg.eval
    parent = run_parent(cfg)
    if parent is None:
        return None
    if parent.data_dir is None:
        log.warning("eval: %s has no dataset beside it; no forgetting check", parent.label)
        return None
    rows, split = load_rows(parent.data_dir, ecfg.split, ecfg.fallback_split, ecfg.max_examples)
    old = Evaluator(cfg, rows, ctx.stage_dir("eval") / "old")
    after = old.evaluate(model, tokenizer, fmt, "fine-tuned").metrics
    ctx.metrics.update(after, prefix="eval/old/")
    values: dict[str, Any] = {}
    for name in FORGETTING_METRICS:
        before = parent.metrics.get(f"eval/{name}")
        values[f"{name}_before"], values[f"{name}_after"] = before, after.get(name)
        if before is not None and after.get(name) is not None:
            values[f"{name}_delta"] = after[name] - before
    ctx.metrics.update(values, prefix="forgetting/")
    log.info("eval: forgetting on %s's %s split (%d examples): %s", parent.label, split,
             len(rows), ", ".join(f"{k} {v:+.3f}" for k, v in values.items()
                                  if k.endswith("_delta")))  # fmt: skip
    return {"parent": parent.label, "split": split, "n_examples": len(rows), **values}


class Evaluator:
    """Generates, scores and saves the predictions of one model on the evaluated rows.

    data_dir: the dataset the model was trained beside; the tools its ``train.jsonl`` calls
    are the "seen" ones, and calls of any other tool are also scored apart (``unseen_tool_*``,
    `dnd_ft.evaluation.unseen`). trained_tools: tools known to be seen besides those (an
    incremental run's parents'). Neither given: no unseen-tool scores.
    """

    def __init__(
        self,
        cfg: Any,
        rows: list[dict[str, Any]],
        out_dir: Path,
        data_dir: Path | None = None,
        trained_tools: set[str] | None = None,
    ) -> None:
        from dnd_ft.tools.executors import SRD
        from dnd_ft.tools.registry import ToolRegistry

        self.cfg, self.rows, self.out_dir = cfg, rows, out_dir
        self.registry = ToolRegistry.from_config(cfg.tools)
        self.srd = SRD(edition=str(cfg.tools.srd_edition))
        self.options = options_from_config(cfg.eval.metrics)
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.trained_tools = self._seen_tools(data_dir, trained_tools)

    @staticmethod
    def _seen_tools(data_dir: Path | None, extra: set[str] | None) -> set[str] | None:
        """The tools called in ``data_dir``'s training split, plus ``extra``; None when neither
        is known (a dataset without train.jsonl says nothing about what the model saw)."""
        from dnd_ft.evaluation.unseen import trained_tools

        if data_dir is None or not (Path(data_dir) / "train.jsonl").is_file():
            return set(extra) if extra is not None else None
        return trained_tools(data_dir) | set(extra or ())

    def evaluate(self, model: Any, tokenizer: Any, fmt: Any, label: str) -> EvalReport:
        """Predict every DM turn, score, save ``predictions[_<label>].jsonl``."""
        ecfg = self.cfg.eval
        max_length = context_window(model, self.cfg.model)
        records, seconds = _predict(model, tokenizer, fmt, self.rows, self.cfg, max_length)
        report = self.score(records, seconds)
        if ecfg.judge.enabled:
            from dnd_ft.evaluation.judge import run_judge

            report.metrics.update(
                run_judge(self.rows, records, ecfg.judge, self.cfg.paths.cache_dir)
            )
        suffix = "" if label == "fine-tuned" else f"_{label}"
        atomic_write_jsonl(self.out_dir / f"predictions{suffix}.jsonl", records)
        self.records[label] = records
        log.info("%s: tool_name_f1=%s rouge_l=%s", label, report.metrics.get("tool_name_f1"),
                 report.metrics.get("rouge_l"))  # fmt: skip
        return report

    def score(self, records: list[dict[str, Any]], seconds: float) -> EvalReport:
        """The metrics of prediction records (any backend's: the HF model's here, a GGUF's
        in the export stage) generated in ``seconds``, with the run counters beside them."""
        report = score_predictions(
            self.rows,
            records,
            self.registry,
            seed=int(self.cfg.seed),
            srd=self.srd,
            options=self.options,
            trained_tools=self.trained_tools,
        )
        new_tokens = sum(r["new_tokens"] for r in records)
        report.metrics["gen_tokens_per_s"] = new_tokens / seconds if seconds else None
        report.metrics["n_truncated_prompts"] = sum(r["truncated"] for r in records)
        report.metrics["n_prefilled_tokens"] = sum(r["prefilled_tokens"] for r in records)
        report.metrics["n_cache_fallbacks"] = sum(r["cache_fallback"] for r in records)
        return report


def load_rows(
    data_dir: Path, split: str, fallback: str | None, max_examples: int | None
) -> tuple[list[dict[str, Any]], str]:
    """The examples of ``split`` (or of ``fallback`` when it is empty), first N if capped."""
    from dnd_ft.data import load_split

    if not data_dir.is_dir():
        raise StageError(
            f"eval: no dataset at {data_dir}; run the data stage first (stages=[data,eval]) "
            "or evaluate a run folder that has data/"
        )
    rows = list(load_split(data_dir, split))
    if not rows and fallback and fallback != split:
        log.warning("split %r is empty; evaluating %r instead", split, fallback)
        rows, split = list(load_split(data_dir, fallback)), fallback
    if not rows:
        raise StageError(
            f"eval: split {split!r} in {data_dir} has no examples; give the data stage more "
            "scenarios or change data.split / eval.split"
        )
    return (rows[:max_examples] if max_examples else rows), split


def eval_data_dir(ctx: Any, adapter_dir: Path | None) -> Path:
    """The dataset to evaluate on: this run's; else, for an adapter from another run, the
    held-out split that run trained beside (no leak, same rendering); else built now."""
    found = existing_data_dir(ctx, adapter_dir)
    if found is not None:
        if found != own_data_dir(ctx):
            log.info("eval: the held-out split of the run that trained the adapter: %s", found)
        return found
    log.info("eval: no dataset in %s yet; building it first (the data stage)", ctx.run_dir)
    from dnd_ft.data.stage import run as build_data

    build_data(ctx)
    return Path(ctx.artifacts["data_dir"])


def existing_data_dir(ctx: Any, adapter_dir: Path | None) -> Path | None:
    """A built dataset (one with format.json): this run's, else the one beside
    ``adapter_dir`` (the run that trained it); None when neither exists."""
    from dnd_ft.chat import FORMAT_FILE

    theirs = adapter_dir.parent / "data" if adapter_dir is not None else None
    candidates = (own_data_dir(ctx), theirs)
    return next((d for d in candidates if d is not None and (d / FORMAT_FILE).is_file()), None)


def own_data_dir(ctx: Any) -> Path:
    """Where this run's dataset is (or will be)."""
    return Path(ctx.artifacts.get("data_dir") or ctx.run_dir / "data")


def resolve_adapter(ctx: Any) -> Path | None:
    """``eval.adapter_dir`` if set, else the train stage's adapter of this run, else None."""
    configured = ctx.cfg.eval.adapter_dir
    path = configured or ctx.artifacts.get("adapter_dir")
    if path is None and (ctx.run_dir / "adapter" / "adapter_config.json").is_file():
        path = ctx.run_dir / "adapter"
    if path is None:
        log.info("no adapter: evaluating the base model %s", ctx.cfg.model.name)
        return None
    path = Path(path)
    if not (path / "adapter_config.json").is_file():
        raise StageError(
            f"eval: {path} has no adapter_config.json; set eval.adapter_dir to a folder the "
            "train stage wrote (<run>/adapter)"
        )
    wrong = mismatch(path, ctx.cfg.model, "eval.adapter_dir")
    if wrong:  # also checked at startup; here for adapters found in the run folder
        raise StageError(wrong)
    return path


def resolve_merged(ctx: Any) -> Path | None:
    """The full fine-tune (or merged model) the train stage wrote in this run, if any."""
    path = ctx.artifacts.get("merged_dir")
    if path is None and (ctx.run_dir / "merged" / "config.json").is_file():
        path = ctx.run_dir / "merged"
    return Path(path) if path else None


def local_model_config(model_cfg: Any, folder: Path) -> Any:
    """``model_cfg`` pointed at a local folder (a merged or fully fine-tuned model)."""
    from omegaconf import OmegaConf

    local = OmegaConf.merge(model_cfg, {"source": "local", "local_path": str(folder)})
    log.info("model weights from %s", folder)
    return local


def load_for_eval(
    model_cfg: Any, cache_dir: str, data_dir: Path | None, cfg: Any
) -> tuple[Any, Any, Any]:
    """Model, tokenizer and chat format; the dataset's own format.json when there is one."""
    from dnd_ft.chat.formats import FORMAT_FILE, get_format, load_format, run_options
    from dnd_ft.models import load_model, load_tokenizer

    tokenizer = load_tokenizer(model_cfg, cache_dir)
    if data_dir is not None and (data_dir / FORMAT_FILE).is_file():
        fmt = load_format(data_dir, tokenizer)
    else:
        options = run_options(model_cfg.chat_format, model_cfg, cfg.data.format)
        fmt = get_format(model_cfg.chat_format, tokenizer, **options)
    model = load_model(model_cfg, cache_dir)
    import torch

    if torch.cuda.is_available():  # load_model leaves placement to the caller
        model = model.to("cuda")
    return model, tokenizer, fmt


def _predict(
    model: Any, tokenizer: Any, fmt: Any, rows: list, cfg: Any, max_length: int
) -> tuple[list, float]:
    from dnd_ft.evaluation.generate import predict

    ecfg = cfg.eval
    start = time.perf_counter()
    records = predict(
        model, tokenizer, fmt, rows,
        batch_size=int(ecfg.batch_size), max_new_tokens=int(ecfg.max_new_tokens),
        do_sample=bool(ecfg.do_sample), temperature=float(ecfg.temperature),
        max_length=int(max_length), seed=int(cfg.seed), reuse_cache=bool(ecfg.reuse_cache),
    )  # fmt: skip
    return records, time.perf_counter() - start
