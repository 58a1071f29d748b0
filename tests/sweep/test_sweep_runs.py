"""`python -m dnd_ft -m sweep=smoke` end to end on the tiny Gemma3: a killed sweep continues
without repeating trials, two processes share one study, a trial in a joblib worker process
is pruned through the storage, failures are recorded and a sweep that only fails stops."""

from __future__ import annotations

import json
import os
import signal
import time

from dnd_ft.pipeline.config import compose
from tests.sweep.sweep_helpers import run, start, study_trials, trials


def _wait_for_training(folder_glob, sweep_dir, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for status in sweep_dir.glob(f"{folder_glob}/status.json"):
            try:
                if json.loads(status.read_text()).get("stage") == "train":
                    return status.parent
            except json.JSONDecodeError:
                pass  # being written
        time.sleep(0.5)
    raise AssertionError(f"no {folder_glob} reached its train stage in {timeout} s")


def test_a_killed_sweep_continues_without_repeating_a_trial(tmp_path):
    sweep = tmp_path / "sweep"
    args = (f"hydra.sweep.dir={sweep}",)
    proc = start(*args, cwd=tmp_path)
    try:
        _wait_for_training("2_*", sweep)  # trial 3 of 4 is training
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    before = {p.parent.name: p.stat().st_mtime_ns for p in sweep.glob("[01]_*/status.json")}
    assert len(before) == 2

    again = run(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    rows = trials(sweep)
    finished = [r for r in rows if r["state"] in ("complete", "pruned")]
    assert len(finished) == 4, rows
    killed = rows[2]
    assert killed["state"] == "fail" and killed["error"].startswith("stale: its sweep process")
    (retry,) = [r for r in rows if r["retry_of"] == 2]
    assert retry["params"] == killed["params"] and retry["state"] in ("complete", "pruned")
    # trials 0 and 1 were not run again: their folders are as the first session left them
    after = {p.parent.name: p.stat().st_mtime_ns for p in sweep.glob("[01]_*/status.json")}
    assert after == before
    assert len({r["run_dir"] for r in finished}) == 4
    assert sorted(r["number"] for r in rows) == list(range(len(rows)))

    for name in ("optimization_history", "param_importances", "parallel_coordinate"):
        assert (sweep / "plots" / f"{name}.png").stat().st_size > 10_000
    assert "| 2 | fail |" in (sweep / "trials.md").read_text()
    import yaml

    best = yaml.safe_load((sweep / "best.yaml").read_text())
    best_row = min((r for r in rows if r["state"] == "complete"),
                   key=lambda r: r["values"]["train/eval_loss"])  # fmt: skip
    assert best["trial"] == best_row["number"]
    assert best["command"].startswith("python -m dnd_ft sweep=smoke ")
    cfg = compose(best["overrides"])  # the command reruns the best trial's settings
    assert cfg.trainer.learning_rate == best["params"]["trainer.learning_rate"]
    assert cfg.trainer.max_steps == 4 and cfg.model.name == "tiny_gemma3"


def test_two_processes_share_one_study_without_duplicate_trials(tmp_path):
    sweep = tmp_path / "sweep"
    args = (f"hydra.sweep.dir={sweep}", "hydra.sweeper.n_trials=4")
    procs = [start(*args, cwd=tmp_path) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-3000:]
    done = [t for t in study_trials(sweep) if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(done) >= 4  # the last ask can race: one extra trial, never a lost one
    numbers = [t.number for t in study_trials(sweep)]
    assert len(numbers) == len(set(numbers))
    assert len({t.user_attrs["pid"] for t in done}) == 2  # both processes ran trials
    folders = [p.name for p in sweep.iterdir() if (p / "status.json").is_file()]
    assert len(folders) == len(numbers)  # one run folder per trial


def test_a_trial_in_a_joblib_worker_is_pruned_through_the_storage(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run(
        f"hydra.sweep.dir={sweep}", "hydra/launcher=parallel",
        "hydra.sweeper.n_trials=2", "hydra.sweeper.pruner.n_startup_trials=1",
        # a good rate first, then one far too small: its val loss at step 2 is worse
        "hydra.sweeper.enqueue=[{trainer.learning_rate:0.01},{trainer.learning_rate:1e-5}]",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    first, second = study_trials(sweep)
    assert first.state.name == "COMPLETE" and second.state.name == "PRUNED"
    assert second.params == {"trainer.learning_rate": 1e-5, "trainer.weight_decay": 0.0} or (
        second.params["trainer.learning_rate"] == 1e-5
    )
    status = json.loads((sweep / "1_tiny_gemma3" / "status.json").read_text())
    assert status["status"] == "pruned" and status["pruned_at_step"] == 2
    assert status["pid"] != second.user_attrs["pid"]  # the job ran in a worker process
    assert not (sweep / "1_tiny_gemma3" / "model").exists()
    assert "1 pruned" in proc.stderr


def test_wilcoxon_prunes_a_trial_worse_than_the_best_conversation_by_conversation(tmp_path):
    """Each val conversation's loss is one paired instance: a trial whose conversations all
    score worse than the best trial's stops after a few of them, not after the whole curve."""
    sweep = tmp_path / "sweep"
    proc = run(
        f"hydra.sweep.dir={sweep}", "hydra.sweeper.n_trials=2", "hydra.sweeper.pruner.name=wilcoxon",
        "hydra.sweeper.pruner.n_startup_steps=3",
        "hydra.sweeper.enqueue=[{trainer.learning_rate:0.01},{trainer.learning_rate:1e-5}]",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    first, second = study_trials(sweep)
    val = len((sweep / "0_tiny_gemma3" / "data" / "val.jsonl").read_text().splitlines())
    # the complete trial reported every conversation at both evaluations (steps 2 and 4)
    assert first.state.name == "COMPLETE" and sorted(first.intermediate_values) == list(
        range(2 * val)
    )
    # losses are per conversation: they differ (one curve value would repeat)
    assert len(set(first.intermediate_values.values())) > 1
    # the slow trial stopped within its first evaluation, as soon as the paired test said so
    assert second.state.name == "PRUNED"
    reported = sorted(second.intermediate_values)
    assert 3 <= len(reported) < val and reported == list(range(len(reported)))
    assert all(second.intermediate_values[i] > first.intermediate_values[i] for i in reported)
    status = json.loads((sweep / "1_tiny_gemma3" / "status.json").read_text())
    assert status["status"] == "pruned" and status["pruned_at_step"] == 2


def test_failed_trials_are_recorded_and_a_sweep_that_only_fails_stops(tmp_path):
    hub = {"HF_HOME": str(tmp_path / "hf"), "HF_HUB_CACHE": str(tmp_path / "hf" / "hub")}
    os.environ.update(hub)  # the children inherit it (an empty hub cache: offline, no model)
    try:
        sweep = tmp_path / "only_fails"
        proc = run(f"hydra.sweep.dir={sweep}", "model=qwen3_0_6b", cwd=tmp_path)
        assert proc.returncode != 0
        assert "hydra.sweeper.max_failure_rate=0.5" in proc.stderr
        rows = trials(sweep)
        assert [r["state"] for r in rows] == ["fail"] * 3
        assert all("qwen" in r["error"].lower() or "hub" in r["error"].lower() for r in rows)
        assert "| 0 | fail |" in (sweep / "trials.md").read_text()

        sweep = tmp_path / "goes_on"
        proc = run(
            f"hydra.sweep.dir={sweep}", "hydra.sweeper.n_trials=1",
            "model=choice(qwen3_0_6b,tiny_gemma3)",  # a command-line sweep adds a dimension
            "hydra.sweeper.enqueue=[{model:qwen3_0_6b},{model:tiny_gemma3}]",
            cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 1  # a job failed; the multirun summary says which
        assert [r["state"] for r in trials(sweep)] == ["fail", "complete"]
    finally:
        for key in hub:
            os.environ.pop(key, None)


def test_a_two_objective_sweep_keeps_its_pareto_front_and_tracks_each_trial(tmp_path):
    from dnd_ft.tracking.offline import read_offline_run

    sweep = tmp_path / "sweep"
    proc = run(
        f"hydra.sweep.dir={sweep}", "hydra.sweeper.study_name=two", "hydra.sweeper.n_trials=2",
        "hydra.sweeper.objective=[train/eval_loss,train/seconds]",
        "hydra.sweeper.direction=[minimize,minimize]", "hydra.sweeper.pruner.name=none",
        "hydra.sweeper.sampler.name=nsga2", "tracking=wandb", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    import yaml

    best = yaml.safe_load((sweep / "best.yaml").read_text())
    assert best["objective"] == {"train/eval_loss": "minimize", "train/seconds": "minimize"}
    assert 1 <= len(best["pareto_front"]) <= 2
    assert (sweep / "plots" / "pareto_front.png").stat().st_size > 10_000
    for number in (0, 1):
        wandb_run = read_offline_run(sweep / f"{number}_tiny_gemma3")
        assert wandb_run.run["group"] == "two"  # one W&B group per study
        assert wandb_run.summary["trial/number"] == number
        assert wandb_run.summary["trial/state"] == "ok"
        assert "learning_rate" in str(wandb_run.config["trainer"])
