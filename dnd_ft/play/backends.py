"""What plays the DM: generation functions (prompt -> text) for the tool loop.

- `HFGenerate`: a Hugging Face model (CPU, MPS or CUDA), greedy or sampled, streamed through
  transformers' ``TextIteratorStreamer`` (generation runs in a thread, text arrives here).
- `GGUFGenerate`: a GGUF file in llama.cpp (llama-cpp-python), token by token.
- `ReplayGenerate`: a written scenario's DM turns, in order, in the family's own format: the
  live loop parses, validates and executes their calls as it would a model's, so it checks
  that a scenario's calls run, and it drives demos and tests without a trained model.

Each has ``on_text``: called with every new piece of text as it is generated (the terminal
shows it live); the full text is also returned, for the loop to parse.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

log = logging.getLogger(__name__)

OnText = Callable[[str], None]


def _quiet(text: str) -> None:
    """The default ``on_text``: show nothing while generating."""


class HFGenerate:
    """Generation with a loaded HF ``model`` and its ``tokenizer``.

    max_length: the context window in tokens; a longer prompt keeps its newest tokens.
    temperature: 0 is greedy; above 0 samples, seeded once with ``seed``.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        stop_strings: Sequence[str],
        *,
        max_new_tokens: int,
        temperature: float,
        seed: int,
        max_length: int,
        stream: bool = True,
    ) -> None:
        import torch
        from transformers import StoppingCriteriaList, StopStringCriteria

        self.model, self.tokenizer = model.eval(), tokenizer
        self.max_new_tokens, self.max_length, self.stream = max_new_tokens, max_length, stream
        self.on_text: OnText = _quiet
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.kwargs: dict[str, Any] = {
            "max_new_tokens": max_new_tokens,
            "pad_token_id": tokenizer.pad_token_id,
            "do_sample": temperature > 0,
        }
        if temperature > 0:
            self.kwargs["temperature"] = temperature
            torch.manual_seed(seed)  # once: each turn then draws on, as a game would
        else:  # silence "temperature is ignored" from models whose defaults sample
            self.kwargs.update(temperature=None, top_p=None, top_k=None)
        if stop_strings:  # built once: its scan of the vocabulary is slow
            criteria = StopStringCriteria(tokenizer, list(stop_strings))
            self.kwargs["stopping_criteria"] = StoppingCriteriaList([criteria])

    def __call__(self, prompt: str) -> str:
        import torch
        from transformers import TextIteratorStreamer

        ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        budget = self.max_length - self.max_new_tokens
        if len(ids) > budget:
            log.warning("the prompt (%d tokens) loses its oldest tokens to fit %d", len(ids),
                        budget)  # fmt: skip
            ids = ids[-budget:]
        device = next(self.model.parameters()).device
        inputs = {
            "input_ids": torch.tensor([ids], device=device),
            "attention_mask": torch.ones(1, len(ids), dtype=torch.long, device=device),
        }
        # special tokens stay in the text: the tool-call markers are tokens of their own
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=False)
        failure: list[BaseException] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    self.model.generate(**inputs, **self.kwargs, streamer=streamer)
            except BaseException as exc:  # shown to the caller below, not lost in the thread
                failure.append(exc)
                streamer.end()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        pieces = []
        for piece in streamer:
            pieces.append(piece)
            if self.stream and piece:
                self.on_text(piece)
        thread.join()
        if failure:
            raise failure[0]
        return "".join(pieces)


class GGUFGenerate:
    """Generation with a GGUF in llama.cpp, from the prompt text the family's format renders
    (tokenized with control tokens parsed and no BOS added: the prompt carries its own)."""

    def __init__(
        self,
        gguf: Any,
        stop_strings: Sequence[str],
        *,
        max_new_tokens: int,
        temperature: float,
        stream: bool = True,
    ) -> None:
        self.gguf, self.stop_strings = gguf, list(stop_strings)
        self.max_new_tokens, self.temperature, self.stream = max_new_tokens, temperature, stream
        self.on_text: OnText = _quiet

    def __call__(self, prompt: str) -> str:
        ids = self.gguf.tokenize(prompt)
        budget = self.gguf.n_ctx - self.max_new_tokens
        if len(ids) > budget:
            log.warning("the prompt (%d tokens) loses its oldest tokens to fit %d", len(ids),
                        budget)  # fmt: skip
            ids = ids[-budget:]
        greedy = self.temperature <= 0
        sampling = {"temp": 0.0, "top_k": 1} if greedy else {"temp": self.temperature, "top_k": 40}
        new: list[int] = []
        shown = ""
        # llama-cpp-python's own generator keeps the KV cache of the longest common prefix, so
        # each round of a turn prefills only what the last one added.
        for token in self.gguf.llm.generate(ids, top_p=1.0 if greedy else 0.95, min_p=0.0,
                                            repeat_penalty=1.0, **sampling):  # fmt: skip
            if self.gguf.is_eog(token):
                break
            new.append(token)
            # Decoded whole each time: a character split over tokens shows once complete.
            text = self.gguf.detokenize(new)
            if not text.endswith("\ufffd") and self.stream and len(text) > len(shown):
                self.on_text(text[len(shown) :])
                shown = text
            if len(new) >= self.max_new_tokens or any(s in text for s in self.stop_strings):
                break
        return self.gguf.detokenize(new)


class ReplayGenerate:
    """A scenario's DM turns as the "model": each call returns the next one, rendered in the
    family's format (what a model trained on that scenario would write); past the last, a
    short note. The tool results are the live executor's, not the scenario's."""

    END = "(The replayed scenario has no more DM turns.)"

    def __init__(self, fmt: Any, turns: Sequence[Any], tools: Sequence[Mapping] | None) -> None:
        self.fmt, self.tools = fmt, list(tools or [])
        self.texts = [assistant_text(fmt, _dm_message(t), self.tools) for t in turns
                      if t.role == "dm"]  # fmt: skip
        self.next = 0
        self._calls: list[bool] = []  # per generation: whether it used up a DM turn
        self.on_text: OnText = _quiet

    def rewind(self, generations: int) -> None:
        """Take back the last ``generations`` generations (after /undo), to replay them."""
        for _ in range(min(generations, len(self._calls))):
            self.next -= self._calls.pop()

    def __call__(self, prompt: str) -> str:
        if self.next >= len(self.texts):
            text = self.END
            self._calls.append(False)
        else:
            text = self.texts[self.next]
            self.next += 1
            self._calls.append(True)
        self.on_text(self.fmt.cut_at_stop(text))
        return text


def assistant_text(fmt: Any, message: Mapping[str, Any], tools: Sequence[Mapping] | None) -> str:
    """What a model writes for the assistant ``message`` in ``fmt``: the rendered
    conversation after the generation prompt (every format renders prefix-consistently)."""
    history = [{"role": "user", "content": "."}]
    prompt = fmt.render_prompt(history, tools)
    full = fmt.render([*history, message], tools).text
    if not full.startswith(prompt):
        raise ValueError(f"chat format {fmt.name!r} does not render its prompt as a prefix")
    return full[len(prompt) :]


def _dm_message(turn: Any) -> dict[str, Any]:
    """A scenario DM turn (`dnd_ft.scenarios.Turn`) as an HF assistant message."""
    message: dict[str, Any] = {"role": "assistant", "content": turn.content}
    if turn.tool_calls:
        message["tool_calls"] = [
            {"type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in turn.tool_calls
        ]
    return message
