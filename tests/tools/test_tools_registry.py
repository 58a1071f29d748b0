"""Loading registries from every supported shape, and validating call arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from dnd_ft.tools.config import ToolsConfig
from dnd_ft.tools.errors import RegistryError, UnknownToolError
from dnd_ft.tools.registry import ToolRegistry, default_registry_path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tools"

DEFAULT_TOOLS = {
    "roll_dice": ["notation"],
    "lookup_monster": ["name"],
    "lookup_spell": ["name"],
    "apply_damage": ["target", "amount"],
    "heal": ["target", "amount"],
    "start_initiative": ["combatants"],
    "add_condition": ["target", "condition"],
    "ability_check": ["character", "ability", "dc"],
}


def test_default_registry_has_the_required_tools(registry: ToolRegistry) -> None:
    assert registry.name == "default"
    for name, required in DEFAULT_TOOLS.items():
        assert name in registry
        assert list(registry.get(name).required) == required
    assert set(registry.get("roll_dice").properties) == {"notation", "reason"}
    assert set(registry.get("apply_damage").properties) == {"target", "amount", "damage_type"}
    conditions = registry.get("add_condition").properties["condition"]["enum"]
    assert len(conditions) == 15 and "exhaustion" in conditions
    abilities = registry.get("ability_check").properties["ability"]["enum"]
    assert abilities == [
        "strength",
        "dexterity",
        "constitution",
        "intelligence",
        "wisdom",
        "charisma",
    ]


def test_default_file_opens_with_its_command() -> None:
    first = default_registry_path().read_text().splitlines()[0]
    assert first == "# python -m dnd_ft tools=default"


def test_default_file_merges_into_the_tools_schema() -> None:
    """Every key of configs/tools/default.yaml exists in ToolsConfig (a misspelt key fails)."""
    data = yaml.safe_load(default_registry_path().read_text())
    data.pop("defaults")
    cfg = OmegaConf.merge(OmegaConf.structured(ToolsConfig), data)
    assert ToolRegistry.from_config(cfg).digest() == ToolRegistry.default().digest()


def test_openai_json_file() -> None:
    reg = ToolRegistry.from_file(FIXTURES / "openai_tools.json")
    assert reg.name == "openai_tools"
    assert reg.names() == ["roll_dice", "end_turn"]
    # argument-less functions get an empty object schema, which chat templates expect
    assert reg.get("end_turn").parameters == {"type": "object", "properties": {}}


def test_bare_yaml_list_mixing_both_forms() -> None:
    reg = ToolRegistry.from_file(FIXTURES / "bare_list.yaml")
    assert reg.names() == ["lookup_spell", "shout"]
    assert reg.validate_arguments("shout", {"text": "x" * 81}) == [
        f"text: '{'x' * 81}' is too long"
    ]


def test_group_file_uses_its_name_and_ignores_defaults() -> None:
    reg = ToolRegistry.from_file(FIXTURES / "group.yaml")
    assert reg.name == "tavern"
    assert reg.names() == ["roll_dice", "order_drink"]


def test_invalid_json_schema_names_file_line_and_entry() -> None:
    path = FIXTURES / "bad_schema.yaml"
    with pytest.raises(
        RegistryError,
        match=r"bad_schema\.yaml:5: specs\[1\] \('broken_tool'\): parameters is not a valid JSON schema at properties\.amount\.type",
    ):
        ToolRegistry.from_file(path)


def test_missing_name_names_file_and_entry() -> None:
    with pytest.raises(
        RegistryError, match=r"missing_name\.json:3: specs\[1\]: name None is missing"
    ):
        ToolRegistry.from_file(FIXTURES / "missing_name.json")


def test_all_problems_are_reported_at_once() -> None:
    specs = [
        {"name": "a", "description": "", "parameters": {"type": "object"}},
        {"name": "b", "description": "B.", "parameters": {"type": "string"}},
        {"name": "b", "description": "B again.", "parameters": {}},
        {"type": "function", "function": {"name": "c", "description": "C."}, "extra": 1},
        "not a mapping",
    ]
    with pytest.raises(RegistryError, match="4 problem") as info:
        ToolRegistry.from_specs(specs)
    message = str(info.value)
    assert "specs[0] ('a'): description is missing or empty" in message
    assert "specs[1] ('b'): parameters must have type: object" in message
    # specs[2] is the first 'b' that parses, so it is no duplicate
    assert "specs[2]" not in message
    assert "specs[3] ('c'): unknown key(s) extra beside type and function" in message
    assert "specs[4]: expected a mapping" in message


def test_duplicate_names_are_rejected() -> None:
    spec = {"name": "a", "description": "A.", "parameters": {"type": "object"}}
    with pytest.raises(
        RegistryError, match=r"specs\[1\] \('a'\): duplicate tool name 'a' \(first at specs\[0\]\)"
    ):
        ToolRegistry.from_specs([spec, dict(spec)])


@pytest.mark.parametrize(
    ("text", "suffix", "match"),
    [
        ("[1, 2", ".json", r"broken\.json:1: invalid JSON"),
        ("specs: [\n  - a\n b", ".yaml", r"broken\.yaml:\d+: invalid YAML"),
        ("{}", ".yaml", r"broken\.yaml: no 'specs' list"),
        ("specs: []\ntools: []\n", ".yaml", r"broken\.yaml: unknown top-level key\(s\) tools"),
        ("x", ".toml", r"unknown registry format '\.toml'"),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, suffix: str, match: str) -> None:
    path = tmp_path / f"broken{suffix}"
    path.write_text(text)
    with pytest.raises(RegistryError, match=match):
        ToolRegistry.from_file(path)


def test_missing_file() -> None:
    with pytest.raises(RegistryError, match="nope.yaml: no such tool registry file"):
        ToolRegistry.from_file("nope.yaml")


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("roll_dice", {"notation": "2d6+3"}),
        ("roll_dice", {"notation": "1d20", "reason": "stealth"}),
        ("apply_damage", {"target": "Goblin", "amount": 0, "damage_type": "fire"}),
        ("start_initiative", {"combatants": ["Aria", "Goblin 1"]}),
        ("add_condition", {"target": "Aria", "condition": "prone"}),
        ("ability_check", {"character": "Aria", "ability": "wisdom", "dc": 15}),
    ],
)
def test_valid_arguments(registry: ToolRegistry, name: str, arguments: dict) -> None:
    assert registry.validate_arguments(name, arguments) == []


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        (
            "apply_damage",
            {"target": "Goblin", "amount": -3},
            ["amount: -3 is less than the minimum of 0"],
        ),
        ("apply_damage", {"target": "Goblin"}, ["'amount' is a required property"]),
        (
            "heal",
            {"target": "Aria", "amount": 3, "spell": "cure wounds"},
            ["Additional properties are not allowed ('spell' was unexpected)"],
        ),
        ("heal", {"target": "Aria", "amount": "3"}, ["amount: '3' is not of type 'integer'"]),
        ("heal", {"target": "Aria", "amount": True}, ["amount: True is not of type 'integer'"]),
        (
            "add_condition",
            {"target": "Aria", "condition": "sleepy"},
            ["condition: 'sleepy' is not one of"],
        ),
        (
            "ability_check",
            {"character": "Aria", "ability": "str", "dc": 10},
            ["ability: 'str' is not one of"],
        ),
        ("start_initiative", {"combatants": []}, ["combatants: [] should be non-empty"]),
        ("start_initiative", {"combatants": ["A", 3]}, ["combatants.1: 3 is not of type 'string'"]),
        ("roll_dice", "2d6", ["arguments must be a JSON object, got str"]),
        ("roll_dise", {"notation": "2d6"}, ["unknown tool 'roll_dise'; did you mean roll_dice?"]),
    ],
)
def test_invalid_arguments(
    registry: ToolRegistry, name: str, arguments: object, expected: list[str]
) -> None:
    problems = registry.validate_arguments(name, arguments)
    assert len(problems) == len(expected)
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start), problem


def test_get_unknown_tool_suggests(registry: ToolRegistry) -> None:
    with pytest.raises(UnknownToolError, match="unknown tool 'heal_target'; did you mean heal?"):
        registry.get("heal_target")


def test_schemas_in_chat_template_format(registry: ToolRegistry) -> None:
    schemas = registry.schemas()
    assert [s["function"]["name"] for s in schemas] == registry.names()
    assert all(
        s["type"] == "function" and set(s["function"]) == {"name", "description", "parameters"}
        for s in schemas
    )
    subset = registry.schemas(["heal", "roll_dice"])
    assert [s["function"]["name"] for s in subset] == ["heal", "roll_dice"]
    subset[0]["function"]["parameters"]["required"].append("x")  # a copy: the registry is unchanged
    assert registry.get("heal").required == ("target", "amount")
    json.dumps(schemas)  # plain JSON


def test_digest_is_stable_and_content_sensitive(registry: ToolRegistry) -> None:
    again = ToolRegistry.from_specs(registry.schemas(), name="other-name")
    assert again.digest() == registry.digest() and len(registry.digest()) == 64
    changed = registry.schemas()
    changed[0]["function"]["description"] += " Always."
    assert ToolRegistry.from_specs(changed).digest() != registry.digest()


def test_from_config_accepts_dataclass_and_mapping() -> None:
    spec = {"name": "a", "description": "A.", "parameters": {"type": "object"}}
    cfg = ToolsConfig(name="mine", specs=[spec])  # type: ignore[list-item]
    assert ToolRegistry.from_config(cfg).names() == ["a"]
    assert ToolRegistry.from_config({"name": "m", "specs": [spec]}).name == "m"
    with pytest.raises(RegistryError, match="tools.specs is missing"):
        ToolRegistry.from_config({"name": "m"})
