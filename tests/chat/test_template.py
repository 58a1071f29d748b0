"""The fallback format: the tokenizer's own chat template, spans found by rendering prefixes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dnd_ft.chat.formats import get_format

# A plain ChatML template with Hermes calls, written for this test (no tool declarations).
CHATML = (
    "{% for m in messages %}<|im_start|>{{ 'user' if m.role == 'tool' else m.role }}\n"
    "{% if m.role == 'tool' %}<tool_response>\n{{ m.content }}\n</tool_response>{% else %}{{ m.content }}{% endif %}"
    "{% for c in m.tool_calls or [] %}\n<tool_call>\n"
    '{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments | tojson }}}\n</tool_call>'
    "{% endfor %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
STRICT = "{% for m in messages %}{% if m.role == 'tool' %}{{ raise_exception('roles must alternate') }}{% endif %}{{ m.content }}{% endfor %}"


@pytest.fixture
def chatml_tokenizer(tiny_tokenizer: Any) -> Any:
    tok = copy.deepcopy(tiny_tokenizer)
    tok.chat_template = CHATML
    return tok


def test_spans_cover_each_assistant_turn_through_its_end_marker(
    chatml_tokenizer: Any, record: dict[str, Any]
) -> None:
    fmt = get_format("template", chatml_tokenizer)
    rendered = fmt.render(record["messages"], None)
    spans = rendered.loss_text()
    assert len(spans) == 4
    assert spans[1] == "Goblin 1 goes first, then Thorin.<|im_end|>"
    assert spans[0].startswith("The door bursts inward.") and spans[0].endswith(
        "</tool_call><|im_end|>"
    )
    assert all(not s.startswith("<|im_start|>") for s in spans)


def test_template_calls_parse_back(chatml_tokenizer: Any, record: dict[str, Any]) -> None:
    fmt = get_format("template", chatml_tokenizer)
    spans = fmt.render(record["messages"], None).loss_text()
    parsed = fmt.parse_assistant(spans[2])
    assert [c["name"] for c in parsed.tool_calls] == ["roll_dice", "add_condition"]
    assert parsed.tool_calls[1]["arguments"] == {"target": "Goblin 1", "condition": "prone"}


def test_bare_json_calls_are_understood_too(chatml_tokenizer: Any) -> None:
    parsed = get_format("template", chatml_tokenizer).parse_assistant(
        'Rolling. {"name": "roll_dice", "arguments": {"notation": "1d20"}} {"note": 1}<|im_end|>'
    )
    assert parsed.tool_calls == [{"name": "roll_dice", "arguments": {"notation": "1d20"}}]
    assert parsed.content == 'Rolling.  {"note": 1}'


def test_prompt_is_the_templates_generation_prompt(
    chatml_tokenizer: Any, record: dict[str, Any]
) -> None:
    prompt = get_format("template", chatml_tokenizer).render_prompt(record["messages"][:2], None)
    assert prompt.endswith(
        "Thorin: I kick the door open and charge!<|im_end|>\n<|im_start|>assistant\n"
    )


def test_template_that_cannot_render_tools_names_the_fix(
    tiny_tokenizer: Any, record: dict[str, Any]
) -> None:
    tok = copy.deepcopy(tiny_tokenizer)
    tok.chat_template = STRICT
    with pytest.raises(
        ValueError,
        match="cannot render this conversation: roles must alternate.*chat_format=hermes",
    ):
        get_format("template", tok).render(record["messages"], None)


def test_template_needs_a_tokenizer_with_a_template(tiny_tokenizer: Any) -> None:
    for tokenizer in (None, tiny_tokenizer):  # the tiny one has no template
        with pytest.raises(ValueError, match="needs a tokenizer with a chat_template"):
            get_format("template", tokenizer)
