"""The built tokenizers: reproducible, consistent across runtimes, convertible by llama.cpp."""

from __future__ import annotations

from collections.abc import Callable
from hashlib import sha256
from pathlib import Path
from typing import Any

from dnd_ft.models import gemma_tokenizer, load_tokenizer, resolve_model_dir
from dnd_ft.models.hermes_tokenizer import SMOLLM_CHKHSH

CfgOf = Callable[..., Any]

# llama.cpp's convert_hf_to_gguf.py hashes the encoding of this text to recognise BPE
# pre-tokenizers (get_vocab_base_pre); it refuses a tokenizer whose hash it does not know.
CHKTXT = (
    "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n\U0001f680 (normal) \U0001f636\u200d\U0001f32b\ufe0f "
    "(multiple emojis concatenated) \u2705 \U0001f999\U0001f999 3 33 333 3333 33333 333333 3333333 "
    "33333333 3.3 3..3 3...3 \u1780\u17b6\u1793\u17cb\u178f\u17c2\u1796\u17b7\u179f\u17c1\u179f\u17a2"
    "\u17b6\u1785\U0001f601 ?\u6211\u60f3\u5728apple\u5de5\u4f5c1314151\u5929\uff5e ------======= "
    "\u043d\u0435\u0449\u043e \u043d\u0430 \u0411\u044a\u043b\u0433\u0430\u0440\u0441\u043a\u0438 "
    "''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M not sure "
    "I'll make it, 'D you like some tea? We'Ve a'lL"
)
UNSEEN = [
    "Hello  world\t\ttab\n\n\nnew 12345 café 🐉 dragon's ☃ ünïcödé 中文",
    "  leading spaces and trailing  ",
    '{"name": "roll_dice", "arguments": {"notation": "4d6kh3"}}',
    "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n<start_function_call>call:x{a:<escape>b<escape>}<end_function_call>",
]


def test_qwen_tokenizer_is_recognised_by_llama_cpp_as_smollm(
    models_cache: Path, cfg_of: CfgOf
) -> None:
    tok = load_tokenizer(cfg_of("tiny_qwen3"), models_cache)
    assert sha256(str(tok.encode(CHKTXT)).encode()).hexdigest() == SMOLLM_CHKHSH


def test_sentencepiece_training_is_deterministic() -> None:
    first = gemma_tokenizer.train_sentencepiece()
    assert first == gemma_tokenizer.train_sentencepiece()


def test_gemma_fast_tokenizer_matches_sentencepiece(models_cache: Path, cfg_of: CfgOf) -> None:
    import sentencepiece as spm

    cfg = cfg_of("tiny_gemma3")
    folder = resolve_model_dir(cfg, models_cache)
    sp = spm.SentencePieceProcessor(model_file=str(folder / "tokenizer.model"))
    tok = load_tokenizer(cfg, models_cache)
    assert sp.vocab_size() == len(tok) == gemma_tokenizer.VOCAB_SIZE
    for text in [gemma_tokenizer.corpus_text(), *UNSEEN]:
        assert tok.encode(text, add_special_tokens=False) == sp.encode(text), text[:40]
    # Gemma's fixed ids and pieces, which llama.cpp and Cactus read from tokenizer.model.
    assert [sp.id_to_piece(i) for i in range(5)] == ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
    assert all(sp.is_control(i) for i in (0, 1, 2)) and sp.is_unknown(3)


def test_corpus_comments_are_not_training_text() -> None:
    text = gemma_tokenizer.corpus_text()
    assert "%%" not in text and "Dungeon Master" in text
    assert len(text) > 50_000  # enough text for a 4000-piece vocabulary
