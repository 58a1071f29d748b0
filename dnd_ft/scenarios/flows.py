"""Checks on one conversation flow: turn order, call/result pairing and call arguments.

The rules (see ``docs/scenario-format.md``):

- a flow starts with a Player turn and ends with a DM turn that makes no unanswered call;
- every tool call is answered by ``### Tool: NAME`` turns right after the DM turn that made
  it, in the order the calls were made, before any other turn;
- after the tool results comes a DM turn that uses them;
- two DM turns never follow each other directly (merge them);
- every call names a tool the scenario offers and the registry knows, with arguments that
  match the tool's JSON schema.

One mistake gives one message: what follows from a misspelt tool name (a call "never
answered", its result "answering no call", arguments that fit another tool) is not
reported again. Results in the order of their calls take the fast path; only a run that
breaks it is matched in full, by :class:`_Run`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from dnd_ft.scenarios.frontmatter import did_you_mean
from dnd_ft.scenarios.model import Flow, ToolCall, Turn

if TYPE_CHECKING:
    from dnd_ft.tools.registry import ToolRegistry

AddProblem = Callable[[int, str], None]


def check_flow(
    flow: Flow,
    offered: Sequence[str] | None,
    registry: ToolRegistry,
    add: AddProblem,
    *,
    broken_calls: Collection[int] = (),
    check_order: bool = True,
    complete: bool = True,
    not_offered: set[str] | None = None,
) -> None:
    """Report every rule that ``flow`` breaks through ``add(line, message)``.

    One mistake gives one message: a call to an unknown tool is reported as unknown, and
    nothing else is said about it or its result; a result and a call whose names disagree
    are one message (see :func:`_answer_run`).

    offered: the scenario's tools; None when unknown (bad front matter), which skips the
        "not offered" check rather than flagging every call.
    broken_calls: lines of DM turns whose tool_call block was already reported as broken;
        the tool results after them are not matched against calls, nor is the DM turn
        that may follow them taken for a second DM turn in a row.
    check_order: False skips the turn-order rules (a turn heading was already reported as
        bad, so the order is unknown); calls are still checked.
    complete: False when an unclosed code fence swallowed the end of the flow: the rules on
        how a flow ends (and that it is not empty) are skipped.
    not_offered: tools already reported as not offered, shared by a file's flows: each is
        reported once, at its first call.
    """
    turns = flow.turns
    if not turns:
        if complete:
            add(flow.line, "empty conversation; add a '### Player' turn and a '### DM' turn")
        return
    if not check_order:
        for turn in turns:
            for call in turn.tool_calls:
                check_call(call, offered, registry, add, not_offered)
        return
    if turns[0].role != "player":
        add(
            turns[0].line,
            f"a conversation starts with a '### Player' turn, not {_heading(turns[0])}",
        )
    pending: deque[ToolCall] = deque()
    # the problems of the last DM turn's calls, held until its results show whether the
    # call names the wrong tool (then one message says so instead)
    held: list[tuple[ToolCall, _CallProblems]] = []
    previous: Turn | None = None
    lenient = False  # inside the tool results of a DM turn whose calls did not parse
    settled = 0  # tool turns still to come that _answer_run already matched
    for turn in turns:
        if turn.role == "tool":
            if settled:
                settled -= 1
            elif lenient:
                if match := next((c for c in pending if c.name == turn.speaker), None):
                    pending.remove(match)
            elif pending and pending[0].name == turn.speaker:
                pending.popleft()  # the usual case: results in the order of the calls
            else:  # the slow path; turns are unique (their lines differ)
                run = _Run(pending, held, offered, registry, add)
                settled = run.answer(turns, turns.index(turn))
        else:
            lenient = turn.line in broken_calls
            if held:
                _report_held(held, add, not_offered)
            if pending:
                _unanswered(pending, registry, add)
            if previous is not None and previous.role == "tool" and turn.role != "dm":
                add(
                    turn.line,
                    "tool results must be followed by a '### DM' turn that uses "
                    f"them, not {_heading(turn)}",
                )
            # after a DM turn with calls, the missing results were just reported instead
            if (
                previous
                and previous.role == "dm"
                and not previous.tool_calls
                and turn.role == "dm"
                and previous.line not in broken_calls  # its calls were meant, not parsed
            ):
                add(
                    turn.line,
                    "two DM turns in a row; merge them, or put the Player or Tool "
                    "turn between them",
                )
        for call in turn.tool_calls:
            if (problems := _call_problems(call, offered, registry, add)) is not None:
                held.append((call, problems))
            pending.append(call)
        previous = turn
    if held:
        _report_held(held, add, not_offered)
    if not complete:
        return
    _unanswered(pending, registry, add)
    last = turns[-1]
    if last.role == "tool":
        add(last.line, "the conversation ends with a tool result; add a '### DM' turn that uses it")
    elif last.role == "player":
        add(last.line, "the conversation ends with a Player turn; end it with a '### DM' turn")


# What is wrong with a call to a known tool: (not offered, argument errors).
_CallProblems = tuple[bool, tuple[str, ...]]


def check_call(
    call: ToolCall,
    offered: Sequence[str] | None,
    registry: ToolRegistry,
    add: AddProblem,
    not_offered: set[str] | None = None,
) -> None:
    """Check that ``call`` names an offered, known tool with valid arguments.

    not_offered: tools already reported as not offered (updated): not reported again.
    """
    if (problems := _call_problems(call, offered, registry, add)) is not None:
        _report_held([(call, problems)], add, not_offered)


def _call_problems(
    call: ToolCall, offered: Sequence[str] | None, registry: ToolRegistry, add: AddProblem
) -> _CallProblems | None:
    """Report ``call`` if its tool is unknown; else what else is wrong with it, None if
    nothing is (unreported: see :func:`_report_held`)."""
    if call.name not in registry:  # the registry's message suggests close names
        # a name in 'tools:' that the registry lacks was already reported there
        if offered is None or call.name not in offered:
            add(call.line, registry.validate_arguments(call.name, call.arguments)[0])
        return None
    errors = argument_errors(registry, call.name, call.arguments)
    unoffered = offered is not None and call.name not in offered
    return (unoffered, errors) if unoffered or errors else None


def _report_held(
    held: list[tuple[ToolCall, _CallProblems]], add: AddProblem, not_offered: set[str] | None
) -> None:
    """Report and forget the held problems of calls (see :func:`_call_problems`)."""
    for call, (unoffered, errors) in held:
        if unoffered and (not_offered is None or call.name not in not_offered):
            add(
                call.line,
                f"tool {call.name!r} is not offered by this scenario; add it to "
                "'tools:' in the front matter",
            )
            if not_offered is not None:
                not_offered.add(call.name)
        for error in errors:
            add(call.line, f"tool call {call.name!r}: bad arguments: {error}")
    held.clear()


def argument_errors(
    registry: ToolRegistry, name: str, arguments: dict[str, Any]
) -> tuple[str, ...]:
    """``registry.validate_arguments`` as a tuple.

    Not memoised: nearly every call of a real corpus has arguments of its own (under 1%
    repeat), and since the registry's quick check (dnd_ft/tools/fastcheck.py) a valid call
    costs less to check than a cache look-up did (keyed on the arguments' ``repr``).
    """
    return tuple(registry.validate_arguments(name, arguments))


class _Run(NamedTuple):
    """The slow path: a run of tool turns whose next result does not answer the next call.

    The results are matched to the pending calls in three steps, each mistake reported
    once: (1) in order by name, as many as can be and the latest ones where there is a
    choice (a missing or misspelt result then leaves the others in order); (2) the results
    left that name a call left, in any order; (3) the rest in order, as pairs whose names
    disagree. A pair is one message: at the call when the result's tool fits the call's
    arguments but the call's own does not (the call names the wrong tool), else at the
    result; none when the call's tool is unknown (reported at the call). Calls left over
    stay pending (never answered); results left over answer no call. A result that answers
    a later call while an earlier one of the run waits is out of order.
    """

    pending: deque[ToolCall]
    held: list[tuple[ToolCall, _CallProblems]]
    offered: Sequence[str] | None
    registry: ToolRegistry
    add: AddProblem

    def answer(self, turns: Sequence[Turn], start: int) -> int:
        """Match the tool turns from ``turns[start]`` up to the next other turn; return how
        many follow ``turns[start]``."""
        end = start
        while end < len(turns) and turns[end].role == "tool":
            end += 1
        results, calls = turns[start:end], list(self.pending)
        answers = _align([r.speaker for r in results], [c.name for c in calls])
        taken = [False] * len(calls)
        for match in answers:
            if match is not None:
                taken[match] = True
        for r, result in enumerate(results):  # (2) by name, out of order
            if answers[r] is None:
                answers[r] = next(
                    (i for i, c in enumerate(calls) if not taken[i] and c.name == result.speaker),
                    None,
                )
                if answers[r] is not None:
                    taken[answers[r]] = True
        renamed: set[int] = set()  # results paired with a call of another name
        spare = iter([i for i, took in enumerate(taken) if not took])
        for r, match in enumerate(answers):  # (3) the names disagree
            if match is None and (match := next(spare, None)) is not None:
                answers[r], taken[match] = match, True
                renamed.add(r)
        waiting = sorted(i for i in answers if i is not None)  # the calls this run answers
        for r, (result, match) in enumerate(zip(results, answers, strict=True)):
            name = result.speaker or ""
            if match is None:
                self.add(result.line, _no_call(name, self.registry))
                continue
            if r in renamed:
                self._renamed(result, calls[match])
            elif match != waiting[0]:
                first = calls[waiting[0]]
                self.add(
                    result.line,
                    f"tool result {name!r} is out of order: the next call to answer is "
                    f"{first.name!r} (line {first.line}); answer calls in the order made",
                )
            waiting.remove(match)
        self.pending.clear()
        self.pending.extend(call for call, took in zip(calls, taken, strict=True) if not took)
        return end - start - 1

    def _renamed(self, result: Turn, call: ToolCall) -> None:
        """Report the result ``result`` that answers ``call``, of another name."""
        name, registry = result.speaker or "", self.registry
        if call.name not in registry:
            return  # the call's unknown name was reported at the call
        if name in registry and (self.offered is None or name in self.offered):
            held = next((i for i, (c, _) in enumerate(self.held) if c is call), None)
            if held is not None and not argument_errors(registry, name, call.arguments):
                del self.held[held]  # its problems come from naming the wrong tool
                self.add(
                    call.line,
                    f"tool call {call.name!r} names the wrong tool: its arguments and its "
                    f"result ('### Tool: {name}', line {result.line}) are those of {name!r}; "
                    f"call {name!r}",
                )
                return
        fix = f"write '### Tool: {call.name}'"
        if name in registry:
            message = (
                f"tool result {name!r} does not match the call it answers, {call.name!r} "
                f"(line {call.line}): {fix}, or call {name!r}"
            )
        else:
            hint = did_you_mean(name, registry.names())
            if hint == f" (did you mean {call.name!r}?)":
                hint = ""  # the fix says it
            message = (
                f"unknown tool {name!r} in '### Tool: {name}'{hint}; it answers the call to "
                f"{call.name!r} (line {call.line}): {fix}"
            )
        self.add(result.line, message)


def _align(results: list[str | None], calls: list[str]) -> list[int | None]:
    """For each result name, the index of the call it answers by name in order (or None):
    a longest common subsequence, of the latest matches where there is a choice."""
    n, m = len(results), len(calls)
    # most[i][j]: the most in-order matches between results[:i] and calls[:j]
    most = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n):
        for j in range(m):
            most[i + 1][j + 1] = (
                most[i][j] + 1 if results[i] == calls[j] else max(most[i][j + 1], most[i + 1][j])
            )
    answers: list[int | None] = [None] * n
    i, j = n, m
    while i and j:  # back from the end: the latest matches
        if results[i - 1] == calls[j - 1]:
            answers[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif most[i - 1][j] >= most[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return answers


def _no_call(name: str, registry: ToolRegistry) -> str:
    message = (
        f"tool result {name!r} answers no call: a '### Tool: {name}' turn "
        f"must follow a DM turn that calls {name!r}"
    )
    if name not in registry:
        message += f"; {name!r} is not a known tool{did_you_mean(name, registry.names())}"
    return message


def _unanswered(pending: deque[ToolCall], registry: ToolRegistry, add: AddProblem) -> None:
    while pending:
        call = pending.popleft()
        if call.name in registry:  # an unknown tool's call was reported as unknown
            add(
                call.line,
                f"tool call {call.name!r} is never answered; add a '### Tool: "
                f"{call.name}' turn right after this DM turn",
            )


def _heading(turn: Turn) -> str:
    if turn.role == "tool":
        return f"'### Tool: {turn.speaker}'"
    return "'### DM'" if turn.role == "dm" else "'### Player'"
