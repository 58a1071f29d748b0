"""One tool declaration (`ToolSpec`) and the checks that turn a raw mapping into one.

A spec is accepted in two shapes: our own ``{name, description, parameters}`` and the OpenAI
/ Hugging Face ``{"type": "function", "function": {...}}`` wrapper, so tool lists exported from
other projects load unchanged.

A spec may also name the function that runs the tool, ``executor: "package.module:function"``
(see `dnd_ft.tools.executors.external`). Tools files are trusted config, like Hydra's
``_target_``: only they declare specs; scenario files name tools, never executors. Only the
reference's syntax is checked here; it is imported when a `ToolExecutor` is built.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jsonschema import exceptions, validators

# OpenAI's rule for function names; Hugging Face chat templates insert them verbatim.
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
_SPEC_KEYS = {"name", "description", "parameters", "executor"}
# "package.module:function": a dotted module path, a colon, one attribute name
_EXECUTOR_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
_IGNORED_KEYS = {"strict"}  # OpenAI's structured-output flag: meaningless for local models


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call.

    parameters: a JSON schema of ``type: object`` describing the call's arguments.
    executor: ``"package.module:function"`` that runs the tool, or None (a built-in handler
        or none). Never shown to the model: `to_dict` and `schema` leave it out.
    """

    name: str
    description: str
    parameters: dict[str, Any] = field(hash=False)  # dicts are unhashable; name identifies a tool
    executor: str | None = None

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the required arguments, in declaration order."""
        return tuple(self.parameters.get("required", ()))

    @property
    def properties(self) -> dict[str, Any]:
        """Argument name -> its JSON schema."""
        return dict(self.parameters.get("properties", {}))

    def to_dict(self) -> dict[str, Any]:
        """Plain ``{name, description, parameters}`` (a deep copy): what the model sees."""
        return {
            "name": self.name,
            "description": self.description,
            "parameters": json.loads(json.dumps(self.parameters)),
        }

    def schema(self) -> dict[str, Any]:
        """The spec in the format chat templates take: ``{"type": "function", "function": ...}``."""
        return {"type": "function", "function": self.to_dict()}


def parse_spec(entry: Any) -> tuple[ToolSpec | None, list[str]]:
    """Turn one raw entry into a `ToolSpec`, or return the problems that prevent it.

    Every problem is collected (not just the first) so one run shows all fixes needed.
    """
    if isinstance(entry, ToolSpec):
        return entry, []
    if not isinstance(entry, Mapping):
        return None, [
            f"expected a mapping with name, description and parameters, got {type(entry).__name__}"
        ]
    problems: list[str] = []
    if "function" in entry or entry.get("type") == "function":
        entry, problems = _unwrap_openai(entry)
        if entry is None:
            return None, problems
    unknown = sorted(set(entry) - _SPEC_KEYS - _IGNORED_KEYS)
    if unknown:
        problems.append(
            f"unknown key(s) {', '.join(unknown)}; a spec has only name, description, "
            "parameters and executor"
        )
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        problems.append(
            f"name {name!r} is missing or invalid; use letters, digits, _ or - "
            "(at most 64, not starting with a digit)"
        )
    description = entry.get("description")
    if not isinstance(description, str) or not description.strip():
        problems.append("description is missing or empty; models read it to choose the tool")
    parameters, param_problems = _check_parameters(entry.get("parameters"))
    problems.extend(param_problems)
    executor = entry.get("executor")  # None also when Hydra's schema fills in the default
    if executor is not None and not (isinstance(executor, str) and _EXECUTOR_RE.match(executor)):
        problems.append(
            f"executor {executor!r} is not a 'package.module:function' reference; write the "
            "module's import path, a colon and the function's name, like "
            "dnd_ft.tools.executors.spells:cast_spell"
        )
    if problems:
        return None, problems
    spec = ToolSpec(name, description.strip(), parameters, executor=executor)
    return spec, []


def _unwrap_openai(entry: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, list[str]]:
    problems = []
    if entry.get("type") != "function":
        problems.append(f"OpenAI-style spec needs type: function, got {entry.get('type')!r}")
    extra = sorted(set(entry) - {"type", "function", "executor"})
    if extra:
        problems.append(f"unknown key(s) {', '.join(extra)} beside type and function")
    inner = entry.get("function")
    if not isinstance(inner, Mapping):
        problems.append("OpenAI-style spec needs a 'function' mapping with name and description")
        return None, problems
    if entry.get("executor") is not None:  # beside type and function, or inside function
        if inner.get("executor") is not None:
            problems.append("executor is given twice, beside 'function' and inside it; keep one")
        inner = {**inner, "executor": entry["executor"]}
    return inner, problems


def _check_parameters(parameters: Any) -> tuple[dict[str, Any], list[str]]:
    if parameters is None or (isinstance(parameters, Mapping) and not parameters):
        # OpenAI allows argument-less functions; chat templates still want an object schema.
        return {"type": "object", "properties": {}}, []
    if not isinstance(parameters, Mapping):
        return {}, [f"parameters must be a JSON schema mapping, got {type(parameters).__name__}"]
    try:
        # A JSON round trip gives plain dicts (not DictConfig) and rejects non-JSON values.
        plain = json.loads(json.dumps(_to_plain(parameters)))
    except (TypeError, ValueError) as exc:
        return {}, [f"parameters are not JSON-serializable: {exc}"]
    validator_cls = validators.validator_for(plain, default=validators.Draft202012Validator)
    try:
        validator_cls.check_schema(plain)
    except exceptions.SchemaError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or "(root)"
        return {}, [f"parameters is not a valid JSON schema at {where}: {exc.message}"]
    if plain.get("type") != "object":
        return {}, [
            f"parameters must have type: object (the call's arguments), got {plain.get('type')!r}"
        ]
    return plain, []


def _to_plain(value: Any) -> Any:
    """Mappings and sequences from YAML, OmegaConf or dataclasses -> dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _to_plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_to_plain(v) for v in value]
    return value
