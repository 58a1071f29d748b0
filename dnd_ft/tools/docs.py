"""Markdown reference of a tool registry, generated so docs/tools.md never drifts from the specs."""

from __future__ import annotations

from typing import Any

from dnd_ft.tools.registry import ToolRegistry
from dnd_ft.tools.spec import ToolSpec

# JSON-schema keywords shown as constraints, with how to phrase them.
_CONSTRAINTS = {
    "minimum": ">= {}",
    "exclusiveMinimum": "> {}",
    "maximum": "<= {}",
    "exclusiveMaximum": "< {}",
    "minLength": "length >= {}",
    "maxLength": "length <= {}",
    "pattern": "matches `{}`",
    "minItems": "at least {} item(s)",
    "maxItems": "at most {} item(s)",
}


def type_label(schema: dict[str, Any]) -> str:
    """Short type of an argument: ``integer``, ``array of string``, ``string | null``."""
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " | ".join(kind)
    if kind == "array" and isinstance(schema.get("items"), dict):
        kind = f"array of {type_label(schema['items'])}"
    return kind


def constraints(schema: dict[str, Any]) -> list[str]:
    """Readable constraints of an argument schema (enum, bounds, lengths, item rules)."""
    out = []
    if "enum" in schema:
        out.append("one of " + ", ".join(f"`{v}`" for v in schema["enum"]))
    if "const" in schema:
        out.append(f"exactly `{schema['const']}`")
    out += [fmt.format(schema[key]) for key, fmt in _CONSTRAINTS.items() if key in schema]
    if schema.get("uniqueItems"):
        out.append("no duplicates")
    items = schema.get("items")
    if isinstance(items, dict):
        out += [f"each {c}" for c in constraints(items)]
    if "default" in schema:
        out.append(f"default `{schema['default']}`")
    return out


def signature(spec: ToolSpec) -> str:
    """``apply_damage(target, amount, damage_type?)``: optional arguments end in ``?``."""
    required = set(spec.required)
    args = [a if a in required else f"{a}?" for a in spec.properties]
    return f"{spec.name}({', '.join(args)})"


def render_markdown(registry: ToolRegistry) -> str:
    """The full reference page: an overview table, then one section per tool."""
    lines = [
        "# Tool reference",
        "",
        f"<!-- Generated from the `{registry.name}` tool registry by "
        "`python -m dnd_ft.tools docs --out docs/tools.md`; edit the YAML, not this file. -->",
        "",
        f"Registry `{registry.name}`: {len(registry)} tools. Arguments marked `?` are optional. "
        "Every call is validated against the tool's JSON schema before it runs.",
        "",
        "| Tool | Summary |",
        "|---|---|",
    ]
    for spec in registry:
        lines.append(
            f"| [`{signature(spec)}`](#{spec.name}) | {_cell(_first_sentence(spec.description))} |"
        )
    for spec in registry:
        lines += ["", f"## {spec.name}", "", spec.description, ""]
        if not spec.properties:
            lines.append("Takes no arguments.")
            continue
        lines += [
            "| Argument | Type | Required | Constraints | Description |",
            "|---|---|---|---|---|",
        ]
        for arg, schema in spec.properties.items():
            lines.append(
                f"| `{arg}` | {_cell(type_label(schema))} | "
                f"{'yes' if arg in spec.required else 'no'} | "
                f"{_cell('; '.join(constraints(schema)))} | {_cell(schema.get('description', ''))} |"
            )
        if spec.parameters.get("additionalProperties") is False:
            lines += ["", "No other arguments are accepted."]
    return "\n".join(lines) + "\n"


def _first_sentence(text: str) -> str:
    head, sep, _ = text.partition(". ")
    return head + ("." if sep else "")


def _cell(text: str) -> str:
    """Table-safe text: pipes escaped, newlines folded."""
    return " ".join(str(text).split()).replace("|", "\\|")
