"""The tool registry: which tools exist, their JSON schemas, and argument validation.

Tools are declared as data (``configs/tools/*.yaml``); the registry is the one place the rest
of the pipeline asks "is this a tool, are these arguments valid, what do I show the model".
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from jsonschema import validators

from dnd_ft.tools.errors import RegistryError, UnknownToolError
from dnd_ft.tools.fastcheck import Check, compile_check
from dnd_ft.tools.loading import SPEC_LISTS, Section, parse_entries, parse_sections, read_spec_file
from dnd_ft.tools.spec import ToolSpec


def default_registry_path() -> Path:
    """``configs/tools/default.yaml`` of this checkout (the package is used from the repo)."""
    return Path(__file__).resolve().parents[2] / "configs" / "tools" / "default.yaml"


class ToolRegistry:
    """An ordered, immutable set of `ToolSpec` keyed by name."""

    def __init__(self, specs: Iterable[ToolSpec], name: str = "custom") -> None:
        self.name = name
        self._specs: dict[str, ToolSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise RegistryError(f"duplicate tool name {spec.name!r} in registry {name!r}")
            self._specs[spec.name] = spec
        self._validators: dict[str, tuple[Any, Check | None]] = {}  # built on first use

    # --- construction -------------------------------------------------------------------

    @classmethod
    def from_specs(cls, specs: Iterable[Any], name: str = "custom") -> ToolRegistry:
        """Build from dicts (plain or OpenAI form) or `ToolSpec`s; `RegistryError` lists all problems."""
        return cls(parse_entries(specs), name=name)

    @classmethod
    def from_file(cls, path: str | Path) -> ToolRegistry:
        """Load a YAML/JSON registry file (Hydra group file, bare list or OpenAI list)."""
        name, specs = read_spec_file(path)
        return cls(specs, name=name)

    @classmethod
    def default(cls) -> ToolRegistry:
        """The project's default registry, ``configs/tools/default.yaml``."""
        path = default_registry_path()
        if not path.is_file():
            raise RegistryError(
                f"{path}: default tool registry not found; dnd_ft.tools expects to run from a "
                "checkout of the repository (pip install -e .)"
            )
        return cls.from_file(path)

    @classmethod
    def from_config(cls, cfg: Any) -> ToolRegistry:
        """Build from the ``tools`` config group: a `ToolsConfig`, a ``DictConfig`` or a mapping.

        Its ``specs`` come first, then its ``extra_specs`` (what a file extending another adds).
        """
        if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
            cfg = dataclasses.asdict(cfg)
        if not isinstance(cfg, Mapping):
            raise RegistryError(
                f"tools config must be a mapping with name and specs, got {type(cfg).__name__}"
            )
        specs = cfg.get("specs")
        if specs is None:
            raise RegistryError(
                "tools.specs is missing; add a list of tool specs to the tools group"
            )
        sections = [
            Section(key, list(cfg.get(key) or []), source=f"tools.{key}") for key in SPEC_LISTS
        ]
        return cls(parse_sections(sections), name=str(cfg.get("name") or "custom"))

    # --- queries ------------------------------------------------------------------------

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def __repr__(self) -> str:
        return f"ToolRegistry(name={self.name!r}, tools={self.names()!r})"

    def names(self) -> list[str]:
        """Tool names in declaration order."""
        return list(self._specs)

    def get(self, name: str) -> ToolSpec:
        """The spec of ``name``; `UnknownToolError` (a KeyError) suggests close names."""
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownToolError(self._unknown_message(name)) from None

    def validate_arguments(self, name: str, arguments: Any) -> list[str]:
        """Problems with a call's arguments, as readable messages; empty when the call is valid.

        An unknown tool is reported as a problem too (not raised), since evaluation validates
        model predictions where a hallucinated tool is just another invalid call.
        """
        if name not in self._specs:
            return [self._unknown_message(name)]
        if not isinstance(arguments, Mapping):
            return [f"arguments must be a JSON object, got {type(arguments).__name__}"]
        instance = dict(arguments)
        validator, quick = self._validator(name)
        if quick is not None and quick(instance):
            return []  # jsonschema would find nothing either (see dnd_ft/tools/fastcheck.py)
        errors = validator.iter_errors(instance)
        messages = []
        for error in errors:
            path = ".".join(str(p) for p in error.absolute_path)
            messages.append(f"{path}: {error.message}" if path else error.message)
        return sorted(messages)

    def schemas(self, names: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Specs in the chat-template format ``{"type": "function", "function": {...}}``.

        names: a subset to offer (in that order); all tools in declaration order when None.
        """
        chosen = self.names() if names is None else list(names)
        return [self.get(n).schema() for n in chosen]

    def digest(self) -> str:
        """sha256 of the canonical JSON of all specs, in order: identifies the registry in manifests.

        A spec's executor is hashed only when it has one, so the digest of registries without
        executors (every one before executors existed) stays what it was.
        """
        canonical = json.dumps(
            [
                spec.to_dict() | ({"executor": spec.executor} if spec.executor else {})
                for spec in self
            ],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    # --- helpers ------------------------------------------------------------------------

    def _validator(self, name: str) -> tuple[Any, Check | None]:
        """The tool's jsonschema validator and its quick check (None: outside the subset)."""
        pair = self._validators.get(name)
        if pair is None:
            schema = self._specs[name].parameters
            cls = validators.validator_for(schema, default=validators.Draft202012Validator)
            # the quick check mirrors Draft 2020-12 (a schema naming no other '$schema')
            quick = compile_check(schema) if cls is validators.Draft202012Validator else None
            pair = self._validators[name] = (cls(schema), quick)
        return pair

    def _unknown_message(self, name: Any) -> str:
        query = str(name)
        close = difflib.get_close_matches(query, self.names(), n=3, cutoff=0.6)
        # Also names contained in the query or containing it ("heal_target" -> heal).
        if len(query) >= 3:
            close += [n for n in self.names() if n not in close and (n in query or query in n)]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return f"unknown tool {name!r}{hint} (registry {self.name!r} has {', '.join(self.names())})"
