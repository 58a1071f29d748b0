"""Grow a pretrained model's vocabulary for added tokens without disturbing it."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def init_new_rows(model, new_ids: list[int], vocab_len: int, *, reference_rows: int) -> None:
    """Make room for ``vocab_len`` tokens and set the rows of ``new_ids`` to the mean row.

    The embedding grows only when it has fewer than ``vocab_len`` rows (real Qwen models keep
    spare rows). Rows of the new ids are set to the mean of rows ``[0, reference_rows)``, the
    tokens that existed before; an untied output head gets the same treatment from its own
    rows. Mean rows are deterministic and sit in the middle of the learned distribution, so
    the model's behaviour on ordinary text is unchanged (unlike random rows).
    """
    import torch

    if not new_ids:
        return
    if model.get_input_embeddings().num_embeddings < vocab_len:
        # mean_resizing=False: transformers' version samples random rows; we set exact means.
        model.resize_token_embeddings(vocab_len, mean_resizing=False)
    inp = model.get_input_embeddings().weight
    out_layer = model.get_output_embeddings()
    with torch.no_grad():
        inp[new_ids] = inp[:reference_rows].mean(dim=0, keepdim=True).to(inp.dtype)
        if out_layer is not None and out_layer.weight.data_ptr() != inp.data_ptr():
            out = out_layer.weight
            out[new_ids] = out[:reference_rows].mean(dim=0, keepdim=True).to(out.dtype)
    log.info("initialised %d new token rows to the mean embedding", len(new_ids))
