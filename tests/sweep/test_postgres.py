"""The RDB path against a real PostgreSQL server: a cluster of its own on a temp dir (Unix
socket only), a two-trial sweep stored there, a trial pruned through it. Skips without
PostgreSQL's server binaries or psycopg (3, SQLAlchemy 2.1's default driver)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.sweep.sweep_helpers import run


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@pytest.fixture(scope="module")
def postgres_url():
    pytest.importorskip("psycopg")
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    # The server refuses to run as root: run it as the postgres user when we are root.
    as_user: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser to start the server as postgres")
        try:
            import pwd

            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="dnd-ft-pg-"))
    if as_user:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data, port = root / "data", 55432 + os.getpid() % 1000
    subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    options = f"-k {root} -p {port} -c listen_addresses=''"
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-o", options, "-w", "start",
                    "-l", str(root / "server.log")], check=True, capture_output=True,
                   timeout=120)  # fmt: skip
    try:
        yield f"postgresql://postgres@/postgres?host={root}&port={port}"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def test_a_sweep_stores_its_study_in_postgresql(tmp_path, postgres_url):
    import optuna

    sweep = tmp_path / "sweep"
    proc = run(
        f"hydra.sweep.dir={sweep}", f"hydra.sweeper.storage='{postgres_url}'",
        "hydra.sweeper.study_name=pg", "hydra.sweeper.n_trials=2",
        "hydra.sweeper.pruner.n_startup_trials=1",
        "hydra.sweeper.enqueue=[{trainer.learning_rate:0.01},{trainer.learning_rate:1e-5}]",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not (sweep / "optuna.journal").exists()
    study = optuna.load_study(study_name="pg", storage=postgres_url)
    states = [t.state.name for t in study.get_trials()]
    assert states == ["COMPLETE", "PRUNED"]  # the job reported to the server and was pruned
    assert study.get_trials()[1].intermediate_values  # written by the job, read back here
