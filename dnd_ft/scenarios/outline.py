"""The block structure of a scenario body: structural headings and top-level code fences.

A CommonMark parser finds them, so a ``## Heading`` line inside a code fence, a list item or
a block quote is content, never structure. Only ATX headings (``#`` to ``###``) and fences at
the top level count; ``####`` and deeper, setext headings (a line underlined with ``---``)
and fences nested in lists or quotes are ordinary content.

Two backends give the same :class:`Outline` (tests compare them with the full CommonMark
parser on every fixture, tricky snippets and a generated corpus):

- ``rust``: markdown-it-pyrs, the Rust port of markdown-it by markdown-it-py's maintainer.
  Its block parse is about five times faster than markdown-it-py's, which was most of the
  cost of linting a corpus (the pure-Python parser alone capped a lint run below the
  2,000 files/s target). Wheels exist for CPython 3.11/3.12 on Linux, macOS and Windows.
- ``python``: markdown-it-py, used where no markdown-it-pyrs wheel installs (newer CPython,
  musl). Chosen once, at import time, by :data:`BACKEND`.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it_pyrs import MarkdownIt as RustMarkdownIt

STRUCTURAL_LEVELS = 3  # '#', '##', '###'
_MARKERS = ("`", "~")  # fence characters

#: The parser :func:`outline` uses: "rust" when markdown-it-pyrs is installed.
BACKEND: Literal["rust", "python"] = (
    "rust" if importlib.util.find_spec("markdown_it_pyrs") is not None else "python"
)


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


def outline(body: str, lines: list[str], parser: MarkdownIt | None = None) -> Outline:
    """Structural headings and top-level fences of ``body`` (whose lines are ``lines``).

    parser: a markdown-it-py instance to use instead of the default backend (tests check
    that the full CommonMark parser finds the same outline).
    """
    if parser is None:
        plain = plain_outline(body, lines)
        if plain is not None:
            return plain
        if BACKEND == "rust":
            return rust_outline(body, lines)
    return python_outline(body, lines, parser)


# First characters of the lines that may be structure, or may change what is: '#', a
# fence character, '<' (an HTML block) or a space (up to three may come before those).
_STARTS = frozenset("#`~< ")
_MARKS = frozenset("#`~<")
_ATX_RE = re.compile(r"#{1,6}(?:[ \t]|$)")


def plain_outline(body: str, lines: list[str]) -> Outline | None:
    """:func:`outline` for the usual document, read line by line; None when not sure.

    Why hand-written: the block parse cost half the time of linting a real scenario file
    (markdown-it-pyrs builds a Python object per block and each attribute read crosses into
    Rust), yet in the usual file every structural line starts at column 0. There CommonMark
    leaves no choice: a line ``#`` to ``######`` then a space, a tab or its end is a
    heading, and a line of three or more backticks or tildes opens a fence that the next
    line of at least as many of them closes, whatever comes before: both interrupt a
    paragraph, end a list or a block quote (they cannot be lazy continuation lines) and
    end an indented code block. Only a fence or an HTML block can hold such a line, so
    this reads fences itself and leaves the rest to the parser: None (the parser decides)
    when a line indented by one to three spaces starts with '#', a fence character or '<'
    (a heading or fence that might belong to a list item), a line starts an HTML block, a
    backtick fence's info string holds a backtick, a fence is never closed, or the text
    holds NUL or a carriage return. Tests check it against the full CommonMark parser on
    every fixture, tricky snippets and fuzzed documents.
    """
    if "\0" in body or "\r" in body:
        return None
    headings: list[Heading] = []
    fences: list[Fence] = []
    opened: tuple[str, int, str] | None = None  # the open fence's markup, start and info
    for line in [i for i, text in enumerate(lines) if text[:1] in _STARTS]:
        text = lines[line]
        first = text[0]
        if opened is not None:
            markup, start, info = opened
            if (first == " " or first == markup[0]) and _is_closing(lines, line, markup, start):
                inside = lines[start + 1 : line]
                content = "\n".join(inside) + "\n" if inside else ""
                fences.append(Fence(info, content, start, line + 1, True))
                opened = None
        elif first == "#":
            heading = _atx_line(text)
            if heading is not None and heading[0] <= STRUCTURAL_LEVELS:
                headings.append(Heading(heading[0], heading[1], line))
        elif first == "<":
            return None
        elif first == " ":
            rest = text.lstrip(" ")
            if len(text) - len(rest) <= 3 and rest[:1] in _MARKS:
                return None
        else:
            rest = text.lstrip(first)
            run = len(text) - len(rest)
            if run < 3:
                continue  # a paragraph line such as "``code``"
            if first == "`" and "`" in rest:
                return None  # a paragraph line, not a fence: rare enough to leave to the parser
            words = rest.split(maxsplit=1)
            opened = (first * run, line, words[0] if words else "")
    return None if opened is not None else Outline(tuple(headings), tuple(fences))


@functools.lru_cache(maxsize=4096)  # "### DM", "### Tool: roll_dice": lines repeat a lot
def _atx_line(line: str) -> tuple[int, str] | None:
    """Level and text of the column-0 line ``line`` when it is an ATX heading, else None
    (a paragraph line such as "#hashtag" or "####### seven")."""
    return _atx_heading(line) if _ATX_RE.match(line) else None


@functools.lru_cache(maxsize=1)
def _rust_markdown() -> RustMarkdownIt:
    """One shared block-level markdown-it-pyrs parser.

    "zero" with every CommonMark block rule and no inline rule: inline nodes would only be
    built to be thrown away. Setext headings, link references and block quotes stay on,
    as they change which lines are top-level headings and fences (see
    :func:`_python_markdown`); they cost next to nothing here.
    """
    from markdown_it_pyrs import MarkdownIt

    blocks = ["blockquote", "code", "fence", "heading", "hr", "lheading", "list",
              "paragraph", "reference", "html_block"]  # fmt: skip
    return MarkdownIt("zero").enable_many(blocks)


def rust_outline(body: str, lines: list[str]) -> Outline:
    """:func:`outline` with markdown-it-pyrs (which must be installed)."""
    # markdown-it-py turns NUL into U+FFFD before parsing; do the same so texts agree
    src = body.replace("\0", "\ufffd") if "\0" in body else body
    raw = src.encode()  # node source maps are UTF-8 byte offsets into this
    src_lines = lines if src is body else src.split("\n")
    headings: list[Heading] = []
    fences: list[Fence] = []
    nodes = _rust_markdown().tree(src).children  # top level only, in source order
    line, counted = 0, 0  # ``line`` is the 0-based line of byte offset ``counted``
    # Each attribute read on a node crosses into Rust and builds new Python objects (a
    # ``meta`` dict costs about five ``srcmap`` reads), so only what is needed is read, and
    # line numbers come from counting newlines between nodes, in order.
    for node in nodes:
        name = node.name
        if name == "heading":  # ATX only: setext headings are "lheading"
            first = node.srcmap[0]  # at the opening '#'s
            line += raw.count(b"\n", counted, first)
            counted = first
            level, text = _atx_heading(src_lines[line])
            if level <= STRUCTURAL_LEVELS:
                headings.append(Heading(level, text, line))
        elif name == "fence":
            first, last = node.srcmap
            line += raw.count(b"\n", counted, first)
            counted = first
            end = line + raw.count(b"\n", first, last - 1) + 1  # the line after its last byte
            opening = src_lines[line]
            if node is not nodes[-1] and opening[:1] in _MARKERS:
                # the usual fence: closed (an unclosed one runs to the end, so it is the last
                # node) and not indented, so its content is the lines in between as written;
                # ``meta`` would cost three times what the rest of this fence does
                info = opening.lstrip(opening[0]).split(maxsplit=1)
                inside = src_lines[line + 1 : end - 1]
                content = "\n".join(inside) + "\n" if inside else ""
                fences.append(Fence(info[0] if info else "", content, line, end, True))
                continue
            meta = node.meta
            content = meta["content"]
            # an unclosed fence runs to the end of the body, so only the last node can be one
            closed = node is not nodes[-1] or _is_closing(
                lines, end - 1, meta["marker"] * meta["marker_len"], line
            )
            if not closed:  # like markdown-it-py's, it ends where the body does:
                end = _line_count(lines)  # trailing blank lines included
                if not src.endswith("\n"):  # and no newline is added after the last line
                    content = content.removesuffix("\n")
            info = meta["info"].split(maxsplit=1)
            fences.append(Fence(info[0] if info else "", content, line, end, closed))
    return Outline(tuple(headings), tuple(fences))


def _atx_heading(line: str) -> tuple[int, str]:
    """Level and text of the ATX heading that the parser found on ``line``.

    markdown-it-py's own rule (CommonMark's): the text runs from after the opening '#'s to
    the end of the line, less a closing run of '#'s after a space or tab, then stripped.
    Read from the line rather than from the node's ``meta`` and inline children: those
    cost four Rust calls per heading, a tenth of this backend's time. Tests check this
    against markdown-it-py on fixtures, tricky snippets and fuzzed documents.
    """
    text = line.lstrip(" ")  # at most three spaces: four would make it code
    rest = text.lstrip("#")
    rest_trimmed = rest.rstrip(" \t")
    closing = rest_trimmed.rstrip("#")
    if closing != rest_trimmed and closing[-1:] in (" ", "\t"):
        rest_trimmed = closing
    return len(text) - len(rest), rest_trimmed.strip()


@functools.lru_cache(maxsize=1)
def _python_markdown() -> MarkdownIt:
    """One shared block-level markdown-it-py parser.

    Only inline parsing is switched off: it cannot move a block. Every block rule stays on,
    setext headings, link references and block quotes included: switching any of them off
    changes which lines are top-level headings or fences in rare documents (a fuzz test
    against the full CommonMark parser finds them), for only about 12% more speed.
    """
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").disable(["inline", "text_join"])


def python_outline(body: str, lines: list[str], parser: MarkdownIt | None = None) -> Outline:
    """:func:`outline` with markdown-it-py (``parser``, or the trimmed shared one)."""
    tokens = (parser or _python_markdown()).parse(body)
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
    """Whether body line ``index`` closes a top-level fence opened with ``markup`` on ``start``.

    CommonMark: at most three spaces of indentation, then at least as many fence characters
    as opened it, then only spaces or tabs.
    """
    if index <= start or index >= len(lines):
        return False
    line = lines[index]
    text = line.lstrip(" ")
    if len(line) - len(text) > 3:  # indented four or more: content of the fence
        return False
    rest = text[len(markup) :].lstrip(markup[0])
    return text.startswith(markup) and not rest.strip(" \t")


def _line_count(lines: list[str]) -> int:
    """Lines as markdown-it counts them: a final newline does not start another line."""
    return len(lines) - (lines[-1] == "")
