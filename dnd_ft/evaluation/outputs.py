"""The eval stage's outputs: report.json, report.md and the tracker's tables."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dnd_ft.evaluation.rollout_score import ROLLOUT_HEADLINE
from dnd_ft.utils.io import atomic_write_text

log = logging.getLogger(__name__)

# Headline metrics in the order reports show them; metrics.json holds every key.
HEADLINE = (
    "tool_name_f1", "tool_name_precision", "tool_name_recall", "tool_args_exact",
    "tool_turn_exact", "irrelevance_acc", "hallucination_rate", "missing_rate", "malformed_rate",
    "schema_valid_rate", "exec_rate", "state_match_rate", "rouge_l", "chrf", "in_character_rate",
    "invented_roll_rate", "length_ok_rate", "context_entity_recall", "grounded_args_rate",
    "judge_score", "pass_rate", "state_pass_rate", "pass_hat_k", "pass_at_k",
)  # fmt: skip
# Headline rows shown only where some model has a value (an optional judge; the end-state
# pass rates exist for live rollouts only, `eval/rollout/...`).
OPTIONAL_ROWS = frozenset(
    {"judge_score", "pass_rate", "state_pass_rate", "pass_hat_k", "pass_at_k"}
)

HIGHER, LOWER, NEUTRAL = "higher", "lower", "neutral"  # which way a metric is better
TOOLS, PROSE, CONTEXT, RUN = "tool calls", "prose", "context", "run"
GROUPS = (TOOLS, PROSE, CONTEXT, RUN)  # the order reports show the groups in
RATE, SCORE, COUNT, SPEED = "rate", "score", "count", "speed"


@dataclass(frozen=True)
class MetricInfo:
    """What a metric is: its group, which way is better, and its kind of value.

    kind: "rate" is a fraction in [0, 1]; "score" the judge's 1-5 mean; "count" a number of
    turns, calls or conversations; "speed" tokens per second. abstention_wins: a model that
    never calls a tool scores best here (it is never wrong to stay silent about calls), so
    such a model is not counted as best on it.
    """

    group: str
    direction: str = HIGHER
    kind: str = RATE
    abstention_wins: bool = False


# Every metric the eval stage writes (docs/evaluation.md defines them). Counts and speeds say
# how much was measured, not how good it was: neither direction is better.
METRICS: dict[str, MetricInfo] = {
    "tool_name_f1": MetricInfo(TOOLS),
    "tool_name_precision": MetricInfo(TOOLS),
    "tool_name_recall": MetricInfo(TOOLS),
    "tool_args_exact": MetricInfo(TOOLS),
    "tool_turn_exact": MetricInfo(TOOLS),
    "tool_call_rate": MetricInfo(TOOLS),
    "irrelevance_acc": MetricInfo(TOOLS, abstention_wins=True),
    "hallucination_rate": MetricInfo(TOOLS, LOWER, abstention_wins=True),
    "missing_rate": MetricInfo(TOOLS, LOWER),
    "malformed_rate": MetricInfo(TOOLS, LOWER, abstention_wins=True),
    "schema_valid_rate": MetricInfo(TOOLS),
    "exec_rate": MetricInfo(TOOLS),
    "state_match_rate": MetricInfo(TOOLS),
    # live rollouts (evaluation/rollout_score.py): the end state against the gold end state
    "pass_rate": MetricInfo(TOOLS),
    "state_pass_rate": MetricInfo(TOOLS),
    "pass_hat_k": MetricInfo(TOOLS),
    "pass_at_k": MetricInfo(TOOLS),
    "capped_rate": MetricInfo(TOOLS, LOWER, abstention_wins=True),
    "mean_rounds": MetricInfo(RUN, NEUTRAL, COUNT),  # generations per DM turn: cost, not quality
    # the same over the gold calls of tools never called in training (evaluation/unseen.py)
    "unseen_tool_name_f1": MetricInfo(TOOLS),
    "unseen_tool_name_precision": MetricInfo(TOOLS),
    "unseen_tool_name_recall": MetricInfo(TOOLS),
    "unseen_tool_args_exact": MetricInfo(TOOLS),
    "rouge_l": MetricInfo(PROSE),
    "chrf": MetricInfo(PROSE),
    "in_character_rate": MetricInfo(PROSE),
    "invented_roll_rate": MetricInfo(PROSE, LOWER),
    "length_ok_rate": MetricInfo(PROSE),
    "judge_score": MetricInfo(PROSE, HIGHER, SCORE),
    "judge_parse_rate": MetricInfo(PROSE, NEUTRAL),  # a property of the judge, not the model
    "context_entity_recall": MetricInfo(CONTEXT),
    "grounded_args_rate": MetricInfo(CONTEXT),
    **{name: MetricInfo(RUN, NEUTRAL, COUNT) for name in (
        "n_turns", "n_gold_calls", "n_pred_calls", "n_malformed_calls", "n_text_turns",
        "n_entity_mentions", "n_state_conversations", "n_examples", "n_truncated_prompts",
        "n_judged", "n_prefilled_tokens", "n_cache_fallbacks", "n_unseen_tool_calls",
        "n_capped_turns", "n_gold_dice", "n_seeds",
    )},
    "gen_tokens_per_s": MetricInfo(RUN, NEUTRAL, SPEED),
}  # fmt: skip
LOWER_IS_BETTER = frozenset(m for m, info in METRICS.items() if info.direction == LOWER)
_UNKNOWN = MetricInfo(RUN, NEUTRAL, COUNT)


def metric_info(metric: str) -> MetricInfo:
    """The metric's entry in METRICS; an unknown metric is a neutral count of group "run"."""
    return METRICS.get(metric, _UNKNOWN)


def direction(metric: str) -> str:
    """HIGHER, LOWER or NEUTRAL: which way ``metric`` is better."""
    return metric_info(metric).direction


def fmt_value(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _float_text(value: float, decimals: int, digits: int, cap: int, sign: str) -> str:
    """``value`` with ``decimals`` decimals, or more where a small value needs them to show
    ``digits`` significant digits (0.0037 -> "0.0037"; the extra decimals drop trailing
    zeros: 0.05 -> "0.05"); past ``cap`` decimals, scientific notation (1.2e-07)."""
    own = 0 if value == 0 else digits - 1 - math.floor(math.log10(abs(value)))
    if own > cap:
        return f"{value:{sign}.{digits - 1}e}"
    if own <= decimals:
        return f"{value:{sign}.{decimals}f}"
    text = f"{value:{sign}.{own}f}"
    keep = len(text) - (own - decimals)  # the shared decimals always stay
    return text[:keep] + text[keep:].rstrip("0")


def decimals_for(values: Iterable[Any], base: int = 3, digits: int = 2, cap: int = 6) -> int:
    """The fewest decimals, at least ``base``, that print the distinct ``values`` distinctly
    side by side (a table column, a chart): 0.41 and 0.4149 need 3 where 2 do for 0.41 and
    0.5. Small values get their own significant digits anyway (see `fmt_values`); never more
    than ``cap``; non-numbers are ignored."""
    nums = {float(v) for v in values if _is_number(v)}

    def distinct(decimals: int) -> bool:
        return len({_float_text(v, decimals, digits, cap, "") for v in nums}) == len(nums)

    decimals = base
    while decimals < cap and not distinct(decimals):
        decimals += 1
    return decimals


def fmt_values(
    values: Sequence[Any], base: int = 3, signed: bool = False, digits: int = 2, cap: int = 6
) -> list[str]:
    """``values`` printed side by side with the precision that tells them apart.

    Floats share `decimals_for` decimals (at least ``base``); a non-zero float gets more where
    it needs them to show ``digits`` significant digits (0.0037 prints as 0.0037, never 0.00
    or 0.004); past ``cap`` decimals it prints in scientific notation. Ints print as ints (as
    floats in a column that has floats); None and non-numbers print "n/a". ``signed`` adds a
    + to positive values (deltas).
    """
    decimals = decimals_for(values, base, digits, cap)
    floats = any(isinstance(v, float) for v in values)
    sign = "+" if signed else ""
    out = []
    for v in values:
        if not _is_number(v):
            out.append("n/a")
        elif isinstance(v, int) and not floats:
            out.append(f"{v:{sign}d}")
        else:
            out.append(_float_text(float(v), decimals, digits, cap, sign))
    return out


def metric_rows(reports: Mapping[str, Mapping[str, Any]]) -> list[list[Any]]:
    """``[metric, value per model..., delta]`` rows for the headline metrics.

    reports: label -> flat metrics, e.g. {"fine-tuned": {...}, "baseline": {...}}; the delta is
    first minus last when there are two.
    """
    labels = list(reports)
    rows = []
    for key in HEADLINE:
        values = [reports[label].get(key) for label in labels]
        if all(v is None for v in values) and key in OPTIONAL_ROWS:
            continue
        delta = None
        if len(values) == 2 and all(isinstance(v, int | float) for v in values):
            delta = values[0] - values[1]
        rows.append([key, *values, delta])
    return rows


def _weights_line(summary: Mapping[str, Any]) -> str:
    """Which weights were evaluated: an adapter, a fully fine-tuned model, or the base alone."""
    if summary.get("adapter_dir"):
        return f"Adapter: `{summary['adapter_dir']}`."
    if summary.get("merged_dir"):
        return f"Fine-tuned model (all weights): `{summary['merged_dir']}`."
    return "No adapter: the base model itself."


def render_markdown(summary: Mapping[str, Any]) -> str:
    """A human-readable report.md of one eval run (see `write_reports` for the summary shape)."""
    reports = {label: part["metrics"] for label, part in summary["models"].items()}
    labels = list(reports)
    lines = [
        f"# Evaluation: {summary['model']}",
        "",
        f"Split `{summary['split']}`: {summary['n_examples']} conversations, "
        f"{summary['n_turns']} DM turns. {_weights_line(summary)}",
        "Metric definitions: docs/evaluation.md. Lower is better for: "
        + ", ".join(sorted(LOWER_IS_BETTER))
        + ".",
        "",
    ]
    if labels:  # none under eval.mode=rollout: the rollout section alone
        lines += [
            "",
            "| metric | " + " | ".join(labels) + (" | delta |" if len(labels) == 2 else " |"),
            "|---|" + "---:|" * (len(labels) + (len(labels) == 2)),
        ]
    for row in metric_rows(reports) if labels else []:
        cells = [fmt_value(v) for v in row[1 : 1 + len(labels)]]
        if len(labels) == 2:
            cells.append("" if row[-1] is None else f"{row[-1]:+.3f}")
        lines.append(f"| {row[0]} | " + " | ".join(cells) + " |")
    for label, part in summary["models"].items():
        lines += ["", f"## Per tool ({label})", "",
                  "| tool | gold | pred | matched | precision | recall | f1 | args exact |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        for t in part["tools"]:
            lines.append(
                f"| {t['tool']} | {t['gold']} | {t['pred']} | {t['matched']} | "
                + " | ".join(fmt_value(t[k]) for k in ("precision", "recall", "f1", "args_exact"))
                + " |"
            )
        if part.get("unseen_tools"):
            m = part["metrics"]
            lines += ["", f"Never called in training: {', '.join(part['unseen_tools'])} "
                      f"({m.get('n_unseen_tool_calls')} gold calls): unseen_tool_name_f1 "
                      f"{fmt_value(m.get('unseen_tool_name_f1'))}, unseen_tool_args_exact "
                      f"{fmt_value(m.get('unseen_tool_args_exact'))}."]  # fmt: skip
        if part.get("categories"):
            keys = [k for k in next(iter(part["categories"].values())) if k != "n_turns"]
            lines += ["", f"## Per category ({label})", "",
                      "| category | turns | " + " | ".join(keys) + " |",
                      "|---|---:|" + "---:|" * len(keys)]  # fmt: skip
            for cat, values in part["categories"].items():
                lines.append(f"| {cat} | {values['n_turns']} | "
                             + " | ".join(fmt_value(values[k]) for k in keys) + " |")  # fmt: skip
    if summary.get("rollout"):
        lines += rollout_markdown(summary["rollout"], reports.get("fine-tuned"))
    return "\n".join(lines) + "\n"


def rollout_rows(rollout: Mapping[str, Any], replay: Mapping[str, Any] | None) -> list[list[Any]]:
    """``[metric, rollout value, replay value]`` for the rollout's headline metrics that have
    a value; replay is the fine-tuned model's replay metrics (None under eval.mode=rollout).
    Counts get no replay value: replay counts generations where a rollout counts DM turns."""
    m, other = rollout["metrics"], replay or {}
    rows = [[k, m.get(k), None if metric_info(k).kind == COUNT else other.get(k)]
            for k in ROLLOUT_HEADLINE]  # fmt: skip
    return [row for row in rows if row[1] is not None or row[2] is not None]


def rollout_markdown(rollout: Mapping[str, Any], replay: Mapping[str, Any] | None) -> list[str]:
    """The report.md section of the live rollouts: settings, metrics beside replay, failures."""
    s = rollout["settings"]
    decoding = "greedy" if s.get("temperature") is None else f"temperature {s['temperature']}"
    lines = [
        "", "## Live rollouts", "",
        f"The model played each conversation from its player lines, its own calls executed "
        f"(at most {s['max_rounds']} generations per DM turn, {s['seeds']} seed(s), {decoding}, "
        f"gold dice {'on' if s.get('gold_dice') else 'off'}); a conversation passes when its "
        "end state (hit points, conditions, who is in initiative) equals the gold calls' end "
        "state. Replay: the same metric from gold-history generation (docs/evaluation.md).",
        "", "| metric | rollout | replay |", "|---|---:|---:|",
    ]  # fmt: skip
    for key, value, replayed in rollout_rows(rollout, replay):
        lines.append(f"| {key} | {fmt_value(value)} | {fmt_value(replayed)} |")
    failed = [c for c in rollout["conversations"] if not c["passed"]]
    if failed:
        lines += ["", f"Failed ({len(failed)} of {len(rollout['conversations'])} plays):", ""]
        for c in failed[:20]:
            why = "; ".join(c["differences"][:4]) or "?"
            lines.append(f"- `{c['id']}` (seed {c['seed']}): {why}")
    return lines


def write_reports(out_dir: Path, summary: Mapping[str, Any]) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` into ``out_dir``.

    summary: ``{"model", "split", "n_examples", "n_turns", "adapter_dir",
    "models": {label: EvalReport.to_dict()}}``.
    """
    json_path, md_path = out_dir / "report.json", out_dir / "report.md"
    atomic_write_text(json_path, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(md_path, render_markdown(summary))
    return json_path, md_path


def log_to_tracker(tracker: Any, summary: Mapping[str, Any]) -> None:
    """Per-metric and per-tool tables (W&B tables when the tracker is W&B)."""
    if tracker is None:
        return
    reports = {label: part["metrics"] for label, part in summary["models"].items()}
    labels = list(reports)
    if summary.get("rollout"):  # the flat eval/rollout/... metrics reach W&B with the summary
        rollout = summary["rollout"]
        _table(tracker, "eval/rollout/metrics_table", ["metric", "rollout", "replay"],
               rollout_rows(rollout, reports.get("fine-tuned")))  # fmt: skip
        columns = ["id", "seed", "passed", "differences"]
        _table(tracker, "eval/rollout/conversations_table", columns,
               [[c["id"], c["seed"], c["passed"], "; ".join(c["differences"])]
                for c in rollout["conversations"]])  # fmt: skip
    if not labels:
        return
    metric_columns = ["metric", *labels] + (["delta"] if len(labels) == 2 else [])
    metric_data = [row if len(labels) == 2 else row[:-1] for row in metric_rows(reports)]
    tool_columns = [
        "model",
        "tool",
        "gold",
        "pred",
        "matched",
        "precision",
        "recall",
        "f1",
        "args_exact",
    ]
    tool_data = [[label, *(t[c] for c in tool_columns[1:])]
                 for label, part in summary["models"].items() for t in part["tools"]]  # fmt: skip
    _table(tracker, "eval/metrics_table", metric_columns, metric_data)
    _table(tracker, "eval/tools_table", tool_columns, tool_data)


def _table(tracker: Any, key: str, columns: list[str], data: list[list[Any]]) -> None:
    try:
        tracker.log_table(key, columns, data)  # dnd_ft.tracking.Tracker: a wandb.Table under W&B
    except Exception as exc:  # tracking is a side channel: never lose an eval run to it
        log.warning("could not log %s to the tracker: %s", key, exc)
