"""The tool loop the phone app runs: the model writes, its calls run, the results go back.

One DM turn is up to ``max_rounds`` generations: each is parsed with the family's own parser
(`ChatFormat.parse_assistant`); well-formed calls are checked against the registry's JSON
schemas and run by the executors (seeded dice, SRD look-ups, the combat tracker); every
result (or error) goes back as a ``tool`` message in the family's format, and the model
writes again, until it answers without calling. A malformed call is shown and fed back as
an error result, never a crash. Generation is a plain function (prompt -> text), so the same
loop runs an HF model, a GGUF through llama.cpp, or a scripted model in a test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Message = dict[str, Any]
Generate = Callable[[str], str]  # a prompt in the family's format -> the raw generation

MALFORMED_TOOL = "malformed_call"  # the name the error result of an unparseable call carries


@dataclass
class Event:
    """What happened in a round, in order, for a transcript or a live display."""

    kind: str  # "reply" | "call" | "result" | "error" | "malformed" | "cap"
    text: str = ""
    name: str | None = None
    arguments: dict[str, Any] | None = None
    result: dict[str, Any] | None = None


@dataclass
class Turn:
    """One DM turn: the messages it added (assistant, tool, ..., assistant) and its events."""

    messages: list[Message] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    rounds: int = 0
    capped: bool = False  # max_rounds reached while the model was still calling

    @property
    def calls(self) -> list[Event]:
        return [e for e in self.events if e.kind == "call"]

    @property
    def reply(self) -> str:
        replies = [e.text for e in self.events if e.kind == "reply" and e.text]
        return "\n\n".join(replies)


class ToolLoop:
    """Runs DM turns over a conversation with one chat format, registry and executor.

    on_event: called with each `Event` as it happens (the terminal shows them live).
    """

    def __init__(
        self,
        fmt: Any,
        registry: Any,
        executor: Any,
        generate: Generate,
        max_rounds: int = 4,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        if max_rounds < 1:
            raise ValueError(f"max_rounds must be >= 1, got {max_rounds}")
        self.fmt, self.registry, self.executor = fmt, registry, executor
        self.generate, self.max_rounds = generate, max_rounds
        self.on_event = on_event or (lambda event: None)

    def turn(self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]] | None) -> Turn:
        """The DM's next turn after ``messages`` (which end with the player's line)."""
        turn = Turn()
        for _ in range(self.max_rounds):
            turn.rounds += 1
            prompt = self.fmt.render_prompt([*messages, *turn.messages], tools)
            parsed = self.fmt.parse_assistant(self.fmt.cut_at_stop(self.generate(prompt)))
            if parsed.content:
                self._emit(turn, Event("reply", text=parsed.content))
            if not parsed.tool_calls and not parsed.malformed:
                turn.messages.append({"role": "assistant", "content": parsed.content})
                return turn
            calls = [{"type": "function",
                      "function": {"name": c["name"], "arguments": c.get("arguments") or {}}}
                     for c in parsed.tool_calls]  # fmt: skip
            assistant: Message = {"role": "assistant", "content": parsed.content}
            if calls:
                assistant["tool_calls"] = calls
            turn.messages.append(assistant)
            for call in parsed.tool_calls:
                turn.messages.append(self._run(turn, call["name"], call.get("arguments")))
            for raw in parsed.malformed:
                self._emit(turn, Event("malformed", text=raw))
                error = {"error": "the tool call could not be parsed; write it again in the "
                                  "format the system prompt shows", "call": raw[:500]}  # fmt: skip
                turn.messages.append(tool_message(MALFORMED_TOOL, error))
        turn.capped = True
        self._emit(turn, Event("cap", text=f"stopped after {self.max_rounds} rounds of calls"))
        return turn

    def _run(self, turn: Turn, name: str, arguments: Any) -> Message:
        """Validate and execute one call; its result (or the error) as a tool message."""
        from dnd_ft.tools.errors import ToolExecutionError

        args = arguments if isinstance(arguments, dict) else {}
        self._emit(turn, Event("call", name=name, arguments=args))
        try:
            result = self.executor.execute(name, args)
        except ToolExecutionError as exc:  # unknown tool, bad arguments, unknown monster, ...
            result = {"error": str(exc)}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # a call that passed the schema but broke the handler: the model's to fix
            result = {"error": f"{type(exc).__name__}: {exc}"}
        kind = "error" if set(result) == {"error"} else "result"
        self._emit(turn, Event(kind, name=name, arguments=args, result=result))
        return tool_message(name, result)

    def _emit(self, turn: Turn, event: Event) -> None:
        turn.events.append(event)
        self.on_event(event)


def tool_message(name: str, result: Mapping[str, Any]) -> Message:
    """A tool result as the conversation stores it (compact JSON, as the corpus writes it)."""
    text = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
    return {"role": "tool", "name": name, "content": text}
