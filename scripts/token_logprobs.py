"""How likely is a token where the gold data puts it, before and after fine-tuning?

    python scripts/token_logprobs.py outputs/<run> --token "<tool_call>" [--split test] [--n 4]

Reads the run's adapter (``<run>/adapter``, whose config names the base model folder) and its
data split, and prints, for the base weights (adapter disabled) and the fine-tuned ones: the
mean loss on the assistant tokens, and the log-probability and rank of ``--token`` at every
position where it is the gold next token. This is how docs/training.md measured why SmolLM2
never opened a tool call until its new token rows got their own learning rate.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--token", default="<tool_call>")
    ap.add_argument("--split", default="test")
    ap.add_argument("--n", type=int, default=4, help="first N examples of the split")
    args = ap.parse_args()

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dnd_ft.training.stage import encode_split

    adapter = args.run_dir / "adapter"
    base_dir = json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"]
    tokenizer = AutoTokenizer.from_pretrained(str(adapter))
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    if model.get_input_embeddings().weight.shape[0] != len(tokenizer):
        model.resize_token_embeddings(len(tokenizer))  # tokens added at training time
    model = PeftModel.from_pretrained(model, str(adapter)).eval()
    target = tokenizer.convert_tokens_to_ids(args.token)
    # The training stage's own tokenization: the same labels the loss saw, never cut short.
    examples, _ = encode_split(args.run_dir / "data", args.split, tokenizer, max_length=1 << 30)
    encoded = examples[: args.n]

    for name, adapter_on in (("base", False), ("fine-tuned", True)):
        losses, logprobs, ranks = [], [], []
        for enc in encoded:
            ids = torch.tensor([enc.input_ids])
            labels = torch.tensor(enc.labels[1:])
            with torch.no_grad():
                if adapter_on:
                    logits = model(ids).logits[0, :-1]
                else:
                    with model.disable_adapter():
                        logits = model(ids).logits[0, :-1]
            logp = logits.log_softmax(-1)
            mask = labels != -100
            losses.append(-logp[mask].gather(1, labels[mask][:, None]).mean().item())
            for pos in (labels == target).nonzero().flatten().tolist():
                logprobs.append(logp[pos, target].item())
                ranks.append(int((logp[pos] > logp[pos, target]).sum()))
        mean_lp = sum(logprobs) / len(logprobs) if logprobs else float("nan")
        print(
            f"{name:11s} loss {sum(losses) / len(losses):.3f}  {args.token}: {len(ranks)} gold "
            f"positions, mean log-prob {mean_lp:.2f}, ranks {ranks}"
        )


if __name__ == "__main__":
    main()
