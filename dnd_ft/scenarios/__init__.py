"""Scenario stage: markdown scenario files -> typed :class:`Scenario` objects -> chat records.

Pure Python (no torch). The file format is documented in ``docs/scenario-format.md``.

    from dnd_ft.scenarios import load_corpus, to_records
    result = load_corpus(["scenarios/"], registry)
    if not result.ok:
        ...  # result.problems: every problem, as file:line: message
    records = [r for s in result.scenarios for r in to_records(s, registry)]
"""

from dnd_ft.scenarios.corpus import find_files, load_corpus
from dnd_ft.scenarios.frontmatter import DEFAULT_CATEGORIES
from dnd_ft.scenarios.model import Flow, ParseResult, Problem, Scenario, ToolCall, Turn
from dnd_ft.scenarios.parser import parse_file, parse_text
from dnd_ft.scenarios.records import iter_records, to_records
from dnd_ft.scenarios.stats import CorpusStats, compute_stats, format_stats

__all__ = [
    "DEFAULT_CATEGORIES",
    "CorpusStats",
    "Flow",
    "ParseResult",
    "Problem",
    "Scenario",
    "ToolCall",
    "Turn",
    "compute_stats",
    "find_files",
    "format_stats",
    "iter_records",
    "load_corpus",
    "parse_file",
    "parse_text",
    "to_records",
]
