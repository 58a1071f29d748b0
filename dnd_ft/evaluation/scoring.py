"""Score prediction records: tool calls, executability, prose quality and context awareness.

`score_predictions` is pure given its inputs (no model): the stage calls it on the records
`generate.predict` wrote, and tests call it on hand-built records.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dnd_ft.evaluation import context, executable, quality, toolcalls, unseen
from dnd_ft.evaluation.config import MetricsConfig

log = logging.getLogger(__name__)

# Metrics shown per category in the report (the full set is in metrics.json).
CATEGORY_METRICS = ("tool_name_f1", "tool_args_exact", "irrelevance_acc", "rouge_l",
                    "context_entity_recall")  # fmt: skip


def options_from_config(metrics_cfg: Mapping[str, Any] | None) -> MetricsConfig:
    """The metric knobs of ``eval.metrics`` (a DictConfig or a dict); missing keys default."""
    if not metrics_cfg:
        return MetricsConfig()
    if hasattr(metrics_cfg, "_metadata"):  # a DictConfig: plain lists and ints
        from omegaconf import OmegaConf

        metrics_cfg = OmegaConf.to_container(metrics_cfg, resolve=True)
    return MetricsConfig(**dict(metrics_cfg))


@dataclass
class EvalReport:
    """What one model scored: flat metrics, per-tool rows and a per-category breakdown.

    unseen_tools: the gold-called tools never called in training (sorted); None when the
    training split's tools were not given (``trained_tools``), so nothing was scored apart.
    """

    metrics: dict[str, Any]
    tool_rows: list[dict[str, Any]] = field(default_factory=list)
    categories: dict[str, dict[str, Any]] = field(default_factory=dict)
    unseen_tools: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"metrics": self.metrics, "tools": self.tool_rows, "categories": self.categories}
        if self.unseen_tools is not None:
            out["unseen_tools"] = self.unseen_tools
        return out


def srd_name_sets(srd: Any) -> dict[str, set[str]] | None:
    """Case-folded SRD names by kind, or None when the SRD data cannot be opened."""
    if srd is None:
        return None
    try:
        return {
            "monster": {n.casefold() for n in srd.monster_names()},
            "spell": {n.casefold() for n in srd.spell_names()},
            "condition": {n.casefold() for n in srd.condition_names()},
        }
    except Exception as exc:  # a missing asset must not sink an eval run; grounding degrades
        log.warning(
            "SRD names unavailable (%s); look-up names are checked against the context", exc
        )
        return None


def _exchange_numbers(messages: Sequence[Mapping[str, Any]], turn: int) -> set[int]:
    """Numbers in the tool results since the last player message before ``turn``."""
    texts = []
    for m in reversed(messages[:turn]):
        if m.get("role") == "user":
            break
        if m.get("role") == "tool":
            texts.append(str(m.get("content") or ""))
    return quality.numbers_in(texts)


def score_predictions(
    rows: Sequence[Mapping[str, Any]],
    records: Sequence[dict[str, Any]],
    registry: Any,
    *,
    seed: int = 0,
    srd: Any = None,
    options: MetricsConfig | None = None,
    trained_tools: set[str] | None = None,
) -> EvalReport:
    """Score ``records`` (from `generate.predict`) of the examples ``rows``.

    Each record gains a ``score`` entry with its per-turn findings (problems, flags), so the
    saved predictions explain every number. trained_tools: the tools called in the training
    split (`unseen.trained_tools`); given, the calls of every other tool are also scored apart
    (``unseen_tool_*``, see `dnd_ft.evaluation.unseen`).
    """
    opts = options or MetricsConfig()
    srd_names = srd_name_sets(srd)
    executor = None
    if registry is not None:
        from dnd_ft.tools.executors import ToolExecutor

        executor = ToolExecutor(registry, seed=seed, srd=srd)
    by_id = {str(r["id"]): r for r in rows}
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        if rec["id"] not in by_id:
            raise ValueError(
                f"prediction for unknown example {rec['id']!r}; predictions and data disagree"
            )
        groups[rec["id"]].append(rec)

    overall = _Accumulator(opts)
    per_category: dict[str, _Accumulator] = defaultdict(lambda: _Accumulator(opts))
    for example_id, recs in groups.items():
        row = by_id[example_id]
        recs.sort(key=lambda r: r["turn"])
        category = str(row.get("category") or "unknown")
        for acc in (overall, per_category[category]):
            acc.add_conversation(row, recs, registry, executor, srd_names, annotate=acc is overall)
    report = EvalReport(metrics=overall.summary(), tool_rows=overall.tools.tool_rows())
    if trained_tools is not None:
        metrics, report.unseen_tools = unseen.unseen_metrics(overall.tools.per_tool, trained_tools)
        report.metrics.update(metrics)
    report.categories = {
        cat: {k: acc.summary().get(k) for k in CATEGORY_METRICS} | {"n_turns": acc.tools.turns}
        for cat, acc in sorted(per_category.items())
    }
    return report


class _Accumulator:
    """All metric families over one set of conversations."""

    def __init__(self, opts: MetricsConfig) -> None:
        self.opts = opts
        self.tools = toolcalls.ToolCallStats()
        self.exec = executable.ExecStats()
        self.quality = quality.QualityStats(
            min_words=opts.min_words, max_words=opts.max_words,
            phrases=tuple(opts.out_of_character), roll_tools=tuple(opts.roll_tools),
        )  # fmt: skip
        self.context = context.ContextStats()
        self.examples = 0

    def add_conversation(
        self,
        row: Mapping[str, Any],
        recs: Sequence[dict[str, Any]],
        registry: Any,
        executor: Any,
        srd_names: Mapping[str, set[str]] | None,
        annotate: bool,
    ) -> None:
        self.examples += 1
        messages = row["messages"]
        system = (
            str(messages[0].get("content") or "")
            if messages and messages[0].get("role") == "system"
            else ""
        )
        entities = context.extract_entities(system)
        offered = {t.get("function", t).get("name") for t in row.get("tools") or []} or None
        schemas = {t.get("function", t)["name"]: t.get("function", t).get("parameters", {})
                   for t in row.get("tools") or []} or None  # fmt: skip
        for rec in recs:
            gold_calls = rec["gold"]["tool_calls"]
            turn = toolcalls.score_turn(
                rec["tool_calls"], gold_calls, malformed=rec.get("malformed", ()),
                offered=offered, registry=registry, schemas=schemas,
                free_text=self.opts.free_text_args, unordered=self.opts.unordered_args,
            )  # fmt: skip
            self.tools.add(turn)
            calls = [toolcalls.as_call(c, strict=False) for c in rec["tool_calls"]]
            q = self.quality.add(rec["content"], rec["gold"]["content"], calls, gold_calls,
                                 known_numbers=_exchange_numbers(messages, rec["turn"]))  # fmt: skip
            grounding = context.grounding_checks(
                calls,
                context.history_text(messages[: rec["turn"]]),
                srd_names,
                self.opts.grounded_keys,
            )
            c = self.context.add(entities, rec["content"], rec["gold"]["content"], grounding)
            if annotate:
                rec["score"] = {"exact": turn.exact, "problems": turn.problems, **q, **c}
        if executor is not None:
            conv = executable.check_conversation(
                executor, system,
                [r["gold"]["tool_calls"] for r in recs],
                [[toolcalls.as_call(c, strict=False) for c in r["tool_calls"]] for r in recs],
                self.opts.state_tools,
            )  # fmt: skip
            self.exec.add(conv)
            if annotate and recs:
                recs[-1].setdefault("score", {})["conversation"] = {
                    "exec_errors": conv.errors, "state_match": conv.state_match,
                }  # fmt: skip

    def summary(self) -> dict[str, Any]:
        metrics: dict[str, Any] = {}
        for part in (self.tools, self.exec, self.quality, self.context):
            metrics.update(part.summary())
        metrics["n_examples"] = self.examples
        return metrics
