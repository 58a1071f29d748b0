"""The CLI and the checked-in docs/tools.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dnd_ft.tools.cli import main
from dnd_ft.tools.docs import constraints, render_markdown, signature, type_label
from dnd_ft.tools.registry import ToolRegistry

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "tools"


def test_checked_in_docs_match_the_registry(registry: ToolRegistry) -> None:
    checked_in = (ROOT / "docs" / "tools.md").read_text(encoding="utf-8")
    assert checked_in == render_markdown(registry), (
        "docs/tools.md is stale; run `python -m dnd_ft.tools docs --out docs/tools.md`"
    )


def test_docs_helpers(registry: ToolRegistry) -> None:
    assert signature(registry.get("apply_damage")) == "apply_damage(target, amount, damage_type?)"
    combatants = registry.get("start_initiative").properties["combatants"]
    assert type_label(combatants) == "array of string"
    assert constraints(combatants) == ["at least 1 item(s)", "no duplicates", "each length >= 1"]
    assert constraints({"type": ["integer", "null"], "maximum": 5, "default": 1}) == [
        "<= 5",
        "default `1`",
    ]


def test_list(capsys: pytest.CaptureFixture[str], registry: ToolRegistry) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in registry.names():
        assert name in out


def test_docs_to_file_and_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sub" / "tools.md"
    assert main(["docs", "--tools", str(FIXTURES / "group.yaml"), "--out", str(out)]) == 0
    text = out.read_text()
    assert text == render_markdown(ToolRegistry.from_file(FIXTURES / "group.yaml"))
    assert "## order_drink" in text and "one of `ale`, `mead`, `wine`" in text
    capsys.readouterr()
    assert main(["docs", "--tools", str(FIXTURES / "openai_tools.json")]) == 0
    assert "Takes no arguments." in capsys.readouterr().out


def test_bad_registry_exits_1_with_error_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--tools", str(FIXTURES / "bad_schema.yaml")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "bad_schema.yaml:5: specs[1] ('broken_tool')" in captured.err


def test_call(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "roll_dice", '{"notation": "2d6+3"}', "--seed", "1"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["call", "roll_dice", '{"notation": "2d6+3"}', "--seed", "1"]) == 0
    assert json.loads(capsys.readouterr().out) == first and first["modifier"] == 3
    assert main(["call", "heal", '{"target": "Aria"}']) == 1
    assert "'amount' is a required property" in capsys.readouterr().err
    assert main(["call", "heal", "{not json"]) == 1
    assert "arguments are not valid JSON" in capsys.readouterr().err


def test_module_entry_point() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dnd_ft.tools",
            "list",
            "--tools",
            str(FIXTURES / "missing_name.json"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 1
    assert "missing_name.json:3: specs[1]: name None is missing" in proc.stderr


def test_importing_the_package_is_cheap() -> None:
    code = (
        "import sys, dnd_ft.tools; "
        "heavy = [m for m in ('d20', 'jsonschema', 'sqlite3', 'yaml', 'rich') if m in sys.modules]; "
        "assert not heavy, heavy; "
        "assert dnd_ft.tools.ToolRegistry.__name__ == 'ToolRegistry'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
