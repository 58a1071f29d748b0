"""The outline backends (markdown-it-pyrs, markdown-it-py) against full CommonMark.

The reference is markdown-it-py with every rule on. Both backends must find exactly its
top-level headings and fences, on tricky snippets, on every fixture and on documents built
at random from lines that have tripped parsers up.
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
from dnd_ft.scenarios.outline import Outline, python_outline, rust_outline
from dnd_ft.tools.registry import ToolRegistry

HAS_RUST = importlib.util.find_spec("markdown_it_pyrs") is not None
BACKENDS: dict[str, Callable[[str, list[str]], Outline]] = {
    "rust": rust_outline,
    "python": python_outline,
}
needs_rust = pytest.mark.skipif(not HAS_RUST, reason="markdown-it-pyrs is not installed")
backends = pytest.mark.parametrize("backend", [pytest.param("rust", marks=needs_rust), "python"])

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


@functools.cache
def _commonmark() -> MarkdownIt:
    return MarkdownIt("commonmark")


def _check(backend: str, body: str) -> None:
    lines = body.split("\n")
    want = python_outline(body, lines, _commonmark())
    assert BACKENDS[backend](body, lines) == want, repr(body)


def _documents(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for _ in range(count):
        body = "\n".join(rng.choice(PIECES) for _ in range(rng.randint(1, 14)))
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


def test_rust_backend_is_the_default_when_installed() -> None:
    chosen = outline_module.BACKEND
    assert chosen == ("rust" if HAS_RUST else "python")


@needs_rust
def test_both_backends_give_the_same_parse_results(
    fixtures: Path, registry: ToolRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = sorted(fixtures.rglob("*.md"))
    with_rust = [parse_file(path, registry) for path in files]
    monkeypatch.setattr(outline_module, "BACKEND", "python")
    assert [parse_file(path, registry) for path in files] == with_rust
