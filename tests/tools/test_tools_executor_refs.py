"""Executors named by reference in a tools file: parsing, resolving, running, state, and the
tools files that extend the default set (extra_specs)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from dnd_ft.scenarios import parse_text
from dnd_ft.tools.errors import RegistryError, ToolExecutionError
from dnd_ft.tools.executors import SRD, ToolExecutor
from dnd_ft.tools.executors.external import ExecutorState
from dnd_ft.tools.registry import ToolRegistry
from dnd_ft.tools.spec import parse_spec

ROOT = Path(__file__).resolve().parents[2]
SPELLCASTING = ROOT / "configs" / "tools" / "spellcasting.yaml"
HERE = __name__  # the module path the references below name


# --- executors the references point at -------------------------------------------------------


def count(arguments: dict[str, Any], state: ExecutorState) -> dict[str, Any]:
    """Counts calls in the store, rolls with the shared RNG, reads the shared tracker."""
    total = state.store.get("count", 0) + arguments.get("by", 1)
    state.store["count"] = total
    fighters = len(state.tracker.snapshot()["combatants"])
    return {"count": total, "d20": state.rng.randint(1, 20), "combatants": fighters}


def not_a_dict(arguments: dict[str, Any], state: ExecutorState) -> Any:
    return ["a", "list"]


def not_json(arguments: dict[str, Any], state: ExecutorState) -> dict[str, Any]:
    return {"when": object()}


NOT_CALLABLE = 3


def _spec(name: str, executor: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "description": f"The {name} tool.",
        "parameters": {"type": "object", "properties": {"by": {"type": "integer"}}},
    }
    if executor is not None:
        spec["executor"] = executor
    return spec


# --- specs ------------------------------------------------------------------------------------


def test_executor_is_parsed_and_never_shown_to_the_model() -> None:
    spec, problems = parse_spec(_spec("count", f"{HERE}:count"))
    assert problems == [] and spec is not None and spec.executor == f"{HERE}:count"
    assert "executor" not in spec.to_dict() and "executor" not in spec.schema()["function"]
    wrapped = {"type": "function", "function": _spec("count", None), "executor": "a.b:c"}
    assert parse_spec(wrapped)[0].executor == "a.b:c"  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", ["os.system", "a.b:", ":f", "a b:c", "a.b:c.d", "a..b:c", 3])
def test_executor_syntax_is_checked_at_parse_time(bad: Any) -> None:
    spec, problems = parse_spec(_spec("count", bad))
    assert spec is None
    assert problems == [
        f"executor {bad!r} is not a 'package.module:function' reference; write the module's "
        "import path, a colon and the function's name, like "
        "dnd_ft.tools.executors.spells:cast_spell"
    ]


def test_parse_time_never_imports_the_module() -> None:
    registry = ToolRegistry.from_specs([_spec("ghost", "no_such_package.anywhere:run")])
    assert registry.get("ghost").executor == "no_such_package.anywhere:run"  # no import yet


def test_bad_reference_in_a_file_names_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "name: mine\nspecs:\n  - name: count\n    description: Count.\n    executor: nope\n"
    )
    with pytest.raises(
        RegistryError, match=r"mine.yaml:3: specs\[0\] \('count'\): executor 'nope'"
    ):
        ToolRegistry.from_file(path)


def test_digest_is_unchanged_without_executors_and_covers_them(registry: ToolRegistry) -> None:
    canonical = json.dumps(
        [s.to_dict() for s in registry], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert registry.digest() == hashlib.sha256(canonical.encode()).hexdigest()
    plain = ToolRegistry.from_specs([_spec("count", None)])
    named = ToolRegistry.from_specs([_spec("count", f"{HERE}:count")])
    assert plain.digest() != named.digest()
    assert plain.schemas() == named.schemas()  # the model sees the same tool


# --- files that extend the default set ----------------------------------------------------------


def test_spellcasting_file_extends_the_default_set(registry: ToolRegistry) -> None:
    extended = ToolRegistry.from_file(SPELLCASTING)
    assert extended.name == "spellcasting"
    assert extended.names() == [*registry.names(), "cast_spell"]
    assert extended.get("cast_spell").executor == "dnd_ft.tools.executors.spells:cast_spell"
    assert [s.to_dict() for s in extended][:-1] == [s.to_dict() for s in registry]


def test_hydra_composes_the_same_registry_as_the_file(compose_cfg: Any) -> None:
    cfg = compose_cfg("tools=spellcasting")
    assert cfg.tools.specs[0].executor is None  # the schema's default on every spec
    composed = ToolRegistry.from_config(cfg.tools)
    assert composed.digest() == ToolRegistry.from_file(SPELLCASTING).digest()
    default = ToolRegistry.from_config(compose_cfg().tools)
    assert default.digest() == ToolRegistry.default().digest()


def test_problems_of_extending_files_name_their_own_file(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(
        "name: base\nspecs:\n  - name: count\n    description: Count.\n"
    )
    (tmp_path / "more.yaml").write_text(
        "defaults: [/schema/tools@_here_, base, _self_]\nname: more\nextra_specs:\n"
        "  - name: count\n    description: Again.\n  - name: Bad Name\n    description: B.\n"
    )
    with pytest.raises(RegistryError) as info:
        ToolRegistry.from_file(tmp_path / "more.yaml")
    message = str(info.value)
    assert (
        "more.yaml:4: extra_specs[0] ('count'): duplicate tool name 'count' (first at specs[0])"
        in message
    )
    assert (
        "more.yaml:6: extra_specs[1] ('Bad Name'): name 'Bad Name' is missing or invalid" in message
    )
    (tmp_path / "base.yaml").write_text("defaults: [more]\nname: base\nspecs: []\n")
    with pytest.raises(
        RegistryError, match=r"defaults form a cycle \(more.yaml -> base.yaml -> more.yaml\)"
    ):
        ToolRegistry.from_file(tmp_path / "more.yaml")


# --- running ----------------------------------------------------------------------------------


def _executor(*specs: dict[str, Any], srd: SRD | None = None) -> ToolExecutor:
    return ToolExecutor(ToolRegistry.from_specs(list(specs)), seed=7, srd=srd)


def test_reference_runs_with_the_shared_state_and_reset_clears_the_store() -> None:
    executor = _executor(_spec("count", f"{HERE}:count"), _spec("roll_dice", None))
    assert executor.has_executor("count")
    executor.tracker.add("Aria", hp=10)
    first = [executor.execute("count", {}), executor.execute("count", {"by": 2})]
    assert [r["count"] for r in first] == [1, 3] and first[0]["combatants"] == 1
    assert executor.store == {"count": 3}
    executor.reset()
    assert executor.store == {}
    again = [executor.execute("count", {}), executor.execute("count", {"by": 2})]
    # the seeded RNG is rewound too: the same calls roll the same d20s
    assert [r["d20"] for r in again] == [r["d20"] for r in first]
    with pytest.raises(ToolExecutionError, match="invalid arguments for count"):
        executor.execute("count", {"by": "two"})  # validated before the executor runs


def test_a_reference_wins_over_the_built_in_handler() -> None:
    executor = _executor(_spec("roll_dice", f"{HERE}:count"))
    assert executor.execute("roll_dice", {})["count"] == 1


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("no_such_pkg.tools:run", "cannot import 'no_such_pkg.tools' .*fix the module path"),
        (f"{HERE}:missing", "has no attribute 'missing'; callables there: .*count.*fix the name"),
        (f"{HERE}:NOT_CALLABLE", "'NOT_CALLABLE' is a int, not a function"),
    ],
)
def test_unresolvable_references_fail_when_the_executor_is_built(
    reference: str, message: str
) -> None:
    with pytest.raises(RegistryError) as info:
        _executor(_spec("count", reference), _spec("other", "also_missing_pkg:run"))
    text = str(info.value)
    assert text.startswith("2 executor reference(s) in registry 'custom' do not resolve:")
    assert f"tool 'count': executor {reference!r}" in text
    assert re.search(message, text)


def test_results_must_be_json_objects() -> None:
    executor = _executor(_spec("listy", f"{HERE}:not_a_dict"), _spec("odd", f"{HERE}:not_json"))
    with pytest.raises(
        ToolExecutionError,
        match=r"tool 'listy': executor '.*:not_a_dict' returned a list, not a dict",
    ):
        executor.execute("listy", {})
    with pytest.raises(ToolExecutionError, match="returned a dict that is not JSON"):
        executor.execute("odd", {})


def test_a_tool_without_any_executor_says_how_to_add_one() -> None:
    with pytest.raises(ToolExecutionError, match="add `executor: package.module:function`"):
        _executor(_spec("idle", None)).execute("idle", {})


# --- scenario files cannot name code ------------------------------------------------------------


def test_scenario_files_cannot_name_executors() -> None:
    text = (
        "---\nid: sneaky\ncategory: rules\ntools: [count]\nexecutor: os:system\n---\n\n"
        "## System\nDM.\n\n## Conversation\n\n### Player\nHi.\n\n### DM\nHello.\n"
    )
    registry = ToolRegistry.from_specs([_spec("count", None)])
    problems = [p.message for p in parse_text(text, "sneaky.md", registry).problems]
    assert any("unknown front-matter key 'executor'" in p for p in problems)
    named = text.replace("tools: [count]\nexecutor: os:system", "tools: ['os:system']")
    problems = [p.message for p in parse_text(named, "sneaky.md", registry).problems]
    assert any("unknown tool 'os:system'" in p for p in problems)
