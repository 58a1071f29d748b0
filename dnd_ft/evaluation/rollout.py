"""Live rollouts: the model plays each held-out conversation with its own tool calls.

Replay (`generate.predict`) writes every DM turn after the *gold* history, so a wrong call
never changes what the model sees next. A rollout is the phone app's situation instead
(``eval.mode=rollout`` or ``both``), played per conversation:

- the executor starts fresh, as in the replay's executable checks: RNG rewound to the run's
  seed, the party's hit points parsed from the system prompt (`executable.parse_hit_points`);
- the gold player lines come in order; after each run of them the model takes its DM turn
  through `ToolLoop` (up to ``eval.rollout.max_rounds`` generations; every call validated and
  executed, its result or error fed back in the family's format). The conversation the model
  sees is the system prompt, the player lines and its *own* turns: never a gold DM turn;
- after the last player line the tracker's state is compared with the gold end state: every
  gold call of the conversation executed in order on a fresh executor with the same seed and
  hit points.

What is compared (`executable.comparable_state`), per creature by case-folded name: hp, max_hp,
damage_taken, conditions and whether it is in the initiative order; plus whether combat has
started. The initiative rolls and the order they give are not: they are dice outcomes that
depend on how many rolls came before, not decisions. A conversation passes when the two states
are equal. Dice (``eval.rollout.gold_dice``): the corpus's rolls are hand-written, not the
seeded executor's, so a model rolling exactly as the gold DM did would see other numbers and
(rightly) apply other damage. A roll made as the gold DM made it in the same DM turn therefore
shows the gold's recorded outcome (`GoldDice`); any other roll comes from the seeded RNG.

pass^k (tau-bench, Yao et al. 2024): with ``eval.rollout.seeds`` = k > 1 every conversation is
played k times, sampling at ``eval.rollout.temperature``; ``pass_hat_k`` is the share of
conversations passed in all k plays, ``pass_at_k`` in at least one. The tool metrics
(`rollout_score`) score seed 0's calls against each DM turn's gold calls.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnd_ft.agent.loop import Generate, ToolLoop, Turn
from dnd_ft.evaluation.config import METRICS, MetricsConfig
from dnd_ft.evaluation.executable import (
    comparable_state,
    fresh_executor,
    parse_hit_points,
    run_calls,
)
from dnd_ft.evaluation.toolcalls import as_call, compare_arguments

log = logging.getLogger(__name__)

Message = dict[str, Any]


@dataclass
class GoldTurn:
    """One DM turn of the gold conversation: the player lines before it, what the DM did."""

    players: list[Message] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)  # {"name", "arguments"}, in order
    results: list[Any] = field(default_factory=list)  # the gold tool result of each call
    reply: str = ""  # the DM's texts of the turn, joined
    answered: bool = False  # the DM has spoken after the player lines


def split_conversation(
    messages: Sequence[Message],
) -> tuple[list[Message], list[dict[str, Any]], list[GoldTurn]]:
    """``(context, context calls, DM turns)`` of a gold conversation.

    context: the messages before the first player line (the system prompt, any opening
    narration with its results), kept as they are; context calls: the gold calls among them.
    A DM turn is everything the DM wrote between one run of player lines and the next; player
    lines the DM never answered (a conversation ending on the player) are not played.
    """
    context: list[Message] = []
    context_calls: list[dict[str, Any]] = []
    turns: list[GoldTurn] = []
    for m in messages:
        role = m.get("role")
        if role == "user":
            if not turns or turns[-1].answered:
                turns.append(GoldTurn())
            turns[-1].players.append(m)
        elif not turns:
            context.append(m)
            context_calls += [as_call(c) for c in m.get("tool_calls") or []]
        elif role == "assistant":
            turn = turns[-1]
            turn.answered = True
            turn.calls += [as_call(c) for c in m.get("tool_calls") or []]
            if m.get("content"):
                turn.reply = "\n\n".join(x for x in (turn.reply, str(m["content"])) if x)
        elif role == "tool":  # results come in the order of the calls they answer
            turns[-1].results.append(_json_or_none(m.get("content")))
    return context, context_calls, [t for t in turns if t.answered]


def _json_or_none(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError:
        return None


class GoldDice:
    """The executor a rollout's loop drives: every call runs on ``executor`` (its schema
    check, its state change, its errors); a call of one of ``tools`` that matches an unused
    gold call of the current DM turn (`begin`) returns that call's recorded result instead.

    schemas: tool name -> parameters, for comparing arguments as tool_args_exact does (free
    text such as ``reason`` ignored, ``combatants`` as a set).
    """

    def __init__(
        self,
        executor: Any,
        tools: Collection[str],
        schemas: Mapping[str, Mapping[str, Any]],
        options: MetricsConfig = METRICS,
    ) -> None:
        self.executor, self.tools, self.schemas = executor, set(tools), schemas
        self.options = options
        self.pending: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.served = 0  # results shown from the gold

    def begin(self, gold: GoldTurn) -> None:
        """Offer the dice outcomes of ``gold`` (its calls of ``tools`` that succeeded)."""
        self.pending = [(c, r) for c, r in zip(gold.calls, gold.results, strict=False)
                        if c["name"] in self.tools and isinstance(r, dict) and "error" not in r]  # fmt: skip

    def execute(self, name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        result = self.executor.execute(name, arguments)  # raises as ever for a bad call
        for k, (call, gold_result) in enumerate(self.pending):
            same = call["name"] == name and not compare_arguments(
                arguments, call["arguments"], self.schemas.get(name),
                free_text=self.options.free_text_args, unordered=self.options.unordered_args,
            )  # fmt: skip
            if same:
                del self.pending[k]
                self.served += 1
                return dict(gold_result)
        return result


def play(
    row: Mapping[str, Any],
    fmt: Any,
    registry: Any,
    executor: Any,
    generate: Generate,
    *,
    max_rounds: int = 4,
    dice_tools: Collection[str] = (),
    options: MetricsConfig = METRICS,
) -> dict[str, Any]:
    """Play one conversation (see the module docstring); its record, ``passed`` included.

    dice_tools: tools whose gold outcomes a matching call shows (`GoldDice`); empty: none.
    options: the metric knobs (``eval.metrics``) that say how arguments compare.
    """
    messages = row["messages"]
    first = messages[0] if messages else {}
    system = str(first.get("content") or "") if first.get("role") == "system" else ""
    hit_points = parse_hit_points(system)
    context, context_calls, turns = split_conversation(messages)
    gold_calls = context_calls + [c for t in turns for c in t.calls]
    run_calls(fresh_executor(executor, hit_points), gold_calls)
    gold_state = comparable_state(executor.state)
    run_calls(fresh_executor(executor, hit_points), context_calls)
    start_state = comparable_state(executor.state)

    dice = GoldDice(executor, dice_tools, tool_schemas(row, registry), options)
    loop = ToolLoop(fmt, registry, dice, generate, max_rounds=max_rounds)
    conversation, played = list(context), []
    for gold in turns:
        conversation += gold.players
        dice.begin(gold)
        turn = loop.turn(conversation, row.get("tools"))
        conversation += turn.messages
        played.append(turn_record(gold, turn))
    end_state = comparable_state(executor.state)
    return {
        "id": str(row["id"]),
        "scenario_id": row.get("scenario_id"),
        "category": row.get("category"),
        "passed": end_state == gold_state,
        "gold_changes_state": gold_state != start_state,
        "differences": state_differences(gold_state, end_state),
        "gold_dice": dice.served,
        "turns": played,
        "end_state": end_state,
        "gold_state": gold_state,
    }


def tool_schemas(row: Mapping[str, Any], registry: Any) -> dict[str, Mapping[str, Any]]:
    """Tool name -> parameters schema: the example's offered tools, else the registry's."""
    offered = {t.get("function", t)["name"]: t.get("function", t).get("parameters", {})
               for t in row.get("tools") or []}  # fmt: skip
    if offered or registry is None:
        return offered
    return {spec.name: spec.parameters for spec in registry}


def turn_record(gold: GoldTurn, turn: Turn) -> dict[str, Any]:
    """What the model did in one DM turn (calls with the results it saw), beside the gold."""
    return {
        "players": [{"name": p.get("name"), "content": p.get("content")} for p in gold.players],
        "calls": [_call_record(e) for e in turn.events if e.kind in ("result", "error")],
        "malformed": [e.text for e in turn.events if e.kind == "malformed"],
        "reply": turn.reply,
        "rounds": turn.rounds,
        "capped": turn.capped,
        "gold": {"tool_calls": gold.calls, "content": gold.reply},
    }


def _call_record(event: Any) -> dict[str, Any]:
    return {"name": event.name, "arguments": event.arguments, "result": event.result}


def state_differences(gold: Mapping[str, Any], played: Mapping[str, Any]) -> list[str]:
    """Why two comparable states differ, one line per difference ("kestrel: hp 45 (gold 34)")."""
    out = []
    if gold["in_combat"] != played["in_combat"]:
        out.append(f"in_combat {played['in_combat']} (gold {gold['in_combat']})")
    g, p = gold["combatants"], played["combatants"]
    for name in sorted(set(g) | set(p)):
        if name not in p or name not in g:
            out.append(f"{name}: only in the {'gold' if name in g else 'rollout'} state")
            continue
        out += [f"{name}: {key} {p[name][key]} (gold {g[name][key]})"
                for key in g[name] if g[name][key] != p[name].get(key)]  # fmt: skip
    return out


class ModelGenerate:
    """``prompt -> text`` with an HF model, one prompt a call (`generate.generate_texts`);
    counts what the metrics report (new tokens, truncated prompts, seconds).

    temperature: None decodes greedily; a value samples, with a seed drawn per call from
    ``seed`` so that reruns repeat and calls differ.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        fmt: Any,
        *,
        max_new_tokens: int,
        max_length: int,
        temperature: float | None = None,
        seed: int = 0,
    ) -> None:
        self.model, self.tokenizer, self.fmt = model, tokenizer, fmt
        self.max_new_tokens, self.max_length = max_new_tokens, max_length
        self.temperature = temperature
        self.seeds = random.Random(seed)
        self.new_tokens = self.truncated = 0
        self.seconds = 0.0

    def __call__(self, prompt: str) -> str:
        from dnd_ft.evaluation.generate import generate_texts

        start = time.perf_counter()
        with _quiet("dnd_ft.evaluation.generate"):
            [gen] = generate_texts(
                self.model, self.tokenizer, [prompt], batch_size=1,
                max_new_tokens=self.max_new_tokens, stop_strings=self.fmt.stop_strings,
                do_sample=self.temperature is not None, temperature=self.temperature or 1.0,
                max_length=self.max_length, seed=self.seeds.randrange(2**31),
            )  # fmt: skip
        self.seconds += time.perf_counter() - start
        self.new_tokens += gen.new_tokens
        self.truncated += gen.truncated
        return gen.text


@contextmanager
def _quiet(name: str) -> Iterator[None]:
    """generate_texts logs a summary per call: one line per model call of a rollout is noise
    (the rollout logs per conversation instead); warnings still show."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def play_all(
    model: Any,
    tokenizer: Any,
    fmt: Any,
    rows: Sequence[Mapping[str, Any]],
    cfg: Any,
    registry: Any,
    srd: Any,
    max_length: int,
    options: MetricsConfig = METRICS,
) -> tuple[list[list[dict[str, Any]]], dict[str, Any]]:
    """Every conversation of ``rows`` played ``eval.rollout.seeds`` times.

    Returns the records per seed (``records[seed][conversation]``) and the run counters
    (``gen_tokens_per_s``, ``n_truncated_prompts``). max_length: the context window in tokens.
    """
    from dnd_ft.tools.executors import ToolExecutor

    ecfg, r = cfg.eval, cfg.eval.rollout
    executor = ToolExecutor(registry, seed=int(cfg.seed), srd=srd)  # the replay checks' seed
    dice_tools = list(r.dice_tools) if r.gold_dice else []
    sampled = int(r.seeds) > 1
    records: list[list[dict[str, Any]]] = []
    counters = {"new_tokens": 0, "truncated": 0, "seconds": 0.0}
    for s in range(int(r.seeds)):
        generate = ModelGenerate(
            model, tokenizer, fmt, max_new_tokens=int(ecfg.max_new_tokens), max_length=max_length,
            temperature=float(r.temperature) if sampled else None, seed=int(cfg.seed) * 1009 + s,
        )  # fmt: skip
        plays = []
        for i, row in enumerate(rows):
            record = play(row, fmt, registry, executor, generate, max_rounds=int(r.max_rounds),
                          dice_tools=dice_tools, options=options)  # fmt: skip
            record["seed"] = s
            plays.append(record)
            log.info("rollout %d/%d (seed %d) %s: %s%s", i + 1, len(rows), s, record["id"],
                     "pass" if record["passed"] else "fail",
                     "" if record["passed"] else f" ({'; '.join(record['differences'][:3])})")  # fmt: skip
        records.append(plays)
        counters["new_tokens"] += generate.new_tokens
        counters["truncated"] += generate.truncated
        counters["seconds"] += generate.seconds
    seconds = counters["seconds"]
    return records, {
        "gen_tokens_per_s": counters["new_tokens"] / seconds if seconds else None,
        "n_truncated_prompts": counters["truncated"],
    }


def write_predictions(out_dir: Path, records: Sequence[Sequence[dict[str, Any]]]) -> Path:
    """``predictions.jsonl``: one line per conversation and seed."""
    from dnd_ft.utils.io import atomic_write_jsonl

    path = out_dir / "predictions.jsonl"
    atomic_write_jsonl(path, [rec for plays in records for rec in plays])
    return path


def evaluate_rollouts(
    model: Any,
    tokenizer: Any,
    fmt: Any,
    rows: Sequence[Mapping[str, Any]],
    cfg: Any,
    registry: Any,
    srd: Any,
    out_dir: Path,
    *,
    max_length: int,
    options: MetricsConfig = METRICS,
) -> dict[str, Any]:
    """Play, score and save the rollouts of ``rows`` (the first
    ``eval.rollout.max_conversations``); writes ``out_dir/predictions.jsonl`` and returns the
    report's rollout section: settings, metrics, per-tool rows and each play's verdict."""
    from dnd_ft.evaluation.rollout_score import score_rollouts

    r = cfg.eval.rollout
    rows = list(rows[: r.max_conversations] if r.max_conversations else rows)
    start = time.perf_counter()
    records, counters = play_all(model, tokenizer, fmt, rows, cfg, registry, srd, max_length,
                                 options)  # fmt: skip
    metrics, tool_rows = score_rollouts(rows, records, registry, options)
    metrics.update(counters)
    path = write_predictions(out_dir, records)
    log.info("rollout: pass_rate=%s over %d conversations x %d seeds in %.0fs (%s)",
             metrics["pass_rate"], len(rows), len(records), time.perf_counter() - start, path)  # fmt: skip
    settings = {k: r[k] for k in ("max_rounds", "seeds", "gold_dice")}
    settings["temperature"] = float(r.temperature) if int(r.seeds) > 1 else None  # None: greedy
    return {
        "settings": settings,
        "metrics": metrics,
        "tools": tool_rows,
        "conversations": [
            {k: p[k] for k in ("id", "seed", "passed", "differences")}
            for plays in records
            for p in plays
        ],
    }
