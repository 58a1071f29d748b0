"""Tool-call accuracy per DM turn, following the Berkeley Function Calling Leaderboard's AST rules.

A turn's predicted calls are matched to its gold calls without regard to order (parallel calls
may come in any order): a maximum matching that first pairs as many same-name calls as possible
and, among those pairings, as many argument-exact pairs as possible. Argument agreement follows
BFCL's ``simple_function_checker``: every required argument present, no argument the schema or
the gold call lacks, the schema's type (a ``number`` accepts an int, an ``integer`` does not
accept a float or a bool), strings compared after BFCL's ``standardize_string``, lists element
by element in order. Two documented departures (docs/evaluation.md): free-text arguments such as
``reason`` are not compared, and arrays listed in ``unordered_args`` compare as multisets.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dnd_ft.evaluation.config import METRICS

# BFCL drops spaces and , . / - _ * ^ before comparing strings, lower-cases them and turns single
# quotes into double quotes, so "April 1, 2024" equals "april 1 2024".
_BFCL_STRIP = re.compile(r"[ ,./\-_*^]")
# Prose arguments (checked for type, never value) and set-like arrays: eval.metrics.
FREE_TEXT_ARGS = tuple(METRICS.free_text_args)
UNORDERED_ARGS = tuple(METRICS.unordered_args)
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),  # BFCL: a float parameter accepts an int
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
    "null": (type(None),),
}


def standardize_string(text: str) -> str:
    """BFCL's string normalisation: no spaces or ``,./-_*^``, lower case, ``'`` becomes ``"``."""
    return _BFCL_STRIP.sub("", text).lower().replace("'", '"')


def as_call(call: Mapping[str, Any], strict: bool = True) -> dict[str, Any]:
    """``{"name", "arguments": dict}`` from a parsed call or an HF ``tool_calls`` entry.

    HF entries wrap the call in ``function`` and datasets may store arguments as a JSON string;
    both are unwrapped here so every metric sees one shape. strict=False (predictions) keeps
    undecodable arguments as they are, to be scored as wrong rather than crash the run.
    """
    inner = call.get("function", call)
    args = inner.get("arguments", {})
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as exc:
            if not strict:
                return {"name": str(inner.get("name", "")), "arguments": args}
            raise ValueError(
                f"tool call {inner.get('name')!r}: arguments are not valid JSON ({exc}); "
                "fix the gold data or the format parser"
            ) from None
    return {"name": str(inner.get("name", "")), "arguments": args}


def compare_arguments(
    pred: Any,
    gold: Mapping[str, Any],
    parameters: Mapping[str, Any] | None = None,
    *,
    free_text: Collection[str] = FREE_TEXT_ARGS,
    unordered: Collection[str] = UNORDERED_ARGS,
) -> list[str]:
    """Why ``pred`` does not match ``gold``; an empty list when they agree.

    parameters: the tool's JSON schema (``type: object``); without it, types are not checked
    and every gold key is treated as known.
    """
    if not isinstance(pred, Mapping):
        return [f"arguments must be an object, got {type(pred).__name__}"]
    props = dict((parameters or {}).get("properties", {}))
    required = list((parameters or {}).get("required", ()))
    problems = [f"missing required argument {k!r}" for k in required if k not in pred]
    for key, value in pred.items():
        if parameters is not None and key not in props:
            problems.append(f"unknown argument {key!r}")
            continue
        schema = props.get(key, {})
        type_problem = _type_problem(key, value, schema)
        if type_problem:
            problems.append(type_problem)
        elif key in free_text:
            continue
        elif key not in gold:
            problems.append(f"unexpected argument {key!r}")
        elif not _values_equal(value, gold[key], key in unordered):
            problems.append(f"wrong value for {key!r}: {value!r} (expected {gold[key]!r})")
    for key in gold:
        if key not in pred and key not in free_text and key not in required:
            problems.append(f"missing argument {key!r}")
    return problems


def _type_problem(key: str, value: Any, schema: Mapping[str, Any]) -> str | None:
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else list(declared or [])
    allowed = tuple(t for n in names for t in _TYPES.get(n, ()))
    if not allowed:
        return None  # untyped (e.g. enum only): values decide
    # bool is an int subclass in Python; BFCL compares exact types, so True is not an integer.
    ok = isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed)
    if not ok:
        return f"wrong type for {key!r}: {type(value).__name__} (expected {'/'.join(names)})"
    items = schema.get("items") if isinstance(value, list | tuple) else None
    if isinstance(items, Mapping):
        for i, item in enumerate(value):
            problem = _type_problem(f"{key}[{i}]", item, items)
            if problem:
                return problem
    return None


def _normal(value: Any) -> Any:
    """A comparable form: standardized strings, floats for numbers, tuples for lists."""
    if isinstance(value, str):
        return ("s", standardize_string(value))
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", float(value))
    if isinstance(value, list | tuple):
        return ("l", tuple(_normal(v) for v in value))
    if isinstance(value, Mapping):
        return ("d", tuple(sorted((str(k), _normal(v)) for k, v in value.items())))
    return ("o", repr(value))


def _values_equal(pred: Any, gold: Any, unordered: bool) -> bool:
    a, b = _normal(pred), _normal(gold)
    if unordered and a[0] == "l" and b[0] == "l":
        return sorted(a[1], key=repr) == sorted(b[1], key=repr)
    return a == b


def match_calls(
    pred: Sequence[Mapping[str, Any]],
    gold: Sequence[Mapping[str, Any]],
    exact: Mapping[tuple[int, int], bool],
) -> list[tuple[int, int]]:
    """Pairs ``(pred index, gold index)`` of a maximum order-free matching.

    Same-name calls are interchangeable for the name count (it is min(#pred, #gold) per name
    whatever the pairing), so the argument-exact pairs are maximised first with Kuhn's
    augmenting paths and the remaining same-name calls are paired in order.
    """
    match_of_gold: dict[int, int] = {}

    def augment(p: int, seen: set[int]) -> bool:
        for g in range(len(gold)):
            if g in seen or not exact.get((p, g), False):
                continue
            seen.add(g)
            if g not in match_of_gold or augment(match_of_gold[g], seen):
                match_of_gold[g] = p
                return True
        return False

    for p in range(len(pred)):
        augment(p, set())
    pairs = {p: g for g, p in match_of_gold.items()}
    free_gold = [g for g in range(len(gold)) if g not in match_of_gold]
    for p in range(len(pred)):
        if p in pairs:
            continue
        for g in free_gold:
            if pred[p]["name"] == gold[g]["name"]:
                pairs[p] = g
                free_gold.remove(g)
                break
    return sorted(pairs.items())


@dataclass
class TurnScore:
    """Tool-call counts of one DM turn; ``problems`` explains every non-exact or unmatched call."""

    n_pred: int = 0  # parsed predicted calls (malformed ones are counted apart)
    n_gold: int = 0
    n_malformed: int = 0
    n_name_matched: int = 0
    n_args_exact: int = 0
    n_hallucinated: int = 0  # tool unknown to the registry or not offered in this example
    n_schema_valid: int = 0  # predicted calls whose arguments pass the registry's JSON schema
    per_tool: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def n_missing(self) -> int:
        return self.n_gold - self.n_name_matched

    @property
    def exact(self) -> bool:
        """BFCL's per-example verdict: same number of calls, all matched with exact arguments."""
        return (
            self.n_malformed == 0
            and self.n_pred == self.n_gold == self.n_name_matched == self.n_args_exact
        )


def score_turn(
    pred: Sequence[Mapping[str, Any]],
    gold: Sequence[Mapping[str, Any]],
    *,
    malformed: Sequence[str] = (),
    offered: Collection[str] | None = None,
    registry: Any = None,
    schemas: Mapping[str, Mapping[str, Any]] | None = None,
    free_text: Collection[str] = FREE_TEXT_ARGS,
    unordered: Collection[str] = UNORDERED_ARGS,
) -> TurnScore:
    """Score one turn's predicted calls against its gold calls.

    offered: tool names offered in this example (None: all the registry's tools).
    registry: a ToolRegistry for schema validation and known names (None: skip both).
    schemas: tool name -> parameters schema; defaults to the registry's.
    """
    pred = [as_call(c, strict=False) for c in pred]
    gold = [as_call(c) for c in gold]
    if schemas is None and registry is not None:
        schemas = {spec.name: spec.parameters for spec in registry}
    schemas = schemas or {}
    known = set(registry.names()) if registry is not None else None
    score = TurnScore(n_pred=len(pred), n_gold=len(gold), n_malformed=len(malformed))
    score.problems += [f"malformed call: {m[:80]!r}" for m in malformed]

    exact: dict[tuple[int, int], bool] = {}
    why: dict[tuple[int, int], list[str]] = {}
    for p, pc in enumerate(pred):
        for g, gc in enumerate(gold):
            if pc["name"] == gc["name"]:
                why[p, g] = compare_arguments(
                    pc["arguments"], gc["arguments"], schemas.get(gc["name"]),
                    free_text=free_text, unordered=unordered,
                )  # fmt: skip
                exact[p, g] = not why[p, g]
    pairs = match_calls(pred, gold, exact)
    matched_pred = {p for p, _ in pairs}
    matched_gold = {g for _, g in pairs}

    tools = defaultdict(lambda: {"gold": 0, "pred": 0, "matched": 0, "args_exact": 0})
    for gc in gold:
        tools[gc["name"]]["gold"] += 1
    for pc in pred:
        tools[pc["name"]]["pred"] += 1
        name = pc["name"]
        if (known is not None and name not in known) or (
            offered is not None and name not in offered
        ):
            score.n_hallucinated += 1
            score.problems.append(f"hallucinated tool {name!r}")
        elif registry is not None and not registry.validate_arguments(name, pc["arguments"]):
            score.n_schema_valid += 1
    for p, g in pairs:
        name = gold[g]["name"]
        tools[name]["matched"] += 1
        score.n_name_matched += 1
        if exact[p, g]:
            tools[name]["args_exact"] += 1
            score.n_args_exact += 1
        else:
            score.problems += [f"{name}: {w}" for w in why[p, g]]
    score.problems += [
        f"missing call {gold[g]['name']}" for g in range(len(gold)) if g not in matched_gold
    ]
    score.problems += [
        f"extra call {pred[p]['name']}" for p in range(len(pred)) if p not in matched_pred
    ]
    score.per_tool = {k: dict(v) for k, v in tools.items()}
    return score


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _precision(matched: int, predicted: int, gold: int) -> float | None:
    """Precision, 0 for a model that calls nothing when calls were due (sklearn's
    ``zero_division=0``), so a silent model scores F1 0 rather than "undefined"."""
    if predicted:
        return matched / predicted
    return 0.0 if gold else None


def _f1(p: float | None, r: float | None) -> float | None:
    if p is None or r is None:
        return None
    return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class ToolCallStats:
    """Micro-averaged tool-call metrics over many turns."""

    turns: int = 0
    turns_with_gold: int = 0
    turns_exact: int = 0  # among turns with gold calls
    turns_called: int = 0  # among turns with gold calls: the model made at least one call
    no_gold_turns: int = 0
    no_gold_silent: int = 0  # among turns without gold calls: the model called nothing
    malformed_turns: int = 0
    totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    per_tool: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )

    def add(self, score: TurnScore) -> None:
        self.turns += 1
        self.malformed_turns += score.n_malformed > 0
        for key in ("n_pred", "n_gold", "n_malformed", "n_name_matched", "n_args_exact",
                    "n_hallucinated", "n_schema_valid"):  # fmt: skip
            self.totals[key] += getattr(score, key)
        if score.n_gold:
            self.turns_with_gold += 1
            self.turns_exact += score.exact
            self.turns_called += (score.n_pred + score.n_malformed) > 0
        else:
            self.no_gold_turns += 1
            self.no_gold_silent += (score.n_pred + score.n_malformed) == 0
        for tool, counts in score.per_tool.items():
            for key, value in counts.items():
                self.per_tool[tool][key] += value

    def extend(self, scores: Iterable[TurnScore]) -> ToolCallStats:
        for score in scores:
            self.add(score)
        return self

    def summary(self) -> dict[str, float | int | None]:
        """Flat metrics (fractions in [0, 1]; None where the denominator is zero)."""
        t = self.totals
        attempted = t["n_pred"] + t["n_malformed"]
        precision = _precision(t["n_name_matched"], attempted, t["n_gold"])
        recall = _ratio(t["n_name_matched"], t["n_gold"])
        return {
            "tool_name_precision": precision,
            "tool_name_recall": recall,
            "tool_name_f1": _f1(precision, recall),
            "tool_args_exact": _ratio(t["n_args_exact"], t["n_name_matched"]),
            "tool_turn_exact": _ratio(self.turns_exact, self.turns_with_gold),
            "tool_call_rate": _ratio(self.turns_called, self.turns_with_gold),
            "irrelevance_acc": _ratio(self.no_gold_silent, self.no_gold_turns),
            "hallucination_rate": _ratio(t["n_hallucinated"], t["n_pred"]),
            "missing_rate": _ratio(t["n_gold"] - t["n_name_matched"], t["n_gold"]),
            "malformed_rate": _ratio(self.malformed_turns, self.turns),
            "schema_valid_rate": _ratio(t["n_schema_valid"], t["n_pred"]),
            "n_turns": self.turns,
            "n_gold_calls": t["n_gold"],
            "n_pred_calls": t["n_pred"],
            "n_malformed_calls": t["n_malformed"],
        }

    def tool_rows(self) -> list[dict[str, Any]]:
        """One row per tool seen in gold or predictions: counts, precision, recall, F1, args."""
        rows = []
        for tool in sorted(self.per_tool):
            c = self.per_tool[tool]
            precision = _precision(c["matched"], c["pred"], c["gold"])
            recall = _ratio(c["matched"], c["gold"])
            rows.append({
                "tool": tool, "gold": c["gold"], "pred": c["pred"], "matched": c["matched"],
                "precision": precision, "recall": recall, "f1": _f1(precision, recall),
                "args_exact": _ratio(c["args_exact"], c["matched"]),
            })  # fmt: skip
        return rows
