"""FunctionGemma's ``{key:value}`` object syntax: serializer, parser and tool declarations.

Strings go between ``<escape>`` tokens, numbers, booleans and null are bare, lists are
``[a,b]``, objects ``{k:v}`` with keys in ``dictsort`` order (case-insensitive, as the chat
template's Jinja ``dictsort`` sorts). Keys are bare in calls and responses (the template's
``escape_keys=False``); a key that a bare key could not carry (``:``, ``,``, braces, spaces,
...) is written escaped so the round trip stays exact. The only value that cannot be written
is a string containing ``<escape>`` itself.

Sources: google/functiongemma-270m-it ``chat_template.jinja`` (macros ``format_argument``,
``format_parameters``, ``format_function_declaration``), as mirrored by the BFCL FunctionGemma
handler, Cactus ``cactus/ffi/gemma_tools.h`` and LiteRT-LM ``prompt_template_utils.cc``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from dnd_ft.chat.tokens import GEMMA

ESC = GEMMA["escape"]
_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")
_STRUCTURAL = ",:{}[]"


class FGSyntaxError(ValueError):
    """Text that is not valid FunctionGemma object syntax; the message names the offset."""


def dictsort(mapping: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Items sorted like Jinja's ``dictsort`` (case-insensitive keys, stable)."""
    return sorted(mapping.items(), key=lambda kv: str(kv[0]).lower())


def escape(text: str) -> str:
    return f"{ESC}{text}{ESC}"


def format_value(value: Any, escape_keys: bool = False) -> str:
    """One value in FunctionGemma syntax (``format_argument`` of the template)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if ESC in value:
            raise ValueError(f"string {value!r} contains {ESC}, which FunctionGemma cannot escape")
        return escape(value)
    if isinstance(value, int | float):
        return json.dumps(value)  # repr-exact: 3, 2.5, 1e-05
    if isinstance(value, Mapping):
        return format_object(value, escape_keys)
    if isinstance(value, list | tuple):
        return "[" + ",".join(format_value(v, escape_keys) for v in value) + "]"
    raise ValueError(f"cannot write {type(value).__name__} {value!r} in FunctionGemma syntax")


def format_object(mapping: Mapping[str, Any], escape_keys: bool = False) -> str:
    parts = []
    for key, value in dictsort(mapping):
        key = str(key)
        written = escape(key) if escape_keys or not _BARE_KEY.match(key) else key
        parts.append(f"{written}:{format_value(value, escape_keys)}")
    return "{" + ",".join(parts) + "}"


def parse_value(text: str) -> Any:
    """Inverse of `format_value`: the whole of ``text`` must be one value."""
    parser = _Parser(text)
    value = parser.value()
    parser.skip_space()
    if parser.pos != len(text):
        raise FGSyntaxError(
            f"unexpected {text[parser.pos : parser.pos + 20]!r} at offset {parser.pos}"
        )
    return value


def parse_prefix(text: str) -> tuple[Any, int]:
    """Parse one value at the start of ``text``; returns it and the offset just after it."""
    parser = _Parser(text)
    return parser.value(), parser.pos


class _Parser:
    """Recursive descent over the syntax; lenient with spaces and unescaped bare words."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def error(self, what: str) -> FGSyntaxError:
        near = self.text[self.pos : self.pos + 20]
        return FGSyntaxError(f"expected {what} at offset {self.pos}, found {near!r}")

    def value(self) -> Any:
        self.skip_space()
        text, pos = self.text, self.pos
        if text.startswith(ESC, pos):
            return self.string()
        if pos >= len(text):
            raise self.error("a value")
        if text[pos] == "{":
            return self.obj()
        if text[pos] == "[":
            return self.array()
        return self.bare()

    def string(self) -> str:
        start = self.pos + len(ESC)
        end = self.text.find(ESC, start)
        if end == -1:
            raise self.error(f"a closing {ESC}")
        self.pos = end + len(ESC)
        return self.text[start:end]

    def obj(self) -> dict[str, Any]:
        self.pos += 1  # {
        out: dict[str, Any] = {}
        self.skip_space()
        if self.text.startswith("}", self.pos):
            self.pos += 1
            return out
        while True:
            key = self.key()
            self.skip_space()
            if not self.text.startswith(":", self.pos):
                raise self.error("':' after a key")
            self.pos += 1
            out[key] = self.value()
            self.skip_space()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif self.text.startswith("}", self.pos):
                self.pos += 1
                return out
            else:
                raise self.error("',' or '}'")

    def key(self) -> str:
        self.skip_space()
        if self.text.startswith(ESC, self.pos):
            return self.string()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _STRUCTURAL:
            self.pos += 1
        key = self.text[start : self.pos].strip()
        if not key:
            raise self.error("a key")
        return key

    def array(self) -> list[Any]:
        self.pos += 1  # [
        out: list[Any] = []
        self.skip_space()
        if self.text.startswith("]", self.pos):
            self.pos += 1
            return out
        while True:
            out.append(self.value())
            self.skip_space()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif self.text.startswith("]", self.pos):
                self.pos += 1
                return out
            else:
                raise self.error("',' or ']'")

    def bare(self) -> Any:
        """A number, true/false/null, or (leniently) an unescaped word read as a string."""
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _STRUCTURAL:
            if self.text.startswith(ESC, self.pos):
                break
            self.pos += 1
        word = self.text[start : self.pos].strip()
        if not word:
            raise self.error("a value")
        if word in ("true", "false"):
            return word == "true"
        if word == "null":
            return None
        match = _NUMBER.fullmatch(word)
        if match:
            return float(word) if match.group(1) or match.group(2) else int(word)
        return word


# --- tool declarations ------------------------------------------------------------------


def format_declaration(tool: Mapping[str, Any]) -> str:
    """``declaration:NAME{description:...,parameters:{...}}`` for an HF tool schema.

    Mirrors ``format_function_declaration``: per property its description, ``enum`` (strings),
    nested ``properties``/``required`` (objects) or ``items`` (arrays), then its upper-case
    type; other JSON-schema keywords (minimum, minLength, ...) are not shown to the model.
    One deviation: the template skips properties *named* description/type/properties/
    required/nullable; we keep them, so no parameter ever disappears from a declaration.
    """
    func = tool.get("function", tool)
    out = f"declaration:{func['name']}{{description:{escape(func.get('description') or '')}"
    params = func.get("parameters")
    if params:
        parts = []
        if params.get("properties"):
            parts.append("properties:{" + _format_properties(params["properties"]) + "}")
        if params.get("required"):
            parts.append("required:" + format_value(list(params["required"])))
        if params.get("type"):
            parts.append("type:" + escape(str(params["type"]).upper()))
        out += ",parameters:{" + ",".join(parts) + "}"
    return out + "}"


def _format_properties(properties: Mapping[str, Any]) -> str:
    return ",".join(_format_property(k, v) for k, v in dictsort(properties))


def _format_property(key: str, schema: Mapping[str, Any]) -> str:
    kind = str(schema.get("type", "")).upper()
    out = f"{key}:{{description:{escape(schema.get('description') or '')}"
    if kind == "STRING" and schema.get("enum"):
        out += ",enum:" + format_value(list(schema["enum"]), escape_keys=True)
    elif kind == "OBJECT":
        out += ",properties:{" + _format_properties(schema.get("properties") or {}) + "}"
        if schema.get("required"):
            out += ",required:" + format_value(list(schema["required"]))
    elif kind == "ARRAY" and isinstance(schema.get("items"), Mapping) and schema["items"]:
        out += ",items:{" + _format_items(schema["items"]) + "}"
    return out + f",type:{escape(kind)}}}"


def _format_items(items: Mapping[str, Any]) -> str:
    parts = []
    for key, value in dictsort(items):
        if value is None:
            continue
        if key == "properties" and isinstance(value, Mapping):
            parts.append("properties:{" + _format_properties(value) + "}")
        elif key == "required":
            parts.append("required:" + format_value(list(value)))
        elif key == "type":
            upper = value.upper() if isinstance(value, str) else [str(v).upper() for v in value]
            parts.append("type:" + format_value(upper))
        else:
            parts.append(f"{key}:" + format_value(value, escape_keys=True))
    return ",".join(parts)
