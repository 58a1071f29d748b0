"""A GGUF file in llama.cpp (llama-cpp-python): tokens, logits, its chat template, generation.

The export stage checks every GGUF it writes with these, and evaluates it with the same
replay and metrics as the HF model (`generate_texts` has the HF model's signature and
returns the same `Generation` records). llama-cpp-python reuses the KV cache of the longest
common prefix between one prompt and the tokens it evaluated last, so the turns of one
conversation, given in order, prefill only what is new: the same saving as
``eval.reuse_cache`` on the HF side, measured by ``prefilled_tokens``.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dnd_ft.errors import StageError
from dnd_ft.evaluation.generate import Generation, Progress, cut_at_stops
from dnd_ft.export.gguf import require_llama_cpp, stderr_to

log = logging.getLogger(__name__)


class GGUFModel:
    """One GGUF loaded in llama.cpp on the CPU."""

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int = 4096,
        logits_all: bool = False,
        seed: int = 0,
        lora: Path | None = None,
    ) -> None:
        """``lora``: a LoRA GGUF applied to ``path`` at load time (scale 1)."""
        llama_cpp = require_llama_cpp("checking a GGUF")
        self.path = Path(path)
        threads = int(os.environ.get("OMP_NUM_THREADS") or 0) or max(1, os.cpu_count() or 1)
        # llama.cpp writes notes from C while it loads (past verbose=False): keep them in a
        # file and show them only if loading fails.
        with tempfile.TemporaryDirectory() as tmp, stderr_to(Path(tmp) / "load.log") as notes:
            try:
                self.llm = llama_cpp.Llama(
                    model_path=str(path), n_ctx=n_ctx, n_batch=512, logits_all=logits_all,
                    seed=seed, n_threads=threads, n_threads_batch=threads, verbose=False,
                    lora_path=str(lora) if lora else None,
                )  # fmt: skip
            except ValueError as exc:
                raise StageError(
                    f"llama.cpp cannot load {path}: {exc}\n{notes.read_text(errors='replace')}"
                ) from exc
        self._lib = llama_cpp
        self.n_ctx = n_ctx

    def close(self) -> None:
        """Free llama.cpp's memory now (its finalizer fails at interpreter exit)."""
        self.llm.close()

    def __enter__(self) -> GGUFModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def metadata(self) -> dict[str, str]:
        return dict(self.llm.metadata)

    @property
    def n_vocab(self) -> int:
        return int(self.llm.n_vocab())

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` as the prompt would get them: control tokens parsed, no BOS
        added (our rendered prompts carry their own)."""
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def detokenize(self, ids: Sequence[int]) -> str:
        raw = self.llm.detokenize(list(ids), special=True)
        return raw.decode("utf-8", errors="replace")

    def is_eog(self, token: int) -> bool:
        """End of generation for llama.cpp (EOS, EOT and the template's end markers)."""
        return bool(self._lib.llama_vocab_is_eog(self.llm._model.vocab, token))

    def logits(self, ids: Sequence[int]) -> Any:
        """Next-token logits at every position of ``ids`` (T x vocab float32 numpy array);
        needs ``logits_all=True``."""
        import numpy as np

        self.llm.reset()
        self.llm.eval(list(ids))
        return np.array(self.llm.scores[: len(ids)], dtype=np.float32)

    def render_template(
        self, messages: list[dict[str, Any]], tools: Sequence[Mapping] | None
    ) -> str:
        """The chat template embedded in the file, rendered by llama-cpp-python's Jinja
        formatter (what its chat completion uses for a GGUF with a template)."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self.metadata.get("tokenizer.chat_template")
        if not template:
            raise ValueError(f"{self.path} carries no tokenizer.chat_template")
        vocab = self.llm._model
        bos, eos = self.llm.token_bos(), self.llm.token_eos()
        formatter = Jinja2ChatFormatter(
            template=template,
            bos_token=vocab.token_get_text(bos) if bos != -1 else "",
            eos_token=vocab.token_get_text(eos) if eos != -1 else "",
            add_generation_prompt=True,
        )
        return formatter(messages=messages, tools=list(tools) if tools else None).prompt

    def generate(
        self,
        ids: Sequence[int],
        max_new_tokens: int,
        stop_ids: set[int],
        stop_strings: Sequence[str],
    ) -> tuple[list[int], int]:
        """Greedy continuation of ``ids``: (new token ids, prompt tokens actually prefilled)."""
        before = self.llm.n_tokens
        shared = 0
        for a, b in zip(self.llm._input_ids[:before], ids, strict=False):
            if a != b:
                break
            shared += 1
        new: list[int] = []
        for token in self.llm.generate(list(ids), temp=0.0, top_k=1, top_p=1.0, min_p=0.0,
                                       repeat_penalty=1.0):  # fmt: skip
            if token in stop_ids or self.is_eog(token):
                new.append(token)
                break
            new.append(token)
            if len(new) >= max_new_tokens:
                break
            if stop_strings and any(s in self.detokenize(new[-32:]) for s in stop_strings):
                break
        # llama-cpp-python re-evaluates one token when the whole prompt is cached
        prefilled = len(ids) - min(shared, len(ids) - 1) if shared else len(ids)
        return new, prefilled


def generate_texts(
    model: GGUFModel,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = 256,
    stop_strings: Sequence[str] = (),
    max_length: int | None = None,
) -> list[Generation]:
    """`dnd_ft.evaluation.generate.generate_texts` for a GGUF: greedy, prompts in order.

    Prompts are tokenized by the HF tokenizer, exactly as for the HF model (the export checks
    that llama.cpp tokenizes the same text identically), and cut the same way to fit.
    """
    budget = (max_length or model.n_ctx) - max_new_tokens
    stop_ids = {tokenizer.pad_token_id, tokenizer.eos_token_id} - {None}
    results = []
    start = time.perf_counter()
    progress = Progress(f"{model.path.name}: generate {len(prompts)} turns", len(prompts), "turn")
    for prompt in prompts:
        ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        truncated = len(ids) > budget
        ids = ids[-budget:] if truncated else ids
        new, prefilled = model.generate(ids, max_new_tokens, stop_ids, stop_strings)
        end = next((k for k, t in enumerate(new) if t in stop_ids or model.is_eog(t)), len(new))
        text = cut_at_stops(model.detokenize(new[:end]), stop_strings)
        results.append(Generation(text, prompt_tokens=len(ids), new_tokens=end,
                                  truncated=truncated, prefilled_tokens=prefilled,
                                  cache_fallback=False))  # fmt: skip
        progress.advance()
    progress.stop()
    seconds = time.perf_counter() - start
    new_total = sum(r.new_tokens for r in results)
    log.info("%s: %d turns, %d tokens in %.1fs (%.1f tokens/s), %d of %d prompt tokens "
             "prefilled", model.path.name, len(results), new_total, seconds,
             new_total / max(seconds, 1e-9), sum(r.prefilled_tokens for r in results),
             sum(r.prompt_tokens for r in results))  # fmt: skip
    return results
