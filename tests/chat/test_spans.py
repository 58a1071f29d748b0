"""Loss spans cover exactly what the assistant writes; prompts open (or continue) its turn."""

from __future__ import annotations

from typing import Any

import pytest

from dnd_ft.chat.base import text_of
from dnd_ft.chat.fg_syntax import format_declaration
from dnd_ft.chat.formats import get_format
from tests.chat.test_golden import VARIANTS, make

ENDS = {"hermes": ("<|im_end|>",), "functiongemma": ("<end_of_turn>", "<start_function_response>"),
        "gemma3": ("<end_of_turn>",)}  # fmt: skip
HEADERS = ("<|im_start|>", "<start_of_turn>", "<think>", "<bos>")


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_spans_hold_assistant_output_and_nothing_else(variant: str, record: dict[str, Any]) -> None:
    fmt = make(variant)
    rendered = fmt.render(record["messages"], record["tools"])
    spans = rendered.loss_text()
    assert len(spans) == sum(m["role"] == "assistant" for m in record["messages"])
    assert all(s.endswith(ENDS[fmt.name]) for s in spans)
    assert not any(h in s for s in spans for h in HEADERS)  # no turn header, no think block
    others = [text_of(m) for m in record["messages"] if m["role"] != "assistant"]
    joined = "\n".join(spans)
    assert not any(o and o in joined for o in others)  # no system, user or tool-result text
    for m in record["messages"]:
        if m["role"] == "assistant" and text_of(m):
            assert any(text_of(m) in s for s in spans)


def test_functiongemma_learns_only_the_first_response_marker(record: dict[str, Any]) -> None:
    rendered = get_format("functiongemma").render(record["messages"], record["tools"])
    marker = "<start_function_response>"
    positions = [i for i in range(len(rendered.text)) if rendered.text.startswith(marker, i)]
    inside = [any(s <= p < e for s, e in rendered.spans) for p in positions]
    assert inside == [True, True, False]  # after each calling turn; not the parallel second result


def test_hermes_prompt_opens_an_assistant_turn(record: dict[str, Any]) -> None:
    history = record["messages"][:6]
    assert (
        get_format("hermes", think=False)
        .render_prompt(history, record["tools"])
        .endswith("right?}<|im_end|>\n<|im_start|>assistant\n")
    )
    assert (
        get_format("hermes", think=True)
        .render_prompt(history, record["tools"])
        .endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    )


def test_functiongemma_prompt_continues_the_turn_after_tool_results(record: dict[str, Any]) -> None:
    fmt = get_format("functiongemma")
    after_tools = fmt.render_prompt(record["messages"][:9], record["tools"])
    assert after_tools.endswith("now prone.<escape>}<end_function_response>")
    after_user = fmt.render_prompt(record["messages"][:6], record["tools"])
    assert after_user.endswith("<end_of_turn>\n<start_of_turn>model\n")
    full = fmt.render(record["messages"], record["tools"]).text
    assert full.startswith(after_tools) and full.startswith(after_user)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_assistant_turn_is_a_prompt_plus_its_span(
    variant: str, record: dict[str, Any]
) -> None:
    """Train/generate consistency: the text before each span is what render_prompt gives."""
    fmt = make(variant)
    rendered = fmt.render(record["messages"], record["tools"])
    assistant_at = [i for i, m in enumerate(record["messages"]) if m["role"] == "assistant"]
    for (start, _), i in zip(rendered.spans, assistant_at, strict=True):
        assert rendered.text[:start] == fmt.render_prompt(record["messages"][:i], record["tools"])


def test_declaration_matches_googles_documented_example() -> None:
    tool = {"type": "function", "function": {
        "name": "get_current_weather", "description": "Gets the current weather in a given location.",
        "parameters": {"type": "object", "required": ["location"], "properties": {
            "location": {"type": "string", "description": 'The city and state, e.g. "San Francisco, CA" or "Tokyo, JP"'},
            "unit": {"type": "string", "description": "The unit to return the temperature in.",
                     "enum": ["celsius", "fahrenheit"]}}}}}  # fmt: skip
    assert format_declaration(tool) == (
        "declaration:get_current_weather{description:<escape>Gets the current weather in a given "
        "location.<escape>,parameters:{properties:{location:{description:<escape>The city and "
        'state, e.g. "San Francisco, CA" or "Tokyo, JP"<escape>,type:<escape>STRING<escape>},'
        "unit:{description:<escape>The unit to return the temperature in.<escape>,enum:["
        "<escape>celsius<escape>,<escape>fahrenheit<escape>],type:<escape>STRING<escape>}},"
        "required:[<escape>location<escape>],type:<escape>OBJECT<escape>}}"
    )


@pytest.mark.parametrize(
    ("variant", "text", "content", "malformed"),
    [
        ("hermes", 'Hit!\n<tool_call>\n{"name": "roll_dice", "arguments": {"notation": "1d6"</tool_call>',
         "Hit!", 1),
        ("hermes", '<tool_call>\n{"name": "roll_dice", "arguments": [1]}\n</tool_call>', "", 1),
        ("hermes", "<tool_call>\n{oops", "", 1),
        ("functiongemma", "Hit!<start_function_call>call:roll_dice{notation:<escape>1d6}<end_function_call>",
         "Hit!", 1),
        ("functiongemma", "<start_function_call>roll_dice{}<end_function_call>", "", 1),
        ("functiongemma", "<start_function_call>call:roll_dice{a:1", "", 1),
        ("gemma3", "Hit!\n\n```tool_code\nroll_dice(1d6)\nprint(\n```", "Hit!", 2),
    ],
)  # fmt: skip
def test_broken_calls_go_to_malformed_and_never_raise(
    variant: str, text: str, content: str, malformed: int
) -> None:
    parsed = make(variant).parse_assistant(text)
    assert (parsed.content, parsed.tool_calls, len(parsed.malformed)) == (content, [], malformed)


def test_functiongemma_reads_unescaped_words_leniently() -> None:
    parsed = get_format("functiongemma").parse_assistant(
        "<start_function_call>call:apply_damage{target: Goblin 1 , amount: 5}<end_function_call>"
    )
    assert parsed.tool_calls == [
        {"name": "apply_damage", "arguments": {"target": "Goblin 1", "amount": 5}}
    ]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_learn_tool_names_adds_each_declared_name_and_nothing_else(
    variant: str, record: dict[str, Any]
) -> None:
    options = dict(VARIANTS[variant])
    plain = get_format(options.pop("chat_format"), **options)
    learning = get_format(plain.name, **options, learn_tool_names=True)
    a = plain.render(record["messages"], record["tools"])
    b = learning.render(record["messages"], record["tools"])
    names = [t["function"]["name"] for t in record["tools"]]
    assert b.text == a.text  # the text is the same; only the loss mask grows
    assert b.loss_text() == names + a.loss_text()  # each name once, before the assistant's
    assert b.spans == sorted(b.spans) and all(
        e <= s for (_, e), (s, _) in zip(b.spans, b.spans[1:], strict=False)
    )
    first = a.spans[0][0]
    assert all(end <= first for _, end in b.spans[: len(names)])  # in the prompt's declarations
    assert learning.options["learn_tool_names"] is True and "learn_tool_names" not in plain.options
    prompt = record["messages"][:2]
    assert learning.render_prompt(prompt, record["tools"]) == plain.render_prompt(
        prompt, record["tools"]
    )
