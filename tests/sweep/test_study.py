"""The study in its storage: a trial whose sweep died is failed (and queued again), a live
one is left alone; a study made for another objective is refused; a job reaches its trial
through the storage and prunes by the study's pruner."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import optuna
import pytest

from dnd_ft.errors import ConfigError
from dnd_ft.sweep import study as studies
from dnd_ft.tuning.storage import describe, open_storage
from dnd_ft.tuning.trial import TrialLink

SETTINGS = {"objective": ["train/eval_loss"], "direction": ["minimize"],
            "pruner": {"name": "median", "n_startup_trials": 1, "n_warmup_steps": 0}}  # fmt: skip


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_trial_of_a_dead_sweep_is_failed_and_queued_again(tmp_path):
    storage = open_storage(str(tmp_path / "optuna.journal"))
    study = studies.open_study("s", storage, optuna.samplers.RandomSampler(seed=0), SETTINGS)
    dims = {"lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)}
    dead, live = study.ask(dims), study.ask(dims)
    studies.claim(dead)
    dead.set_user_attr("pid", _dead_pid())
    studies.claim(live)  # this process: alive
    assert studies.recover_stale(study, storage, retry=1, stale_after=600) == [dead.number]
    again = studies.recover_stale(study, storage, retry=1, stale_after=600)
    assert again == []  # the live trial is not touched, the failed one not twice
    trials = study.get_trials(deepcopy=False)
    assert trials[dead.number].state.name == "FAIL"
    assert "is gone" in trials[dead.number].user_attrs["stale"]
    assert trials[live.number].state.name == "RUNNING"
    (queued,) = [t for t in trials if t.state.name == "WAITING"]
    assert queued.user_attrs["retry_of"] == dead.number
    assert study.ask(dims).params == dead.params  # the next ask takes the queued parameters
    n = studies.counts(study)
    assert (n.failed, n.stale, n.running, n.waiting) == (0, 1, 2, 0)


def test_a_silent_trial_of_another_host_is_stale_after_its_grace(tmp_path):
    storage = open_storage(str(tmp_path / "optuna.journal"))
    study = studies.open_study("s", storage, None, SETTINGS)
    trial = study.ask({"x": optuna.distributions.IntDistribution(0, 3)})
    trial.set_user_attr("host", "elsewhere")
    trial.set_user_attr("pid", 1)
    trial.set_user_attr("heartbeat", time.time() - 100)
    assert studies.recover_stale(study, storage, retry=0, stale_after=600) == []
    assert studies.recover_stale(study, storage, retry=0, stale_after=60) == [trial.number]
    assert not [t for t in study.get_trials() if t.state.name == "WAITING"]  # retry=0


def test_a_study_of_another_objective_is_refused(tmp_path):
    storage = open_storage(str(tmp_path / "optuna.journal"))
    studies.open_study("s", storage, None, SETTINGS)
    other = {**SETTINGS, "objective": ["eval/tool_name_f1"], "direction": ["maximize"]}
    with pytest.raises(ConfigError, match="study 's' in this storage optimises"):
        studies.open_study("s", storage, None, other)


def test_a_job_prunes_through_the_storage_in_another_process(tmp_path):
    """The sweep's process makes the study; a separate process opens trial 1 by number from
    the storage, reports a worse value than trial 0 and is told to stop."""
    url = str(tmp_path / "optuna.journal")
    storage = open_storage(url)
    study = studies.open_study("s", storage, None, SETTINGS)
    first = study.ask()
    for step, value in enumerate([3.0, 2.0, 1.0]):
        first.report(value, step)
    study.tell(first, 1.0)
    second = study.ask()
    code = (
        "from dnd_ft.tuning.trial import TrialLink\n"
        f"link = TrialLink('s', {url!r}, {second.number})\n"
        "print(link.report(0, 2.5), link.report(1, 9.0))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ}, timeout=120, check=True)  # fmt: skip
    assert out.stdout.split() == ["True", "True"] or out.stdout.split() == ["False", "True"]
    assert out.stdout.split()[-1] == "True"  # 9.0 at step 1 is worse than trial 0's 2.0
    frozen = study.get_trials(deepcopy=False)[second.number]
    assert frozen.intermediate_values == {0: 2.5, 1: 9.0}


def test_a_maximising_study_gets_the_val_loss_negated(tmp_path):
    url = str(tmp_path / "optuna.journal")
    storage = open_storage(url)
    settings = {**SETTINGS, "objective": ["eval/tool_name_f1"], "direction": ["maximize"]}
    study = studies.open_study("s", storage, None, settings)
    trial = study.ask()
    TrialLink("s", url, trial.number).report(3, 1.25)
    assert study.get_trials(deepcopy=False)[0].intermediate_values == {3: -1.25}


def test_storage_urls_hide_passwords():
    assert describe("postgresql://dm:secret@db.example/optuna") == (
        "postgresql://dm:***@db.example/optuna"
    )
    assert describe("outputs/sweeps/smoke/optuna.journal") == "outputs/sweeps/smoke/optuna.journal"
