"""Parse one scenario markdown file into a :class:`Scenario`, collecting every problem.

The format is documented in ``docs/scenario-format.md``. Parsing never stops at the first
problem: each is recorded as ``file:line: message`` and parsing goes on, so one lint run
shows an author everything to fix. A scenario is returned only when its file has no problem.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dnd_ft.scenarios import frontmatter
from dnd_ft.scenarios.calls import json_error_line, parse_calls
from dnd_ft.scenarios.flows import check_flow
from dnd_ft.scenarios.frontmatter import DEFAULT_CATEGORIES, FrontMatter
from dnd_ft.scenarios.model import Flow, ParseResult, Problem, Scenario, ToolCall, Turn
from dnd_ft.scenarios.outline import Fence, Heading, outline

if TYPE_CHECKING:
    from dnd_ft.tools.registry import ToolRegistry

_CONVERSATION_RE = re.compile(r"Conversation(?:\s*:\s*(?P<title>.*))?")
_PLAYER_RE = re.compile(r"Player(?:\s*\((?P<name>[^()]*)\))?")
_TOOL_RE = re.compile(r"Tool\s*:\s*(?P<name>.*)")
_TOOL_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_SLUG_GAP_RE = re.compile(r"[^a-z0-9]+")
_TURN_HINT = "expected '### Player', '### Player (Name)', '### DM' or '### Tool: NAME'"
_SECTION_HINT = "expected '## System' or '## Conversation: Title'"
_SECTIONS = ("System", "Conversation")
# tool results are stored as compact JSON; one shared encoder, as json.dumps with options
# builds a new one per call
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass
class Parsed:
    """Everything :func:`parse_source` learns about one file, good or bad."""

    scenario: Scenario | None
    problems: list[Problem] = field(default_factory=list)
    meta: FrontMatter = field(default_factory=FrontMatter)


def parse_file(
    path: str | Path,
    registry: ToolRegistry | None = None,
    categories: Sequence[str] = DEFAULT_CATEGORIES,
) -> ParseResult:
    """Parse the scenario file at ``path`` (UTF-8 markdown)."""
    return _result(parse_path(Path(path), resolve_registry(registry), categories))


def parse_text(
    text: str,
    path: str | Path = "<text>",
    registry: ToolRegistry | None = None,
    categories: Sequence[str] = DEFAULT_CATEGORIES,
) -> ParseResult:
    """Parse scenario markdown ``text``; ``path`` is only used to name problems."""
    return _result(parse_source(text, Path(path), resolve_registry(registry), categories))


def parse_path(path: Path, registry: ToolRegistry, categories: Sequence[str]) -> Parsed:
    """Read and parse ``path``; unreadable files and non-UTF-8 bytes become problems."""
    problems: list[Problem] = []
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Parsed(None, [Problem(path, 0, f"cannot read file: {exc.strerror or exc}")])
    text = _decode(data, lambda line, msg: problems.append(Problem(path, line, msg)))
    parsed = parse_source(text, path, registry, categories)
    if problems:  # still parse the rest so all problems show up at once
        parsed.problems[:0] = problems
        parsed.scenario = None
    return parsed


def parse_source(
    text: str, path: Path, registry: ToolRegistry, categories: Sequence[str]
) -> Parsed:
    """Parse decoded markdown ``text``; ``path`` only names problems and the scenario."""
    return _FileParser(text, path, registry, categories).run()


def _decode(data: bytes, add: frontmatter.AddProblem) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # report every line with bad bytes; a UTF-8 sequence never spans a newline byte
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            add(
                number,
                f"invalid UTF-8 byte 0x{raw[exc.start]:02x} at column {exc.start + 1}; "
                "re-save the file as UTF-8",
            )
    return data.decode("utf-8", errors="replace")


class _FileParser:
    """Walks one file's outline; a class only to share the line bookkeeping."""

    def __init__(
        self, text: str, path: Path, registry: ToolRegistry, categories: Sequence[str]
    ) -> None:
        # markdown-it normalises newlines the same way, so its line maps match ours
        text = text.removeprefix("\ufeff")
        if "\r" in text:  # one scan instead of two replace passes for most files
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        self.path = path
        self.registry = registry
        self.categories = categories
        self.all_lines = text.split("\n")
        self.problems: list[Problem] = []
        self.offset = 0  # file lines before the body (front matter)
        self.lines: list[str] = []
        self.stripped: list[str] = []  # self.lines right-stripped, built once: turns reuse them
        self.fences: tuple[Fence, ...] = ()
        # already-reported breakage whose knock-on effects on turn order would only be noise:
        self.broken_calls: set[int] = set()  # lines of DM turns with a bad tool_call block
        self.broken_flows: set[int] = set()  # lines of flows with a bad turn heading
        self.unclosed: Fence | None = None  # a fence never closed: it swallows the rest
        self.meant: set[str] = set()  # sections that a misspelt '##' heading was meant as
        # section state while walking the headings
        self.section = ""  # "system" | "conversation" | "unknown" | "" (none yet)
        self.system: str | None = None
        self.system_line = 0
        self.flows: list[Flow] = []  # without turns: those collect in self.turns
        self.turns: list[list[Turn]] = []

    def add(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    def at(self, body_line: int) -> int:
        """1-based file line of a 0-based body line."""
        return self.offset + body_line + 1

    def run(self) -> Parsed:
        split = frontmatter.split(self.all_lines, self.add)
        if split is None:
            return Parsed(None, self.problems)
        yaml_text, self.offset = split
        meta = frontmatter.FrontMatter()
        if self.offset:
            meta = frontmatter.parse(yaml_text, self.add, self.categories, self.registry)
        self.lines = self.all_lines[self.offset :]
        self.stripped = [line.rstrip() for line in self.lines]
        doc = outline("\n".join(self.lines), self.lines)
        self.fences = doc.fences
        for fence in doc.fences:
            if not fence.closed:
                self.unclosed = fence
                self.add(
                    self.at(fence.start),
                    f"code fence {self.lines[fence.start].strip()!r} "
                    "is never closed; add a closing fence line",
                )
        system, flows = self._sections(doc.headings)
        offered = meta.tools if meta.tools_known else None
        truncated = self._truncated(doc.headings) if self.unclosed is not None else 0
        not_offered: set[str] = set()  # each reported once per file
        for flow in flows:
            check_flow(
                flow, offered, self.registry, self.add,
                broken_calls=self.broken_calls, check_order=flow.line not in self.broken_flows,
                complete=flow.line != truncated, not_offered=not_offered,
            )  # fmt: skip
        if self.problems or system is None or meta.id is None:
            return Parsed(None, self.problems, meta)
        scenario = Scenario(
            id=meta.id, category=meta.category, system=system, flows=tuple(flows),
            path=self.path, title=meta.title, tags=meta.tags, tools=meta.tools,
        )  # fmt: skip
        return Parsed(scenario, self.problems, meta)

    def _truncated(self, headings: tuple[Heading, ...]) -> int:
        """The line of the flow whose end the unclosed fence swallowed, or 0.

        The fence runs to the end of the file, so it lies in the last ``##`` section.
        """
        if not self.flows:
            return 0
        last = next((h for h in reversed(headings) if h.level == 2), None)
        flow_line = self.flows[-1].line
        return flow_line if last is not None and self.at(last.line) == flow_line else 0

    def _sections(self, headings: tuple[Heading, ...]) -> tuple[str | None, list[Flow]]:
        """Split the body at ``##`` headings into the system prompt and the flows."""
        first = headings[0].line if headings else len(self.lines)
        if (line := self._first_text(0, first)) is not None:
            self.add(self.at(line), f"text before the first section; {_SECTION_HINT}")
        # each heading's own fences, those that open before the next heading: both are in
        # line order, so one walk finds them all
        fences = self.fences
        own_start = bisect.bisect_left([f.start for f in fences], first)
        for i, head in enumerate(headings):
            end = headings[i + 1].line if i + 1 < len(headings) else len(self.lines)
            own_end = own_start
            while own_end < len(fences) and fences[own_end].start < end:
                own_end += 1
            own, own_start = fences[own_start:own_end], own_end
            if head.level == 1:
                self.add(
                    self.at(head.line),
                    f"'# {head.text}': '#' headings are not used; put the title in "
                    f"the front matter ('title: ...'); {_SECTION_HINT}",
                )
            elif head.level == 2:
                self._section(head, i, headings, end)
            elif self.section == "conversation":
                turn = self._turn(head, end, own)
                if turn is None:
                    self.broken_flows.add(self.flows[-1].line)
                else:
                    self.turns[-1].append(turn)
            elif not self.section:
                self.add(
                    self.at(head.line),
                    f"'### {head.text}' comes before any section; {_SECTION_HINT}",
                )
        swallowed = self.unclosed is not None and not self.flows  # they may be in the fence
        if self.system is None and not swallowed and "System" not in self.meant:
            self.add(
                self.offset + 1,
                "missing '## System' section: add one after the front matter with the DM's "
                "instructions (### Party, ### Scene, ...)",
            )
        elif not self.flows and not swallowed and "Conversation" not in self.meant:
            self.add(
                self.system_line,
                "no '## Conversation' section; add at least one with '### Player' and '### DM' "
                "turns",
            )
        return self.system, _finish_flows(self.flows, self.turns, self.add)

    def _section(self, head: Heading, index: int, headings: tuple[Heading, ...], end: int) -> None:
        """Start the ``##`` section ``head``; ``end`` is the line of the next heading."""
        line = self.at(head.line)
        if head.text == "System":
            if self.system is not None:
                self.add(line, "more than one '## System' section; keep one, at the top")
            elif self.flows:
                self.add(line, "'## System' must come before the first '## Conversation'")
            self.section, self.system_line = "system", line
            self.system = self._system(index, headings, line)
        elif match := _CONVERSATION_RE.fullmatch(head.text):
            self.section = "conversation"
            self.flows.append(Flow(title=(match["title"] or "").strip(), turns=(), line=line))
            self.turns.append([])
            if (text := self._first_text(head.line + 1, end)) is not None:
                self.add(self.at(text), f"text before the first turn; {_TURN_HINT}")
        else:
            self.section = "unknown"  # its ### headings are skipped, not reported again
            # a misspelt '## System' or '## Conversation' is not reported again as missing
            word = head.text.split(":", 1)[0].strip().capitalize()
            close = difflib.get_close_matches(word, _SECTIONS, n=1)
            self.meant.update(close)
            hint = f" (did you mean '## {close[0]}'?)" if close else ""
            self.add(line, f"unknown section '## {head.text}'{hint}; {_SECTION_HINT}")

    def _system(self, index: int, headings: tuple[Heading, ...], line: int) -> str:
        end = next((h.line for h in headings[index + 1 :] if h.level <= 2), len(self.lines))
        text = self._text(headings[index].line + 1, end)
        if not text:
            self.add(
                line, "empty '## System' section; describe the DM's role, the party and the scene"
            )
        return text

    def _turn(self, head: Heading, end: int, fences: tuple[Fence, ...]) -> Turn | None:
        """The turn under ``head``; ``end`` is the next heading's line, ``fences`` those
        that open in between."""
        start, line = head.line + 1, self.at(head.line)
        calls_fences = [f for f in fences if f.info == "tool_call"] if fences else []
        if head.text == "DM":
            calls: list[ToolCall] = []
            known_problems = len(self.problems)
            for fence in calls_fences:
                if fence.closed:  # an unclosed one holds the rest of the file: not calls
                    calls += parse_calls(fence.content, self.at(fence.start) + 1, self.add)
            if len(self.problems) > known_problems:
                self.broken_calls.add(line)
            text = self._text(start, end, calls_fences)
            if not text and not calls_fences:
                self.add(line, "empty DM turn; write the DM's reply or a tool_call block")
            return Turn("dm", text, line, tool_calls=tuple(calls))
        for fence in calls_fences:
            self.add(
                self.at(fence.start),
                "tool_call block outside a DM turn; only '### DM' turns make tool calls",
            )
        kind, speaker = _turn_heading(head.text)
        if kind == "player":
            text = self._text(start, end)
            if not text:
                self.add(line, "empty Player turn; write what the player says or does")
            return Turn("player", text, line, speaker)
        if kind == "tool":
            return Turn("tool", self._result(start, end, fences, line), line, speaker)
        if kind == "bad tool":
            self.add(
                line, f"bad tool name {speaker!r} in '### {head.text}'; expected '### Tool: NAME'"
            )
        else:
            self.add(line, f"unknown turn heading '### {head.text}'; {_TURN_HINT}")
        return None

    def _result(self, start: int, end: int, fences: Sequence[Fence], line: int) -> str:
        """A tool turn's result: compact JSON from a lone ```json fence, else the text."""
        if len(fences) == 1 and not self._text(start, end, fences):
            fence = fences[0]
            if fence.info == "json" and fence.closed:  # unclosed: the rest of the file
                try:
                    value = json.loads(fence.content)
                except json.JSONDecodeError as exc:
                    self._bad_json(fence, exc)
                    return fence.content.strip()
                return _COMPACT_JSON.encode(value)
            result = fence.content.strip("\n")
        else:
            result = self._text(start, end)
        if not result.strip():
            self.add(
                line,
                "empty tool result; put the tool's output under the heading "
                "(JSON in a ```json fence, or text)",
            )
        return result

    def _bad_json(self, fence: Fence, exc: json.JSONDecodeError) -> None:
        """Report the bad JSON of a tool result's fence at the line to fix."""
        offset = json_error_line(fence.content, exc)
        if offset is None:
            self.add(
                self.at(fence.start),
                "empty ```json block in tool result; put the tool's output in it as JSON",
            )
        else:
            self.add(self.at(fence.start) + 1 + offset, f"invalid JSON in tool result: {exc.msg}")

    def _text(self, start: int, end: int, skip: Sequence[Fence] = ()) -> str:
        """Source lines ``[start, end)`` minus ``skip`` fences (sorted, inside the range):
        right-stripped, outer blank lines dropped, otherwise exactly as written."""
        lines: list[str] = []
        for fence in skip:
            lines += self.stripped[start : fence.start]
            start = fence.end
        lines += self.stripped[start:end]
        return "\n".join(lines).strip("\n")  # stripped blank lines are empty: outer "\n"s

    def _first_text(self, start: int, end: int) -> int | None:
        return next((i for i in range(start, end) if self.stripped[i]), None)


@functools.lru_cache(maxsize=4096)  # "Tool: roll_dice", "Player (Thorin)": they repeat a lot
def _turn_heading(text: str) -> tuple[str, str | None]:
    """What the turn heading ``### text`` (not ``### DM``) is: ``("player", name or None)``,
    ``("tool", name)``, ``("bad tool", name)`` or ``("unknown", None)``.

    Cached: the regular expressions cost a third of reading a Player or Tool turn.
    """
    if match := _PLAYER_RE.fullmatch(text):
        return "player", (match["name"] or "").strip() or None
    if match := _TOOL_RE.fullmatch(text):
        name = match["name"].strip()
        return ("tool" if _TOOL_NAME_RE.fullmatch(name) else "bad tool"), name
    return "unknown", None


def _finish_flows(
    heads: list[Flow], turns: list[list[Turn]], add: frontmatter.AddProblem
) -> list[Flow]:
    """The flows with their turns and unique slugs; ``heads`` hold each title and line."""
    seen: dict[str, int] = {}
    out = []
    for number, (flow, flow_turns) in enumerate(zip(heads, turns, strict=True), start=1):
        slug = _SLUG_GAP_RE.sub("-", flow.title.lower()).strip("-") or str(number)
        if slug in seen:
            add(
                flow.line,
                f"conversation title {flow.title!r} gives the same record id "
                f"{slug!r} as the conversation on line {seen[slug]}; give it another title",
            )
        seen.setdefault(slug, flow.line)
        out.append(Flow(flow.title, tuple(flow_turns), flow.line, slug))
    return out


def resolve_registry(registry: ToolRegistry | None) -> ToolRegistry:
    """``registry``, or the default tool registry when it is None."""
    if registry is not None:
        return registry
    from dnd_ft.tools.registry import ToolRegistry

    return ToolRegistry.default()


def _result(parsed: Parsed) -> ParseResult:
    scenarios = [parsed.scenario] if parsed.scenario is not None else []
    return ParseResult(scenarios=scenarios, problems=sorted(parsed.problems, key=_order))


def _order(problem: Problem) -> tuple[str, int]:
    return (str(problem.path), problem.line)
