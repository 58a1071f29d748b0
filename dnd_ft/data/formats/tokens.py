"""Control strings of each chat format.

The renderers emit them, the parsers read them back, and the offline tiny tokenizers register
them as special tokens so each is one token, as in the real models' tokenizers.
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
