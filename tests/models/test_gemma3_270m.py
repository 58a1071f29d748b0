"""The real pretrained Gemma 3 270M from its GGUF asset (slow: converts for minutes once).

Uses the default cache (``$DND_FT_CACHE``), as a user's run does, so the conversion is paid
once per machine rather than once per test session.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import pytest

from dnd_ft.assets import asset_path, cache_dir
from dnd_ft.chat.tokens import control_strings
from dnd_ft.models import load_model, load_prepared_tokenizer, resolve_model_dir
from dnd_ft.models.config import model_config
from dnd_ft.models.gguf_vocab import read_vocab

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TRICKY = [
    "roll 1d20+5  for   Thorin's attack\n\n",
    "  leading spaces",
    "trailing  ",
    "   ",
    " a  b   c    d\t\te",
    "def f(x):\n    return x**2\n\n\n",
    "\t tabs\tand\nnewlines\n\n\n",
    "日本語のテキスト、ドラゴン",
    "emoji 🐉🎲 and a zero\u200bwidth space",
    "12345678901234567890",
    '{"name": "roll_dice", "arguments": {"notation": "2d6+3", "reason": "Ünïcödé"}}',
    "<table> markup </td> and <b>bold</b>",
    "x\r\ny",
]


@pytest.fixture(scope="module")
def gemma() -> dict[str, Any]:
    cfg = model_config("gemma3_270m_offline")
    folder = resolve_model_dir(cfg, cache_dir())
    prepared = load_prepared_tokenizer(cfg, cache_dir())
    return {"cfg": cfg, "folder": folder, "prepared": prepared}


def _texts() -> list[str]:
    files = sorted(glob.glob(str(ROOT / "scenarios" / "**" / "*.md"), recursive=True))
    return TRICKY + [Path(f).read_text(encoding="utf-8") for f in files]


def test_tokenizer_matches_sentencepiece_and_the_gguf_vocabulary(gemma: dict[str, Any]) -> None:
    import sentencepiece as spm

    tok = gemma["prepared"].tokenizer
    vocab = read_vocab(asset_path("gemma3_270m"))
    sp = spm.SentencePieceProcessor(model_file=str(gemma["folder"] / "tokenizer.model"))
    assert sp.get_piece_size() == len(vocab.tokens) == gemma["prepared"].base_vocab
    texts = _texts()
    assert len(texts) > 40
    for text in texts:
        ids = tok.encode(text, add_special_tokens=False)
        assert ids == sp.encode(text), text[:60]
        # every id is the GGUF's piece for it (the table llama.cpp and Cactus use)
        pieces = tok.convert_ids_to_tokens(ids)
        assert pieces == [vocab.tokens[i] if vocab.types[i] != 4 else _spm(vocab.tokens[i])
                          for i in ids]  # fmt: skip
        assert tok.decode(ids) == text


def _spm(piece: str) -> str:  # the one spelling the rebuilt model changes (see gguf_vocab)
    return piece.replace(" ", "\u2581")


@pytest.mark.parametrize("chat_format", ["functiongemma", "gemma3"])
def test_every_control_string_is_one_token_with_the_gguf_id(
    gemma: dict[str, Any], chat_format: str
) -> None:
    vocab = read_vocab(asset_path("gemma3_270m"))
    index = {t: i for i, t in enumerate(vocab.tokens)}
    cfg = model_config("gemma3_270m_offline")
    cfg.chat_format = chat_format
    prepared = load_prepared_tokenizer(cfg, cache_dir())
    tok = prepared.tokenizer
    for s in control_strings(chat_format):
        ids = tok.encode(f"before{s}after", add_special_tokens=False)
        (one,) = tok.encode(s, add_special_tokens=False)
        assert one in ids, s
        if s in index:
            assert one == index[s], s  # the base vocabulary's own token
        else:
            assert one >= len(vocab.tokens) and one in prepared.added_ids, s
    assert (tok.bos_token_id, tok.eos_token_id) == (vocab.special["bos"], vocab.special["eos"])


def test_the_converted_model_is_gemma3_270m_and_speaks_english(gemma: dict[str, Any]) -> None:
    import torch

    model = load_model(gemma["cfg"], cache_dir())
    c = model.config
    assert type(model).__name__ == "Gemma3ForCausalLM"
    assert (c.num_hidden_layers, c.hidden_size, c.num_attention_heads) == (18, 640, 4)
    assert (c.num_key_value_heads, c.head_dim, c.sliding_window) == (1, 256, 512)
    assert c.query_pre_attn_scalar == 256 and c.tie_word_embeddings
    n = sum(p.numel() for p in model.parameters())
    assert 268.0e6 < n < 268.2e6 + 640 * len(gemma["prepared"].added_ids)
    tok = gemma["prepared"].tokenizer
    # A pretrained base, not a chat model: it continues text (a broken conversion, such as
    # Gemma's norm offset lost, gives no English at all)
    answers = {
        "Q: What is the capital of Germany?\nA: Berlin\nQ: What is the capital of France?\nA:":
            " Paris",
        "One, two, three, four,": " five, six,",
    }  # fmt: skip
    for prompt, expected in answers.items():
        ids = tok(prompt, return_tensors="pt")
        with torch.inference_mode():
            out = model.generate(**ids, max_new_tokens=4, do_sample=False)
        text = tok.decode(out[0, ids["input_ids"].shape[1] :])
        assert text.startswith(expected), (prompt, text)
