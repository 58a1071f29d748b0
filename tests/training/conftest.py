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


from tests.chat.conftest import record, tiny_tokenizer  # noqa: E402, F401  # shared fixtures
