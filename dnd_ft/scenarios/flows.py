"""Checks on one conversation flow: turn order, call/result pairing and call arguments.

The rules (see ``docs/scenario-format.md``):

- a flow starts with a Player turn and ends with a DM turn that makes no unanswered call;
- every tool call is answered by ``### Tool: NAME`` turns right after the DM turn that made
  it, in the order the calls were made, before any other turn;
- after the tool results comes a DM turn that uses them;
- two DM turns never follow each other directly (merge them);
- every call names a tool the scenario offers and the registry knows, with arguments that
  match the tool's JSON schema.
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any

from dnd_ft.scenarios.model import Flow, ToolCall, Turn

if TYPE_CHECKING:
    from dnd_ft.tools.registry import ToolRegistry

AddProblem = Callable[[int, str], None]

# Scenario files repeat the same calls (roll_dice 1d20+5) a lot and jsonschema validation is
# the costliest check per call, so results are memoised per registry (registries are
# immutable). Bounded: cleared when full.
_MAX_CACHED = 50_000
_argument_cache: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], tuple[str, ...]]] = (
    weakref.WeakKeyDictionary()
)


def check_flow(
    flow: Flow,
    offered: Sequence[str] | None,
    registry: ToolRegistry,
    add: AddProblem,
    *,
    broken_calls: Collection[int] = (),
    check_order: bool = True,
) -> None:
    """Report every rule that ``flow`` breaks through ``add(line, message)``.

    offered: the scenario's tools; None when unknown (bad front matter), which skips the
        "not offered" check rather than flagging every call.
    broken_calls: lines of DM turns whose tool_call block was already reported as broken;
        the tool results after them are not matched against calls.
    check_order: False skips the turn-order rules (a turn heading was already reported as
        bad, so the order is unknown); calls are still checked.
    """
    if not flow.turns:
        add(flow.line, "empty conversation; add a '### Player' turn and a '### DM' turn")
        return
    if not check_order:
        for turn in flow.turns:
            for call in turn.tool_calls:
                check_call(call, offered, registry, add)
        return
    if flow.turns[0].role != "player":
        add(
            flow.turns[0].line,
            f"a conversation starts with a '### Player' turn, not {_heading(flow.turns[0])}",
        )
    pending: deque[ToolCall] = deque()
    previous: Turn | None = None
    lenient = False  # inside the tool results of a DM turn whose calls did not parse
    for turn in flow.turns:
        if turn.role == "tool":
            if not lenient:
                _answer(turn, pending, add)
            elif match := next((c for c in pending if c.name == turn.speaker), None):
                pending.remove(match)
        else:
            lenient = turn.line in broken_calls
            _unanswered(pending, add)
            if previous is not None and previous.role == "tool" and turn.role != "dm":
                add(
                    turn.line,
                    "tool results must be followed by a '### DM' turn that uses "
                    f"them, not {_heading(turn)}",
                )
            # after a DM turn with calls, the missing results were just reported instead
            if previous and previous.role == "dm" and not previous.tool_calls and turn.role == "dm":
                add(
                    turn.line,
                    "two DM turns in a row; merge them, or put the Player or Tool "
                    "turn between them",
                )
        for call in turn.tool_calls:
            check_call(call, offered, registry, add)
            pending.append(call)
        previous = turn
    _unanswered(pending, add)
    last = flow.turns[-1]
    if last.role == "tool":
        add(last.line, "the conversation ends with a tool result; add a '### DM' turn that uses it")
    elif last.role == "player":
        add(last.line, "the conversation ends with a Player turn; end it with a '### DM' turn")


def check_call(
    call: ToolCall, offered: Sequence[str] | None, registry: ToolRegistry, add: AddProblem
) -> None:
    """Check that ``call`` names an offered, known tool with valid arguments."""
    if call.name not in registry:  # the registry's message suggests close names
        add(call.line, registry.validate_arguments(call.name, call.arguments)[0])
        return
    if offered is not None and call.name not in offered:
        add(
            call.line,
            f"tool {call.name!r} is not offered by this scenario; add it to "
            "'tools:' in the front matter",
        )
    for error in argument_errors(registry, call.name, call.arguments):
        add(call.line, f"tool call {call.name!r}: bad arguments: {error}")


def argument_errors(
    registry: ToolRegistry, name: str, arguments: dict[str, Any]
) -> tuple[str, ...]:
    """``registry.validate_arguments``, memoised on the arguments' ``repr``.

    The arguments are JSON values (from json.loads or literal_eval), whose ``repr`` tells
    any two apart (``1``, ``1.0``, ``True``, ``"1"``) and costs a fifth of ``json.dumps``.
    """
    key = (name, repr(arguments))
    cache = _argument_cache.setdefault(registry, {})
    errors = cache.get(key)
    if errors is None:
        if len(cache) >= _MAX_CACHED:
            cache.clear()
        errors = cache[key] = tuple(registry.validate_arguments(name, arguments))
    return errors


def _answer(turn: Turn, pending: deque[ToolCall], add: AddProblem) -> None:
    """Match a tool turn to the next pending call."""
    name = turn.speaker
    if pending and pending[0].name == name:
        pending.popleft()
    elif any(call.name == name for call in pending):
        add(
            turn.line,
            f"tool result {name!r} is out of order: the next call to answer is "
            f"{pending[0].name!r} (line {pending[0].line}); answer calls in the order made",
        )
        pending.remove(next(call for call in pending if call.name == name))
    else:
        add(
            turn.line,
            f"tool result {name!r} answers no call: a '### Tool: {name}' turn "
            f"must follow a DM turn that calls {name!r}",
        )


def _unanswered(pending: deque[ToolCall], add: AddProblem) -> None:
    while pending:
        call = pending.popleft()
        add(
            call.line,
            f"tool call {call.name!r} is never answered; add a '### Tool: "
            f"{call.name}' turn right after this DM turn",
        )


def _heading(turn: Turn) -> str:
    if turn.role == "tool":
        return f"'### Tool: {turn.speaker}'"
    return "'### DM'" if turn.role == "dm" else "'### Player'"
