"""Schema of the `play` group (``python -m dnd_ft.play``) and its checks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dnd_ft.config.checks import one_of

BACKENDS = ("model", "replay")


@dataclass
class PlayConfig:
    # A scenario file whose system context (party, scene, offered tools) the session starts
    # from; null: a fresh session with the default DM prompt and every tool of the registry.
    scenario: str | None = None
    # Which conversation of the scenario: its title or slug (null: the first). It names the
    # saved flow and is what backend=replay replays.
    flow: str | None = None
    player: str = "Player"  # who speaks a line, until /player NAME changes it
    # Generations per DM turn, each of which may call tools; a turn still calling after the
    # last is cut off (the phone app's cap), and the saved scenario marks it.
    max_rounds: int = 4
    max_new_tokens: int = 256  # per generation
    temperature: float = 0.0  # 0: greedy; above 0 samples, seeded with play.seed
    seed: int = "${seed}"  # type: ignore[assignment]  # sampling; the dice use tools.seed
    # model: the HF model (model=..., with version or eval.adapter_dir), or the GGUF below
    # through llama.cpp. replay: the scenario's own DM turns, in order, through the live
    # loop (checks that a scenario's calls run; demos and tests without a trained model).
    backend: str = "model"
    gguf: str | None = None  # a GGUF file to play with llama.cpp (pip install -e '.[gguf]')
    # A registry version (v3, latest, <line>:v2) or a run / adapter folder; null: the
    # adapter in eval.adapter_dir, else the base model.
    version: str | None = None
    stream: bool = True  # show the text as it is generated (on a terminal)
    # Player lines (and /commands) to play instead of reading the keyboard; the session ends
    # after the last one. null: interactive.
    script: list[str] | None = None
    transcript: str | None = None  # also write the session as plain text to this file


def check_play(cfg: Any) -> Iterable[str]:
    p = cfg.play
    yield from one_of("play.backend", p.backend, BACKENDS)
    if p.max_rounds < 1:
        yield f"play.max_rounds: {p.max_rounds} must be at least 1 (one generation per turn)"
    if p.max_new_tokens < 1:
        yield f"play.max_new_tokens: {p.max_new_tokens} must be at least 1"
    if p.temperature < 0:
        yield f"play.temperature: {p.temperature} must be >= 0 (0 is greedy)"
    if p.scenario is not None and not Path(p.scenario).is_file():
        yield f"play.scenario: {p.scenario} is not a file; give a scenario .md file or null"
    if p.flow is not None and p.scenario is None:
        yield "play.flow: names a conversation of a scenario; set play.scenario too"
    if p.backend == "replay" and p.scenario is None:
        yield "play.backend: replay plays a scenario's DM turns; set play.scenario=FILE.md"
    if p.gguf is not None:
        if not Path(p.gguf).is_file():
            yield f"play.gguf: {p.gguf} is not a file; give a .gguf file or null"
        if p.backend == "replay":
            yield "play.gguf: backend=replay uses no model; drop play.gguf or use backend=model"
