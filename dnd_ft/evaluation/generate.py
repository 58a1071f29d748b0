"""Replay held-out conversations turn by turn and let the model write each DM turn.

Every assistant message that starts a DM response (right after a player message, or the
continuation after tool results) becomes one prompt: the *gold* history up to it (system,
tools, earlier turns and gold tool results) rendered by the chat format, so a wrong early
answer never derails later turns. Prompts are generated in batches with left padding,
longest first (padding waste is smallest when neighbours have similar lengths, and an
out-of-memory batch shows up at the start, not after an hour).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dnd_ft.evaluation.toolcalls import as_call

log = logging.getLogger(__name__)


@dataclass
class TurnPrompt:
    """One DM turn to generate: where it is, its prompt and the gold answer."""

    example_id: str
    turn: int  # index of the gold assistant message in the example's messages
    prompt: str
    gold: dict[str, Any]  # {"content": str, "tool_calls": [{"name", "arguments"}]}


@dataclass
class Generation:
    text: str  # decoded new tokens, cut at the first stop string
    prompt_tokens: int
    new_tokens: int
    truncated: bool  # the prompt lost its oldest tokens to fit the context window


def dm_turns(messages: Sequence[Mapping[str, Any]]) -> list[int]:
    """Indices of the assistant messages that start a DM response (after a user or tool)."""
    return [
        i for i, m in enumerate(messages)
        if m.get("role") == "assistant" and i > 0 and messages[i - 1].get("role") in ("user", "tool")
    ]  # fmt: skip


def gold_turn(message: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "content": str(message.get("content") or ""),
        "tool_calls": [as_call(c) for c in message.get("tool_calls") or []],
    }


def build_prompts(rows: Sequence[Mapping[str, Any]], fmt: Any) -> list[TurnPrompt]:
    """One `TurnPrompt` per DM turn of every example, in data order."""
    prompts = []
    for row in rows:
        messages = row["messages"]
        for i in dm_turns(messages):
            prompt = fmt.render_prompt(messages[:i], row.get("tools"))
            prompts.append(TurnPrompt(str(row["id"]), i, prompt, gold_turn(messages[i])))
    return prompts


def generate_texts(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    batch_size: int = 8,
    max_new_tokens: int = 256,
    stop_strings: Sequence[str] = (),
    do_sample: bool = False,
    temperature: float = 1.0,
    max_length: int | None = None,
    seed: int = 0,
) -> list[Generation]:
    """Generate a continuation of each prompt; results come back in the prompts' order.

    max_length: context window in tokens; a prompt longer than ``max_length - max_new_tokens``
    keeps only its newest tokens (and is flagged ``truncated``).
    """
    import torch

    if not prompts:
        return []
    tokenizer.padding_side = "left"  # generation continues at the right edge of every row
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    budget = max_length - max_new_tokens if max_length else None
    if budget is not None and budget < 1:
        raise ValueError(
            f"eval.max_new_tokens={max_new_tokens} leaves no room for a prompt in a context of "
            f"{max_length} tokens; lower eval.max_new_tokens or raise model.max_seq_length"
        )
    truncated = [budget is not None and len(ids) > budget for ids in encoded]
    if any(truncated):
        log.warning("%d of %d prompts exceed %d tokens and lose their oldest tokens",
                    sum(truncated), len(prompts), budget)  # fmt: skip
        encoded = [ids[-budget:] if t else ids for ids, t in zip(encoded, truncated, strict=True)]
    stop_ids = {tokenizer.pad_token_id, tokenizer.eos_token_id} - {None}
    gen_kwargs: dict[str, Any] = {
        "max_new_tokens": max_new_tokens,
        "do_sample": do_sample,
        "pad_token_id": tokenizer.pad_token_id,
    }
    if do_sample:
        gen_kwargs["temperature"] = temperature
        torch.manual_seed(seed)
    else:  # silence "temperature is ignored" warnings from models whose defaults sample
        gen_kwargs.update(temperature=None, top_p=None, top_k=None)
    if stop_strings:
        gen_kwargs.update(stop_strings=list(stop_strings), tokenizer=tokenizer)

    order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
    results: list[Generation | None] = [None] * len(prompts)
    model.eval()
    device = next(model.parameters()).device
    start = time.perf_counter()
    n_batches = -(-len(order) // batch_size)
    progress = _Progress(f"generate {len(prompts)} turns", n_batches)
    for b in range(0, len(order), batch_size):
        batch = order[b : b + batch_size]
        padded = {
            k: v.to(device)
            for k, v in left_pad([encoded[i] for i in batch], tokenizer.pad_token_id).items()
        }
        with torch.inference_mode():
            out = model.generate(**padded, **gen_kwargs)
        width = padded["input_ids"].shape[1]
        for row, i in enumerate(batch):
            new = out[row, width:].tolist()
            end = next((k for k, t in enumerate(new) if t in stop_ids), len(new))
            text = tokenizer.decode(new[:end], skip_special_tokens=False)
            results[i] = Generation(_cut(text, stop_strings), len(encoded[i]), end, truncated[i])
        progress.advance()
    progress.stop()
    seconds = time.perf_counter() - start
    new_total = sum(r.new_tokens for r in results if r)
    log.info("generated %d turns, %d tokens in %.1fs (%.1f tokens/s)",
             len(prompts), new_total, seconds, new_total / max(seconds, 1e-9))  # fmt: skip
    return [r for r in results if r is not None]


class _Progress:
    """A rich bar on a terminal; elsewhere (logs, CI) an INFO line every tenth of the work."""

    def __init__(self, description: str, total: int) -> None:
        from rich.console import Console
        from rich.progress import Progress

        self.total, self.done, self.description = total, 0, description
        console = Console(stderr=True)
        self._bar = Progress(console=console, transient=True) if console.is_terminal else None
        if self._bar is not None:
            self._task = self._bar.add_task(description, total=total)
            self._bar.start()

    def advance(self) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
        elif self.done == self.total or self.done % max(1, self.total // 10) == 0:
            log.info("%s: batch %d/%d", self.description, self.done, self.total)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def left_pad(rows: Sequence[Sequence[int]], pad_id: int) -> dict[str, Any]:
    """``input_ids`` and ``attention_mask`` tensors with every row right-aligned."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for k, r in enumerate(rows):
        if r:
            ids[k, width - len(r) :] = torch.tensor(r, dtype=torch.long)
            mask[k, width - len(r) :] = 1
    return {"input_ids": ids, "attention_mask": mask}


def _cut(text: str, stops: Sequence[str]) -> str:
    cut = len(text)
    for stop in stops:
        i = text.find(stop)
        if 0 <= i < cut:
            cut = i
    return text[:cut]


def predict(
    model: Any,
    tokenizer: Any,
    fmt: Any,
    rows: Sequence[Mapping[str, Any]],
    **generate_kwargs: Any,
) -> list[dict[str, Any]]:
    """Generate and parse every DM turn of ``rows``; one prediction record per turn.

    A record holds the example and turn, the raw generation, the parsed content, calls and
    malformed calls, token counts and the gold turn beside it.
    """
    by_id = {str(r["id"]): r for r in rows}
    prompts = build_prompts(rows, fmt)
    generations = generate_texts(
        model, tokenizer, [p.prompt for p in prompts],
        stop_strings=fmt.stop_strings, **generate_kwargs,
    )  # fmt: skip
    records = []
    for p, g in zip(prompts, generations, strict=True):
        parsed = fmt.parse_assistant(g.text)
        row = by_id[p.example_id]
        records.append({
            "id": p.example_id,
            "scenario_id": row.get("scenario_id"),
            "category": row.get("category"),
            "turn": p.turn,
            "raw": g.text,
            "content": parsed.content,
            "tool_calls": [as_call(c, strict=False) for c in parsed.tool_calls],
            "malformed": list(parsed.malformed),
            "prompt_tokens": g.prompt_tokens,
            "new_tokens": g.new_tokens,
            "truncated": g.truncated,
            "gold": p.gold,
        })  # fmt: skip
    return records
