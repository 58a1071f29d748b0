"""The outline backends (markdown-it-pyrs, markdown-it-py) against full CommonMark.

The reference is markdown-it-py with every rule on. Both backends, and the line-by-line
reading that answers first for the usual document (``plain_outline``, which may decline),
must find exactly its top-level headings and fences, on tricky snippets, on every fixture
and on documents built at random from lines that have tripped parsers up.
"""

from __future__ import annotations

import functools
import importlib.util
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from dnd_ft.scenarios import outline as outline_module
from dnd_ft.scenarios import parse_file
from dnd_ft.scenarios.outline import Outline, plain_outline, python_outline, rust_outline
from dnd_ft.tools.registry import ToolRegistry

HAS_RUST = importlib.util.find_spec("markdown_it_pyrs") is not None


def _plain_or_reference(body: str, lines: list[str]) -> Outline:
    """plain_outline where it answers, else the reference itself (so only its answers count)."""
    return plain_outline(body, lines) or python_outline(body, lines, _commonmark())


BACKENDS: dict[str, Callable[[str, list[str]], Outline]] = {
    "rust": rust_outline,
    "python": python_outline,
    "plain": _plain_or_reference,
}
needs_rust = pytest.mark.skipif(not HAS_RUST, reason="markdown-it-pyrs is not installed")
backends = pytest.mark.parametrize(
    "backend", [pytest.param("rust", marks=needs_rust), "python", "plain"]
)

TRICKY = [
    "* * *\n  ### DM\nafter a thematic break\n",
    "- item\n\n  ### in the item\n\n    ```tool_call\n    x()\n    ```\n### DM\n",
    "text\n---\n### DM\n===\n",
    "    ## indented code\n## real\n",
    "> quote\n> ## in quote\n```json\n## fenced\n```\n",
    "[ref]: /url\n## after ref\n<div>\n## in html\n</div>\n\n## after html\n",
    "para\n    lazy\n```\nunclosed\n## inside\n",
    "Title\n=====\n## after setext\nSub\n---\n",
    "> ```\n## after quoted fence\n```\n",
    "> a\n```\n## in fence after lazy quote\n```\n",
    "> - list\n>   ## x\n> ```\n> ## y\n\n## z\n",
    "> ```\n> unclosed in quote\n\n## after\n",
    "- a\n> b\n## c\n   ## d\n    ## e\n",
    # closing fences: four spaces of indent, or text after the run, make content
    "```\n    ```\n## inside\n",
    "```\n``` `\n## inside\n",
    "```\nunclosed\n    ```",
    "```\nunclosed\n``` `",
    "~~~~ info  more\n~~~\n~~~~ \n## after\n",
    "```\n\n```\n## after a fence of one blank line\n```\n```\n## and an empty one\n",
    "``` &amp;x y\n```\n```a\\_b\n```\n~~~ `x`\n~~~\n## info strings with entities, escapes\n",
    # an unclosed fence keeps trailing blank lines; no newline is added at the end
    "```\nunclosed\n\n\n",
    "```tool_call\nunclosed",
    # heading text: closing '#'s only after a space or tab; empty headings
    "## title ##\n### x #\n## #\n##\n## a#\n##\t#\n  ### y\t##\t\n####### seven\n",
    "## nul \0 here\n```\nx\0\n```\n",
    "## é ü ✓ #\n## *em* `code` &amp; \\#\n",
    "1. a\n\n   ```\n   ## in a list fence\n   ```\n## out\n",
    # a closing tag starts an HTML block that hides the heading, but cannot interrupt a
    # paragraph: a parser without setext headings, link references or block quotes reads
    # the first line as a paragraph and finds the heading
    "Title\n===\n</pre>\n## hidden in HTML\n",
    "[ref]: /url\n</pre>\n## hidden in HTML\n",
    "> ```\n</pre>\n## hidden in HTML\n",
]

# lines for random documents: headings, fences, containers, HTML, blank lines
PIECES = [
    "## System", "### DM", "# Title", "#### deep", "##", "## ###", "## foo ##", " ## one",
    "   ### three", "    ## code", "\t## tab", "## a\tb  ", "## é ü ✓", "## nul\0",
    "## *em* `c` &amp; \\#", "## foo #", "## a #b", "## x#", "##  ##  ##", "```", "````",
    "~~~", "```tool_call", "``` json x", "```a\\_b", "``` &amp;", "   ```", "    ```", "``` `", "```  ", "~~~~ ~",
    "\t```", "  \t```", "- item", "  ### in item", "- ```", "  ```", "* * *", "---", "===",
    "> quote", "> ## in quote", "> ```", "> - x", "<div>", "</div>", "<!--", "-->", "<pre>",
    "</pre>", "", "", "", "text", "para é", "a\0b", "1. one", "   - nested", "+ plus",
    "[ref]: /url", "\\## esc", "Title", "Sub",
]  # fmt: skip


# lines that plain_outline reads itself (no HTML, no indented '#' or fence lines), so that
# random documents of them test its answers rather than its declining
PLAIN_PIECES = [
    "## System", "### DM", "### Tool: roll_dice", "# Title", "#### deep", "##", "## ###",
    "## foo ##", "## a\tb  ", "#\tx", "#hashtag", "####### seven", "## é ü ✓", "```", "````",
    "~~~", "~~~~", "```tool_call", "```json", "``` json x", "```a\\_b", "~~~ `x`", "```  ",
    "``code``", "``", "    ```", "    ## code", "\t## tab", "\t```", "- item", "- ```",
    "- ## in item", "    ### in item", "1. ```", "1. one", "2) two", "* * *", "***", "---",
    "===", "> quote", "> ## in quote", "> ```", "> ~~~", "> - x", "", "", "", "text",
    "para é", "lazy text", "[ref]: /url", "[ref]: /url 'open title", "\\## esc", "Title",
    "    code", "{\"name\": \"roll_dice\"}", "| a | b |",
    # whole fences, so that more documents close every fence they open
    "```json\n{}\n```", "~~~\n## in tilde\n```\n~~~", "````\n```\n## inner\n````",
    "```tool_call\nroll_dice(notation='1d20')\n   ```", "```\n  ## indented inside\n```",
]  # fmt: skip


@functools.cache
def _commonmark() -> MarkdownIt:
    return MarkdownIt("commonmark")


def _check(backend: str, body: str) -> None:
    lines = body.split("\n")
    want = python_outline(body, lines, _commonmark())
    assert BACKENDS[backend](body, lines) == want, repr(body)


def _documents(count: int, seed: int, pieces: list[str] = PIECES) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for _ in range(count):
        body = "\n".join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
        docs.append(body + "\n" if rng.random() < 0.5 else body)
    return docs


@backends
@pytest.mark.parametrize("body", TRICKY)
def test_backend_finds_the_commonmark_outline(backend: str, body: str) -> None:
    _check(backend, body)


@backends
def test_backend_matches_commonmark_on_fixtures(backend: str, fixtures: Path) -> None:
    files = sorted(fixtures.rglob("*.md"))
    assert len(files) > 40
    for path in files:
        _check(backend, path.read_text("utf-8"))


@backends
def test_backend_matches_commonmark_on_random_documents(backend: str) -> None:
    for body in _documents(2000, seed=0):
        _check(backend, body)


def test_plain_outline_matches_commonmark_where_it_answers() -> None:
    answered = 0
    for body in _documents(6000, seed=1, pieces=PLAIN_PIECES):
        lines = body.split("\n")
        got = plain_outline(body, lines)
        if got is not None:
            assert got == python_outline(body, lines, _commonmark()), repr(body)
            answered += 1
    assert answered > 2000  # of 6,000: the others leave a fence open or hold "``` a`b"


def test_plain_outline_answers_for_the_real_corpus(registry: ToolRegistry) -> None:
    files = sorted((Path(__file__).resolve().parents[2] / "scenarios").rglob("*.md"))
    assert len(files) > 40
    for path in files:
        lines = path.read_text("utf-8").split("\n")
        body = "\n".join(lines[lines.index("---", 1) + 1 :])  # after the front matter
        got = plain_outline(body, body.split("\n"))
        assert got is not None, path
        assert got == python_outline(body, body.split("\n"), _commonmark()), path


@pytest.mark.parametrize(
    "body",
    [
        "<div>\n## x\n",  # an HTML block may hold the heading
        "- a\n  ## in the item\n",  # an indented heading may belong to a list item
        "```\nunclosed\n## x\n",  # where an unclosed fence ends is the parser's to say
        "``` a`b\n## x\n",  # not a fence at all
        "## x\r\n",
        "## nul\0\n",
    ],
)
def test_plain_outline_declines_what_it_does_not_read(body: str) -> None:
    assert plain_outline(body, body.split("\n")) is None


def test_rust_backend_is_the_default_when_installed() -> None:
    chosen = outline_module.BACKEND
    assert chosen == ("rust" if HAS_RUST else "python")


@needs_rust
def test_both_backends_give_the_same_parse_results(
    fixtures: Path, registry: ToolRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = sorted(fixtures.rglob("*.md"))
    as_usual = [parse_file(path, registry) for path in files]  # plain_outline first
    monkeypatch.setattr(outline_module, "plain_outline", lambda body, lines: None)
    assert [parse_file(path, registry) for path in files] == as_usual  # rust alone
    monkeypatch.setattr(outline_module, "BACKEND", "python")
    assert [parse_file(path, registry) for path in files] == as_usual
