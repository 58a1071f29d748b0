"""Check a scenario corpus against a tool registry: the tools it offers and calls that the
registry does not know, the calls whose arguments fail their tool's schema, and which of the
registry's tools the corpus uses at all.

``python -m dnd_ft.scenarios lint`` reports unknown tools too, but a file with any problem
yields no scenario, so lint cannot say what a corpus would need from a new tools file. Here
each file is parsed against a registry that knows every tool (`_AnyTool`), so the parse checks
only the format; every call is then judged against the real registry. Files with format
problems are reported as lint would and checked no further.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnd_ft.scenarios.corpus import load_corpus
from dnd_ft.scenarios.frontmatter import DEFAULT_CATEGORIES
from dnd_ft.scenarios.model import Problem, Scenario, ToolCall
from dnd_ft.tools.registry import ToolRegistry


class _AnyTool(ToolRegistry):
    """A registry that knows every tool and takes any arguments: parsing with it checks only
    the scenario format, whatever tools the files name."""

    def __init__(self) -> None:
        super().__init__([], name="any")

    def __contains__(self, name: object) -> bool:
        return True

    def validate_arguments(self, name: str, arguments: Any) -> list[str]:
        return []


@dataclass
class ToolCheck:
    """What `check_corpus` found; ``used`` counts calls per registry tool."""

    problems: list[Problem] = field(default_factory=list)
    scenarios: int = 0  # scenarios checked (the files without format problems)
    flows: int = 0
    calls: int = 0
    used: Counter[str] = field(default_factory=Counter)
    unused: list[str] = field(default_factory=list)  # registry tools no checked call uses
    unknown: Counter[str] = field(default_factory=Counter)  # calls per unknown tool

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line: what was checked and which tools it uses."""
        tools = len(self.used) + len(self.unused)
        text = (
            f"{self.scenarios} scenario(s), {self.flows} flow(s), {self.calls} call(s); "
            f"{len(self.used)} of {tools} tools used; unused: {', '.join(self.unused) or 'none'}"
        )
        if self.unknown:
            text += f"; unknown: {', '.join(sorted(self.unknown))}"
        return text


def check_corpus(
    paths: Iterable[str | Path],
    registry: ToolRegistry,
    categories: Sequence[str] = DEFAULT_CATEGORIES,
) -> ToolCheck:
    """Check every scenario file under ``paths`` against ``registry`` (see the module doc)."""
    parsed = load_corpus(paths, _AnyTool(), categories)
    check = ToolCheck(problems=list(parsed.problems))
    for scenario in parsed.scenarios:
        check.scenarios += 1
        check.flows += len(scenario.flows)
        check.problems += _check_scenario(scenario, registry, check)
    check.unused = [name for name in registry.names() if name not in check.used]
    check.problems.sort(key=lambda p: (str(p.path), p.line))
    return check


def _check_scenario(scenario: Scenario, registry: ToolRegistry, check: ToolCheck) -> list[Problem]:
    calls = [c for flow in scenario.flows for turn in flow.turns for c in turn.tool_calls]
    problems = []
    check.calls += len(calls)
    for call in calls:
        if call.name not in registry:
            check.unknown[call.name] += 1
            continue
        check.used[call.name] += 1
        errors = registry.validate_arguments(call.name, call.arguments)
        if errors:
            problems.append(Problem(
                scenario.path, call.line,
                f"call to {call.name!r} fails its schema: {'; '.join(errors)}; fix the "
                "arguments or the tool's parameters in the tools file",
            ))  # fmt: skip
    unknown = [name for name in scenario.tools if name not in registry]
    if unknown:
        line = _tools_line(scenario.path)
        for name in unknown:
            problems.append(Problem(scenario.path, line, _unknown(scenario, name, calls, registry)))
    return problems


def _unknown(
    scenario: Scenario, name: str, calls: Sequence[ToolCall], registry: ToolRegistry
) -> str:
    # the registry's own message: close names and the tools it has
    message = f"scenario {scenario.id!r} offers {registry.validate_arguments(name, {})[0]}"
    lines = [str(c.line) for c in calls if c.name == name]
    if lines:
        message += f"; called {len(lines)} time(s), on line(s) {', '.join(lines)}"
    return message + "; declare the tool in the tools file (--tools) or drop it from 'tools:'"


def _tools_line(path: Path) -> int:
    """The line of the ``tools:`` key in the front matter (1 when it cannot be found)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return 1
    for number, line in enumerate(lines[1:], start=2):
        if line.rstrip() in ("---", "..."):
            break
        if line.startswith("tools:"):
            return number
    return 1
