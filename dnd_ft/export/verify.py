"""Checks of one GGUF against the merged HF model it came from.

- tokens: llama.cpp tokenizes sample prompts (system, tools, calls and results, as the eval
  replay renders them) exactly as the HF tokenizer does; a mismatch names the first
  differing token of the first differing prompt.
- template: the chat template in the GGUF is the one training used, and rendered by
  llama-cpp-python's Jinja formatter it gives the chat format's text for the same messages
  and tools (every DM-turn prompt of the sample conversations).
- logits: next-token logits on a training chat against the merged model in float32: the
  largest difference and how often the top token agrees. Float types must stay within
  LOGIT_BOUNDS (a share of the largest logit); quantized types only record both (their error
  is what the tool-call scores beside them judge).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from dnd_ft.chat.templates import template_messages
from dnd_ft.export.llamacpp import GGUFModel

# Largest |logit difference| allowed against the float32 merged model, as a share of its
# largest |logit| (logits of real models reach 30-40, a random tiny model's about 1.5).
# Measured (docs/export.md): f32 0.07% (tiny Qwen3, kernel rounding), f16 0.07% (tiny Qwen3)
# and 0.57% (Gemma 3 270M: 0.22 of 38). Quantized types have no bound here: q8_0 reached
# 4.8 and q4_k_m 9.1 on Gemma 3 270M; the tool-call scores beside them judge them.
# lora_f16: an f16 base with an f16 LoRA applied at load time, held to f16's bound.
LOGIT_BOUNDS = {"f32": 0.005, "f16": 0.02, "bf16": 0.05, "lora_f16": 0.02}
MIN_TOP1 = {"f32": 0.99, "f16": 0.95, "bf16": 0.9, "lora_f16": 0.95}  # argmax agrees


@dataclass
class GGUFCheck:
    quant: str
    tokens_equal: bool = False
    n_prompts: int = 0
    template_equal: bool = False
    max_logit_diff: float | None = None
    logit_scale: float | None = None  # largest |logit| of the merged model on the probe
    top1_agreement: float | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def check_gguf(
    gguf: GGUFModel,
    quant: str,
    *,
    tokenizer: Any,
    fmt: Any,
    template: str | None,
    conversations: Sequence[tuple[list[dict[str, Any]], list[Mapping] | None]],
    probe_ids: Sequence[int],
    expected_logits: Any,
) -> GGUFCheck:
    """Run the three checks (see the module docstring) on a GGUF loaded with logits_all."""
    check = GGUFCheck(quant)
    prompts = [(fmt.render_prompt(msgs[:i], tools), msgs[:i], tools)
               for msgs, tools in conversations for i in _prompt_points(msgs)]  # fmt: skip
    check.n_prompts = len(prompts)

    check.tokens_equal = True
    for text, _, _ in prompts:
        ours = tokenizer(text, add_special_tokens=False)["input_ids"]
        theirs = gguf.tokenize(text)
        if ours != theirs:
            k = first_difference(ours, theirs)
            check.tokens_equal = False
            check.problems.append(
                f"tokens: llama.cpp splits a prompt differently from the HF tokenizer at "
                f"token {k}: HF {ours[k : k + 3]} vs llama.cpp {theirs[k : k + 3]} near "
                f"{tokenizer.decode(ours[max(0, k - 3) : k + 3])!r}"
            )
            break

    embedded = gguf.metadata.get("tokenizer.chat_template")
    if template is not None and embedded != template:
        check.problems.append(
            "template: the GGUF's tokenizer.chat_template differs from the template training "
            "used (chat_template.jinja of the merged model)"
        )
    else:
        check.template_equal = True
        for text, msgs, tools in prompts:
            rendered = gguf.render_template(template_messages(msgs, fmt.name), tools)
            if rendered != text:
                at = first_difference(rendered, text)
                check.template_equal = False
                check.problems.append(
                    f"template: llama.cpp's rendering differs from the {fmt.name} format at "
                    f"character {at}: {rendered[at : at + 40]!r} vs {text[at : at + 40]!r}"
                )
                break

    import numpy as np

    got = gguf.logits(probe_ids)
    want = np.asarray(expected_logits, dtype=np.float32)[: len(got)]
    check.max_logit_diff = float(np.abs(got - want).max())
    check.logit_scale = float(np.abs(want).max())
    check.top1_agreement = float((got.argmax(-1) == want.argmax(-1)).mean())
    share, top1 = LOGIT_BOUNDS.get(quant), MIN_TOP1.get(quant)
    if share is not None:
        bound = share * check.logit_scale
        if check.max_logit_diff > bound or check.top1_agreement < top1:
            check.problems.append(
                f"logits: {quant} differs from the merged model by up to "
                f"{check.max_logit_diff:.3g} (bound {bound:.3g}: {share:.1%} of its largest "
                f"logit {check.logit_scale:.3g}) with top-1 agreement "
                f"{check.top1_agreement:.3f} (at least {top1})"
            )
    return check


def sample_conversations(
    rows: Sequence[Mapping[str, Any]], n: int = 3
) -> list[tuple[list[dict[str, Any]], list[Mapping] | None]]:
    """The first ``n`` conversations, preferring ones with tool calls and results."""
    with_calls = [r for r in rows if any(m.get("role") == "tool" for m in r["messages"])]
    chosen = (with_calls + [r for r in rows if r not in with_calls])[:n]
    return [(_plain(r["messages"]), r.get("tools")) for r in chosen]


def first_difference(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Index of the first item where ``a`` and ``b`` differ (the shorter length if one is a
    prefix of the other)."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                min(len(a), len(b)))  # fmt: skip


def _prompt_points(messages: Sequence[Mapping[str, Any]]) -> list[int]:
    """Where the eval replay cuts a prompt: before each DM turn (see generate.dm_turns)."""
    from dnd_ft.evaluation.generate import dm_turns

    return dm_turns(messages)


def _plain(messages: Any) -> list[dict[str, Any]]:
    return json.loads(json.dumps(list(messages)))
