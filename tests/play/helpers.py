"""A scripted "model" for play tests: it writes given assistant messages in the family's own
format, so the real parser, registry, executor and loop run on them (no weights)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dnd_ft.agent.loop import ToolLoop
from dnd_ft.agent.session import Context, Session
from dnd_ft.chat.formats import get_format
from dnd_ft.play.backends import assistant_text
from dnd_ft.tools.executors import ToolExecutor
from dnd_ft.tools.registry import ToolRegistry

REPO_ROOT = Path(__file__).resolve().parents[2]
GOBLINS = REPO_ROOT / "scenarios" / "combat" / "goblin-ambush-trade-road.md"
# The chat format of each tiny model (configs/model/tiny_*.yaml), with its run options.
FORMATS = {"tiny_qwen3": ("hermes", {"think": True}), "tiny_gemma3": ("functiongemma", {})}
SYSTEM = (
    "You are the Dungeon Master.\n\n### Party\n- Thorin: dwarf fighter, HP 28/28, AC 18\n"
    "- Elara: elf wizard, HP 14/14, AC 12\n\n### Scene\nA goblin leaps from the ditch."
)
TOOLS = ("roll_dice", "apply_damage", "start_initiative", "add_condition")


def call(tool: str, /, **arguments: Any) -> dict[str, Any]:
    return {"type": "function", "function": {"name": tool, "arguments": arguments}}


def dm(content: str = "", *calls: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = list(calls)
    return message


class Scripted:
    """Generate: returns the next scripted output (an assistant message rendered in ``fmt``,
    or a raw string as is) and records every prompt it was given."""

    def __init__(self, fmt: Any, outputs: Sequence[Mapping[str, Any] | str], tools: Any) -> None:
        self.outputs = [o if isinstance(o, str) else assistant_text(fmt, o, tools) for o in outputs]
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.outputs.pop(0) if self.outputs else "(out of script)"


def scripted_session(
    model: str, outputs: Sequence[Mapping[str, Any] | str], *, max_rounds: int = 4, seed: int = 7
) -> tuple[Session, Scripted]:
    """A session on the small party above, offering TOOLS, played by a `Scripted` model."""
    from dnd_ft.evaluation.executable import parse_hit_points

    registry = ToolRegistry.default()
    name, options = FORMATS[model]
    fmt = get_format(name, None, **options)
    context = Context(
        system=SYSTEM, tools=TOOLS, scenario_id="test", title="Test", category="combat"
    )
    generate = Scripted(fmt, outputs, registry.schemas(TOOLS))
    loop = ToolLoop(fmt, registry, ToolExecutor(registry, seed=seed), generate, max_rounds)
    return Session(context, loop, parse_hit_points(SYSTEM), player_name="Thorin"), generate
