"""What every chat format provides, and the helpers they share.

A format turns a conversation in the Hugging Face convention (``messages`` + ``tools``) into
the exact text a model trains on, marks which characters carry loss, builds generation
prompts, and parses generated assistant text back into content and tool calls.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Message = Mapping[str, Any]
Span = tuple[int, int]


@dataclass(frozen=True)
class Rendered:
    """A rendered conversation.

    text: the full training text, control strings included.
    spans: ``[start, end)`` character ranges of ``text`` that carry loss (assistant content,
        tool calls and the marker that ends the assistant's output), sorted, non-overlapping.
    call_spans: the parts of ``spans`` that are tool calls (a call block, its markers
        included), for losses that weigh calls apart from prose.
    """

    text: str
    spans: list[Span] = field(default_factory=list)
    call_spans: list[Span] = field(default_factory=list)

    def loss_text(self) -> list[str]:
        """The text of each loss span, in order (handy in tests and reports)."""
        return [self.text[s:e] for s, e in self.spans]


@dataclass
class ParsedTurn:
    """Assistant output parsed back: text, well-formed calls, and raw text of broken calls."""

    content: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {"name", "arguments"}
    malformed: list[str] = field(default_factory=list)


class ChatFormat(ABC):
    """Base of all formats. Subclasses set ``name`` and ``stop_strings`` and implement
    `_render`, `render_prompt` and `parse_assistant`."""

    name: str = ""
    stop_strings: list[str] = []
    # What the format writes right before a tool's name where it declares the tool.
    declaration_prefix: str = '"name": "'
    # A whole call block in the assistant's text (markers included), as the parser reads it.
    call_block: re.Pattern[str] | None = None

    def __init__(self, *, speaker_names: bool = True, learn_tool_names: bool = False) -> None:
        self.speaker_names = speaker_names
        self.learn_tool_names = learn_tool_names

    def render(self, messages: Sequence[Message], tools: Sequence[Mapping] | None) -> Rendered:
        """The whole conversation as training text with its loss spans.

        With ``learn_tool_names`` the name of each offered tool also carries loss where the
        prompt declares it: a few tokens a chat, from which a model that starts from nothing
        learns which names exist before it has to write one in a call.
        """
        rendered = self._render(messages, tools)
        calls = self._call_spans(rendered)
        if not (self.learn_tool_names and tools):
            return Rendered(rendered.text, rendered.spans, calls)
        limit = rendered.spans[0][0] if rendered.spans else len(rendered.text)
        names = []
        for tool in tools:
            name = str(tool.get("function", tool).get("name", ""))
            at = rendered.text.find(self.declaration_prefix + name, 0, limit) if name else -1
            if at >= 0:
                start = at + len(self.declaration_prefix)
                names.append((start, start + len(name)))
        return Rendered(rendered.text, sorted(set(names)) + list(rendered.spans), calls)

    def _call_spans(self, rendered: Rendered) -> list[Span]:
        """Where the call blocks are, inside the loss spans."""
        if self.call_block is None:
            return []
        found = []
        for start, end in rendered.spans:
            for match in self.call_block.finditer(rendered.text, start, end):
                found.append(match.span())
        return found

    @abstractmethod
    def _render(self, messages: Sequence[Message], tools: Sequence[Mapping] | None) -> Rendered:
        """`render` without the declared tool names."""

    @abstractmethod
    def render_prompt(self, messages: Sequence[Message], tools: Sequence[Mapping] | None) -> str:
        """The history plus whatever opens (or continues) the assistant's next output."""

    @abstractmethod
    def parse_assistant(self, text: str) -> ParsedTurn:
        """Split generated or rendered assistant text into content and calls; never raises."""

    @property
    def options(self) -> dict[str, Any]:
        """The settings that change the rendered text or its spans (saved with the dataset)."""
        extra = {"learn_tool_names": True} if self.learn_tool_names else {}
        return {"speaker_names": self.speaker_names, **extra}

    def user_text(self, message: Message) -> str:
        """A user turn's text; ``Name: text`` when the player's name is known.

        Chat templates drop the ``name`` key, but the game master has to know which player
        acts, so every format writes it into the text the same way.
        """
        content = text_of(message)
        name = message.get("name")
        if self.speaker_names and name and message.get("role") == "user":
            return f"{name}: {content}"
        return content

    def cut_at_stop(self, text: str) -> str:
        """``text`` up to the first stop string (generation may run past it)."""
        cut = len(text)
        for stop in self.stop_strings:
            i = text.find(stop)
            if 0 <= i < cut:
                cut = i
        return text[:cut]


class TextBuilder:
    """Concatenates pieces of text, recording the character ranges that carry loss."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self.spans: list[Span] = []

    def add(self, piece: str, loss: bool = False) -> None:
        if not piece:
            return
        start = self._length
        self._parts.append(piece)
        self._length += len(piece)
        if not loss:
            return
        if self.spans and self.spans[-1][1] == start:  # merge touching spans
            self.spans[-1] = (self.spans[-1][0], self._length)
        else:
            self.spans.append((start, self._length))

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def build(self) -> Rendered:
        return Rendered(self.text, list(self.spans))


def tojson(value: Any) -> str:
    """JSON as Hugging Face's ``tojson`` template filter writes it."""
    return json.dumps(value, ensure_ascii=False)


def parse_call_blocks(
    text: str,
    block: re.Pattern[str],
    parse_call: Callable[[str], dict[str, Any] | None],
    *,
    per_line: bool = False,
) -> ParsedTurn:
    """Content and calls of ``text``, whose calls sit in the matches of ``block``.

    ``parse_call`` reads group 1 of a match (or, with ``per_line``, each non-blank line of
    it) into ``{"name", "arguments"}``, or None; then the raw text (the whole match, or the
    line) goes to ``malformed``. The content is ``text`` without the blocks, stripped.
    """
    calls: list[dict[str, Any]] = []
    malformed: list[str] = []
    for match in block.finditer(text):
        if per_line:
            pieces = [(line, line) for line in match.group(1).splitlines() if line.strip()]
        else:
            pieces = [(match.group(1), match.group(0))]
        for body, raw in pieces:
            call = parse_call(body)
            if call is None:
                malformed.append(raw)
            else:
                calls.append(call)
    return ParsedTurn(content=block.sub("", text).strip(), tool_calls=calls, malformed=malformed)


def text_of(message: Message) -> str:
    """A message's content as a string (None and missing become "")."""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal-style [{"type": "text", "text": ...}]
        return "".join(str(item.get("text", "")) for item in content if isinstance(item, Mapping))
    return str(content)


def tool_calls_of(message: Message) -> list[tuple[str, dict[str, Any]]]:
    """``(name, arguments)`` of each call of an assistant message.

    Accepts the HF form ``{"type": "function", "function": {"name", "arguments"}}`` and the
    flat ``{"name", "arguments"}``; arguments may be a dict or a JSON string.
    """
    calls = []
    for raw in message.get("tool_calls") or []:
        call = raw.get("function", raw) if isinstance(raw, Mapping) else None
        if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
            raise ValueError(f"tool call {raw!r} has no function name; expected "
                             '{"type": "function", "function": {"name": ..., "arguments": {...}}}')  # fmt: skip
        calls.append((call["name"], arguments_of(call.get("arguments"), call["name"])))
    return calls


def arguments_of(arguments: Any, name: str = "?") -> dict[str, Any]:
    """Tool-call arguments as a dict, decoding a JSON string when needed."""
    if arguments is None:
        return {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"arguments of call {name!r} are not valid JSON: {exc}") from None
    if not isinstance(arguments, Mapping):
        raise ValueError(f"arguments of call {name!r} must be a JSON object, got "
                         f"{type(arguments).__name__}")  # fmt: skip
    return dict(arguments)


def split_system(messages: Sequence[Message]) -> tuple[str | None, list[Message]]:
    """The leading system message's text (or None) and the remaining messages."""
    if messages and messages[0].get("role") == "system":
        return text_of(messages[0]), list(messages[1:])
    return None, list(messages)


def next_role(messages: Sequence[Message], i: int) -> str | None:
    return messages[i + 1].get("role") if i + 1 < len(messages) else None


def prev_role(messages: Sequence[Message], i: int) -> str | None:
    return messages[i - 1].get("role") if i > 0 else None
