"""Full fine-tuning, early stopping and the error messages of failed runs."""

from __future__ import annotations

import pytest
from omegaconf import open_dict

from dnd_ft.errors import StageError
from dnd_ft.training import artifacts
from dnd_ft.training.backends.base import LoadedModel, peft_lora_config
from dnd_ft.training.backends.hf import HFBackend
from dnd_ft.training.batching import plain_rows
from dnd_ft.training.errors import is_oom, loading_errors, training_errors
from dnd_ft.training.loop import train
from dnd_ft.training.precision import Precision

from .train_helpers import tiny_qwen3, toy_examples

FP32 = Precision("fp32", "float32", None)


def _cfg(smoke_cfg, *cli, **values):
    cfg = smoke_cfg(*cli)
    with open_dict(cfg):
        cfg.trainer.update(
            {
                "max_length": 64,
                "batch_size": 4,
                "learning_rate": 1e-2,
                "max_steps": 6,
                "save_steps": 0,
                "eval_steps": 0,
                "progress": False,
                **values,
            }
        )
    return cfg


def test_full_fine_tune_trains_every_weight_and_saves_a_model(smoke_cfg, toy_tokenizer, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    cfg = _cfg(smoke_cfg, "trainer=full", learning_rate=1e-3)
    model = tiny_qwen3(seed=2)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    loaded = LoadedModel(
        model=model, tokenizer=toy_tokenizer, backend="hf", method="full", quantized=False
    )
    result = train(loaded, plain_rows(toy_examples(24)), [], cfg.trainer, tmp_path / "c", FP32)
    losses = [r["loss"] for r in result.history if "loss" in r]
    assert losses[-1] < losses[0]
    changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    assert len(changed) == len(before)  # all weights train, no adapter
    out = artifacts.save_full_model(loaded, tmp_path / "merged", cfg.model)
    reloaded = AutoModelForCausalLM.from_pretrained(str(out))
    ids = torch.tensor([[3, 4, 5, 6]])
    model.eval()
    with torch.no_grad():
        assert torch.allclose(
            reloaded(input_ids=ids).logits, model(input_ids=ids).logits, atol=1e-5
        )


def test_early_stopping_stops_when_val_loss_stalls(smoke_cfg, toy_tokenizer, tmp_path):
    from peft import get_peft_model

    # min_delta larger than any possible gain: the second evaluation cannot "improve".
    cfg = _cfg(
        smoke_cfg,
        "trainer.early_stopping.patience=1",
        "trainer.early_stopping.min_delta=100",
        max_steps=12,
        eval_steps=2,
    )
    model = get_peft_model(tiny_qwen3(), peft_lora_config(cfg.trainer))
    loaded = LoadedModel(
        model=model, tokenizer=toy_tokenizer, backend="hf", method="lora", quantized=False
    )
    result = train(
        loaded,
        plain_rows(toy_examples(48)),
        plain_rows(toy_examples(8, seed=3)),
        cfg.trainer,
        tmp_path / "c",
        FP32,
    )
    assert result.stopped_early_at == 4 and result.steps == 4


def test_out_of_memory_is_recognised_and_explained(smoke_cfg):
    import torch

    assert is_oom(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_oom(RuntimeError("MPS backend out of memory (MPS allocated: 8 GB)"))
    assert not is_oom(ValueError("out of memory"))
    cfg = smoke_cfg()
    expected = r"out of memory on cuda .* lower trainer.batch_size"
    with pytest.raises(StageError, match=expected), training_errors(cfg, "cuda", "bf16", "d", "o"):
        raise torch.OutOfMemoryError("CUDA out of memory")


def test_hub_model_load_failure_says_how_to_get_the_files(compose_cfg):
    cfg = compose_cfg("model=qwen3_0_6b")
    expected = r"could not load model qwen3_0_6b .*hf download Qwen/Qwen3-0.6B"
    with pytest.raises(StageError, match=expected + ".*model=tiny_qwen3"), loading_errors(cfg):
        raise OSError("We couldn't connect to 'https://huggingface.co'")
    with pytest.raises(StageError, match="pip install 'dnd-ft\\[cuda\\]'"), loading_errors(cfg):
        raise ModuleNotFoundError("No module named 'bitsandbytes'", name="bitsandbytes")


def test_lora_target_modules_the_model_lacks_are_named(smoke_cfg):
    cfg = smoke_cfg("trainer.lora.target_modules=[not_a_layer]")
    expected = r"trainer.lora.target_modules: \['not_a_layer'\] not found in tiny_qwen3"
    with pytest.raises(StageError, match=expected), loading_errors(cfg):
        HFBackend().load(cfg.model, cfg.trainer, cfg.paths.cache_dir, FP32)
