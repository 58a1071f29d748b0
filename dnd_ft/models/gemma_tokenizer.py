"""A small Gemma-style SentencePiece tokenizer, trained here, for tiny_gemma3.

Gemma's real tokenizer (262k pieces) is on the gated hub, so the tiny model gets its own:
a SentencePiece BPE model trained with Gemma's settings (byte fallback, digits split, no dummy
prefix, identity normalisation) and Gemma's ids for ``<pad>`` 0, ``<eos>`` 1, ``<bos>`` 2,
``<unk>`` 3, ``<mask>`` 4; the other Gemma control strings follow as user-defined pieces, so
SentencePiece, transformers and llama.cpp all keep each one a single token.

The training text is ``data/tiny_gemma_corpus.txt``, shipped with the package, so the result
does not depend on which scenario files exist: training is single-threaded without sampling
and yields the same ``tokenizer.model`` bytes every time (a test checks this). Its sha256 is
part of the tiny model's cache key, so editing the text rebuilds the models that use it.

The folder gets both ``tokenizer.model`` (llama.cpp's and Cactus's converters read it) and
the equivalent ``GemmaTokenizer`` ``tokenizer.json`` (fast, with offsets); their encodings
agree on the training text and on unseen text (a test checks this too).
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from dnd_ft.chat.tokens import GEMMA, GEMMA_SPECIAL_TOKENS

CORPUS_PATH = Path(__file__).with_name("data") / "tiny_gemma_corpus.txt"
VOCAB_SIZE = 4000
# Fixed ids as in Gemma; everything else in GEMMA becomes a user-defined piece after <mask>.
_FIXED = {"pad": 0, "eos": 1, "bos": 2}
MASK = "<mask>"
USER_DEFINED = [MASK] + [
    s for s in GEMMA_SPECIAL_TOKENS if s not in (GEMMA["pad"], GEMMA["eos"], GEMMA["bos"])
]
# Turn markers are special (as in Gemma); the function-calling strings are plain added tokens,
# so decode(skip_special_tokens=True) keeps them for the tool-call parser.
TURN_TOKENS = [GEMMA["start_of_turn"], GEMMA["end_of_turn"]]


def corpus_text() -> str:
    """The training text, without its ``%%`` comment lines."""
    lines = CORPUS_PATH.read_text(encoding="utf-8").split("\n")
    return "\n".join(line for line in lines if not line.startswith("%%"))


def corpus_sha256() -> str:
    """Hash of the shipped training text (part of the tiny model's cache key)."""
    return hashlib.sha256(CORPUS_PATH.read_bytes()).hexdigest()


def train_sentencepiece(vocab_size: int = VOCAB_SIZE) -> bytes:
    """Train the SentencePiece model and return its serialised bytes (deterministic)."""
    import sentencepiece as spm

    # Paragraphs rather than lines, so newlines are part of the training text as in chats.
    paragraphs = [p + "\n\n" for p in corpus_text().split("\n\n") if p.strip()]
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(paragraphs),
        model_writer=out,
        model_type="bpe",
        vocab_size=vocab_size,
        pad_id=_FIXED["pad"],
        pad_piece=GEMMA["pad"],
        eos_id=_FIXED["eos"],
        eos_piece=GEMMA["eos"],
        bos_id=_FIXED["bos"],
        bos_piece=GEMMA["bos"],
        unk_id=3,
        unk_piece="<unk>",
        user_defined_symbols=USER_DEFINED,
        byte_fallback=True,
        split_digits=True,
        add_dummy_prefix=False,
        remove_extra_whitespaces=False,
        allow_whitespace_only_pieces=True,
        normalization_rule_name="identity",
        character_coverage=1.0,
        # Determinism: one thread, every sentence, no shuffling.
        num_threads=1,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        max_sentence_length=1 << 20,
        hard_vocab_limit=True,
        minloglevel=2,
    )
    return out.getvalue()


def build_gemma_tokenizer(folder: Path, chat_template: str, *, model_max_length: int):
    """Write ``tokenizer.model`` into ``folder`` and return the matching fast tokenizer.

    The caller saves the returned tokenizer into the same folder (``save_pretrained`` writes
    ``tokenizer.json``, its config and the chat template next to ``tokenizer.model``).
    """
    from tokenizers import AddedToken
    from transformers import GemmaTokenizer

    model_file = Path(folder) / "tokenizer.model"
    model_file.write_bytes(train_sentencepiece())
    # transformers converts the SentencePiece model into an equivalent BPE tokenizer.json.
    tok = GemmaTokenizer.from_pretrained(
        str(folder), add_bos_token=True, padding_side="right", mask_token=MASK
    )
    tok.add_special_tokens(
        {
            "additional_special_tokens": [
                AddedToken(t, special=True, normalized=False) for t in TURN_TOKENS
            ]
        }
    )
    tok.model_max_length = model_max_length
    tok.chat_template = chat_template
    return tok


def fix_saved_config(folder: Path) -> None:
    """Drop the absolute ``vocab_file`` path ``save_pretrained`` records (it names a temp dir)."""
    path = Path(folder) / "tokenizer_config.json"
    config = json.loads(path.read_text())
    if config.pop("vocab_file", None) is not None:
        path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
