"""Typed objects produced by the scenario parser and consumed by the data stage.

Pure Python: no torch, no transformers. Line numbers are 1-based and point into the
source markdown file so every later error can name ``file:line``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple


# ToolCall, Turn and Flow are NamedTuples: immutable like the frozen dataclasses below, and
# built by the hundred thousand per corpus, which a frozen dataclass's __init__ (a call of
# object.__setattr__ per field) makes 4% slower to lint.
class ToolCall(NamedTuple):
    name: str
    arguments: dict[str, Any]
    line: int = 0


class Turn(NamedTuple):
    """One turn of a conversation flow.

    role: ``player`` | ``dm`` | ``tool``.
    speaker: the player's ``(Name)``, or the tool name for a tool turn, else None.
    content: text of the turn as written (source lines, trailing spaces and outer blank lines
        trimmed; tool_call fences removed). For a tool turn: the result, either compact JSON
        (from a ```json fence) or text.
    tool_calls: only on DM turns; several calls are parallel calls.
    """

    role: str
    content: str
    line: int
    speaker: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()


class Flow(NamedTuple):
    """One ``## Conversation`` section: becomes one training example.

    slug: unique within the scenario; the record id is ``<scenario id>/<slug>``. It is the
    title in lower-case-dashed form, or the 1-based flow number when there is no title.
    """

    title: str
    turns: tuple[Turn, ...]
    line: int
    slug: str = ""


@dataclass(frozen=True)
class Scenario:
    id: str
    category: str
    system: str  # the full system prompt, ### subsections kept with their headings
    flows: tuple[Flow, ...]
    path: Path
    title: str = ""
    tags: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()  # names of the tools offered in this scenario


@dataclass(frozen=True)
class Problem:
    """A lint finding: rendered as ``file:line: message``."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class ParseResult:
    scenarios: list[Scenario] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems
