"""Scores on tools the model never saw called in training ("unseen" tools).

A tool can be offered to a model (its schema in the prompt) without a single training example
calling it: a tools file that grew a tool after the model was trained, or a corpus split that
left every call of a tool in the held-out scenarios. Calling such a tool right is
generalisation from its schema alone, so it is scored apart from the tools the model learnt.

The numbers come from the per-tool counts `toolcalls.ToolCallStats` already keeps (gold,
pred, matched, args_exact per tool name), summed over the unseen tools; they are defined
exactly like ``tool_name_*`` and ``tool_args_exact`` (docs/evaluation.md).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from dnd_ft.evaluation.toolcalls import _f1, _precision, _ratio

METRIC_NAMES = (
    "unseen_tool_name_precision",
    "unseen_tool_name_recall",
    "unseen_tool_name_f1",
    "unseen_tool_args_exact",
    "n_unseen_tool_calls",
)


def called_tools(rows: Iterable[Mapping[str, Any]]) -> set[str]:
    """Names of the tools called by the assistant turns of ``rows`` (dataset rows or records:
    HF ``tool_calls`` entries, wrapped in ``function`` or not)."""
    names = set()
    for row in rows:
        for message in row.get("messages") or ():
            for call in message.get("tool_calls") or ():
                name = call.get("function", call).get("name")
                if name:
                    names.add(str(name))
    return names


def trained_tools(data_dir: str | Path) -> set[str]:
    """The tools called in ``<data_dir>/train.jsonl``, the split the model was trained on."""
    from dnd_ft.data import load_split

    return called_tools(load_split(data_dir, "train"))


def unseen_metrics(
    per_tool: Mapping[str, Mapping[str, int]], trained: Collection[str]
) -> tuple[dict[str, float | int | None], list[str]]:
    """``(metrics, unseen tools)`` over the gold calls of tools not in ``trained``.

    per_tool: tool -> ``{"gold", "pred", "matched", "args_exact"}`` counts (`ToolCallStats`).
    Unseen tools are those with gold calls; a hallucinated name that no gold call uses is not
    one (it counts against ``hallucination_rate`` already). The rates are None when no gold
    call uses an unseen tool; ``n_unseen_tool_calls`` is then 0.
    """
    unseen = sorted(t for t, c in per_tool.items() if c.get("gold", 0) and t not in trained)
    total = {k: sum(per_tool[t].get(k, 0) for t in unseen)
             for k in ("gold", "pred", "matched", "args_exact")}  # fmt: skip
    precision = _precision(total["matched"], total["pred"], total["gold"])
    recall = _ratio(total["matched"], total["gold"])
    metrics: dict[str, float | int | None] = {
        "unseen_tool_name_precision": precision,
        "unseen_tool_name_recall": recall,
        "unseen_tool_name_f1": _f1(precision, recall),
        "unseen_tool_args_exact": _ratio(total["args_exact"], total["matched"]),
        "n_unseen_tool_calls": total["gold"],
    }
    return metrics, unseen
