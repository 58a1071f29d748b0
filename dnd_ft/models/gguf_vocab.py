"""A GGUF file's SentencePiece vocabulary, read back into a ``tokenizer.model``.

A GGUF converted from a SentencePiece model (``tokenizer.ggml.model = llama``, as Gemma's
are) keeps every piece with its score and type, but not the ``tokenizer.model`` file that
llama.cpp's and Cactus's converters read from a Hugging Face folder. This rebuilds it, so a
model converted from a GGUF asset exports like one from the hub.

What the GGUF does not keep is restored from Gemma's tokenizer settings: BPE with byte
fallback, identity normalisation, no dummy prefix, whitespace kept as it is (runs of spaces
are pieces of their own). One change undoes what llama.cpp's converter does to user-defined
pieces: it writes their spaces as ``' '`` instead of SentencePiece's ``'▁'`` (llama.cpp
matches them in raw text); SentencePiece matches them after escaping whitespace, so ``▁``
comes back. tests/models/test_gemma3_270m.py checks that SentencePiece with the rebuilt
model, transformers' own GGUF tokenizer and the GGUF's id table agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from dnd_ft.models.errors import ModelLoadError

# SentencePiece's piece types, which GGUF's token types copy (gguf.TokenType).
USER_DEFINED = 4


class GgufVocab(NamedTuple):
    tokens: list[str]
    scores: list[float]
    types: list[int]
    special: dict[str, int]  # bos, eos, unk, pad ids


def read_vocab(path: Path) -> GgufVocab:
    """The SentencePiece vocabulary stored in the GGUF file ``path``."""
    from gguf import GGUFReader

    fields = GGUFReader(str(path)).fields
    kind = _scalar(fields, "tokenizer.ggml.model")
    if kind != "llama":
        raise ModelLoadError(
            f"{path} holds a {kind!r} tokenizer, not a SentencePiece one ('llama'); "
            "only SentencePiece vocabularies can be rebuilt into a tokenizer.model"
        )
    tokens = [bytes(fields["tokenizer.ggml.tokens"].parts[i]).decode("utf-8")
              for i in fields["tokenizer.ggml.tokens"].data]  # fmt: skip
    scores = [float(fields["tokenizer.ggml.scores"].parts[i][0])
              for i in fields["tokenizer.ggml.scores"].data]  # fmt: skip
    types = [int(fields["tokenizer.ggml.token_type"].parts[i][0])
             for i in fields["tokenizer.ggml.token_type"].data]  # fmt: skip
    special = {
        name: int(_scalar(fields, f"tokenizer.ggml.{key}_token_id"))
        for name, key in (("bos", "bos"), ("eos", "eos"), ("unk", "unknown"), ("pad", "padding"))
    }
    return GgufVocab(tokens, scores, types, special)


def sentencepiece_model(vocab: GgufVocab) -> bytes:
    """A serialised SentencePiece ``ModelProto`` equivalent to the GGUF's tokenizer."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    model = pb.ModelProto()
    for text, score, kind in zip(vocab.tokens, vocab.scores, vocab.types, strict=True):
        piece = model.pieces.add()
        piece.piece = text.replace(" ", "\u2581") if kind == USER_DEFINED else text
        piece.score = score
        piece.type = kind
    spec = model.trainer_spec
    spec.model_type = pb.TrainerSpec.BPE
    spec.vocab_size = len(vocab.tokens)
    spec.byte_fallback = True
    spec.split_digits = True
    spec.allow_whitespace_only_pieces = True
    spec.split_by_whitespace = False
    spec.bos_id, spec.eos_id = vocab.special["bos"], vocab.special["eos"]
    spec.unk_id, spec.pad_id = vocab.special["unk"], vocab.special["pad"]
    normalizer = model.normalizer_spec
    normalizer.name = "identity"
    normalizer.add_dummy_prefix = False
    normalizer.remove_extra_whitespaces = False
    normalizer.escape_whitespaces = True
    return model.SerializeToString()


def _scalar(fields: dict[str, Any], key: str) -> Any:
    field = fields.get(key)
    if field is None:
        raise ModelLoadError(f"the GGUF file has no {key!r} field")
    return field.contents()
