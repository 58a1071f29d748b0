"""The metrics of live rollouts (`dnd_ft.evaluation.rollout`): end-state pass rates, pass^k,
and the usual tool-call metrics over the model's own calls.

Pure given the records `rollout.play` wrote: tests call it on hand-built records.

- ``pass_rate``: the share of conversations whose end state equals the gold end state (seed
  0); ``state_pass_rate`` the same over the conversations whose gold calls change the state
  (the others pass by calling nothing that changes it); ``n_state_conversations`` counts them.
- ``pass_hat_k`` / ``pass_at_k`` (``eval.rollout.seeds`` = k > 1): the share passed in all k
  plays (tau-bench's pass^k) / in at least one.
- tool metrics (`toolcalls.ToolCallStats`, seed 0): per DM turn, every call the model made in
  its rounds against every gold call of the turn, matched order-free as replay matches one
  generation's calls; ``malformed_rate`` is the share of DM turns with a malformed call.
- ``exec_rate``: the model's calls that ran without an error result; ``mean_rounds``: model
  generations per DM turn; ``capped_rate`` / ``n_capped_turns``: DM turns stopped by
  ``eval.rollout.max_rounds`` while still calling; ``n_gold_dice``: rolls shown from the gold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dnd_ft.evaluation import toolcalls
from dnd_ft.evaluation.config import METRICS, MetricsConfig

# Shown in the report's rollout table, in this order; metrics.json holds every key.
ROLLOUT_HEADLINE = (
    "pass_rate", "state_pass_rate", "pass_hat_k", "pass_at_k", "tool_name_f1",
    "tool_args_exact", "tool_turn_exact", "irrelevance_acc", "malformed_rate", "exec_rate",
    "mean_rounds", "capped_rate", "n_examples", "n_state_conversations", "n_turns", "n_seeds",
)  # fmt: skip


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def score_rollouts(
    rows: Sequence[Mapping[str, Any]],
    records: Sequence[Sequence[dict[str, Any]]],
    registry: Any = None,
    options: MetricsConfig = METRICS,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(metrics, per-tool rows)`` of rollout ``records`` (``records[seed][conversation]``).

    Each turn of seed 0 gains a ``score`` entry (exact, problems), so the saved rollouts
    explain the tool metrics.
    """
    by_id = {str(r["id"]): r for r in rows}
    first = list(records[0]) if records else []
    stats = toolcalls.ToolCallStats()
    for play in first:
        row = by_id[play["id"]]
        offered = {t.get("function", t).get("name") for t in row.get("tools") or []} or None
        schemas = {t.get("function", t)["name"]: t.get("function", t).get("parameters", {})
                   for t in row.get("tools") or []} or None  # fmt: skip
        for turn in play["turns"]:
            score = toolcalls.score_turn(
                [{"name": c["name"], "arguments": c["arguments"]} for c in turn["calls"]],
                turn["gold"]["tool_calls"], malformed=turn["malformed"], offered=offered,
                registry=registry, schemas=schemas, free_text=options.free_text_args,
                unordered=options.unordered_args,
            )  # fmt: skip
            stats.add(score)
            turn["score"] = {"exact": score.exact, "problems": score.problems}
    metrics: dict[str, Any] = dict(stats.summary())
    metrics.update(end_state_metrics(records))
    turns = [t for play in first for t in play["turns"]]
    calls = [c for t in turns for c in t["calls"]]
    failed = sum(isinstance(c["result"], Mapping) and set(c["result"]) == {"error"} for c in calls)
    capped = sum(bool(t["capped"]) for t in turns)
    metrics.update({
        "exec_rate": _ratio(len(calls) - failed, len(calls)),
        "mean_rounds": _ratio(sum(t["rounds"] for t in turns), len(turns)),
        "capped_rate": _ratio(capped, len(turns)),
        "n_capped_turns": capped,
        "n_gold_dice": sum(int(p.get("gold_dice", 0)) for p in first),
    })  # fmt: skip
    return metrics, stats.tool_rows()


def end_state_metrics(records: Sequence[Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    """pass_rate and state_pass_rate (seed 0), and with k > 1 seeds pass_hat_k and pass_at_k."""
    first = list(records[0]) if records else []
    changing = [p for p in first if p["gold_changes_state"]]
    metrics: dict[str, Any] = {
        "pass_rate": _ratio(sum(bool(p["passed"]) for p in first), len(first)),
        "state_pass_rate": _ratio(sum(bool(p["passed"]) for p in changing), len(changing)),
        "n_examples": len(first),
        "n_state_conversations": len(changing),
        "n_seeds": len(records),
    }
    if len(records) > 1:
        by_id: dict[str, list[bool]] = {}
        for plays in records:
            for p in plays:
                by_id.setdefault(p["id"], []).append(bool(p["passed"]))
        metrics["pass_hat_k"] = _ratio(sum(all(v) for v in by_id.values()), len(by_id))
        metrics["pass_at_k"] = _ratio(sum(any(v) for v in by_id.values()), len(by_id))
    return metrics
