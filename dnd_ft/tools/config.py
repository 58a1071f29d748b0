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


@dataclass
class ToolsConfig:
    name: str = MISSING  # registry name, shown in reports and hashed into the manifest
    specs: list[ToolSpecConfig] = field(default_factory=list)
    # SRD rules the look-up executors read: only 2014 carries 300+ monsters
    srd_edition: str = "2014"
    seed: int = "${seed}"  # type: ignore[assignment]  # seeds the dice executor
