"""``python -m dnd_ft.play [overrides...]``: play a session with the DM in the terminal.

    python -m dnd_ft.play model=tiny_qwen3 play.scenario=scenarios/combat/goblin-ambush-trade-road.md
    python -m dnd_ft.play model=qwen3_0_6b play.version=latest          # a registered version
    python -m dnd_ft.play model=tiny_gemma3 eval.adapter_dir=outputs/train/runs/<run>/adapter
    python -m dnd_ft.play model=smollm2_135m play.gguf=dm.Q4_K_M.gguf    # llama.cpp
    python -m dnd_ft.play play.backend=replay play.scenario=FILE.md      # the scenario's DM turns
    python -m dnd_ft.play model=tiny_gemma3 'play.script=["I search the cart","/save s.md"]'

The overrides compose the same `train` config as ``python -m dnd_ft`` (docs/play.md); the
session writes nothing but what /save and play.transcript ask for (no run folder). Exit
codes: 0 the session ended; 1 the config or the model could not be loaded (the message
says why, without a traceback); 130 interrupted while loading.
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

# Nothing reaches the network unless asked (as for python -m dnd_ft): no telemetry.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

USAGE = __doc__.split("\n\n")[1]


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    from dnd_ft.errors import DndFtError

    argv = sys.argv[1:] if argv is None else argv
    console, errors = Console(), Console(stderr=True)
    if any(a in ("-h", "--help") for a in argv):  # plain: a terminal's width must not wrap it
        sys.stdout.write(f"Usage: python -m dnd_ft.play [overrides...]\n\n{USAGE}\n\n"
                         "More: docs/play.md\n")  # fmt: skip
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    from dnd_ft.pipeline.config import compose, validate
    from dnd_ft.tools.errors import RegistryError, ToolExecutionError

    try:
        cfg = compose(argv)
    except Exception as exc:  # Hydra's own errors name the bad key or override
        errors.print(f"error: the config does not compose: {exc}", markup=False)
        return 1
    try:
        validate(cfg)  # ConfigError lists every problem of the composed config
        return play(cfg, console)
    # a tools file or an adapter chain that cannot be used: the message says which and why
    except (DndFtError, RegistryError, ToolExecutionError, FileNotFoundError) as exc:
        errors.print(f"error: {exc}", markup=False, highlight=False)
        return 1
    except KeyboardInterrupt:  # Ctrl-C while the model loads (in a turn, the terminal's)
        errors.print("interrupted")
        return 130


def play(cfg: Any, console: Any) -> int:
    """Build the session the config describes and run it on ``console``."""
    from dnd_ft.agent.loop import ToolLoop
    from dnd_ft.agent.session import Session
    from dnd_ft.evaluation.executable import parse_hit_points
    from dnd_ft.play.loading import load_backend, load_context
    from dnd_ft.play.terminal import Terminal
    from dnd_ft.tools.executors import ToolExecutor
    from dnd_ft.tools.registry import ToolRegistry

    p = cfg.play
    registry = ToolRegistry.from_config(cfg.tools)
    context = load_context(cfg, registry)
    tools = registry.schemas(context.tools)
    with console.status("loading the model..."):
        backend, fmt, label = load_backend(cfg, context, tools)
    with ExitStack() as stack:
        if hasattr(backend, "gguf"):
            stack.callback(backend.gguf.close)  # llama.cpp's finalizer fails at exit
        transcript = None
        if p.transcript:
            Path(p.transcript).parent.mkdir(parents=True, exist_ok=True)
            transcript = stack.enter_context(open(p.transcript, "w", encoding="utf-8"))  # noqa: SIM115
        terminal = Terminal(console, backend, stream=bool(p.stream), transcript=transcript)
        executor = ToolExecutor.from_config(cfg.tools, registry)
        loop = ToolLoop(
            fmt, registry, executor, terminal.generate, int(p.max_rounds), terminal.show
        )
        session = Session(context, loop, parse_hit_points(context.system), player_name=p.player)
        _header(console, context, label, fmt.name)
        return terminal.run(session, registry, list(p.script) if p.script is not None else None)


def _header(console: Any, context: Any, label: str, fmt_name: str) -> None:
    from rich.panel import Panel
    from rich.text import Text

    where = context.source or "a fresh session"
    console.print(f"[bold]dnd-ft play[/]: {label}, chat format {fmt_name}, from {where}")
    console.print(Panel(Text(context.system), title="System", title_align="left",
                        border_style="dim"))  # fmt: skip
    offered = ", ".join(context.tools) or "none"
    console.print(f"[dim]tools offered: {offered}. /help lists the commands.[/]")
