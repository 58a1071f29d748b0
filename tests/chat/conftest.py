"""Fixtures of the chat-format tests: the golden record and a tiny offline tokenizer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dnd_ft.chat.tokens import GEMMA, HERMES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "chat"
RECORD = FIXTURES / "record.json"
GOLDEN = FIXTURES / "golden"


@pytest.fixture
def record() -> dict[str, Any]:
    """One multi-turn conversation with parallel calls, player names and odd characters."""
    return json.loads(RECORD.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def tiny_tokenizer() -> Any:
    """A byte-level BPE trained in well under a second; every control string is one token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = list(dict.fromkeys([*HERMES.values(), *GEMMA.values(), "<|endoftext|>"]))
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    corpus = RECORD.read_text(encoding="utf-8")
    tok.train_from_iterator([corpus] * 3, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
