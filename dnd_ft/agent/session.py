"""A game session: the system context, the conversation so far, and undo.

`Session` is what ``python -m dnd_ft.play`` drives (and what a test scripts): it holds the
system context (a scenario's party, scene and offered tools, or a fresh DM prompt), the
message list, and one undo step per player line. A player line runs one DM turn through
the `ToolLoop`; the executor's state (dice RNG, hit points, initiative, conditions) moves
with it, so undo has to rewind that too. It does so by replaying: the executor is reset to
its seed, the known hit points are registered again, and every call kept in the
conversation runs again in order. The executors are deterministic in (seed, calls), so the
replay lands on exactly the state the kept turns left, whatever the tools keep internally.
Torch-free, like the loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from dnd_ft.agent.loop import Message, ToolLoop, Turn

# The system prompt of a session that starts from no scenario; the corpus's own opening line,
# so a fine-tuned model meets the wording it trained on.
FRESH_SYSTEM = (
    "You are the Dungeon Master for a D&D 5e session. Keep the game moving, describe the "
    "action vividly and briefly, and use your tools for every roll and every change to hit "
    "points or conditions.\n\n"
    "### Scene\n"
    "A new adventure begins. The players will tell you who they are and what they do."
)


@dataclass(frozen=True)
class Context:
    """What a session starts from; also what `dnd_ft.agent.save` writes into front matter.

    tools: names of the offered tools (the scenario's ``tools:``), in order.
    replay: the flow's turns (``dnd_ft.scenarios.Turn``) when started from a scenario, for
        the replay backend; empty for a fresh session.
    """

    system: str
    tools: tuple[str, ...]
    scenario_id: str = "play-session"
    title: str = "Play session"
    category: str = "exploration"
    tags: tuple[str, ...] = ()
    flow: str = "Play session"
    source: str | None = None  # file:line of the scenario and flow, for the saved front matter
    replay: tuple[Any, ...] = ()

    @classmethod
    def from_scenario(cls, scenario: Any, flow: str | None = None) -> Context:
        """The context of a parsed `dnd_ft.scenarios.Scenario`; ``flow`` picks a conversation
        by title or slug (default: the first). ValueError names the flows when none match."""
        chosen = scenario.flows[0] if scenario.flows else None
        if flow is not None:
            wanted = flow.strip().casefold()
            matches = [f for f in scenario.flows if wanted in (f.title.casefold(), f.slug)]
            if not matches:
                titles = ", ".join(repr(f.title) for f in scenario.flows) or "none"
                raise ValueError(
                    f"{scenario.path}: no conversation titled {flow!r}; its flows are {titles}"
                )
            chosen = matches[0]
        return cls(
            system=scenario.system,
            tools=tuple(scenario.tools),
            scenario_id=scenario.id,
            title=scenario.title or scenario.id,
            category=scenario.category,
            tags=tuple(scenario.tags),
            flow=(chosen.title if chosen is not None and chosen.title else "Play session"),
            source=f"{scenario.path}:{chosen.line}" if chosen is not None else str(scenario.path),
            replay=tuple(chosen.turns) if chosen is not None else (),
        )

    @classmethod
    def fresh(cls, tools: Iterable[str]) -> Context:
        """A session from no scenario: the default DM prompt, offering ``tools``."""
        return cls(system=FRESH_SYSTEM, tools=tuple(tools))


@dataclass
class _Step:
    """One undo step: where the conversation stood before a player line, and its turn."""

    length: int
    turn: Turn


class Session:
    """A conversation with the model through ``loop``, starting from ``context``.

    hit_points: ``(name, hp, max_hp)`` to register in the combat tracker at the start (and
        again on every undo), e.g. parsed from the scenario's party list.
    """

    def __init__(
        self,
        context: Context,
        loop: ToolLoop,
        hit_points: Sequence[tuple[str, int, int]] = (),
        player_name: str | None = None,
    ) -> None:
        self.context, self.loop = context, loop
        self.hit_points = list(hit_points)
        self.player_name = player_name
        self.tools = loop.registry.schemas(context.tools)
        self.messages: list[Message] = [{"role": "system", "content": context.system}]
        self._steps: list[_Step] = []
        self._rewind_executor()

    @property
    def executor(self) -> Any:
        return self.loop.executor

    @property
    def turns(self) -> int:
        """Player lines answered so far (what undo can take back)."""
        return len(self._steps)

    def player(self, line: str, name: str | None = None) -> Turn:
        """The DM's turn after the player says ``line`` (as ``name``, else the session's
        player). If the turn fails (the backend raised, Ctrl-C), the conversation and the
        executor are left as they were before the line, and the exception goes on."""
        text = line.strip()
        if not text:
            raise ValueError("a player line needs some text")
        user: Message = {"role": "user", "content": text}
        speaker = name or self.player_name
        if speaker:
            user["name"] = speaker
        before = len(self.messages)
        try:
            turn = self.loop.turn([*self.messages, user], self.tools)
        except BaseException:
            self._rewind_executor()  # a half-run turn may have rolled dice or dealt damage
            raise
        self.messages += [user, *turn.messages]
        self._steps.append(_Step(before, turn))
        return turn

    def undo(self) -> Turn | None:
        """Take back the last player line and the DM's turn after it; that turn, or None
        when there is nothing to take back."""
        if not self._steps:
            return None
        step = self._steps.pop()
        del self.messages[step.length :]
        self._rewind_executor()
        return step.turn

    def state(self) -> dict[str, Any]:
        """The combat tracker's snapshot: round, initiative order, and per creature hp,
        max_hp, conditions and initiative (`CombatTracker.snapshot`)."""
        return self.executor.state

    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every tool call the kept conversation made, in order."""
        found = []
        for message in self.messages:
            for call in message.get("tool_calls") or []:
                function = call.get("function", call)
                found.append((function["name"], dict(function.get("arguments") or {})))
        return found

    def _rewind_executor(self) -> None:
        """Reset the executor and replay the kept calls (see the module docstring)."""
        from dnd_ft.tools.errors import ToolExecutionError

        executor = self.executor
        executor.reset()
        for name, hp, max_hp in self.hit_points:
            executor.tracker.add(name, hp, max_hp)
        # a call that failed when it was first made fails the same way now (its error is in
        # the conversation); it changed nothing then, and changes nothing now
        failures = (ToolExecutionError, KeyError, TypeError, ValueError, AttributeError)
        for name, arguments in self.calls():
            with contextlib.suppress(*failures):
                executor.execute(name, arguments)
