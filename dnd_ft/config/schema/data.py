"""Schema of the `data` group: scenario corpus, cleaning, rendering, splits and augmentation."""

from __future__ import annotations

from dataclasses import dataclass, field

from dnd_ft.scenarios.frontmatter import DEFAULT_CATEGORIES

SPLITS = ("train", "val", "test")


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
    seed: int = "${seed}"  # type: ignore[assignment]
