"""``python -m dnd_ft.tools check`` and ``scaffold``, on the real corpus and real files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dnd_ft.scenarios import parse_file
from dnd_ft.scenarios.scaffold import placeholder_arguments
from dnd_ft.scenarios.toolcheck import check_corpus
from dnd_ft.scenarios.toolcli import COMMANDS
from dnd_ft.tools.cli import main as tools_main
from dnd_ft.tools.registry import ToolRegistry
from dnd_ft.tools.spec import ToolSpec

ROOT = Path(__file__).resolve().parents[2]
SPELLCASTING_TOOLS = ROOT / "configs" / "tools" / "spellcasting.yaml"
SPELLCASTING_SCENARIOS = ROOT / "tests" / "fixtures" / "scenarios" / "spellcasting"


def main(argv: list[str]) -> int:
    """The CLI as ``python -m dnd_ft.tools`` runs it (dnd_ft/tools/__main__.py)."""
    return tools_main(argv, commands=COMMANDS)


def test_the_real_corpus_is_clean_against_the_default_tools(
    registry: ToolRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(ROOT / "scenarios")]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    check = check_corpus([ROOT / "scenarios"], registry)
    assert captured.err == f"ok: registry 'default': {check.summary()}\n"
    assert check.scenarios >= 49 and check.calls > check.flows > check.scenarios
    assert sum(check.used.values()) == check.calls and check.unknown == {}
    assert f"{len(check.used)} of {len(registry)} tools used" in check.summary()


def test_spellcasting_scenarios_need_the_spellcasting_tools(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["check", str(SPELLCASTING_SCENARIOS)]
    assert main([*args, "--tools", str(SPELLCASTING_TOOLS)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("ok: registry 'spellcasting': 2 scenario(s), 4 flow(s)")
    assert main(args) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 2  # one per scenario, at its `tools:` line
    names = ["field-hospital-at-redwater", "ghouls-in-the-ossuary"]
    for line, name in zip(lines, names, strict=True):
        where = f"{SPELLCASTING_SCENARIOS / name}.md:6"
        assert line.startswith(f"{where}: scenario {name!r} offers unknown tool 'cast_spell' "
                               "(registry 'default' has roll_dice")  # fmt: skip
        assert "called " in line and "declare the tool in the tools file (--tools)" in line
    assert "2 problem(s) in 2 file(s) against registry 'default'" in captured.err
    assert "unknown: cast_spell" in captured.err


def test_bad_arguments_and_format_problems(
    tmp_path: Path, registry: ToolRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad-args.md").write_text(
        "---\nid: bad-args\ncategory: rules\ntools: [roll_dice, heal]\n---\n\n## System\nDM.\n\n"
        "## Conversation\n\n### Player\nRoll.\n\n### DM\n```tool_call\n"
        'roll_dice(notation="")\n```\n\n### Tool: roll_dice\n```json\n{"total": 1}\n```\n\n'
        "### DM\nA one.\n"
    )
    (tmp_path / "broken.md").write_text("---\nid: broken\n")
    check = check_corpus([tmp_path], registry)
    assert [str(p).removeprefix(f"{tmp_path}/") for p in check.problems] == [
        "bad-args.md:17: call to 'roll_dice' fails its schema: notation: '' should be "
        "non-empty; fix the arguments or the tool's parameters in the tools file",
        "broken.md:1: front matter is never closed: add a '---' line after the YAML",
    ]
    assert check.scenarios == 1 and check.unused[:1] == ["lookup_monster"]
    assert main(["check", str(tmp_path)]) == 1
    assert capsys.readouterr().out.count("\n") == 2


def test_module_entry_point_has_check_and_scaffold() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dnd_ft.tools", "check", "--tools", str(SPELLCASTING_TOOLS),
         str(SPELLCASTING_SCENARIOS)],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "ok: registry 'spellcasting'" in proc.stderr
    help_page = subprocess.run(
        [sys.executable, "-m", "dnd_ft.tools", "--help"],
        capture_output=True, text=True, cwd=ROOT, check=True,
    ).stdout  # fmt: skip
    assert "check" in help_page and "scaffold" in help_page


# --- scaffold -----------------------------------------------------------------------------------


def test_scaffold_writes_a_starter_that_lints_for_every_tool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = ToolRegistry.from_file(SPELLCASTING_TOOLS)
    for name in registry.names():
        args = ["scaffold", name, "--tools", str(SPELLCASTING_TOOLS), "--out", str(tmp_path)]
        assert main(args) == 0, capsys.readouterr().err
        path = tmp_path / f"{name.replace('_', '-')}-starter.md"
        assert capsys.readouterr().out == f"wrote {path}: replace its TODOs, then lint it\n"
        result = parse_file(path, registry)
        assert result.ok, result.problems
        (scenario,) = result.scenarios
        assert scenario.tools == (name,)
        (call,) = [c for turn in scenario.flows[0].turns for c in turn.tool_calls]
        assert call.name == name and registry.validate_arguments(name, call.arguments) == []
        assert set(call.arguments) == set(registry.get(name).required)
    assert check_corpus([tmp_path], registry).ok
    text = (tmp_path / "cast-spell-starter.md").read_text()
    assert '"arguments": {"caster": "TODO", "spell": "TODO", "slot_level": 0}' in text
    assert '{"ok": true, "caster": "TODO"' in text  # the executor's real result
    assert (
        '{"TODO": "the tool\'s result for the real arguments: python -m dnd_ft.tools call roll_dice'
        in (tmp_path / "roll-dice-starter.md").read_text()
    )  # "TODO" is no dice notation: the result is left to write


def test_scaffold_refuses_to_overwrite_and_unknown_tools(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scaffold", "heal", "--out", str(tmp_path), "--category", "combat"]) == 0
    path = tmp_path / "heal-starter.md"
    assert "category: combat" in path.read_text()
    path.write_text("mine")
    capsys.readouterr()
    assert main(["scaffold", "heal", "--out", str(tmp_path)]) == 1
    assert "heal-starter.md already exists; edit it, remove it, or pass another --out" in (
        capsys.readouterr().err
    )
    assert path.read_text() == "mine"
    assert main(["scaffold", "cast_spell", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unknown tool 'cast_spell' (registry 'default' has roll_dice, ")
    assert err.endswith("scaffold one of those, or pass --tools FILE\n")


def test_placeholders_satisfy_common_schema_shapes() -> None:
    parameters = {
        "type": "object",
        "properties": {
            "names": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 2,
                "uniqueItems": True,
            },
            "mood": {"enum": ["calm", "angry"]},
            "code": {"type": "string", "minLength": 6, "maxLength": 8},
            "dc": {"type": "integer", "exclusiveMinimum": 4, "multipleOf": 5},
            "bonus": {"type": ["null", "number"], "maximum": -2},
            "flag": {"type": "boolean"},
            "where": {
                "type": "object",
                "properties": {"x": {"type": "integer"}},
                "required": ["x"],
            },
        },
        "required": ["names", "mood", "code", "dc", "bonus", "flag", "where"],
    }
    spec = ToolSpec("shapes", "Shapes.", parameters)
    arguments = placeholder_arguments(spec)
    assert arguments == {
        "names": ["TODO 1", "TODO 2"], "mood": "calm", "code": "TODOOO", "dc": 5,
        "bonus": -2, "flag": False, "where": {"x": 1},
    }  # fmt: skip
    assert ToolRegistry([spec]).validate_arguments("shapes", arguments) == []
