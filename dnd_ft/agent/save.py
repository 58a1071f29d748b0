"""Write a played session as a scenario file (docs/scenario-format.md) that lints unchanged.

A session is a conversation the model actually had, so it can hold what a scenario may not:
calls that could not be parsed, calls to a tool the scenario does not offer or with
arguments its schema rejects, a turn stopped by the round cap before the DM answered, an
empty reply, or text that markdown would read as structure (a ``### DM`` line the model
wrote, an unclosed code fence). Each is repaired the one way that keeps the file a valid
scenario, and reported in `Saved.notes`:

- a malformed call's error result, and a call that would not lint with its result, are left
  out (they are what a scenario must not teach); a DM turn left with no call then merges
  with the DM turn after it (two DM turns never follow each other);
- tool results that no DM turn answered get a placeholder DM turn, and so does an empty one;
- a line that would start a heading, a code fence, an HTML block or a setext underline gets
  a backslash in front (markdown's escape; the line still reads the same).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dnd_ft.agent.loop import MALFORMED_TOOL
from dnd_ft.agent.session import Context

NO_REPLY = "*(the DM wrote no reply)*"
NO_ANSWER = "*(the DM did not answer these results: the turn reached its cap of tool rounds)*"

# Line starts that markdown reads as structure; the level-3 heading only inside conversations.
_HEADING = {
    2: re.compile(r"^( {0,3})(#{1,2})(?=\s|$)"),
    3: re.compile(r"^( {0,3})(#{1,3})(?=\s|$)"),
}
_BLOCK = re.compile(r"^( {0,3})(`{3,}|~{3,}|<[!?/A-Za-z]|=+\s*$|-+\s*$)")
# Line breaks Python's splitlines() knows but markdown does not, and NUL (markdown replaces it).
_ODD_BREAKS = str.maketrans(
    {c: " " for c in "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"} | {"\x00": "\ufffd"}
)
_ID_CHARS = re.compile(r"[^\w.-]+")


@dataclass
class Saved:
    """A scenario file's text and what had to change to make it one (empty: nothing)."""

    text: str
    notes: list[str] = field(default_factory=list)


@dataclass
class _Turn:
    role: str  # player | dm | tool
    text: str = ""
    speaker: str | None = None
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def make_id(stem: str) -> str:
    """A valid scenario id from a file name (letters, digits, ``.``, ``_``, ``-``)."""
    cleaned = _ID_CHARS.sub("-", stem.strip()).strip(".-_")
    return cleaned if cleaned and cleaned[0].isalnum() else f"session-{cleaned}".rstrip("-")


def to_scenario_markdown(
    context: Context,
    messages: Sequence[Mapping[str, Any]],
    registry: Any,
    *,
    scenario_id: str,
    title: str | None = None,
) -> Saved:
    """The scenario file of a session: ``messages`` as the session holds them (system first,
    then user / assistant / tool in the HF convention), under ``context``'s front matter.

    registry: the `ToolRegistry` the scenario is linted with (a call that would not lint is
    left out). Raises ValueError when there is no player line to save.
    """
    notes: list[str] = []
    turns = _turns([m for m in messages if m.get("role") != "system"], context, registry, notes)
    if not turns:
        raise ValueError("nothing to save yet: a scenario needs at least one player line")
    lines = _front_matter(context, scenario_id, title)
    system = _text({"content": context.system})
    lines += ["", "## System", _escape(system, 2, notes, "the system prompt"), ""]
    lines += [f"## Conversation: {_one_line(context.flow) or 'Play session'}", ""]
    for turn in turns:
        lines += _write(turn, notes)
    return Saved("\n".join(lines).rstrip("\n") + "\n", notes)


def _turns(
    messages: Sequence[Mapping[str, Any]], context: Context, registry: Any, notes: list[str]
) -> list[_Turn]:
    """The conversation as scenario turns, repaired (see the module docstring)."""
    offered = set(context.tools)
    out: list[_Turn] = []
    i = 0
    while i < len(messages):
        m = messages[i]
        role = m.get("role")
        if role == "user":
            out.append(_Turn("player", _text(m), speaker=_one_line(str(m.get("name") or ""))))
            i += 1
            continue
        if role == "tool":  # a result that belongs to no assistant message: not from the loop
            notes.append(f"a tool result ({m.get('name')}) with no call before it was left out")
            i += 1
            continue
        calls = [c.get("function", c) for c in m.get("tool_calls") or []]
        results = []
        i += 1
        while i < len(messages) and messages[i].get("role") == "tool":
            results.append(messages[i])
            i += 1
        dm = _Turn("dm", _text(m))
        kept_results = []
        for k, call in enumerate(calls):
            name, args = str(call.get("name")), call.get("arguments") or {}
            result = results[k] if k < len(results) else None
            problem = _lint_problem(name, args, offered, registry)
            if problem or result is None:
                notes.append(f"left out the call {name}({_args(args)}): {problem or 'no result'}")
                continue
            dm.calls.append((name, dict(args)))
            kept_results.append(_Turn("tool", str(result.get("content") or ""), speaker=name))
        malformed = sum(r.get("name") == MALFORMED_TOOL for r in results[len(calls) :])
        if malformed:
            notes.append(f"left out {malformed} malformed call(s) and their error results")
        previous = out[-1] if out else None
        if previous is not None and previous.role == "dm" and not previous.calls:
            previous.text = "\n\n".join(t for t in (previous.text, dm.text) if t)
            previous.calls = dm.calls
        else:
            out.append(dm)
        out += kept_results
    return _close_turns(out, notes)


def _close_turns(turns: list[_Turn], notes: list[str]) -> list[_Turn]:
    """Fill what the order rules need: a DM turn after results, text in an empty DM turn."""
    closed: list[_Turn] = []
    for k, turn in enumerate(turns):
        closed.append(turn)
        following = turns[k + 1] if k + 1 < len(turns) else None
        if turn.role == "tool" and (following is None or following.role == "player"):
            notes.append("results the DM never answered (round cap) got a placeholder DM turn")
            closed.append(_Turn("dm", NO_ANSWER))
        if turn.role == "dm" and not turn.text and not turn.calls:
            notes.append("an empty DM reply was written as a placeholder")
            turn.text = NO_REPLY
    if closed and closed[-1].role == "player":  # a session saved right after a failed turn
        notes.append("the last player line had no DM reply; a placeholder DM turn ends the flow")
        closed.append(_Turn("dm", NO_REPLY))
    return closed


def _lint_problem(name: str, args: Any, offered: set[str], registry: Any) -> str | None:
    """Why the linter would reject this call, or None."""
    if name not in registry:
        return f"{name!r} is not in the tool registry"
    if name not in offered:
        return f"{name!r} is not offered by this scenario"
    problems = registry.validate_arguments(name, args)
    return "; ".join(problems) if problems else None


def _write(turn: _Turn, notes: list[str]) -> list[str]:
    if turn.role == "player":
        head = f"### Player ({turn.speaker})" if turn.speaker else "### Player"
        return [head, _escape(turn.text, 3, notes, "a player line"), ""]
    if turn.role == "tool":
        return [f"### Tool: {turn.speaker}", *_fence("json", _result_json(turn.text)), ""]
    lines = ["### DM"]
    if turn.text:
        lines += [_escape(turn.text, 3, notes, "a DM reply"), ""]
    for name, args in turn.calls:
        call = json.dumps({"name": name, "arguments": args}, ensure_ascii=False)
        lines += [*_fence("tool_call", call), ""]
    return lines


def _fence(info: str, body: str) -> list[str]:
    """A fenced block longer than any backtick run in ``body`` (so it cannot close early)."""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return [f"{ticks}{info}", body, ticks]


def _result_json(content: str) -> str:
    """A result as the corpus writes it: JSON (the loop's results always are); text that is
    not JSON becomes a JSON string, so the ```json fence still parses."""
    try:
        value = json.loads(content)
    except json.JSONDecodeError:
        value = content
    return json.dumps(value, ensure_ascii=False)


def _escape(text: str, level: int, notes: list[str], where: str) -> str:
    """``text`` with every line that markdown would read as structure escaped."""
    out, escaped = [], 0
    for line in text.split("\n"):
        match = _HEADING[level].match(line) or _BLOCK.match(line)
        if match:
            line = f"{match.group(1)}\\{line[len(match.group(1)) :]}"
            escaped += 1
        out.append(line)
    if escaped:
        notes.append(f"escaped {escaped} line(s) of {where} that markdown reads as structure")
    return "\n".join(out)


def _text(message: Mapping[str, Any]) -> str:
    """A message's text as the parser will read it back: one kind of line break, no
    trailing spaces, no blank lines at either end."""
    raw = str(message.get("content") or "").replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in raw.translate(_ODD_BREAKS).split("\n")]
    return "\n".join(lines).strip("\n")


def _one_line(text: str) -> str:
    """Text for a heading: one line, no parentheses (they delimit a player's name)."""
    return " ".join(text.translate(_ODD_BREAKS).replace("(", " ").replace(")", " ").split())


def _args(args: Any) -> str:
    if not isinstance(args, Mapping):
        return repr(args)
    return ", ".join(f"{k}={v!r}" for k, v in args.items())


def _front_matter(context: Context, sid: str, title: str | None) -> list[str]:
    # JSON strings and arrays are YAML flow scalars and sequences: quoting needs no YAML writer.
    tags = list(dict.fromkeys([*context.tags, "play-session"]))
    chosen_title = title or f"{context.title} (played)"
    lines = [
        "---",
        f"id: {json.dumps(sid, ensure_ascii=False)}",  # quoted: 2026-12-01 is a YAML date
        f"title: {json.dumps(' '.join(chosen_title.split()), ensure_ascii=False)}",
        f"category: {context.category}",
        f"tags: {json.dumps(tags, ensure_ascii=False)}",
        f"tools: {json.dumps(list(context.tools), ensure_ascii=False)}",
        "---",
    ]
    return lines
