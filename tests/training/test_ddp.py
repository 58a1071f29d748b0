"""Training scales past one process with DDP: two CPU processes (gloo) under torchrun train
the tiny Gemma3 exactly as one process does with the same global batch, into one run folder,
one W&B run and one set of checkpoints, and a killed DDP run resumes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from dnd_ft.training import checkpoints
from tests.training.train_helpers import run_cli

# 6 full fine-tuning steps; one process takes 2 chats a step by accumulation, two processes
# one chat each: the same global batch of the same chats (accelerate shards the batches).
ARGS = ("debug=smoke", "stages=[data,train]", "model=tiny_gemma3", "trainer.method=full",
        "trainer.learning_rate=5e-3", "trainer.max_steps=6", "trainer.save_steps=3",
        "trainer.eval_steps=3", "trainer.logging_steps=1", "trainer.batch_size=1")  # fmt: skip


def _torchrun(*args: str, cwd, **kwargs) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", WANDB_MODE="offline")
    return subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "dnd_ft", *ARGS, "trainer.grad_accum=1", *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, **kwargs,
    )  # fmt: skip


def _losses(run_dir):
    history = json.loads((run_dir / "train" / "history.json").read_text())
    return [(r["step"], r["loss"]) for r in history if "loss" in r]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    one = root / "one"
    proc = run_cli(*ARGS, "trainer.grad_accum=2", f"hydra.run.dir={one}", cwd=root, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    two = root / "two"
    ddp = _torchrun(f"hydra.run.dir={two}", "tracking=wandb", cwd=root)
    _, err = ddp.communicate(timeout=600)
    assert ddp.returncode == 0, err[-3000:]
    return root, one, two


def test_two_processes_train_as_one_with_the_same_global_batch(runs):
    from safetensors.torch import load_file

    root, one, two = runs
    a, b = _losses(one), _losses(two)
    assert [s for s, _ in a] == [s for s, _ in b] == [1, 2, 3, 4, 5, 6]
    # Same chats, same reduction up to float summation order: fp32 agrees to ~1e-6 here.
    assert [v for _, v in b] == pytest.approx([v for _, v in a], rel=1e-5)
    assert a[-1][1] < a[0][1] - 0.5  # and it learns
    w1 = load_file(str(one / "merged" / "model.safetensors"))
    w2 = load_file(str(two / "merged" / "model.safetensors"))
    assert w1.keys() == w2.keys()
    assert max(float((w1[k] - w2[k]).abs().max()) for k in w1) < 1e-4
    # the val loss too: each val row counted once, whichever process scored it
    val = [[r["eval_loss"] for r in json.loads((d / "train" / "history.json").read_text())
            if "eval_loss" in r] for d in (one, two)]  # fmt: skip
    assert len(val[0]) == 2 and val[1] == pytest.approx(val[0], rel=1e-5)
    m1, m2 = (json.loads((d / "metrics.json").read_text()) for d in (one, two))
    assert m2["train/processes"] == 2 and m2["train/tokens"] == m1["train/tokens"]


def test_a_ddp_run_keeps_one_folder_one_wandb_run_and_one_set_of_checkpoints(runs):
    root, _, two = runs
    assert sorted(p.name for p in root.iterdir()) == ["one", "two"]  # no second run folder
    assert len(list((two / "wandb").glob("offline-run-*"))) == 1
    for step in (3, 6):
        ckpt = two / "train" / "checkpoints" / f"checkpoint-{step}"
        assert checkpoints.is_complete(ckpt)
        assert sorted(p.name for p in ckpt.glob("rng_state*")) == [
            "rng_state_0.pth",
            "rng_state_1.pth",
        ]
    status = json.loads((two / "status.json").read_text())
    assert status["status"] == "ok" and status["completed"] == ["data", "train"]
    rank1 = json.loads((two / ".ranks" / "1" / "status.json").read_text())
    assert rank1["status"] == "ok"
    assert (two / "dnd_ft.rank1.log").is_file()


def test_a_killed_ddp_run_resumes_where_it_stopped(runs, tmp_path):
    _, _, reference = runs
    run_dir = tmp_path / "run"
    proc = _torchrun(f"hydra.run.dir={run_dir}", cwd=tmp_path)
    marker = run_dir / "train" / "checkpoints" / "checkpoint-3" / checkpoints.MARKER
    deadline = time.monotonic() + 300
    try:
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "no complete checkpoint within 300 s"
            time.sleep(0.05)
    finally:
        # torchrun's workers run in sessions of their own: kill each (their pids are in
        # their status files), then torchrun
        for status in (run_dir / "status.json", run_dir / ".ranks" / "1" / "status.json"):
            with contextlib.suppress(FileNotFoundError, ProcessLookupError, json.JSONDecodeError):
                os.kill(json.loads(status.read_text())["pid"], signal.SIGKILL)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert not (run_dir / "merged").exists()  # it died mid-training
    again = _torchrun(f"hydra.run.dir={run_dir}", cwd=tmp_path)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err[-3000:]
    summary = json.loads((run_dir / "train" / "summary.json").read_text())
    assert summary["resumed_from"].endswith("checkpoint-3")
    assert _losses(run_dir)[-1][1] == pytest.approx(_losses(reference)[-1][1], rel=1e-5)


def test_a_ddp_run_without_its_own_folder_is_refused(tmp_path):
    proc = _torchrun(cwd=tmp_path)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode != 0
    assert "hydra.run.dir: 2 processes must share one run folder" in err
