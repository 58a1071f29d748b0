"""A sweep on a real Ray cluster: `ray start --head` (its own GCS and raylet, as on any
cluster node), then `hydra/launcher=ray_cluster` sends each trial to it as a Ray task; the
trials prune and report through the study's storage as in any other launcher.

Skipped without Ray and Hydra's Ray launcher (not in the sweep extra: Ray is large;
docs/sweeps.md says how to install them)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.sweep.sweep_helpers import env, run, study_trials

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is None
    or importlib.util.find_spec("ray") is None,
    reason="ray and hydra-ray-launcher are not installed (docs/sweeps.md)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ray_head():
    """A one-node Ray cluster started the way a cluster's head node is (`ray start --head`),
    stopped afterwards. Its sockets live in a short temp folder (Unix socket paths are
    limited to ~100 characters)."""
    ray = Path(sys.executable).with_name("ray")
    port = _free_port()
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    cmd = [str(ray), "start", "--head", f"--port={port}", "--num-cpus=2", "--num-gpus=0",
           "--include-dashboard=false", f"--temp-dir={temp}", "--disable-usage-stats"]  # fmt: skip
    started = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stderr[-2000:]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(ray), "stop", "--force"], env=env(), capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def test_a_sweep_runs_its_trials_on_a_ray_cluster(ray_head, tmp_path):
    sweep = tmp_path / "sweep"
    proc = run(
        f"hydra.sweep.dir={sweep}", "hydra/launcher=ray_cluster",
        f"hydra.launcher.ray.init.address={ray_head}", "hydra.launcher.ray.remote.num_gpus=0",
        "hydra.launcher.ray.remote.num_cpus=1", "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_jobs=2", "hydra.sweeper.pruner.name=none",
        cwd=tmp_path, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    trials = study_trials(sweep)
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    statuses = [json.loads((sweep / f"{t.number}_tiny_gemma3" / "status.json").read_text())
                for t in trials]  # fmt: skip
    assert all(s["status"] == "ok" for s in statuses)
    # each trial ran in a Ray worker process, not in the sweeper's
    assert {s["pid"] for s in statuses}.isdisjoint({os.getpid(), trials[0].user_attrs["pid"]})
    assert all(t.values[0] > 0 for t in trials)  # the val loss, read from each metrics.json
