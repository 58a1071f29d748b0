"""A real full disk: runs write into a small tmpfs, mounted in a private mount namespace
(`unshare -rm`, no root needed and nothing left mounted), and must say "disk full" with the
path, record the failure, and leave no half-written file behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Runs "$@" with a tmpfs of size $2 at $1, then copies what the run left out to $3.
SCRIPT = r"""
set -u
mnt=$1; size=$2; out=$3; shift 3
mount -t tmpfs -o size="$size" tmpfs "$mnt" || exit 97
"$@" >"$out/stdout" 2>"$out/stderr"; rc=$?
cp "$mnt/run/status.json" "$out/" 2>/dev/null
find "$mnt/run" >"$out/listing" 2>/dev/null
exit $rc
"""


def _can_mount_tmpfs(tmp_path: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$0"', str(tmp_path)],
        capture_output=True, timeout=30,
    )  # fmt: skip
    return probe.returncode == 0


def _run_in_tmpfs(tmp_path: Path, size: str, *args: str) -> tuple[int, Path, Path]:
    if not _can_mount_tmpfs(tmp_path):
        pytest.skip("no private tmpfs here (unshare -rm cannot mount); see test_failures.py")
    mnt, out = tmp_path / "small_disk", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    env.pop("HYDRA_FULL_ERROR", None)
    cmd = ["unshare", "-rm", "sh", "-c", SCRIPT, "sh", str(mnt), size, str(out),
           sys.executable, "-m", "dnd_ft", *args, f"hydra.run.dir={mnt}/run"]  # fmt: skip
    proc = subprocess.run(cmd, env=env, cwd=tmp_path, timeout=300)
    return proc.returncode, mnt, out


def test_disk_full_while_writing_the_merged_model(qwen_smoke_run, tmp_path):
    # Hydra's and the run's small files fit in 2 MB; the 28 MB merged model does not.
    rc, mnt, out = _run_in_tmpfs(
        tmp_path, "2m", "stages=[export]", f"export.adapter_dir={qwen_smoke_run}/adapter"
    )
    stderr = (out / "stderr").read_text()
    assert rc == 1, stderr[-3000:]
    assert (
        f"error: disk full while writing the merged model: no space left for {mnt}/run/export/merged"
        in stderr
    )
    assert "hub" not in stderr.lower() and "Traceback" not in stderr
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "failed" and status["stage"] == "export"
    assert status["error"].startswith("disk full")
    listing = (out / "listing").read_text().split()
    assert not [p for p in listing if "/.tmp-" in p or p.endswith("/merged")]  # nothing half


def test_disk_full_while_writing_the_datasets(tmp_path):
    rc, mnt, out = _run_in_tmpfs(tmp_path, "256k", "stages=[data]")
    stderr = (out / "stderr").read_text()
    assert rc == 1, stderr[-3000:]
    assert f"error: disk full: no space left for {mnt}/run/data/" in stderr
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "failed" and status["stage"] == "data"
    listing = (out / "listing").read_text().split()
    assert not [p for p in listing if "/.tmp-" in p or p.endswith(".jsonl")]
