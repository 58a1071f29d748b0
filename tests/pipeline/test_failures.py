"""Failure semantics (docs/failures.md): what a failed, interrupted or disk-full run leaves,
and that a multirun outlives its failing jobs."""

from __future__ import annotations

import errno
import json
import os
import signal
import time
from pathlib import Path

import pytest

from dnd_ft.errors import ConfigError, StageError
from dnd_ft.pipeline import runner, stages
from dnd_ft.pipeline.signals import Interrupted
from dnd_ft.utils.disk import DiskFullError, is_disk_full


def _status(run: Path) -> dict:
    return json.loads((run / "status.json").read_text())


def _use_stage(monkeypatch, name: str, func: str) -> None:
    prefixes = stages.STAGES[name].metrics
    monkeypatch.setitem(stages.STAGES, name, stages.Stage(f"{__name__}:{func}", prefixes))


def _sees_itself_running(ctx):
    status = json.loads((ctx.run_dir / "status.json").read_text())
    assert status["status"] == "running" and status["stage"] == "data"
    ctx.metrics.update({"data/seen": 1})


def _interrupt(ctx):
    ctx.metrics.update({"data/partial": 1})
    raise KeyboardInterrupt


def _sigterm(ctx):
    os.kill(os.getpid(), signal.SIGTERM)  # a real signal, delivered to this (main) thread
    time.sleep(5)
    raise AssertionError("SIGTERM did not stop the stage")


def _disk_full(ctx):
    """Writes through the real atomic writer; the kernel's answer to a full disk (ENOSPC from
    fsync) is played by os.fsync while this one file is written."""
    from unittest import mock

    from dnd_ft.utils.io import atomic_write_text

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    with mock.patch("os.fsync", no_space):
        atomic_write_text(ctx.run_dir / "data" / "train.jsonl", "x" * 100)


def _fail(ctx):
    raise StageError("broken on purpose")


def test_status_is_running_at_each_stage_boundary_then_ok(compose_cfg, tmp_path, monkeypatch):
    _use_stage(monkeypatch, "data", "_sees_itself_running")
    runner.run_pipeline(compose_cfg("stages=[data]"))
    status = _status(tmp_path / "run")
    assert status["status"] == "ok" and status["completed"] == ["data"]
    assert status["attempt"] == 1 and status["pid"] == os.getpid()


def test_ctrl_c_is_recorded_as_interrupted_and_the_tracker_finished(
    compose_cfg, tmp_path, monkeypatch
):
    from dnd_ft.tracking.offline import read_offline_run

    _use_stage(monkeypatch, "data", "_interrupt")
    with pytest.raises(KeyboardInterrupt):
        runner.run_pipeline(compose_cfg("stages=[data]", "tracking=wandb"))
    status = _status(tmp_path / "run")
    assert status["status"] == "interrupted" and status["signal"] == "SIGINT"
    assert status["stage"] == "data" and "error" not in status
    run = read_offline_run(tmp_path / "run")  # a complete offline run file
    assert run.summary["status"] == "interrupted" and run.summary["data/partial"] == 1


def test_sigterm_is_recorded_as_interrupted(compose_cfg, tmp_path, monkeypatch):
    _use_stage(monkeypatch, "data", "_sigterm")
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted, match="SIGTERM"):
        runner.run_pipeline(compose_cfg("stages=[data]"))
    status = _status(tmp_path / "run")
    assert status["status"] == "interrupted" and status["signal"] == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is put back


def test_a_rerun_never_shows_the_older_attempts_numbers(compose_cfg, tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    old = {"train/loss_last": 1.0, "eval/tool_name_f1": 0.9, "time/eval_seconds": 3.0}
    (run / "metrics.json").write_text(json.dumps(old))
    (run / "status.json").write_text(json.dumps({"status": "ok", "stage": None}))
    monkeypatch.setitem(stages.STAGES, "eval", stages.Stage(f"{__name__}:_fail", ("eval/",)))
    with pytest.raises(StageError):
        runner.run_pipeline(compose_cfg("stages=[eval]"))
    # the failed eval attempt dropped the old eval numbers; train's, which it skipped, stay
    assert json.loads((run / "metrics.json").read_text()) == {"train/loss_last": 1.0}
    status = _status(run)
    assert status["status"] == "failed" and status["attempt"] == 2
    assert status["previous"][-1]["status"] == "ok"


def test_a_config_error_is_recorded_in_a_new_folder_only(compose_cfg, tmp_path):
    with pytest.raises(ConfigError):
        runner.run_pipeline(compose_cfg("data.split.test=0.5"))
    status = _status(tmp_path / "run")
    assert status["status"] == "failed" and status["stage"] == "config"
    assert "data.split" in status["error"]
    # an existing run's record is left alone by a refused rerun
    good = {"status": "ok", "stage": None}
    (tmp_path / "run" / "status.json").write_text(json.dumps(good))
    with pytest.raises(ConfigError):
        runner.run_pipeline(compose_cfg("data.split.test=0.5"))
    assert _status(tmp_path / "run") == good


def test_no_space_on_the_real_write_path_says_disk_full_with_the_path(
    compose_cfg, tmp_path, monkeypatch
):
    # tests/pipeline/test_disk_full.py fills a real tmpfs instead, where it can mount one.
    _use_stage(monkeypatch, "data", "_disk_full")
    with pytest.raises(DiskFullError) as info:
        runner.run_pipeline(compose_cfg("stages=[data]"))
    target = tmp_path / "run" / "data" / "train.jsonl"
    assert str(info.value).startswith(f"disk full: no space left for {target} (")
    assert "paths.output_dir=" in str(info.value)
    status = _status(tmp_path / "run")
    assert status["status"] == "failed" and status["error"].startswith("disk full")
    assert not list((tmp_path / "run" / "data").glob(".*tmp"))  # no half-written file


@pytest.mark.parametrize(
    "exc",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        RuntimeError("Error while serializing: IoError(No space left on device (os error 28))"),
        RuntimeError(
            "[enforce fail at inline_container.cc:603] . PytorchStreamWriter failed "
            "writing file data/0: file write failed (errno 28)"
        ),  # fmt: skip
    ],
)
def test_every_spelling_of_a_full_disk_is_recognised(exc):
    try:
        raise StageError("saving failed") from exc
    except StageError as wrapped:
        assert is_disk_full(wrapped)
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))


def test_a_full_disk_while_loading_is_not_blamed_on_the_hub(compose_cfg):
    from dnd_ft.training.errors import loading_errors

    cfg = compose_cfg("model=qwen3_0_6b")
    with (
        pytest.raises(DiskFullError, match="disk full while writing the model"),
        loading_errors(cfg),
    ):
        raise OSError(errno.ENOSPC, "No space left on device", "/cache/model.safetensors")
