"""Tool-call metrics: one hand-built case per BFCL rule and per counting rule."""

from __future__ import annotations

import pytest

from dnd_ft.evaluation.toolcalls import (
    ToolCallStats,
    as_call,
    compare_arguments,
    score_turn,
    standardize_string,
)
from dnd_ft.tools.registry import ToolRegistry


@pytest.fixture(scope="module")
def registry() -> ToolRegistry:
    return ToolRegistry.default()


def call(name: str, /, **arguments) -> dict:
    return {"name": name, "arguments": arguments}


def hf(name: str, /, **arguments) -> dict:
    return {"type": "function", "function": {"name": name, "arguments": arguments}}


DAMAGE = {
    "type": "object",
    "properties": {
        "target": {"type": "string"},
        "amount": {"type": "integer"},
        "damage_type": {"type": "string", "enum": ["fire", "slashing"]},
    },
    "required": ["target", "amount"],
}
ROLL = {
    "type": "object",
    "properties": {"notation": {"type": "string"}, "reason": {"type": "string"},
                   "bonus": {"type": "number"}},
    "required": ["notation"],
}  # fmt: skip


def test_standardize_string_follows_bfcl():
    assert standardize_string("  Goblin-1, the_Big. ") == "goblin1thebig"
    assert standardize_string("O'Brien") == 'o"brien'
    assert standardize_string("1d20 + 5") == "1d20+5"


def test_exact_arguments_agree():
    assert (
        compare_arguments(
            {"target": "goblin 1", "amount": 7}, {"target": "Goblin 1", "amount": 7}, DAMAGE
        )
        == []
    )


def test_extra_argument_is_a_mismatch():
    problems = compare_arguments(
        {"target": "Goblin", "amount": 7, "damage_type": "fire"},
        {"target": "Goblin", "amount": 7},
        DAMAGE,
    )
    assert problems == ["unexpected argument 'damage_type'"]
    problems = compare_arguments(
        {"target": "Goblin", "amount": 7, "crit": True}, {"target": "Goblin", "amount": 7}, DAMAGE
    )
    assert problems == ["unknown argument 'crit'"]


def test_wrong_type_is_a_mismatch():
    assert compare_arguments(
        {"target": "Goblin", "amount": "7"}, {"target": "Goblin", "amount": 7}, DAMAGE
    ) == ["wrong type for 'amount': str (expected integer)"]
    # BFCL: an integer parameter takes neither a float nor a bool
    assert compare_arguments(
        {"target": "Goblin", "amount": 7.0}, {"target": "Goblin", "amount": 7}, DAMAGE
    )
    assert compare_arguments(
        {"target": "Goblin", "amount": True}, {"target": "Goblin", "amount": 1}, DAMAGE
    )


def test_number_parameter_accepts_an_int():
    gold = {"notation": "1d20", "bonus": 2.0}
    assert compare_arguments({"notation": "1d20", "bonus": 2}, gold, ROLL) == []


def test_missing_required_and_optional_arguments():
    assert compare_arguments({"amount": 7}, {"target": "Goblin", "amount": 7}, DAMAGE) == [
        "missing required argument 'target'"
    ]
    gold = {"target": "Goblin", "amount": 7, "damage_type": "fire"}
    assert compare_arguments({"target": "Goblin", "amount": 7}, gold, DAMAGE) == [
        "missing argument 'damage_type'"
    ]


def test_optional_argument_absent_in_both_is_fine_and_free_text_is_not_compared():
    assert (
        compare_arguments({"notation": "1d20+5"}, {"notation": "1d20+5", "reason": "attack"}, ROLL)
        == []
    )
    assert (
        compare_arguments(
            {"notation": "1d20+5", "reason": "whatever"}, {"notation": "1d20+5"}, ROLL
        )
        == []
    )
    assert compare_arguments({"notation": "1d20+5", "reason": 3}, {"notation": "1d20+5"}, ROLL) == [
        "wrong type for 'reason': int (expected string)"
    ]
    # without the free-text rule, BFCL compares it like any other argument
    assert compare_arguments(
        {"notation": "1d20+5"}, {"notation": "1d20+5", "reason": "x"}, ROLL, free_text=()
    ) == ["missing argument 'reason'"]


def test_wrong_value():
    problems = compare_arguments(
        {"target": "Goblin 2", "amount": 7}, {"target": "Goblin 1", "amount": 7}, DAMAGE
    )
    assert problems == ["wrong value for 'target': 'Goblin 2' (expected 'Goblin 1')"]


def test_lists_ordered_unless_declared_unordered():
    schema = {
        "type": "object",
        "properties": {"combatants": {"type": "array", "items": {"type": "string"}}},
    }
    pred, gold = {"combatants": ["orc", "Thorin"]}, {"combatants": ["Thorin", "Orc"]}
    assert compare_arguments(pred, gold, schema, unordered=()) != []
    assert compare_arguments(pred, gold, schema) == []
    assert compare_arguments({"combatants": ["Thorin"]}, gold, schema) != []
    assert compare_arguments({"combatants": ["Thorin", 3]}, gold, schema) == [
        "wrong type for 'combatants[1]': int (expected string)"
    ]


def test_arguments_not_an_object():
    assert compare_arguments("Goblin", {"target": "Goblin"}, DAMAGE) == [
        "arguments must be an object, got str"
    ]


def test_as_call_unwraps_hf_and_json_string_arguments():
    assert as_call(hf("heal", target="Pip", amount=3)) == call("heal", target="Pip", amount=3)
    entry = {
        "type": "function",
        "function": {"name": "heal", "arguments": '{"target": "Pip", "amount": 3}'},
    }
    assert as_call(entry) == call("heal", target="Pip", amount=3)
    with pytest.raises(ValueError, match="heal.*not valid JSON"):
        as_call({"function": {"name": "heal", "arguments": "{target: Pip"}})


def test_parallel_calls_out_of_order_match(registry):
    gold = [hf("apply_damage", target="Goblin 1", amount=5), hf("apply_damage", target="Goblin 2", amount=3),
            hf("roll_dice", notation="1d20")]  # fmt: skip
    pred = [call("roll_dice", notation="1d20"), call("apply_damage", target="goblin 2", amount=3),
            call("apply_damage", target="Goblin 1", amount=5)]  # fmt: skip
    score = score_turn(pred, gold, registry=registry)
    assert (score.n_name_matched, score.n_args_exact, score.n_missing) == (3, 3, 0)
    assert score.exact


def test_matching_maximises_exact_pairs_not_first_fit(registry):
    # A greedy pass would pair pred[0] with gold[0] (same name, wrong args) and lose an exact pair.
    gold = [
        call("apply_damage", target="Goblin 1", amount=5),
        call("apply_damage", target="Goblin 2", amount=3),
    ]
    pred = [call("apply_damage", target="Goblin 2", amount=3)]
    score = score_turn(pred, gold, registry=registry)
    assert (score.n_name_matched, score.n_args_exact, score.n_missing) == (1, 1, 1)
    assert "missing call apply_damage" in score.problems


def test_call_when_none_expected_and_silence_when_none_expected(registry):
    stats = ToolCallStats()
    stats.add(score_turn([call("roll_dice", notation="1d20")], [], registry=registry))
    stats.add(score_turn([], [], registry=registry))
    summary = stats.summary()
    assert summary["irrelevance_acc"] == 0.5
    assert summary["tool_name_precision"] == 0.0
    assert summary["tool_name_recall"] is None  # no gold calls at all


def test_hallucinated_tools(registry):
    offered = {"roll_dice", "apply_damage"}
    pred = [call("cast_fireball", target="orc"), call("heal", target="Pip", amount=2)]
    score = score_turn(pred, [], registry=registry, offered=offered)
    assert score.n_hallucinated == 2  # one unknown to the registry, one known but not offered
    assert score.problems[:2] == ["hallucinated tool 'cast_fireball'", "hallucinated tool 'heal'"]


def test_malformed_calls_count_as_wrong_attempts(registry):
    gold = [call("roll_dice", notation="1d20")]
    score = score_turn(
        [], gold, malformed=['{"name": "roll_dice", "arguments": {'], registry=registry
    )
    assert score.n_malformed == 1 and not score.exact
    stats = ToolCallStats().extend([score, score_turn([], [], registry=registry)])
    summary = stats.summary()
    assert summary["malformed_rate"] == 0.5
    assert summary["tool_name_precision"] == 0.0  # 0 matched out of 1 attempted
    assert summary["tool_call_rate"] == 1.0  # it did try to call


def test_micro_averages_and_per_tool_rows(registry):
    stats = ToolCallStats()
    stats.add(score_turn(
        [call("roll_dice", notation="1d20+5"), call("apply_damage", target="Pip", amount=4)],
        [call("roll_dice", notation="1d20+5"), call("apply_damage", target="Pip", amount=6)],
        registry=registry,
    ))  # fmt: skip
    stats.add(
        score_turn(
            [call("heal", target="Pip", amount=4)],
            [call("roll_dice", notation="2d6")],
            registry=registry,
        )
    )
    s = stats.summary()
    assert s["tool_name_precision"] == pytest.approx(2 / 3)
    assert s["tool_name_recall"] == pytest.approx(2 / 3)
    assert s["tool_name_f1"] == pytest.approx(2 / 3)
    assert s["tool_args_exact"] == pytest.approx(1 / 2)
    assert s["tool_turn_exact"] == 0.0
    assert s["missing_rate"] == pytest.approx(1 / 3)
    assert s["schema_valid_rate"] == 1.0
    rows = {r["tool"]: r for r in stats.tool_rows()}
    assert rows["roll_dice"] == {"tool": "roll_dice", "gold": 2, "pred": 1, "matched": 1, "precision": 1.0,
                                 "recall": 0.5, "f1": pytest.approx(2 / 3), "args_exact": 1.0}  # fmt: skip
    assert rows["apply_damage"]["args_exact"] == 0.0
    assert rows["heal"]["precision"] == 0.0 and rows["heal"]["recall"] is None


def test_silent_model_scores_zero_not_undefined(registry):
    stats = ToolCallStats().extend(
        [score_turn([], [call("roll_dice", notation="1d4")], registry=registry)]
    )
    s = stats.summary()
    assert (s["tool_name_precision"], s["tool_name_recall"], s["tool_name_f1"]) == (0.0, 0.0, 0.0)
    assert s["tool_args_exact"] is None and s["hallucination_rate"] is None


def test_schema_invalid_prediction_is_counted(registry):
    score = score_turn([call("apply_damage", target="Pip", amount=-3)], [], registry=registry)
    assert score.n_schema_valid == 0 and score.n_pred == 1
