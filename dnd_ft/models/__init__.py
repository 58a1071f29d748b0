"""Build and load every model the configs name: tiny offline models, a GGUF asset, hub models.

Public API (heavy imports happen inside the functions):

- ``resolve_model_dir(model_cfg, cache_dir)``: a local Hugging Face folder for any source
- ``load_tokenizer(model_cfg, cache_dir)``: fast tokenizer, pad set, control strings single
- ``load_model(model_cfg, cache_dir, *, dtype=None, device_map=None, quantization=None)``
- ``prepare_tokenizer`` / ``fit_to_tokenizer``: the same preparation for a tokenizer or model
  loaded elsewhere (the Unsloth backend), so every path trains on the same vocabulary
- ``ModelLoadError``: what went wrong and how to fix it

See docs/models.md for the sources, the cache layout and timings.
"""

from dnd_ft.models.errors import ModelLoadError
from dnd_ft.models.loading import (
    PreparedTokenizer,
    control_token_ids,
    fit_to_tokenizer,
    load_model,
    load_prepared_tokenizer,
    load_tokenizer,
    prepare_tokenizer,
    resolve_dtype,
    resolve_model_dir,
)

__all__ = [
    "ModelLoadError",
    "PreparedTokenizer",
    "control_token_ids",
    "fit_to_tokenizer",
    "load_model",
    "load_prepared_tokenizer",
    "load_tokenizer",
    "prepare_tokenizer",
    "resolve_dtype",
    "resolve_model_dir",
]
