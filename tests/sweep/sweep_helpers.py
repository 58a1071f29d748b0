"""Shared bits of the sweep tests: the smoke sweep cut to 4 training steps a trial."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# sweep=smoke at 4 steps with the val loss at steps 2 and 4: about 10 s a trial here.
FAST = ("trainer.max_steps=4", "trainer.eval_steps=2", "trainer.logging_steps=2",
        "hydra.sweeper.pruner.n_warmup_steps=0")  # fmt: skip


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    out.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", WANDB_MODE="offline", WANDB_SILENT="true")
    return out


def start(*args: str, cwd: Path) -> subprocess.Popen:
    """`python -m dnd_ft -m sweep=smoke ARGS` in its own process group."""
    return subprocess.Popen(
        [sys.executable, "-m", "dnd_ft", "-m", "sweep=smoke", *FAST, *args],
        cwd=cwd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip


def run(*args: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    proc = start(*args, cwd=cwd)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def trials(sweep_dir: Path) -> list[dict]:
    return json.loads((sweep_dir / "trials.json").read_text())


def study_trials(sweep_dir: Path, name: str = "smoke") -> list:
    import optuna

    from dnd_ft.tuning.storage import open_storage

    storage = open_storage(str(sweep_dir / "optuna.journal"))
    return optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
