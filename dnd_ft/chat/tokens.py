"""Control strings of each chat format.

The renderers emit them, the parsers read them back, and every tokenizer the project loads
holds each as one token (`control_strings`), as the real models' tokenizers do.
"""

from __future__ import annotations

# Qwen / ChatML with Hermes-style tool calls (Qwen2.5, Qwen3; SmolLM2 speaks ChatML too).
HERMES = {
    "im_start": "<|im_start|>",
    "im_end": "<|im_end|>",
    "tool_call_start": "<tool_call>",
    "tool_call_end": "</tool_call>",
    "tool_response_start": "<tool_response>",
    "tool_response_end": "</tool_response>",
    "tools_start": "<tools>",
    "tools_end": "</tools>",
    # Qwen3 only (added tokens in its vocabulary); the hermes format writes an empty block
    "think_start": "<think>",
    "think_end": "</think>",
}
HERMES_SPECIAL_TOKENS = [HERMES["im_start"], HERMES["im_end"]]
HERMES_ADDED_TOKENS = [v for k, v in HERMES.items() if k not in ("im_start", "im_end")]

# Gemma 3 turns, with function calling in the FunctionGemma style (as the Cactus runtime
# formats tools for Gemma 3).
GEMMA = {
    "bos": "<bos>",
    "eos": "<eos>",
    "pad": "<pad>",
    "start_of_turn": "<start_of_turn>",
    "end_of_turn": "<end_of_turn>",
    "start_function_declaration": "<start_function_declaration>",
    "end_function_declaration": "<end_function_declaration>",
    "start_function_call": "<start_function_call>",
    "end_function_call": "<end_function_call>",
    "start_function_response": "<start_function_response>",
    "end_function_response": "<end_function_response>",
    "escape": "<escape>",
}
GEMMA_SPECIAL_TOKENS = list(GEMMA.values())

# Control strings that are special tokens (skipped by decode(skip_special_tokens=True)); the
# tool-calling strings are plain added tokens so parsers still see them after decoding.
SPECIAL_STRINGS = frozenset(
    [
        *HERMES_SPECIAL_TOKENS,
        *(GEMMA[k] for k in ("bos", "eos", "pad", "start_of_turn", "end_of_turn")),
    ]
)


def control_strings(chat_format: str) -> list[str]:
    """Strings that must be single tokens for ``chat_format`` (none for ``template``)."""
    if chat_format == "hermes":
        return [*HERMES_SPECIAL_TOKENS, *HERMES_ADDED_TOKENS]
    if chat_format == "functiongemma":
        return list(GEMMA_SPECIAL_TOKENS)
    if chat_format == "gemma3":  # stock Gemma 3: calls are plain text, no function tokens
        return [GEMMA[k] for k in ("bos", "eos", "pad", "start_of_turn", "end_of_turn")]
    return []
