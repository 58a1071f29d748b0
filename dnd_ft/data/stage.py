"""The ``data`` stage: scenario markdown -> cleaned, split, augmented, rendered JSONL datasets.

``run(ctx)`` reads the config, loads the tokenizer and writes ``<run_dir>/data/``:
``train.jsonl``, ``val.jsonl``, ``test.jsonl`` and the same rows as a Hugging Face dataset in
``hf/`` (see `dnd_ft.data.rows`), ``format.json``
(how the text was rendered; `dnd_ft.chat.formats.load_format`), ``report.json`` and
``report.md``. The work itself is `build_datasets`, a pure function tests can call.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dnd_ft.chat.formats import FORMAT_FILE, ChatFormat, format_for_run, format_spec
from dnd_ft.chat.tokenize import count_tokens
from dnd_ft.data.augment import AugmentContext, augment_records, enabled_techniques
from dnd_ft.data.clean import CleanAction, clean_records, flag_overlength
from dnd_ft.data.report import build_report, render_markdown
from dnd_ft.data.rows import HF_DIR, to_dataset_dict, to_row
from dnd_ft.data.split import SPLITS, assign_splits, split_records
from dnd_ft.errors import StageError
from dnd_ft.utils.io import atomic_dir, atomic_write_jsonl, atomic_write_text

if TYPE_CHECKING:
    from dnd_ft.core.context import RunContext
    from dnd_ft.scenarios.model import Scenario
    from dnd_ft.tools import SRD, ToolRegistry

log = logging.getLogger(__name__)


@dataclass
class DataBuild:
    """Rows per split (on-disk form), the report, and the format spec for format.json."""

    splits: dict[str, list[dict[str, Any]]]
    report: dict[str, Any]
    format: dict[str, Any]


def load_scenarios(
    scenario_dirs: Sequence[str | Path], registry: ToolRegistry, categories: Sequence[str]
) -> list[Scenario]:
    """Parse the corpus; `StageError` lists every problem as ``file:line: message``."""
    from dnd_ft.scenarios.corpus import load_corpus

    corpus = load_corpus([str(d) for d in scenario_dirs], registry, list(categories))
    if corpus.problems:
        listing = "\n".join(f"  {p}" for p in corpus.problems)
        raise StageError(
            f"{len(corpus.problems)} scenario problem(s); fix them and rerun "
            f"(python -m dnd_ft.scenarios lint):\n{listing}"
        )
    if not corpus.scenarios:
        raise StageError(
            f"no scenarios found in data.scenario_dirs={[str(d) for d in scenario_dirs]}; "
            "add scenario markdown files or point data.scenario_dirs at them"
        )
    return corpus.scenarios


def build_datasets(
    scenario_dirs: Sequence[str | Path],
    data_cfg: Any,
    registry: ToolRegistry,
    fmt: ChatFormat,
    tokenizer: Any = None,
    srd_factory: Callable[[], SRD] | None = None,
    scenarios: Sequence[Scenario] | None = None,
) -> DataBuild:
    """Parse, clean, split, augment, render and measure the corpus.

    data_cfg: the ``data`` config (categories, split, augment, unicode_form, max_length,
        drop_overlength, seed). tokenizer: counts tokens for the over-length check (None
        skips counting). scenarios: already parsed ones (`load_scenarios`), else parsed here.
        Raises `StageError` listing every scenario problem as ``file:line``.
    """
    from dnd_ft.scenarios.records import iter_records

    if scenarios is None:
        scenarios = load_scenarios(scenario_dirs, registry, data_cfg.categories)
    scenarios = list(scenarios)
    records, actions = clean_records(iter_records(scenarios, registry), data_cfg.unicode_form)
    fractions = {s: float(data_cfg.split[s]) for s in SPLITS}
    assignment = assign_splits({s.id: s.category for s in scenarios}, fractions, int(data_cfg.seed))
    by_split = split_records(records, assignment)
    _augment(by_split, data_cfg, registry, srd_factory)
    rows: dict[str, list[dict[str, Any]]] = {}
    for split in SPLITS:
        rows[split], over = _render_split(by_split[split], split, fmt, tokenizer, data_cfg)
        actions += over
    spec = format_spec(fmt)
    report = build_report(
        rows, actions, scenarios=len(scenarios), assignment=assignment,
        chat_format=spec, max_length=int(data_cfg.max_length),
    )  # fmt: skip
    return DataBuild(splits=rows, report=report, format=spec)


def _augment(
    by_split: dict[str, list[dict[str, Any]]],
    data_cfg: Any,
    registry: ToolRegistry,
    srd_factory: Callable[[], SRD] | None,
) -> None:
    """Add augmented copies to the configured splits, in place."""
    techniques = enabled_techniques(data_cfg.augment)
    if not techniques:
        return
    ctx = AugmentContext(registry, srd_factory=srd_factory)
    copies, seed = int(data_cfg.augment.copies), int(data_cfg.seed)
    for split in data_cfg.augment.splits:
        extra = augment_records(by_split[split], techniques, copies, seed, ctx)
        log.info("augmented %s: %d new examples", split, len(extra))
        by_split[split] += extra


def _render_split(
    records: list[dict[str, Any]], split: str, fmt: ChatFormat, tokenizer: Any, data_cfg: Any
) -> tuple[list[dict[str, Any]], list[CleanAction]]:
    """Rows of one split, and the over-length findings (dropped only if configured)."""
    rendered = [_render(fmt, r) for r in records]
    counts = [count_tokens(x.text, tokenizer) if tokenizer is not None else None for x in rendered]
    kept, over = flag_overlength(
        list(zip(records, rendered, counts, strict=True)), counts, [r["id"] for r in records],
        int(data_cfg.max_length), bool(data_cfg.drop_overlength),
    )  # fmt: skip
    return [to_row(rec, ren, n, split) for rec, ren, n in kept], over


def write_datasets(build: DataBuild, out_dir: Path) -> Path:
    """Write a `DataBuild` into ``out_dir`` atomically (a reader never sees half of it)."""
    with atomic_dir(out_dir) as tmp:
        for split, rows in build.splits.items():
            atomic_write_jsonl(tmp / f"{split}.jsonl", rows)
        to_dataset_dict(build.splits).save_to_disk(str(tmp / HF_DIR))
        atomic_write_text(tmp / FORMAT_FILE, json.dumps(build.format, indent=2) + "\n")
        atomic_write_text(
            tmp / "report.json", json.dumps(build.report, indent=2, ensure_ascii=False) + "\n"
        )
        atomic_write_text(tmp / "report.md", render_markdown(build.report))
    return out_dir


def run(ctx: RunContext) -> None:
    """The pipeline entry: build the datasets of ``ctx.cfg`` into ``<run_dir>/data``."""
    from dnd_ft.tools import SRD, ToolRegistry

    cfg = ctx.cfg
    registry = ToolRegistry.from_config(cfg.tools)
    scenarios = load_scenarios(cfg.data.scenario_dirs, registry, cfg.data.categories)  # fail fast
    tokenizer = _load_tokenizer(cfg)  # slow: imports transformers
    fmt = format_for_run(cfg, tokenizer)
    edition = str(cfg.tools.get("srd_edition", "2014"))
    build = build_datasets(
        cfg.data.scenario_dirs, cfg.data, registry, fmt, tokenizer,
        srd_factory=lambda: SRD(edition=edition), scenarios=scenarios,
    )  # fmt: skip
    _replay(build, cfg, fmt, tokenizer)
    out = write_datasets(build, ctx.run_dir / "data")
    ctx.artifacts["data_dir"] = out
    ctx.metrics.update(flat_metrics(build))
    log.info("data: %s", ", ".join(f"{s} {len(build.splits[s])}" for s in SPLITS))


def _replay(build: DataBuild, cfg: Any, fmt: ChatFormat, tokenizer: Any) -> None:
    """Mix the parent's training rows into ``build`` (trainer.init_from; data.replay)."""
    from dnd_ft.data.replay import parent_for_replay, replay_rows

    parent = parent_for_replay(cfg)
    if parent is None:
        return

    def render(record: dict[str, Any]) -> dict[str, Any]:
        rendered = _render(fmt, record)
        n = count_tokens(rendered.text, tokenizer) if tokenizer is not None else None
        return to_row(record, rendered, n, "train")

    train = build.splits["train"]
    have = {row["scenario_id"] for rows in build.splits.values() for row in rows}
    rows, info = replay_rows(
        parent, len(train), float(cfg.data.replay), int(cfg.data.seed), render, have
    )
    train.extend(rows)
    build.report["replay"] = info


def flat_metrics(build: DataBuild) -> dict[str, Any]:
    report = build.report
    metrics: dict[str, Any] = {
        "data/scenarios": report["scenarios"],
        "data/augmented": sum(report["splits"][s]["augmented"] for s in SPLITS),
        "data/overlength": len(report["overlength"]),
    }
    if report.get("replay"):
        metrics["data/replayed"] = report["replay"]["rows"]
    for s in SPLITS:
        stats = report["splits"][s]
        metrics[f"data/examples/{s}"] = stats["examples"]
        metrics[f"data/tokens/{s}"] = stats["tokens"]["total"] if stats["tokens"] else 0
    return metrics


def _render(fmt: ChatFormat, record: dict[str, Any]) -> Any:
    try:
        return fmt.render(record["messages"], record.get("tools"))
    except ValueError as exc:
        raise StageError(
            f"{record.get('source', record['id'])}: cannot render {record['id']}: {exc}"
        ) from exc


def _load_tokenizer(cfg: Any) -> Any:
    from dnd_ft.models import load_tokenizer

    try:
        return load_tokenizer(cfg.model, cfg.paths.cache_dir)
    except Exception as exc:
        raise StageError(
            f"model {cfg.model.name}: cannot load its tokenizer to count tokens: {exc}"
        ) from exc
