"""Schema of the `tools` group: the tool registry, declared as data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING


@dataclass
class ToolSpecConfig:
    """One tool in the OpenAI / Hugging Face function format."""

    name: str = MISSING
    description: str = MISSING
    parameters: dict[str, Any] = field(default_factory=dict)  # a JSON schema (type: object)
    # "package.module:function" that runs the tool (dnd_ft/tools/executors/external.py); never
    # shown to the model. Only tools files set it: scenario files cannot name code to run.
    executor: str | None = None


@dataclass
class ToolsConfig:
    name: str = MISSING  # registry name, shown in reports and hashed into the manifest
    specs: list[ToolSpecConfig] = field(default_factory=list)
    # Added after specs: a file that lists `- default` in its defaults extends that set here,
    # since Hydra replaces a list on merge (configs/tools/spellcasting.yaml).
    extra_specs: list[ToolSpecConfig] = field(default_factory=list)
    # SRD rules the look-up executors read: only 2014 carries 300+ monsters
    srd_edition: str = "2014"
    seed: int = "${seed}"  # type: ignore[assignment]  # seeds the dice executor
