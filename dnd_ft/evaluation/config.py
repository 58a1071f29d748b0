"""Schema of the `eval` group and its cross-field checks.

The defaults here are the only ones: the metric modules take theirs from `METRICS`, and
configs/eval/*.yaml only override. docs/evaluation.md defines every metric.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnd_ft.config.checks import one_of
from dnd_ft.config.options import group_options
from dnd_ft.models.identity import mismatch

SPLITS = ("train", "val", "test")
MODES = ("replay", "rollout", "both")


@dataclass
class MetricsConfig:
    """Knobs of the metrics (``eval.metrics``)."""

    # Tool-call arguments that are prose (what a roll is for): no two writers phrase it alike,
    # so BFCL's exact string rule would only measure wording. Type-checked, never compared.
    free_text_args: list[str] = field(default_factory=lambda: ["reason"])
    # Array arguments that are sets (uniqueItems): compared ignoring order (BFCL compares
    # lists in order); the order of combatants is not a decision the DM makes.
    unordered_args: list[str] = field(default_factory=lambda: ["combatants"])
    # Tools whose calls change the combat tracker: replayed for the state-match check.
    state_tools: list[str] = field(
        default_factory=lambda: ["apply_damage", "heal", "start_initiative", "add_condition"]
    )
    # Tools that roll dice: a reply stating a roll without calling one invents it.
    roll_tools: list[str] = field(default_factory=lambda: ["roll_dice", "ability_check"])
    min_words: int = 3  # a DM reply shorter than this is a non-answer
    max_words: int = 250  # longer than this is a wall of text on a phone screen
    # Out-of-character phrases (case-insensitive, whole words).
    out_of_character: list[str] = field(default_factory=lambda: [
        "as an ai", "i am an ai", "i'm an ai", "an ai assistant", "ai language model",
        "language model", "as a large", "openai", "i cannot roleplay", "i can't roleplay",
        "i don't have personal", "i do not have personal", "i'm just a program",
    ])  # fmt: skip
    # Tool-call argument keys whose values must come from the context (or the SRD).
    grounded_keys: list[str] = field(
        default_factory=lambda: ["target", "character", "combatants", "name"]
    )


# The defaults, for metric functions called outside a run (tests, scripts, benchmarks).
METRICS = MetricsConfig()


@dataclass
class JudgeConfig:
    """An optional local judge model that scores replies 1-5 with a fixed rubric."""

    enabled: bool = False
    model: str = "tiny_qwen3"  # a file of configs/model/ (its name without .yaml)
    max_turns: int = 64  # judge at most this many text turns (the first ones, in data order)
    max_new_tokens: int = 8
    batch_size: int = 8


@dataclass
class RolloutConfig:
    """Live rollouts (``eval.mode=rollout`` or ``both``): the model plays each held-out
    conversation from its player lines, its own calls run, and the end state is scored."""

    max_rounds: int = 4  # generations per DM turn (each may call tools); the phone app's cap
    # k of pass^k: every conversation is played k times; pass_hat_k counts those passed all
    # k times (tau-bench). More than 1 samples at `temperature`; 1 decodes greedily.
    seeds: int = 1
    temperature: float = 1.0  # used only when seeds > 1
    max_conversations: int | None = None  # play only the first N evaluated conversations
    # A call of one of `dice_tools` made as the gold DM made it in the same DM turn (same
    # tool, arguments equal as tool_args_exact compares them) still runs, but shows the
    # gold's recorded outcome: the corpus's rolls are hand-written, so a model making the
    # gold's decisions meets the gold's dice and can reach the gold end state. false: every
    # roll comes from the seeded executor, and where damage follows a roll, pass/fail is luck.
    gold_dice: bool = True
    dice_tools: list[str] = field(
        default_factory=lambda: ["roll_dice", "ability_check", "start_initiative"]
    )


@dataclass
class EvalConfig:
    split: str = "test"  # evaluated split; falls back to `fallback_split` when it is empty
    # replay: the model writes each DM turn after the gold history (tool results included);
    # rollout: it plays the conversation with its own calls executed (`rollout`); both: both.
    mode: str = "replay"
    fallback_split: str | None = "val"
    max_examples: int | None = None  # evaluate only the first N conversations (smoke runs)
    max_new_tokens: int = 256
    batch_size: int = 8
    do_sample: bool = False  # greedy by default: metrics must not move between identical runs
    temperature: float = 1.0  # used only when do_sample
    # Greedy only: the turns of a conversation share one KV cache, extended turn by turn with
    # the gold tokens, instead of prefilling the whole history at every turn; the same tokens
    # as batched generation, one turn at a time (docs/evaluation.md). Sampling runs batched.
    reuse_cache: bool = True
    baseline: bool = True  # also evaluate the base model without the adapter
    baseline_model: str | None = None  # another configs/model/ file as the baseline instead
    adapter_dir: str | None = None  # evaluate this adapter (default: the train stage's)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)


def check_eval(cfg: Any) -> Iterable[str]:
    """Cross-field checks of `eval`: values a type alone cannot rule out."""
    e = cfg.get("eval")
    if e is None:
        return
    yield from one_of("eval.split", e.split, SPLITS)
    if e.fallback_split is not None and e.fallback_split not in SPLITS:
        yield f"eval.fallback_split: {e.fallback_split!r} is not one of {', '.join(SPLITS)} (or null)"
    for key in ("batch_size", "max_new_tokens"):
        if e[key] < 1:
            yield f"eval.{key}: must be >= 1, got {e[key]}"
    if e.max_examples is not None and e.max_examples < 1:
        yield f"eval.max_examples: must be >= 1 or null (all), got {e.max_examples}"
    if e.do_sample and e.temperature <= 0:
        yield f"eval.temperature: must be > 0 when eval.do_sample=true, got {e.temperature}"
    yield from one_of("eval.mode", e.mode, MODES)
    yield from _check_rollout(e.rollout)
    m = e.metrics
    if not 0 <= m.min_words <= m.max_words:
        yield f"eval.metrics: need 0 <= min_words <= max_words, got {m.min_words} and {m.max_words}"
    max_len = cfg.model.get("max_seq_length") if cfg.get("model") else None
    if max_len and e.max_new_tokens >= max_len:
        yield (f"eval.max_new_tokens: {e.max_new_tokens} leaves no room for the prompt in "
               f"model.max_seq_length={max_len}; lower eval.max_new_tokens")  # fmt: skip
    models = None
    for key in ("baseline_model",) + (("judge.model",) if e.judge.enabled else ()):
        name = e.baseline_model if key == "baseline_model" else e.judge.model
        models = models if models is not None else group_options("model")
        if name and name not in models:
            yield f"eval.{key}: no model config {name!r}; use one of {', '.join(models)}"
    if e.adapter_dir and not Path(e.adapter_dir).is_dir():
        yield (f"eval.adapter_dir: {e.adapter_dir} is not a folder; point it at a trained "
               "adapter (a run's adapter/ folder) or leave it unset")  # fmt: skip
    elif e.adapter_dir:
        wrong = mismatch(Path(e.adapter_dir), cfg.model, "eval.adapter_dir")
        if wrong:
            yield wrong


def _check_rollout(r: Any) -> Iterable[str]:
    for key in ("max_rounds", "seeds"):
        if r[key] < 1:
            yield f"eval.rollout.{key}: must be >= 1, got {r[key]}"
    if r.max_conversations is not None and r.max_conversations < 1:
        yield (f"eval.rollout.max_conversations: must be >= 1 or null (all), got "
               f"{r.max_conversations}")  # fmt: skip
    if r.seeds > 1 and r.temperature <= 0:
        yield (f"eval.rollout.temperature: must be > 0 when eval.rollout.seeds={r.seeds} "
               "(pass^k needs sampled rollouts to differ); raise the temperature or set "
               "eval.rollout.seeds=1 for one greedy rollout")  # fmt: skip
