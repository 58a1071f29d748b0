"""Front matter: the quick reader of the usual shape agrees with PyYAML."""

from __future__ import annotations

import random

from dnd_ft.scenarios import frontmatter


def test_simple_front_matter_reads_as_pyyaml_does() -> None:
    """Wherever the line reader answers, PyYAML gives the same mapping, value types and key
    lines; what it declines (typed scalars, comments, nesting, odd spacing) PyYAML reads."""
    rng = random.Random(3)
    # (plain, tricky) pools: mostly plain pieces, so that both readers get a share
    keys = (["id", "title", "category", "tags", "tools", "my-key", "_k"],
            ["yes", "on", "null", "1", "<<", "-k", "k k", "~"])  # fmt: skip
    scalars = (
        ["goblin-ambush", "Goblin Ambush on the Trade Road", "combat", "a, b", "3 goblins",
         "Thorin's axe", "ÉTÉ à l'auberge", "x=y", "a|b", "C:\\\\dir", "'quoted: yes'",
         '"double: #1"', "''", '""', "5e", "a  b   "],
        ["yes", "No", "on", "~", "null", "1:30", "0x1F", "1_000", ".inf", "2001-12-14", "=",
         "a: b", "a #c", "#c", "&a x", "*a", "!!str 1", "|", ">", "- x", "[a, [b]]", "{a: 1}",
         "'it''s'", '"tab\\there"', '"\\u00e9"', "a\tb", "\u2028", "\u0085", "\ufeff", "😀", "?x",
         "@x", "%x", "`x", ",x", "'a' b", ""],
    )  # fmt: skip
    items = (["bandits", "eldritch-blast", "roll_dice", "Goblin 1", "ü"],
             ["yes", "1", "a,b", "a: b", "[x]", "", "'q'", "- x", "a #b", "null"])  # fmt: skip

    def pick(pools: tuple[list[str], list[str]]) -> str:
        return rng.choice(pools[rng.random() < 0.04])

    def value() -> str:
        if rng.random() < 0.6:
            return pick(scalars)
        sep = pick(([", ", ",", " , "], [" ,", ",  "]))
        listed = sep.join(pick(items) for _ in range(rng.randint(0, 3)))
        return "[" + listed + pick(([""], [",", " "])) + "]"

    answered = 0
    for _ in range(3000):
        colons = ([": ", ":  "], [" : ", ":", ":\t"])
        lines = [pick(keys) + pick(colons) + value() for _ in range(rng.randint(1, 6))]
        if rng.random() < 0.2:
            lines.insert(rng.randint(0, len(lines)), pick((["", "  "], ["# note", "\t", "---"])))
        if rng.random() < 0.05:
            lines[rng.randrange(len(lines))] = "  " + lines[0]
        text = "\n".join(lines)
        simple = frontmatter._simple_mapping(text)
        if simple is None:
            continue
        answered += 1
        yaml_problems: list[tuple[int, str]] = []
        my_problems: list[tuple[int, str]] = []
        by_yaml = frontmatter._yaml_load(text, lambda n, m, to=yaml_problems: to.append((n, m)))
        mine = frontmatter._with_lines(*simple, lambda n, m, to=my_problems: to.append((n, m)))
        assert (mine, my_problems) == (by_yaml, yaml_problems), text  # repeated keys too
        assert [type(v) for v in mine[0].values()] == [type(v) for v in by_yaml[0].values()]
    assert 800 < answered < 2500, answered  # both readers are exercised


def test_ascii_ids_are_judged_as_by_the_character_rule() -> None:
    """normalize_id reads ASCII ids with str methods; the rule is the same as for any text."""
    rng = random.Random(4)
    alphabet = "aZ09._-" * 4 + " /:\\#'\"\t\x00\x7f~+"
    ids = ["", "a", "-a", "a-", "1", "_", ".", "a" * 200, "a" * 201, "goblin-ambush"]
    ids += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    for value in ids:
        assert frontmatter.normalize_id(value) == frontmatter._normalize_any_id(value), value
