"""Fixtures of the evaluation tests: hand-built examples and a tiny offline language model."""

from __future__ import annotations

import copy
from typing import Any

import pytest

SYSTEM = """You are the Dungeon Master. Always call tools for rolls and hit points.

### Party
- Thorin: dwarf fighter, level 3, HP 28/28, AC 18
- Pip: halfling rogue, level 3, HP 21/21, AC 14

### Scene
The Old Trade Road at dusk. Goblin 1 hides in the bracken near the tinker Hollis Brand.
"""


def _call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "arguments": arguments}}


def make_example(example_id: str = "ambush/road") -> dict[str, Any]:
    """A held-out example in the data stage's row shape, with three DM turns."""
    from dnd_ft.tools.registry import ToolRegistry

    tools = ToolRegistry.default().schemas(["roll_dice", "apply_damage", "start_initiative"])
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "name": "Thorin", "content": "I swing my axe at Goblin 1!"},
        {"role": "assistant", "content": "Thorin's axe whistles toward Goblin 1.",
         "tool_calls": [_call("roll_dice", notation="1d20+5", reason="Thorin axe vs Goblin 1")]},
        {"role": "tool", "name": "roll_dice", "content": '{"notation": "1d20+5", "total": 19, "rolls": [14]}'},
        {"role": "assistant", "content": "",
         "tool_calls": [_call("apply_damage", target="Goblin 1", amount=7)]},
        {"role": "tool", "name": "apply_damage", "content": '{"target": "Goblin 1", "hp": 0, "max_hp": 7}'},
        {"role": "assistant", "content": "A 19 hits: Goblin 1 drops into the bracken. Pip, your move."},
        {"role": "user", "name": "Pip", "content": "I ask Hollis Brand if he's hurt."},
        {"role": "assistant", "content": "Hollis Brand groans but waves Pip off: only bruises."},
    ]  # fmt: skip
    return {"id": example_id, "scenario_id": example_id.split("/")[0], "category": "combat",
            "messages": messages, "tools": tools}  # fmt: skip


@pytest.fixture
def example() -> dict[str, Any]:
    return copy.deepcopy(make_example())


@pytest.fixture(scope="session")
def tiny_lm() -> tuple[Any, Any]:
    """A 2-layer Qwen3 with random weights and a small BPE tokenizer that knows ChatML tokens."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    from dnd_ft.chat.tokens import HERMES_ADDED_TOKENS, HERMES_SPECIAL_TOKENS

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=500,
        special_tokens=[*HERMES_SPECIAL_TOKENS, "<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    raw.train_from_iterator([SYSTEM, *(m["content"] for m in make_example()["messages"])], trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    tokenizer.add_special_tokens({"additional_special_tokens": HERMES_SPECIAL_TOKENS})
    tokenizer.add_tokens(HERMES_ADDED_TOKENS)
    torch.manual_seed(0)
    config = Qwen3Config(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=4096,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    model = Qwen3ForCausalLM(config).eval()
    return model, tokenizer
