"""The tool_call block parser: JSON and the safe shorthand."""

from __future__ import annotations

import random

import pytest

from dnd_ft.scenarios import calls as calls_module
from dnd_ft.scenarios.calls import parse_calls
from dnd_ft.scenarios.model import ToolCall


def _parse(body: str, first_line: int = 10) -> tuple[list[ToolCall], list[tuple[int, str]]]:
    problems: list[tuple[int, str]] = []
    calls = parse_calls(body, first_line, lambda line, msg: problems.append((line, msg)))
    return calls, problems


def test_json_object() -> None:
    calls, problems = _parse('{"name": "roll_dice", "arguments": {"notation": "1d20"}}')
    assert problems == []
    assert calls == [ToolCall("roll_dice", {"notation": "1d20"}, 10)]


def test_json_list_is_parallel_calls() -> None:
    body = '[{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"x": [1, 2]}}]'
    calls, problems = _parse(body)
    assert problems == []
    assert [(c.name, c.arguments) for c in calls] == [("a", {}), ("b", {"x": [1, 2]})]


def test_json_calls_get_the_line_of_their_object() -> None:
    body = (
        "[\n"
        '  {"name": "a", "arguments": {}},\n'
        '  {"name": "b",\n'
        '   "arguments": {"x": "[, \\" {"}},\n'  # brackets and quotes in a string
        "  3\n"
        "]"
    )
    calls, problems = _parse(body)
    assert [(c.name, c.line) for c in calls] == [("a", 11), ("b", 12)]
    assert problems == [
        (14, 'tool call must be a JSON object, got int; expected {"name": "TOOL", '
             '"arguments": {...}} or a list of them')
    ]  # fmt: skip
    calls, problems = _parse('\n\n  {"name": "a", "arguments": {}}')
    assert (problems, [c.line for c in calls]) == ([], [12])


def test_shorthand_lines_literals_and_comments() -> None:
    body = (
        "roll_dice(notation=\"1d20+5\", reason='attack')\n"
        "\n"
        "start_initiative(combatants=['Thorin', 'Goblin 1'])  # comment\n"
        "f(n=-3, x=1.5, ok=True, none=None, d={'k': (1, 2)})\n"
    )
    calls, problems = _parse(body)
    assert problems == []
    assert [(c.name, c.arguments, c.line) for c in calls] == [
        ("roll_dice", {"notation": "1d20+5", "reason": "attack"}, 10),
        ("start_initiative", {"combatants": ["Thorin", "Goblin 1"]}, 12),
        ("f", {"n": -3, "x": 1.5, "ok": True, "none": None, "d": {"k": [1, 2]}}, 13),
    ]


def test_shorthand_call_may_span_lines() -> None:
    calls, problems = _parse('roll_dice(\n    notation="1d20",\n)\nheal(target="A", amount=2)')
    assert problems == []
    assert [(c.name, c.line) for c in calls] == [("roll_dice", 10), ("heal", 13)]


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        (
            "__import__('os').system('touch /tmp/dnd_ft_pwned')",
            10,
            "not a call of a plain tool name",
        ),
        ("os.system('x')", 10, "not a call of a plain tool name"),
        ("roll_dice(notation=__import__('os').getcwd())", 10, "only literal values"),
        ("roll_dice(notation=open('/etc/passwd').read())", 10, "only literal values"),
        ("roll_dice(notation=x)", 10, "only literal values"),
        ("roll_dice(notation='1' + '2')", 10, "only literal values"),
        ("roll_dice(notation=f'{x}')", 10, "only literal values"),
        ("roll_dice(notation=lambda: 1)", 10, "only literal values"),
        ("roll_dice(inner=other(x=1))", 10, "only literal values"),
        ("roll_dice('1d20')", 10, "positional arguments are not allowed"),
        ("roll_dice(**{'notation': '1d20'})", 10, "'**' unpacking is not allowed"),
        ("roll_dice(tags={1, 2})", 10, "set values are not allowed"),
        ("roll_dice(raw=b'x')", 10, "bytes values are not allowed"),
        ("roll_dice(flag=true)", 10, "'true' is JSON spelling; write True"),
        ("x = roll_dice(notation='1')", 10, "not a call of a plain tool name"),
        ("roll_dice(notation='1', notation='2')", 10, "argument 'notation': given twice"),
        ('{"name": "a",\n "arguments": {"é": 1, "é": 2}}', 11, "key 'é' is given twice"),
        ('[{"name": "a", "arguments": {}, "name": "b"}]', 10, "key 'name' is given twice"),
        ("import os", 10, "not a call of a plain tool name"),
        ("ok(a=1)\nroll_dice(notation='1d20'", 11, "cannot parse tool call"),
        (
            '{"name": "roll_dice", "arguments": {"notation": "1d20",}}',
            10,
            "invalid JSON in tool_call block",
        ),
        (
            '{"name": "roll_dice", "arguments": "notation=1d20"}',
            10,
            '"arguments" must be a JSON object',
        ),
        ('{"name": "roll_dice", "arguments": {}, "id": 1}', 10, "unknown key(s) 'id'"),
        ('{"arguments": {}}', 10, 'needs a string "name"'),
        ("[]", 10, "empty list in tool_call block"),
        ("\n  []", 11, "empty list in tool_call block"),  # the '[' line
        # JSON errors name the line to fix inside the fence, never the closing fence after it
        ('{"name": "a",\n "arguments": {\n  "x": tru}}', 12, "Expecting value"),
        ('{"name": "a",\n "arguments": {}\n\n', 11, "Expecting ',' delimiter"),  # no '}'
        ('{"name": "a"\n "arguments": {}}', 10, "Expecting ',' delimiter"),  # ',' goes on 10
        ('{"name": "a",\n "arguments": {},\n}', 11, "Expecting property name"),  # trailing ','
        ('{"name": "a", "arguments": {}}\n{"name": "b"}', 11, "Extra data"),
        ("ok(a=1)\nroll_dice(notation='1d20',\n\n", 11, "'(' was never closed"),
        ("[1]", 10, "tool call must be a JSON object, got int"),
        ("  \n", 9, "empty tool_call block"),
        ("roll_dice(n=" + "[" * 300 + "]" * 300 + ")", 10, "cannot parse tool call"),
        ("roll_dice(n=" + "1+" * 100_000 + "1)", 10, "cannot parse tool call"),
        ("roll_dice(n='\x00')\x00", 10, "cannot parse tool call"),
    ],
)
def test_rejected(body: str, line: int, fragment: str) -> None:
    _, problems = _parse(body)
    assert len(problems) == 1, problems
    assert problems[0][0] == line
    assert fragment in problems[0][1]


def test_malicious_shorthand_never_runs(tmp_path, monkeypatch) -> None:
    """Nothing in a shorthand block is executed, even when it would have side effects."""
    monkeypatch.chdir(tmp_path)
    bodies = [
        "__import__('pathlib').Path('pwned').touch()",
        "roll_dice(notation=__import__('pathlib').Path('pwned').touch())",
        "roll_dice(notation=[__import__('pathlib').Path('pwned').touch()])",
    ]
    for body in bodies:
        calls, problems = _parse(body)
        assert calls == [] and problems
    assert not (tmp_path / "pwned").exists()


def test_plain_shorthand_reads_blocks_as_ast_does() -> None:
    """The regex reader of the common shorthand agrees with the ``ast`` path wherever it
    answers, and leaves to ``ast`` everything Python would read differently or reject."""
    rng = random.Random(7)
    # (plain, tricky) pools: mostly plain pieces, so that both paths get a share of blocks
    names = (["roll_dice", "f", "match", "_x"], ["True", "class", "ñame", "os.system", "f.g"])
    keys = (["notation", "n", "x", "_"], ["class", "None", "é", "__debug__", "**d"])
    values = (
        ["'a'", '"b c"', "''", '"it\'s"', "'ü ☃'", "'\u2028'", "1", "-3", "0", "-0", "True",
         "None", "[1, 'a']", "[]", "[ ]", "[True,None , -2]", "9" * 18],
        ["'it''s'", "'x\\ny'", "'\\x00'", "'\x00'", "'\ud800'", "- 3", "007", "1.5",
         "true", "Nonex", "[1,]", "['a', [1]]", "{'k': 1}", "1_000", "0x1f", "9" * 19, "b'x'",
         "f'x'", "'a' 'b'", "(1, 2)", "x", "'a'\n"],
    )  # fmt: skip
    spaces = (["", " ", "\t", "  "], ["\v", "\u00a0", "\x0c"])

    def pick(pools: tuple[list[str], list[str]]) -> str:
        return rng.choice(pools[rng.random() < 0.04])

    def call() -> str:
        args = [
            f"{pick(keys)}{pick(spaces)}={pick(spaces)}{pick(values)}"
            for _ in range(rng.randint(0, 3))
        ]
        sep = "," + pick(spaces)
        tail = pick(([""], [",", "  # note", ";", " \t", ")"]))
        return f"{pick(names)}{pick(spaces)}({pick(spaces)}{sep.join(args)}{tail})"

    answered = 0
    for _ in range(4000):
        lines = [pick(([""], [" ", "  "])) + call() for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.2:
            lines.insert(rng.randint(0, len(lines)), rng.choice(["", "   ", "\t"]))
        body = "\n".join(lines) + rng.choice(["", "\n"])
        plain = calls_module._plain_shorthand(body, 10)
        if plain is None:
            continue
        answered += 1
        problems: list[tuple[int, str]] = []
        by_ast = calls_module._ast_shorthand(body, 10, lambda n, m, to=problems: to.append((n, m)))
        assert (plain, problems) == (by_ast, []), body
        assert [type(v) for c in plain for v in c.arguments.values()] == [
            type(v) for c in by_ast for v in c.arguments.values()
        ]  # True stays a bool, never the int 1
    assert 1000 < answered < 3000, answered  # both paths are exercised
