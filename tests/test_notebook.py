"""notebooks/walkthrough.ipynb: it runs end to end, and it is committed without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "walkthrough.ipynb"
STRIP = f"python scripts/strip_notebook.py {NOTEBOOK.relative_to(ROOT)}"


def test_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"code cells {dirty} keep outputs or execution counts; run `{STRIP}`"
    assert "widgets" not in nb.metadata, f"the notebook keeps widget state; run `{STRIP}`"


@pytest.mark.timeout(1200)
def test_walkthrough_runs_end_to_end(tmp_path, monkeypatch):
    """About 4 minutes of CPU: two debug=smoke pipeline runs, an export and the CLIs."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("DND_FT_WALKTHROUGH_DIR", str(tmp_path))  # the kernel inherits it
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    try:
        client.execute()
    except CellExecutionError as exc:  # names the cell and the traceback, e.g. a failed run()
        pytest.fail(f"the walkthrough failed:\n{exc}")

    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]  # fmt: skip
    assert not errors
    line = tmp_path / "outputs" / "registry" / "tiny_qwen3"
    assert (line / "v1" / "version.json").is_file() and (line / "v2" / "version.json").is_file()
    assert (line / "v1" / "exports" / "merged" / "model.safetensors").is_file()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "unknown tool 'cast_spell'" in text  # the tools check against the default tools
    assert "tools: +['cast_spell']" in text  # registry diff v1 v2
