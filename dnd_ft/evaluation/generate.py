"""Replay held-out conversations turn by turn and let the model write each DM turn.

Every assistant message that starts a DM response (right after a player message, or the
continuation after tool results) becomes one prompt: the *gold* history up to it (system,
tools, earlier turns and gold tool results) rendered by the chat format, so a wrong early
answer never derails later turns.

Two ways to generate them, with the same greedy tokens:

- batched (`_generate_batched`): prompts in batches with left padding, longest first
  (padding waste is smallest when neighbours have similar lengths, and an out-of-memory batch
  shows up at the start, not after an hour). Every prompt is prefilled whole.
- reusing the KV cache (`_generate_reusing`, greedy only): the turns of one conversation share
  their prefix, so its first prompt is prefilled once and each later turn adds only its new
  gold tokens to the cache; each reply is generated from a copy of it. Prefill then grows with
  the conversation's length instead of its square.
"""

from __future__ import annotations

import copy
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
    prefilled_tokens: int  # prompt tokens run through the model here; the rest came from a cache
    cache_fallback: bool  # its prompt did not extend its conversation's cache: prefilled afresh


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
    conversations: Sequence[str] | None = None,
) -> list[Generation]:
    """Generate a continuation of each prompt; results come back in the prompts' order.

    max_length: context window in tokens; a prompt longer than ``max_length - max_new_tokens``
    keeps only its newest tokens (and is flagged ``truncated``).
    conversations: one key per prompt naming its conversation, whose prompts come in turn
    order. Given, greedy generation reuses one KV cache per conversation (``batch_size`` then
    does not apply); without it, with sampling, or for a model whose cache cannot be reused,
    prompts are generated in batches.
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
    if stop_strings:  # built once, not per generate call: its scan of the vocabulary is slow
        from transformers import StoppingCriteriaList, StopStringCriteria

        criteria = StopStringCriteria(tokenizer, list(stop_strings))
        gen_kwargs["stopping_criteria"] = StoppingCriteriaList([criteria])
    decoder = _Decoder(tokenizer, gen_kwargs, stop_ids, stop_strings)

    model.eval()
    if conversations is not None and (refusal := cache_reuse_refusal(model, do_sample)):
        log.info("KV cache reuse is off (%s); generating in batches", refusal)
        conversations = None
    start = time.perf_counter()
    if conversations is None:
        results = _generate_batched(model, encoded, truncated, batch_size, decoder)
    else:
        results = _generate_reusing(model, encoded, truncated, conversations, decoder)
    seconds = time.perf_counter() - start
    new_total = sum(r.new_tokens for r in results)
    log.info("generated %d turns, %d tokens in %.1fs (%.1f tokens/s); %d prompt tokens "
             "prefilled of %d, %d cache fallbacks", len(prompts), new_total, seconds,
             new_total / max(seconds, 1e-9), sum(r.prefilled_tokens for r in results),
             sum(r.prompt_tokens for r in results), sum(r.cache_fallback for r in results))  # fmt: skip
    return results


@dataclass
class _Decoder:
    """What both generation paths share: generate's arguments, and how tokens become text."""

    tokenizer: Any
    kwargs: dict[str, Any]  # for model.generate
    stop_ids: set[int]
    stop_strings: Sequence[str]

    def result(self, new: list[int], **counts: Any) -> Generation:
        """The Generation of the ``new`` token ids; ``counts`` fill its other fields."""
        end = next((k for k, t in enumerate(new) if t in self.stop_ids), len(new))
        text = self.tokenizer.decode(new[:end], skip_special_tokens=False)
        return Generation(cut_at_stops(text, self.stop_strings), new_tokens=end, **counts)


def _generate_batched(
    model: Any, encoded: list[list[int]], truncated: list[bool], batch_size: int, decoder: _Decoder
) -> list[Generation]:
    import torch

    order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))
    results: list[Generation | None] = [None] * len(encoded)
    device = next(model.parameters()).device
    progress = Progress(f"generate {len(encoded)} turns", -(-len(order) // batch_size), "batch")
    pad_id = decoder.tokenizer.pad_token_id
    for b in range(0, len(order), batch_size):
        batch = order[b : b + batch_size]
        padded = {k: v.to(device) for k, v in left_pad([encoded[i] for i in batch], pad_id).items()}
        with torch.inference_mode():
            out = model.generate(**padded, **decoder.kwargs)
        width = padded["input_ids"].shape[1]
        for row, i in enumerate(batch):
            n = len(encoded[i])
            results[i] = decoder.result(out[row, width:].tolist(), prompt_tokens=n,
                                        truncated=truncated[i], prefilled_tokens=n,
                                        cache_fallback=False)  # fmt: skip
        progress.advance()
    progress.stop()
    return [r for r in results if r is not None]


def _generate_reusing(
    model: Any,
    encoded: list[list[int]],
    truncated: list[bool],
    conversations: Sequence[str],
    decoder: _Decoder,
) -> list[Generation]:
    """Greedy generation one turn at a time, prefilling each conversation's gold tokens once.

    The cache holds the conversation's previous prompt but its last token: generate needs at
    least one token to feed, and a prompt's last token may merge with the reply that follows
    it in the next prompt (the "\\n\\n" ending a Qwen3 prompt is one SmolLM2 token there, two
    before a reply), so a cache that held it would never match again. A prompt that does not
    start with the cached tokens (a template that renders history differently) is prefilled
    afresh and counted as a cache fallback; a truncated one too (it lost its start), counted
    only as truncated.
    """
    import torch
    from transformers import DynamicCache

    config = model.config.get_text_config(decoder=True)
    device = next(model.parameters()).device
    cache_kwarg = _cache_kwarg()
    results = []
    cache, held, current = None, [], None
    progress = Progress(f"generate {len(encoded)} turns, reusing the cache", len(encoded), "turn")
    with torch.inference_mode():
        for ids, cut, conversation in zip(encoded, truncated, conversations, strict=True):
            same = conversation == current
            extends = same and len(held) < len(ids) and ids[: len(held)] == held
            if not extends:
                cache, held = DynamicCache(config=config), []
            current = None if cut else conversation  # a truncated prompt starts nothing shared
            if new := ids[len(held) : -1]:
                tokens = torch.tensor([new], device=device)
                model(input_ids=tokens, use_cache=True, logits_to_keep=1, **{cache_kwarg: cache})
            prefilled = len(ids) - len(held)
            held = ids[:-1]
            # generate takes the whole prompt and feeds only what the cache lacks; it extends
            # its cache with its own tokens, so it gets a copy and ours keeps the gold history.
            out = model.generate(
                input_ids=torch.tensor([ids], device=device),
                attention_mask=torch.ones((1, len(ids)), dtype=torch.long, device=device),
                **{cache_kwarg: copy.deepcopy(cache)},
                **decoder.kwargs,
            )
            results.append(decoder.result(
                out[0, len(ids) :].tolist(), prompt_tokens=len(ids), truncated=cut,
                prefilled_tokens=prefilled, cache_fallback=same and not extends and not cut,
            ))  # fmt: skip
            progress.advance()
    progress.stop()
    return results


def cache_reuse_refusal(model: Any, do_sample: bool = False) -> str | None:
    """Why the turns of a conversation cannot share ``model``'s KV cache, or None.

    Reuse builds the `DynamicCache` generate builds by default, for full and sliding-window
    attention layers; other layers (recurrent, indexed) keep state that extending a prefix
    has not been checked against, and a generation config may ask for another cache.
    """
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

    if do_sample:
        # Sampling would draw the random stream in another order than the batched runner:
        # other, equally valid samples. Greedy tokens are the same both ways.
        return "sampling; reuse is for greedy decoding"
    wanted = model.generation_config.cache_implementation
    if wanted is not None:
        return f"the generation config asks for a {wanted!r} cache"
    cache = DynamicCache(config=model.config.get_text_config(decoder=True))
    known = (DynamicLayer, DynamicSlidingWindowLayer)
    other = sorted({type(x).__name__ for x in cache.layers if type(x) not in known})
    if other:
        return f"the model's cache has {', '.join(other)} layers"
    return None


def _cache_kwarg() -> str:
    """The name generate and forward give the cache: transformers 5 renamed past_key_values."""
    import inspect

    from transformers import GenerationMixin

    params = inspect.signature(GenerationMixin.prepare_inputs_for_generation).parameters
    return "cache" if "cache" in params else "past_key_values"


class Progress:
    """A rich bar on a terminal; elsewhere (logs, CI) an INFO line every tenth of the work."""

    def __init__(self, description: str, total: int, unit: str) -> None:
        from rich.console import Console
        from rich.progress import Progress

        self.total, self.done, self.description, self.unit = total, 0, description, unit
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
            log.info("%s: %s %d/%d", self.description, self.unit, self.done, self.total)

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


def cut_at_stops(text: str, stops: Sequence[str]) -> str:
    """``text`` up to the first of the stop strings."""
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
    *,
    reuse_cache: bool = False,
    **generate_kwargs: Any,
) -> list[dict[str, Any]]:
    """Generate and parse every DM turn of ``rows``; one prediction record per turn.

    A record holds the example and turn, the raw generation, the parsed content, calls and
    malformed calls, token counts and the gold turn beside it. reuse_cache: generate each
    example's turns from one KV cache (``eval.reuse_cache``; see `generate_texts`).
    """
    prompts = build_prompts(rows, fmt)
    generations = generate_texts(
        model, tokenizer, [p.prompt for p in prompts], stop_strings=fmt.stop_strings,
        conversations=[p.example_id for p in prompts] if reuse_cache else None,
        **generate_kwargs,
    )  # fmt: skip
    return prediction_records(rows, prompts, generations, fmt)


def prediction_records(
    rows: Sequence[Mapping[str, Any]],
    prompts: Sequence[TurnPrompt],
    generations: Sequence[Generation],
    fmt: Any,
) -> list[dict[str, Any]]:
    """One prediction record per turn: the generation parsed, beside its gold turn (any
    backend's generations: the HF model's here, a GGUF's in the export stage)."""
    by_id = {str(r["id"]): r for r in rows}
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
            "prefilled_tokens": g.prefilled_tokens,
            "cache_fallback": g.cache_fallback,
            "gold": p.gold,
        })  # fmt: skip
    return records
