"""W&B tracking, offline: what a run logs is read back from its .wandb file."""

from __future__ import annotations

import json

import pytest

from dnd_ft.pipeline import runner
from dnd_ft.tracking import start_tracker
from dnd_ft.tracking.offline import OfflineRunError, read_offline_run, records


def _png(path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([3, 2, 1])
    fig.savefig(path)
    plt.close(fig)
    return path


def test_tracking_none_gives_no_tracker(compose_cfg, tmp_path):
    assert start_tracker(compose_cfg("tracking=none"), tmp_path) is None


def test_offline_run_records_history_summary_media_and_config(compose_cfg, tmp_path):
    cfg = compose_cfg("tracking=wandb", "model=tiny_gemma3", "tags=[smoke]", "tracking.tags=[unit]")
    run_dir = tmp_path / "run"
    (run_dir / "data").mkdir(parents=True)
    (run_dir / "data" / "report.json").write_text(
        json.dumps(
            {
                "scenarios": 12,
                "splits": {"train": {"examples": 30}},
                "overlength": [{"id": "a", "tokens": 5000}, {"id": "b", "tokens": 4100}],
            }
        )
    )
    tracker = start_tracker(cfg, run_dir)
    for step, loss in enumerate([2.0, 1.5, 1.2], start=1):
        tracker.log({"train/loss": loss, "train/grad_norm": float("nan")}, step=step)
    tracker.summary({"train/loss_last": 1.2, "train/backend": "hf"})
    tracker.log_image("train/loss_curve", _png(tmp_path / "curve.png"))
    tracker.log_table("eval/samples", ["prompt", "reply"], [["hi", "roll initiative"]])
    tracker.finish(metrics={"train/steps": 3, "train/eval_loss": None}, status="ok")
    tracker.log({"train/loss": 9.0})  # after finish: ignored, not an error

    run = read_offline_run(run_dir)
    assert run.run["name"] == "tiny_gemma3" and run.run["group"] == "gemma"
    assert run.run["job_type"] == "train" and set(run.run["tags"]) == {"smoke", "unit"}
    assert run.run["project"] == "dnd-ft"
    assert run.series("train/loss") == [2.0, 1.5, 1.2]
    assert run.series("train/grad_norm") == []  # NaN is dropped, not logged
    assert run.summary["train/loss_last"] == 1.2 and run.summary["train/steps"] == 3
    assert run.summary["train/backend"] == "hf" and run.summary["status"] == "ok"
    assert run.summary["data_report/scenarios"] == 12
    assert run.summary["data_report/splits/train/examples"] == 30
    assert run.config["model"]["name"] == "tiny_gemma3" and run.config["seed"] == 42
    assert any(f.startswith("media/images/train/loss_curve") for f in run.files)
    assert any(f.startswith("media/table/eval/samples") for f in run.files)
    assert any(f.startswith("media/table/data_report/overlength") for f in run.files)
    assert "data/report.json" in run.files
    assert run.exit_code == 0


def test_a_failed_run_is_finished_with_exit_code_1(compose_cfg, tmp_path):
    tracker = start_tracker(compose_cfg("tracking=wandb"), tmp_path)
    tracker.finish(metrics={}, status="failed")
    run = read_offline_run(tmp_path)
    assert run.exit_code == 1 and run.summary["status"] == "failed"


def test_wandb_mode_in_the_environment_wins(compose_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    tracker = start_tracker(compose_cfg("tracking=wandb", "tracking.mode=offline"), tmp_path)
    tracker.log({"train/loss": 1.0}, step=1)
    tracker.finish(metrics={"train/loss_last": 1.0}, status="ok")
    assert not list(tmp_path.glob("wandb/offline-run-*"))


def test_the_runner_finishes_the_run_even_when_a_stage_fails(compose_cfg, tmp_path):
    cfg = compose_cfg("tracking=wandb", "stages=[train]")  # no data: the train stage fails
    with pytest.raises(Exception, match="no training data"):
        runner.run_pipeline(cfg)
    run = read_offline_run(tmp_path / "run")
    assert run.exit_code == 1 and run.summary["status"] == "failed"


def test_reader_stops_cleanly_at_a_torn_tail(compose_cfg, tmp_path):
    tracker = start_tracker(compose_cfg("tracking=wandb"), tmp_path / "run")
    for step in range(1, 6):
        tracker.log({"train/loss": 1.0 / step}, step=step)
    tracker.finish(metrics={}, status="ok")
    whole = read_offline_run(tmp_path / "run")
    data = whole.path.read_bytes()
    torn = tmp_path / "run-torn.wandb"
    torn.write_bytes(data[: len(data) - 40])  # a writer killed mid-record
    assert len(list(records(torn))) < len(list(records(whole.path)))
    assert read_offline_run(torn).series("train/loss") == whole.series("train/loss")


def test_reader_rejects_other_files(tmp_path):
    bad = tmp_path / "run-x.wandb"
    bad.write_bytes(b"not a wandb file")
    with pytest.raises(OfflineRunError, match="is not a W&B run file"):
        read_offline_run(bad)
    with pytest.raises(OfflineRunError, match="no run-\\*.wandb file under"):
        read_offline_run(tmp_path / "empty")


def test_finish_waits_for_the_writer_to_complete_the_file(compose_cfg, tmp_path):
    """wandb-core may still hold the file's tail when finish() returns; the wait covers it."""
    import threading

    from dnd_ft.tracking.wandb_tracker import _wait_until_closed

    tracker = start_tracker(compose_cfg("tracking=wandb"), tmp_path / "run")
    tracker.finish(metrics={}, status="ok")
    data = read_offline_run(tmp_path / "run").path.read_bytes()
    late = tmp_path / "run-late.wandb"
    late.write_bytes(data[:200])  # header and a torn run record, as a reader saw it in CI
    assert read_offline_run(late).exit_code is None

    writer = threading.Timer(0.3, late.write_bytes, args=(data,))
    writer.start()
    _wait_until_closed(late, timeout_s=30)
    writer.join()
    assert read_offline_run(late).exit_code == 0
