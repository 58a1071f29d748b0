"""Clear a notebook's outputs in place, so the committed file holds only its source.

    python scripts/strip_notebook.py notebooks/walkthrough.ipynb

Every code cell loses its outputs and execution count; widget state (``metadata.widgets``) is
dropped. tests/test_notebook.py checks that notebooks/walkthrough.ipynb is stripped.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def strip(path: Path) -> bool:
    """Strip ``path`` in place; return whether anything changed."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)  # timings some frontends record
    nb.metadata.pop("widgets", None)
    changed = nbformat.writes(nb) != before
    if changed:
        nbformat.write(nb, path)
    return changed


def main(argv: list[str]) -> int:
    if not argv:
        sys.stderr.write("usage: python scripts/strip_notebook.py NOTEBOOK.ipynb ...\n")
        return 2
    for name in argv:
        print(f"{name}: {'stripped' if strip(Path(name)) else 'already stripped'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
