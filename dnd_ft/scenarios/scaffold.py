"""A starter scenario for one tool: the real format (docs/scenario-format.md), one conversation
that offers and calls the tool with placeholder arguments built from its JSON schema.

The file lints clean as written (checked before it is written), so an author starts from a
valid file and replaces the TODOs. The placeholders only satisfy the schema: "TODO" strings,
the lowest allowed numbers, an enum's first value. When the tool can run on them, its real
result is shown; otherwise a TODO result says how to get one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dnd_ft.scenarios.parser import parse_text
from dnd_ft.tools.errors import RegistryError, ToolExecutionError
from dnd_ft.tools.registry import ToolRegistry
from dnd_ft.tools.spec import ToolSpec

_TEMPLATE = """\
---
# Starter scenario for the tool {name}, written by `python -m dnd_ft.tools scaffold {name}`.
# Replace every TODO, the call's arguments too: they are placeholders that only pass the
# schema. Use names exactly as the System section writes them, then check the file:
#   python -m dnd_ft.scenarios lint {tools_flag}{file}
#   python -m dnd_ft.tools check {tools_flag}{file}
id: {id}
title: "TODO: a title (a starter for {name})"
category: {category}
tags: [starter]
tools: [{name}]
---

## System
You are the Dungeon Master for a D&D 5e session. TODO: the tone of the game, and when to use
{name}: {description}

### Party
- TODO: each character as "Name: race class, level N, HP x/y, AC z"

### Scene
TODO: where the party is and what is happening.

## Conversation: TODO the first use of {name}

### Player (TODO)
TODO: what the player says or does that calls for {name}.

### DM
```tool_call
{call}
```

### Tool: {name}
```json
{result}
```

### DM
TODO: narrate the result for the player, using its numbers.
"""


def scaffold_text(
    registry: ToolRegistry,
    name: str,
    category: str = "rules",
    tools_file: Path | None = None,
    out_dir: Path = Path("."),
) -> tuple[str, str]:
    """``(scenario id, markdown)`` of a starter scenario for tool ``name``; ``tools_file`` and
    ``out_dir`` only appear in the commands its comments show.

    Raises `UnknownToolError` for a tool the registry lacks (naming the known ones) and
    `RegistryError` when no placeholder arguments pass the tool's schema.
    """
    spec = registry.get(name)
    arguments = placeholder_arguments(spec)
    problems = registry.validate_arguments(name, arguments)
    if problems:
        raise RegistryError(
            f"tool {name!r}: no placeholder arguments pass its schema ({'; '.join(problems)}); "
            "give its parameters an `examples` or `default` value, or write the scenario by hand"
        )
    scenario_id = f"{name.replace('_', '-').lower()}-starter"
    call = {"name": name, "arguments": arguments}
    tools_flag = f"--tools {tools_file} " if tools_file else ""
    text = _TEMPLATE.format(
        name=name, id=scenario_id, category=category, description=spec.description,
        file=out_dir / f"{scenario_id}.md", tools_flag=tools_flag,
        call=json.dumps(call, ensure_ascii=False),
        result=json.dumps(_result(registry, name, arguments), ensure_ascii=False),
    )  # fmt: skip
    return scenario_id, text


def write_scaffold(
    registry: ToolRegistry,
    name: str,
    out_dir: Path,
    category: str = "rules",
    tools_file: Path | None = None,
) -> Path:
    """Write the starter scenario of ``name`` to ``out_dir/<id>.md`` and return its path.

    Refuses (`FileExistsError`) to replace an existing file. The text is linted first; a
    problem there is a bug of this module, reported rather than written.
    """
    scenario_id, text = scaffold_text(registry, name, category, tools_file, out_dir)
    path = out_dir / f"{scenario_id}.md"
    if path.exists():
        raise FileExistsError(
            f"{path} already exists; edit it, remove it, or pass another --out folder"
        )
    lint = parse_text(text, path, registry, categories=(category,))
    if lint.problems:
        raise RuntimeError(
            "the scaffold does not lint (a bug in dnd_ft/scenarios/scaffold.py):\n"
            + "\n".join(str(p) for p in lint.problems)
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as handle:  # "x": never replace a file made meanwhile
        handle.write(text)
    return path


def placeholder_arguments(spec: ToolSpec) -> dict[str, Any]:
    """A value for each required argument of ``spec`` that its schema accepts, where it can."""
    props = spec.properties
    return {key: _placeholder(props.get(key, {})) for key in spec.required}


def _placeholder(schema: Any) -> Any:
    """A simple value ``schema`` accepts (best effort: ``pattern`` and ``$ref`` are not read;
    `scaffold_text` validates the result)."""
    if not isinstance(schema, dict):
        return "TODO"
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    for key in ("enum", "examples", "anyOf", "oneOf"):
        if schema.get(key):
            first = schema[key][0]
            return _placeholder(first) if key in ("anyOf", "oneOf") else first
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind in ("integer", "number"):
        return _number(schema, kind)
    if kind == "array":
        item = schema.get("items", {})
        values = [_placeholder(item) for _ in range(int(schema.get("minItems", 0)))]
        if all(isinstance(v, str) for v in values) and len(values) > 1:
            values = [f"{v} {i}" for i, v in enumerate(values, start=1)]  # uniqueItems
        return values
    if kind == "object":
        props = schema.get("properties", {})
        return {key: _placeholder(props.get(key, {})) for key in schema.get("required", ())}
    return {"boolean": False, "null": None}.get(kind, _string(schema))


def _number(schema: dict[str, Any], kind: str) -> int | float:
    """The lowest value allowed, else 1 (or the maximum when that is below 1)."""
    if "minimum" in schema:
        value = schema["minimum"]
    elif "exclusiveMinimum" in schema:
        value = schema["exclusiveMinimum"] + 1
    else:
        value = min(1, schema.get("maximum", 1), schema.get("exclusiveMaximum", 2) - 1)
    step = schema.get("multipleOf")
    if step:
        value = -(-value // step) * step  # the next multiple at or above
    return int(value) if kind == "integer" else value


def _string(schema: dict[str, Any]) -> str:
    text = "TODO".ljust(int(schema.get("minLength", 0)), "O")
    return text[: schema["maxLength"]] if "maxLength" in schema else text


def _result(registry: ToolRegistry, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The tool's real result for the placeholder call, when it runs on it; else a TODO."""
    from dnd_ft.tools.executors import ToolExecutor

    command = f"python -m dnd_ft.tools call {name} '{json.dumps(arguments)}'"
    executor = ToolExecutor(registry, seed=0)
    if executor.has_executor(name):
        try:
            return executor.execute(name, arguments)
        except (ToolExecutionError, KeyError, TypeError, ValueError):
            pass  # placeholders a tool cannot run on ("TODO" as dice notation)
    return {"TODO": f"the tool's result for the real arguments: {command}"}
