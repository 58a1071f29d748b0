"""``python -m dnd_ft.play`` end to end: the config, scripted sessions (replayed and on the
tiny models), the saved scenario linted and exported, and a person's session under tmux."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dnd_ft.errors import ConfigError
from dnd_ft.pipeline.config import validate
from tests.play.helpers import REPO_ROOT

DUEL = REPO_ROOT / "tests" / "fixtures" / "play" / "dice-duel.md"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


def play(*overrides: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dnd_ft.play", *overrides], cwd=REPO_ROOT,
                          env=ENV, capture_output=True, text=True, timeout=timeout)  # fmt: skip


def scenarios_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dnd_ft.scenarios", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def script(*lines: str) -> str:
    return "play.script=" + json.dumps(list(lines))


def assert_lints_and_exports(path: Path, tmp_path: Path) -> list[dict]:
    lint = scenarios_cli("lint", str(path))
    assert lint.returncode == 0, lint.stdout + lint.stderr + path.read_text()
    out = tmp_path / f"{path.stem}.jsonl"
    export = scenarios_cli("export", str(path), "--out", str(out))
    assert export.returncode == 0, export.stdout + export.stderr
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_play_config_composes_with_the_train_config(compose_cfg) -> None:
    cfg = compose_cfg("model=tiny_gemma3", "play.max_rounds=2", 'play.script=["hi"]')
    assert cfg.play.max_rounds == 2 and list(cfg.play.script) == ["hi"]
    assert cfg.play.seed == cfg.seed and cfg.play.backend == "model"
    validate(cfg)


def test_play_config_problems_are_named(compose_cfg) -> None:
    cfg = compose_cfg("play.backend=replay", "play.max_rounds=0", "play.flow=Duel",
                      "play.gguf=missing.gguf", "play.temperature=-1")  # fmt: skip
    with pytest.raises(ConfigError) as raised:
        validate(cfg)
    text = str(raised.value)
    for expected in ("play.max_rounds: 0 must be at least 1", "play.flow: names a conversation",
                     "play.backend: replay plays a scenario's DM turns",
                     "play.gguf: missing.gguf is not a file", "play.temperature: -1.0"):  # fmt: skip
        assert expected in text, text


def test_a_bad_override_is_one_line_not_a_traceback() -> None:
    proc = play("play.nonsense=1", timeout=120)
    assert proc.returncode == 1 and "play.nonsense" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_replayed_scenario_executes_its_calls_and_saves(tmp_path: Path) -> None:
    saved, transcript = tmp_path / "duel-played.md", tmp_path / "duel.txt"
    proc = play("model=tiny_qwen3", "play.backend=replay", f"play.scenario={DUEL}",
                "play.player=Thorin", f"play.transcript={transcript}",
                script("I swing my axe", "/state", f"/save {saved}", "/undo", "/state"))  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = transcript.read_text(encoding="utf-8").splitlines()
    results = [json.loads(line.split(" ", 2)[2]) for line in lines
               if line.startswith("RESULT roll_dice")]  # fmt: skip
    assert [r["notation"] for r in results] == ["1d20+5", "1d8+3"]
    # the executor's own dice, seeded by tools.seed: not the totals written in the scenario
    assert all(r["total"] == sum(r["rolls"]) + r["modifier"] for r in results)
    states = [json.loads(line[len("STATE  ") :]) for line in lines if line.startswith("STATE  {")]
    assert states[0]["combatants"]["Goblin 1"]["hp"] == 0
    assert states[1]["combatants"]["Goblin 1"]["hp"] == 7  # /undo put the goblin back
    (row,) = assert_lints_and_exports(saved, tmp_path)
    calls = [c["function"] for m in row["messages"] for c in m.get("tool_calls", [])]
    assert [c["name"] for c in calls] == ["roll_dice", "roll_dice", "apply_damage"]
    tool_results = [json.loads(m["content"]) for m in row["messages"] if m["role"] == "tool"]
    assert tool_results[:2] == results


@pytest.mark.parametrize("model", ["tiny_gemma3", "tiny_qwen3"])
def test_a_scripted_session_on_a_tiny_model_saves_a_scenario_that_lints(
    model: str, tmp_path: Path
) -> None:
    """The random tiny models write noise: the loop must take it (as replies or malformed
    calls fed back as errors) and the saved file must still lint and export."""
    saved = tmp_path / f"{model}.md"
    start = time.perf_counter()
    proc = play(f"model={model}", f"play.scenario={DUEL}", "play.max_new_tokens=24",
                "play.max_rounds=2", "play.temperature=0.8",
                script("I swing my axe at the goblin", "Again!", "/state", f"/save {saved}"),
                timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "lints clean" in proc.stdout, proc.stdout[-3000:]
    (row,) = assert_lints_and_exports(saved, tmp_path)
    assert [m["content"] for m in row["messages"] if m["role"] == "user"] == [
        "I swing my axe at the goblin", "Again!"]  # fmt: skip
    assert time.perf_counter() - start < 600


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_a_person_plays_under_tmux(tmp_path: Path) -> None:
    """Typed lines in a real terminal: a dice call runs, its total shows, /state, /save."""
    socket, saved, transcript = (
        f"dnd-ft-play-{os.getpid()}",
        tmp_path / "tmux.md",
        tmp_path / "t.txt",
    )
    command = " ".join([
        "HF_HUB_OFFLINE=1", sys.executable, "-m", "dnd_ft.play", "model=tiny_qwen3",
        "play.backend=replay", f"play.scenario={DUEL}", "play.player=Thorin",
        f"play.transcript={transcript}", "; sleep 60",
    ])  # fmt: skip
    tmux = ["tmux", "-L", socket]
    subprocess.run([*tmux, "new-session", "-d", "-s", "play", "-x", "160", "-y", "50",
                    "-c", str(REPO_ROOT), command], check=True)  # fmt: skip
    try:

        def screen() -> str:
            out = subprocess.run([*tmux, "capture-pane", "-p", "-J", "-S", "-400", "-t", "play"],
                                 capture_output=True, text=True, check=True)  # fmt: skip
            return out.stdout

        def wait_for(text: str, timeout: float = 120) -> str:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                shown = screen()
                if text in shown:
                    return shown
                time.sleep(0.3)
            raise AssertionError(f"{text!r} never appeared; the screen:\n{screen()}")

        def send(line: str) -> None:
            subprocess.run([*tmux, "send-keys", "-t", "play", "-l", line], check=True)
            subprocess.run([*tmux, "send-keys", "-t", "play", "Enter"], check=True)

        wait_for("Thorin>")
        send("I swing my axe at the goblin")
        shown = wait_for("the bridge is yours")
        assert re.search(r"CALL\s+roll_dice\(notation=\"1d20\+5\"", shown), shown
        rolled = [json.loads(line.split(" ", 2)[2]) for line in transcript.read_text().splitlines()
                  if line.startswith("RESULT roll_dice")]  # fmt: skip
        assert rolled, transcript.read_text()
        for result in rolled:  # each executed total is on the screen, in its RESULT line
            assert re.search(rf'RESULT\s+roll_dice .*"total": {result["total"]}\b', shown), shown
        send("/state")
        wait_for("Goblin 1")
        assert re.search(r"Goblin 1\s*│\s*0/7", screen()), screen()
        send(f"/save {saved}")
        wait_for("lints clean")
        send("/quit")
        wait_for("session over")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    (row,) = assert_lints_and_exports(saved, tmp_path)
    executed = [json.loads(m["content"])["total"] for m in row["messages"]
                if m["role"] == "tool" and m["name"] == "roll_dice"]  # fmt: skip
    assert executed == [r["total"] for r in rolled]


def _smollm2_gguf() -> Path | None:
    from dnd_ft.assets import AssetError, asset_path
    from dnd_ft.export.gguf import have_llama_cpp

    if not have_llama_cpp():
        return None
    try:
        return asset_path("smollm2", fetch=False)
    except AssetError:
        return None


@pytest.mark.skipif(_smollm2_gguf() is None, reason="needs llama-cpp-python and the smollm2 asset")
def test_a_gguf_plays_through_llama_cpp(tmp_path: Path) -> None:
    """SmolLM2-135M's own GGUF (a real chat model, untrained for tools) plays two lines."""
    saved, transcript = tmp_path / "gguf.md", tmp_path / "gguf.txt"
    proc = play("model=smollm2_135m", f"play.gguf={_smollm2_gguf()}", f"play.scenario={DUEL}",
                "play.max_new_tokens=32", "play.max_rounds=2", f"play.transcript={transcript}",
                script("Hello DM, where am I?", "I attack the goblin", f"/save {saved}"))  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "(llama.cpp)" in proc.stdout and "lints clean" in proc.stdout
    assert any(line.startswith("DM: ") for line in transcript.read_text().splitlines())
    (row,) = assert_lints_and_exports(saved, tmp_path)
    assert sum(m["role"] == "assistant" for m in row["messages"]) >= 2
