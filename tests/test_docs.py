"""The generated docs/configuration.md and the hand-written docs/troubleshooting.md keep up
with the code: every schema key is in the reference, every user-facing error has a section."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import dnd_ft
from dnd_ft.errors import DndFtError
from dnd_ft.pipeline import reference

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# Never imported here: Unsloth patches transformers on import and breaks next to CPU torch.
SKIP = {"dnd_ft.training.backends.unsloth"}
# Optional extras a module may need at import time; only these may be missing.
OPTIONAL = {"unsloth", "bitsandbytes", "llama_cpp", "cactus", "triton", "xformers", "psycopg"}


def test_configuration_reference_is_current() -> None:
    checked_in = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert checked_in == reference.render(reference.build()), (
        f"docs/configuration.md is stale; regenerate it: {reference.COMMAND}"
    )


def test_reference_has_nested_keys_comments_and_headings() -> None:
    text = reference.render(reference.build())
    # A nested dataclass becomes its own section with dotted keys and its docstring.
    assert "### `trainer.lora`" in text
    assert "LoRA adapter shape; used by method=lora and method=qlora." in text
    assert "| `trainer.lora.r` | `int` | `16` | rank of the update matrices |" in text
    # The comment lines above a field, and an interpolation shown as written, pragma dropped.
    assert "adapting only q,v is cheaper" in text
    assert "| `trainer.max_length` | `int` | `${model.max_seq_length}` | tokens per row |" in text
    # A comment block after a blank line heads the keys below it; pipes are escaped.
    assert "| **Optimisation.** | | | |" in text
    assert "auto \\| hf \\| unsloth" in text
    # Lists of dataclasses, the sweeper's schema and the presets with their run command.
    assert "`tools.specs[].name`" in text and "`hydra.sweeper.pruner.name`" in text
    assert (
        "[`configs/trainer/qlora.yaml`](../configs/trainer/qlora.yaml): `python -m dnd_ft" in text
    )


def test_comment_parser_on_a_fixture_class() -> None:
    docs, headings = reference.comments(_Sample)
    assert docs == {
        "a": "above a, on two lines",
        "b": "trailing",
        "c": "inside the brackets",
        "d": "",
    }
    assert headings == {"d": "A heading."}


def test_check_reports_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text("old\n", encoding="utf-8")
    assert reference.main(["--out", str(stale), "--check"]) == 1
    assert reference.COMMAND in capsys.readouterr().err
    assert reference.main(["--out", str(stale)]) == 0
    assert reference.main(["--out", str(stale), "--check"]) == 0


def user_errors() -> set[type]:
    """Every subclass of DndFtError, after importing every module of the package."""
    for module in pkgutil.walk_packages(dnd_ft.__path__, "dnd_ft."):
        name = module.name
        # __main__ modules run their command line when imported.
        if name in SKIP or name.rsplit(".", 1)[-1] == "__main__":
            continue
        try:
            importlib.import_module(name)
        except ImportError as exc:
            if (exc.name or "").split(".")[0] not in OPTIONAL:
                raise
    found: set[type] = set()
    todo = [DndFtError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("dnd_ft.") and sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def test_every_user_error_has_a_troubleshooting_section() -> None:
    text = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    headings = {line.strip() for line in text.splitlines() if line.startswith("#")}
    classes = {DndFtError, *user_errors()}
    missing = sorted(
        f"{c.__module__}.{c.__qualname__}"
        for c in classes
        if not any(h.endswith(f"`{c.__name__}`") for h in headings)
    )
    assert not missing, (
        "docs/troubleshooting.md has no '### `ClassName`' section for: "
        + ", ".join(missing)
        + "; add one each (where it comes from, typical messages, cause, fix)"
    )


def test_docs_are_linked_from_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("configuration", "troubleshooting", "performance", "deployment"):
        assert f"(docs/{name}.md)" in readme, f"README.md's docs list lacks docs/{name}.md"


class _Sample:
    """A schema-like class for the comment parser (a plain class: only its source matters)."""

    # above a,
    # on two lines
    a: int = 1
    b: str = "x # not a comment"  # trailing  # type: ignore[assignment]
    c: list[int] = [  # noqa: RUF012
        1,  # inside the brackets
    ]

    # A heading.
    d: int = 2
