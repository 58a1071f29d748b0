"""The block structure of a scenario body: structural headings and top-level code fences.

markdown-it-py finds them, so a ``## Heading`` line inside a code fence, a list item or a
block quote is content, never structure. Only ATX headings (``#`` to ``###``) and fences at
the top level count; ``####`` and deeper, setext headings (a line underlined with ``---``)
and fences nested in lists or quotes are ordinary content.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

STRUCTURAL_LEVELS = 3  # '#', '##', '###'


class Heading(NamedTuple):  # NamedTuple: built thousands of times per corpus, cheaply
    level: int
    text: str
    line: int  # 0-based line in the body


class Fence(NamedTuple):
    info: str  # first word of the info string, e.g. "tool_call", "json", ""
    content: str
    start: int  # 0-based body line of the opening fence
    end: int  # 0-based body line after the closing fence (exclusive)
    closed: bool


class Outline(NamedTuple):
    headings: tuple[Heading, ...]
    fences: tuple[Fence, ...]


@functools.lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    """One shared block-level parser.

    Only where top-level headings and fences are matters here, so the rules that cannot
    move them are switched off for speed: inline parsing, and the block rules for setext
    headings, link references and block quotes. Each of those only turns lines into a
    paragraph instead, and a paragraph never hides a heading or a fence (a test checks the
    outline against the full CommonMark parser). The others stay: an indented ``## x`` is
    code, a heading indented under a list item or inside ``<!-- ... -->`` is content, and
    ``* * *`` is a thematic break, not a list.
    """
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").disable(
        ["inline", "text_join", "lheading", "reference", "blockquote"]
    )


def outline(body: str, lines: list[str], parser: MarkdownIt | None = None) -> Outline:
    """Structural headings and top-level fences of ``body`` (whose lines are ``lines``).

    parser: a markdown-it instance to use instead of the trimmed shared one (tests check
    that the full CommonMark parser finds the same outline).
    """
    tokens = (parser or _markdown()).parse(body)
    headings: list[Heading] = []
    fences: list[Fence] = []
    for i, tok in enumerate(tokens):
        kind = tok.type
        if kind == "fence":
            if tok.level == 0 and tok.map:
                start, end = tok.map
                info = tok.info.split(maxsplit=1)
                closed = _is_closing(lines, end - 1, tok.markup, start)
                fences.append(Fence(info[0] if info else "", tok.content, start, end, closed))
        elif kind == "heading_open":
            level = len(tok.markup)
            if tok.level == 0 and tok.markup[0] == "#" and level <= STRUCTURAL_LEVELS and tok.map:
                headings.append(Heading(level, tokens[i + 1].content.strip(), tok.map[0]))
    return Outline(tuple(headings), tuple(fences))


def _is_closing(lines: list[str], index: int, markup: str, start: int) -> bool:
    """Whether body line ``index`` closes a fence opened with ``markup`` on line ``start``."""
    if index <= start or index >= len(lines):
        return False
    text = lines[index].lstrip(" ")
    return text.startswith(markup) and not text.strip(markup[0]).strip()
