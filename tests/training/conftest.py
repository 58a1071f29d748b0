"""Fixtures for training tests (helpers live in train_helpers.py)."""

from __future__ import annotations

import pytest

from .train_helpers import VOCAB


@pytest.fixture(scope="session")
def toy_tokenizer():
    """A word-level fast tokenizer over VOCAB tokens `t0 .. t{VOCAB-1}`; t0 pads, t1 ends."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {f"t{i}": i for i in range(VOCAB)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="t2"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="t0", eos_token="t1", unk_token="t2"
    )


@pytest.fixture(scope="session")
def qwen_smoke_run(tmp_path_factory):
    """One `debug=smoke` CLI run of tiny_qwen3 with W&B offline, shared by the tests that
    read its outputs (and by the resume test as the uninterrupted reference)."""
    from .train_helpers import SMOKE_ARGS, run_cli

    run_dir = tmp_path_factory.mktemp("qwen_smoke") / "run"
    proc = run_cli(
        *SMOKE_ARGS,
        "model=tiny_qwen3",
        "tracking=wandb",
        f"hydra.run.dir={run_dir}",
        cwd=run_dir.parent,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run_dir
