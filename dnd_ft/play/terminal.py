"""The terminal side of a session: read player lines and commands, show what the DM does.

Replies show in a panel headed ``DM``; every tool call as a ``CALL`` line and its result as
a ``RESULT`` line (``ERROR`` when the call failed, ``MALFORMED`` for a call that could not
be parsed and went back to the model as an error result). On a terminal the text streams
while it is generated, then gives way to that structured view. ``play.transcript`` gets the
same lines as plain text.

Commands: /state, /undo, /save FILE (/save! FILE overwrites), /player NAME, /help, /quit.
End of input (Ctrl-D, or the last line of ``play.script``) ends the session too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from dnd_ft.agent.loop import Event
from dnd_ft.agent.session import Session

HELP = """\
/state         hit points, initiative order and conditions of every tracked creature
/undo          take back your last line and the DM's turn (dice and damage too)
/save FILE     write the session as a scenario file (/save! FILE overwrites)
/player NAME   speak as another player from now on
/quit          end the session (so does Ctrl-D)"""


class Terminal:
    """Shows one `Session` on ``console``; ``backend`` is what generates (it gets
    ``on_text`` for streaming, and ``rewind`` if it can step back on /undo)."""

    def __init__(
        self,
        console: Console,
        backend: Any,
        *,
        stream: bool = True,
        transcript: TextIO | None = None,
    ) -> None:
        self.console, self.backend, self.transcript = console, backend, transcript
        self.stream = stream and console.is_terminal  # a pipe or file gets the final view only
        self.session: Session | None = None
        self.registry: Any = None

    # --- what the loop calls ------------------------------------------------------------

    def generate(self, prompt: str) -> str:
        """The backend's generation, streamed into a transient live view on a terminal."""
        if not self.stream:
            return self.backend(prompt)
        shown = Text(style="dim")
        with Live(shown, console=self.console, transient=True, refresh_per_second=15) as live:

            def on_text(piece: str) -> None:
                shown.append(piece)
                live.update(shown)

            self.backend.on_text = on_text
            return self.backend(prompt)

    def show(self, event: Event) -> None:
        """One event of a DM turn, clearly marked (see the module docstring)."""
        if event.kind == "reply":
            self.console.print(Panel(Text(event.text), title="DM", title_align="left",
                                     border_style="magenta"))  # fmt: skip
            self._plain(f"DM: {event.text}")
        elif event.kind == "call":
            line = f"{event.name}({_arguments(event.arguments)})"
            self.console.print(Text.assemble(("CALL   ", "bold cyan"), (line, "cyan")))
            self._plain(f"CALL   {line}")
        elif event.kind in ("result", "error"):
            body = json.dumps(event.result, ensure_ascii=False)
            mark, style = (
                ("RESULT ", "bold green") if event.kind == "result" else ("ERROR  ", "bold red")
            )
            self.console.print(Text.assemble((mark, style), (f"{event.name} ", "bold"), body))
            self._plain(f"{mark}{event.name} {body}")
        elif event.kind == "malformed":
            self.console.print(Text.assemble(("MALFORMED ", "bold red"), (event.text, "red"),
                                             ("  (sent back as an error result)", "dim")))  # fmt: skip
            self._plain(f"MALFORMED {event.text}")
        elif event.kind == "cap":
            self.console.print(Text(f"CAP    {event.text}", style="bold yellow"))
            self._plain(f"CAP    {event.text}")

    # --- the session --------------------------------------------------------------------

    def run(self, session: Session, registry: Any, lines: Iterable[str] | None = None) -> int:
        """Play until /quit or the end of input; ``lines`` replace the keyboard."""
        self.session, self.registry = session, registry
        source = iter(lines) if lines is not None else self._keyboard()
        for raw in source:
            line = raw.strip()
            if lines is not None:
                self.console.print(Text.assemble((f"{self._speaker()}> ", "bold"), line))
            if not line:
                continue
            if line.startswith("/"):
                if not self.command(line):
                    break
                continue
            self._plain(f"{self._speaker()}: {line}")
            try:
                if not session.player(line).events:  # say so, or the turn looks like a hang
                    self.console.print("[dim](the DM wrote nothing)[/]")
                    self._plain("DM: (nothing)")
            except KeyboardInterrupt:
                self.console.print("[yellow]interrupted: that turn is discarded[/]")
        self.console.print("[dim]session over[/]")
        return 0

    def command(self, line: str) -> bool:
        """Run one /command; False when the session should end."""
        session = self._session()
        word, _, arg = line.partition(" ")
        arg = arg.strip()
        if word in ("/quit", "/exit", "/q"):
            return False
        if word == "/help":
            self.console.print(HELP)
        elif word == "/state":
            self.show_state(session.state())
        elif word == "/undo":
            turn = session.undo()
            if turn is None:
                self.console.print("[yellow]nothing to undo[/]")
            else:
                if hasattr(self.backend, "rewind"):
                    self.backend.rewind(turn.rounds)
                self.console.print(f"[yellow]took back your last line and the DM's turn "
                                   f"({len(turn.calls)} call(s) undone)[/]")  # fmt: skip
                self._plain("UNDO")
        elif word in ("/save", "/save!"):
            self.save(arg, overwrite=word == "/save!")
        elif word == "/player":
            if arg:
                session.player_name = arg
                self.console.print(f"speaking as [bold]{arg}[/]")
            else:
                self.console.print("[red]/player needs a name: /player Elara[/]")
        else:
            self.console.print(f"[red]unknown command {word}[/]; /help lists them")
        return True

    def show_state(self, state: dict[str, Any]) -> None:
        """/state: the combat tracker as a table."""
        combatants = state.get("combatants") or {}
        if not combatants:
            self.console.print("[dim]no creature is tracked yet[/]")
            self._plain("STATE  (empty)")
            return
        order = state.get("order") or []
        title = f"round {state.get('round')}" if state.get("round") else "no combat yet"
        table = Table(title=title, title_justify="left")
        for column in ("creature", "HP", "initiative", "conditions"):
            table.add_column(column)
        ranked = sorted(combatants, key=lambda n: order.index(n) if n in order else len(order))
        for name in ranked:
            c = combatants[name]
            hp = "?" if c["hp"] is None else f"{c['hp']}/{c['max_hp']}"
            if c["hp"] is None and c.get("damage_taken"):
                hp = f"? ({c['damage_taken']} damage taken)"
            init = "" if c["initiative"] is None else str(c["initiative"])
            table.add_row(name, hp, init, ", ".join(c["conditions"]))
        self.console.print(table)
        self._plain("STATE  " + json.dumps(state, ensure_ascii=False))

    def save(self, arg: str, overwrite: bool = False) -> Path | None:
        """/save FILE: the session as a scenario file, linted right after writing."""
        from dnd_ft.agent.save import make_id, to_scenario_markdown
        from dnd_ft.scenarios import load_corpus
        from dnd_ft.utils.io import atomic_write_text

        session = self._session()
        if not arg:
            self.console.print("[red]/save needs a file name: /save my-session.md[/]")
            return None
        path = Path(arg).expanduser()
        path = path if path.suffix == ".md" else path.with_name(path.name + ".md")
        if path.exists() and not overwrite:
            self.console.print(f"[red]{path} exists[/]; choose another name or /save! {arg}")
            return None
        try:
            saved = to_scenario_markdown(session.context, session.messages, self.registry,
                                         scenario_id=make_id(path.stem))  # fmt: skip
        except ValueError as exc:
            self.console.print(f"[red]{exc}[/]")
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, saved.text)
        for note in saved.notes:
            self.console.print(f"[yellow]note:[/] {note}")
        problems = load_corpus([path], self.registry).problems
        if problems:  # a bug in the writer: say so plainly rather than leave a bad file unseen
            for problem in problems:
                self.console.print(f"[red]{problem}[/]")
        verdict = "lints clean" if not problems else f"{len(problems)} lint problem(s)"
        self.console.print(f"saved {path} ({verdict})")
        self._plain(f"SAVED  {path} ({verdict})")
        return path

    # --- helpers ------------------------------------------------------------------------

    def _keyboard(self) -> Iterator[str]:
        while True:
            try:
                yield self.console.input(f"[bold]{self._speaker()}>[/] ")
            except (EOFError, KeyboardInterrupt):
                self.console.print()
                return

    def _session(self) -> Session:
        if self.session is None:
            raise RuntimeError("Terminal.run starts the session")
        return self.session

    def _speaker(self) -> str:
        return (self.session.player_name if self.session else None) or "Player"

    def _plain(self, line: str) -> None:
        if self.transcript is not None:
            self.transcript.write(line.rstrip() + "\n")
            self.transcript.flush()  # a session killed mid-way keeps what it had


def _arguments(arguments: dict[str, Any] | None) -> str:
    return ", ".join(
        f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in (arguments or {}).items()
    )
