"""Schema of the `data` group (scenario corpus, cleaning, rendering, splits, augmentation) and
its cross-field checks. The defaults here are the only ones: configs/data/*.yaml override."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnd_ft.config.checks import one_of
from dnd_ft.data.split import SPLITS
from dnd_ft.scenarios.frontmatter import DEFAULT_CATEGORIES


@dataclass
class SplitConfig:
    """Fractions of scenarios (not flows) per split; all flows of a scenario stay together."""

    train: float = 0.8
    val: float = 0.1
    test: float = 0.1


@dataclass
class FormatConfig:
    """Rendering choices of the chat format (saved in the dataset's format.json)."""

    speaker_names: bool = True  # write "Name: text" in player turns (templates drop `name`)
    # hermes: empty <think></think> block in every assistant header, as Qwen3 generates with
    # thinking off; null = on for Qwen3 models (name or hub id), off for Qwen2.5 and SmolLM2
    think: bool | None = None
    trigger: bool = (
        True  # functiongemma: Google's "You are a model that can do function calling..." line
    )
    # Also put loss on each offered tool's name where the prompt declares it (a few tokens a
    # chat): a model trained from random weights learns which names exist before it must write
    # one in a call (docs/evaluation.md, tiny models). Pretrained models read them already.
    learn_tool_names: bool = False


@dataclass
class AugmentConfig:
    enabled: bool = False
    copies: int = 1  # augmented variants per source flow and technique
    splits: list[str] = field(default_factory=lambda: ["train"])  # never val/test unless asked
    entity_substitution: bool = True  # rename party members / NPCs consistently
    srd_variation: bool = True  # swap looked-up monsters/spells for others, real SRD results
    dice_variety: bool = True  # vary dice notation and re-roll with the executor
    irrelevance: bool = True  # add turns where no tool should be called


@dataclass
class DataConfig:
    scenario_dirs: list[str] = field(default_factory=lambda: ["${paths.scenarios_dir}"])
    categories: list[str] = field(default_factory=lambda: list(DEFAULT_CATEGORIES))
    split: SplitConfig = field(default_factory=SplitConfig)
    format: FormatConfig = field(default_factory=FormatConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    unicode_form: str = "NFC"  # unicodedata normalisation applied to every message
    max_length: int = "${model.max_seq_length}"  # type: ignore[assignment]  # tokens
    drop_overlength: bool = False  # over-length examples are always reported; dropped only if set
    # Incremental training (trainer.init_from): rows of the parent's training split mixed into
    # the new one, per new training row (0.5: one old row for every two new ones), so the new
    # scenarios do not erase what the parent learned. 0 turns replay off.
    replay: float = 0.5
    seed: int = "${seed}"  # type: ignore[assignment]


def check_data(cfg: Any) -> Iterable[str]:
    """Cross-field checks of ``data``: values and combinations a type cannot rule out."""
    data = cfg.data
    if not data.replay >= 0:
        yield f"data.replay: old rows per new row, >= 0 (0 turns replay off), got {data.replay}"
    s = data.split
    fractions = (s.train, s.val, s.test)
    if any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        yield (
            f"data.split: train+val+test must be non-negative and sum to 1, got "
            f"{s.train}+{s.val}+{s.test}={sum(fractions):g}"
        )
    if not data.categories:
        yield "data.categories: list at least one scenario category"
    yield from one_of("data.unicode_form", data.unicode_form, ("NFC", "NFKC", "NFD", "NFKD"))
    aug = data.augment
    if aug.enabled and aug.copies < 1:
        yield (
            f"data.augment.copies: {aug.copies} makes no augmented rows; use 1 or more, "
            "or data.augment.enabled=false"
        )
    bad = [split for split in aug.splits if split not in SPLITS]
    if bad:
        yield f"data.augment.splits: {bad} are not splits; use some of {', '.join(SPLITS)}"
    if data.max_length < 1:
        yield f"data.max_length: {data.max_length} must be a positive number of tokens"
    if not data.scenario_dirs:
        yield "data.scenario_dirs: list at least one folder or file of scenario markdown"
    for folder in data.scenario_dirs:
        if not Path(folder).exists():
            yield (
                f"data.scenario_dirs: {folder} does not exist; point data.scenario_dirs (or "
                "paths.scenarios_dir) at a folder of scenario markdown files"
            )
