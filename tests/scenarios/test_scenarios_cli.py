"""``python -m dnd_ft.scenarios``: exit codes, stdout/stderr, atomic export."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dnd_ft.scenarios import load_corpus, to_records
from dnd_ft.scenarios.cli import main
from dnd_ft.tools.registry import ToolRegistry


def test_lint_ok(fixtures: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(fixtures / "good")]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "ok: 2 scenario(s), 3 flow(s)\n"


def test_lint_bad_prints_file_line_message(
    fixtures: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = fixtures / "bad"
    assert main(["lint", str(bad / "dm_after_dm.md"), str(bad / "unknown_key.md")]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"{bad / 'dm_after_dm.md'}:28: two DM turns in a row; merge them, or put the Player or "
        "Tool turn between them",
        f"{bad / 'unknown_key.md'}:3: unknown front-matter key 'titel' (did you mean 'title'?); "
        "allowed keys: id, title, category, tags, tools",
    ]
    assert err == "2 problem(s) in 2 file(s); 0 valid scenario(s)\n"


def test_export_round_trip(fixtures: Path, tmp_path: Path, registry: ToolRegistry,
                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = tmp_path / "nested" / "train.jsonl"
    assert main(["export", str(fixtures / "good"), "--out", str(out)]) == 0
    assert capsys.readouterr().err == f"wrote 3 records from 2 scenarios to {out}\n"
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    expected = [r for s in load_corpus([fixtures / "good"], registry).scenarios
                for r in to_records(s, registry)]  # fmt: skip
    assert rows == expected
    assert [r["id"] for r in rows] == [
        "goblin-ambush/ambush",
        "bridge-troll/parley",
        "bridge-troll/2",
    ]
    assert list(tmp_path.joinpath("nested").iterdir()) == [out]  # no temp file left behind


def test_export_refuses_when_lint_fails(fixtures: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = tmp_path / "train.jsonl"
    out.write_text("previous\n")
    paths = [str(fixtures / "good"), str(fixtures / "bad" / "empty_dm_turn.md")]
    assert main(["export", *paths, "--out", str(out)]) == 1
    stdout, err = capsys.readouterr()
    assert "empty_dm_turn.md:25: empty DM turn" in stdout
    assert err.endswith(f"export refused: fix the problems above; {out} not written\n")
    assert out.read_text() == "previous\n"  # untouched
    assert list(tmp_path.iterdir()) == [out]


def test_stats_table(fixtures: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", str(fixtures / "good")]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith("Totals\n  scenarios ")
    for heading in ("Turns by role", "By category (scenarios / flows)", "Tool calls by tool"):
        assert f"\n{heading}\n" in out
    assert re.search(r"\n  combat +1 / 1\n", out)


def test_custom_tools_and_categories(fixtures: Path, capsys: pytest.CaptureFixture[str]) -> None:
    custom = fixtures / "custom"
    heist = str(custom / "heist.md")
    # the default registry has no pick_lock and the default categories no heist
    assert main(["lint", heist]) == 1
    out, _ = capsys.readouterr()
    assert f"{heist}:3: unknown category 'heist'" in out
    assert f"{heist}:4: unknown tool 'pick_lock' in 'tools'" in out
    args = ["lint", heist, "--tools", str(custom / "tools.yaml"), "--categories", "heist,combat"]
    assert main(args) == 0


def test_bad_tools_file_is_a_usage_error(fixtures: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert main(["lint", str(fixtures / "good"), "--tools", str(tmp_path / "none.yaml")]) == 2
    assert "cannot load the tool registry" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["export", "scenarios"])  # --out missing
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["lint", "x", "--categories", " , "])
    assert exc.value.code == 2


def test_module_entry_point(fixtures: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dnd_ft.scenarios", "lint", str(fixtures / "bad" / "dm_after_dm.md")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stdout.endswith(
        ":28: two DM turns in a row; merge them, or put the Player or Tool turn between them\n"
    )
    assert proc.stderr == "1 problem(s) in 1 file(s); 0 valid scenario(s)\n"
