"""`python -m dnd_ft --help`: a short page of groups, overlays and examples."""

from __future__ import annotations

import subprocess
import sys

from dnd_ft.pipeline.stages import GROUPS


def test_help_is_one_short_page_of_groups_overlays_and_examples(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "dnd_ft", "--help"], capture_output=True, text=True,
        cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    page = proc.stdout
    assert page.startswith("dnd-ft: fine-tune small Gemma and Qwen chat models")
    assert len(page.splitlines()) < 60  # not the resolved config
    for group in GROUPS:
        assert f"\n  {group}:" in page
    assert "tiny_qwen3*" in page and "tiny_gemma3" in page  # the current choice is marked
    assert "experiment:" in page and "smollm2_proof" in page
    assert "base_" not in page  # schema entries are not options
    assert page.count("python -m dnd_ft") >= 5
    assert "seed: 42" not in page
