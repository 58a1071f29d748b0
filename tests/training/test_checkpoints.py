"""Checkpoint folders: only complete ones count, rotation, and what trainer.resume finds."""

from __future__ import annotations

import pytest

from dnd_ft.errors import StageError
from dnd_ft.training import checkpoints as ck


def _ckpt(root, step, complete=True, info=None):
    path = root / f"checkpoint-{step}"
    path.mkdir(parents=True)
    (path / "adapter_model.safetensors").write_bytes(b"weights")
    if complete:
        ck.mark_complete(path, info or {"model": "tiny_qwen3", "method": "lora"})
    return path


def test_latest_complete_skips_a_newer_interrupted_save(tmp_path):
    _ckpt(tmp_path, 5)
    _ckpt(tmp_path, 10)
    _ckpt(tmp_path, 15, complete=False)  # killed while the Trainer was writing it
    assert ck.latest_complete(tmp_path).name == "checkpoint-10"
    assert [p.name for p in ck.list_checkpoints(tmp_path)] == [
        "checkpoint-5",
        "checkpoint-10",
        "checkpoint-15",
    ]  # numeric, not string, order


def test_resume_auto_removes_interrupted_saves_and_picks_the_newest(tmp_path):
    _ckpt(tmp_path, 10)
    _ckpt(tmp_path, 20, complete=False)
    found = ck.resolve_resume("auto", tmp_path, {"model": "tiny_qwen3", "method": "lora"})
    assert found.name == "checkpoint-10"
    assert not (tmp_path / "checkpoint-20").exists()


def test_resume_auto_without_checkpoints_starts_fresh(tmp_path):
    assert ck.resolve_resume("auto", tmp_path / "none", {}) is None


def test_resume_never_clears_old_checkpoints(tmp_path):
    _ckpt(tmp_path / "c", 10)
    assert ck.resolve_resume("never", tmp_path / "c", {}) is None
    assert ck.list_checkpoints(tmp_path / "c") == []


def test_resume_from_an_explicit_incomplete_checkpoint_is_refused(tmp_path):
    path = _ckpt(tmp_path, 10, complete=False)
    with pytest.raises(
        StageError, match=r"trainer.resume: .*checkpoint-10 is not a complete checkpoint"
    ):
        ck.resolve_resume(str(path), tmp_path, {})


def test_resume_with_another_model_is_refused(tmp_path):
    _ckpt(tmp_path, 10)
    with pytest.raises(StageError, match=r"model: checkpoint 'tiny_qwen3', config 'tiny_gemma3'"):
        ck.resolve_resume("auto", tmp_path, {"model": "tiny_gemma3", "method": "lora"})


def test_rotation_keeps_the_newest_complete_and_unmarks_before_deleting(tmp_path):
    for step in (2, 4, 6, 8):
        _ckpt(tmp_path, step)
    removed = ck.rotate(tmp_path, keep=2)
    assert [p.name for p in removed] == ["checkpoint-2", "checkpoint-4"]
    assert [p.name for p in ck.list_checkpoints(tmp_path)] == ["checkpoint-6", "checkpoint-8"]


def test_marker_is_written_after_the_info(tmp_path):
    path = _ckpt(tmp_path, 3, info={"model": "m", "step": 3})
    assert (path / ck.MARKER).read_text() == "ok\n"
    assert (path / ck.INFO).stat().st_mtime_ns <= (path / ck.MARKER).stat().st_mtime_ns
