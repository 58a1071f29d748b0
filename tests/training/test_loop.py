"""The training loop on a tiny Qwen3 built in-process: loss, checkpoints, crash-resume, NaN."""

from __future__ import annotations

import json

import pytest
from omegaconf import open_dict

from dnd_ft.training import checkpoints
from dnd_ft.training.backends.base import LoadedModel, peft_lora_config
from dnd_ft.training.batching import plain_rows
from dnd_ft.training.callbacks import NonFiniteLoss
from dnd_ft.training.loop import train
from dnd_ft.training.precision import Precision

from .train_helpers import tiny_qwen3, toy_examples

FP32 = Precision("fp32", "float32", None)


def _loaded(tokenizer, trainer_cfg):
    from peft import get_peft_model
    from transformers import set_seed

    model = tiny_qwen3(seed=1)
    set_seed(trainer_cfg.seed)
    return LoadedModel(
        model=get_peft_model(model, peft_lora_config(trainer_cfg)),
        tokenizer=tokenizer,
        backend="hf",
        method="lora",
        quantized=False,
    )


def _trainer_cfg(smoke_cfg, *cli, **overrides):
    cfg = smoke_cfg(*cli).trainer
    with open_dict(cfg):
        cfg.update(
            {
                "max_length": 64,
                "batch_size": 4,
                "learning_rate": 1e-2,
                "max_steps": 12,
                "save_steps": 4,
                "save_total_limit": 2,
                "eval_steps": 6,
                "logging_steps": 1,
                "warmup_ratio": 0.0,
                "progress": False,
                **overrides,
            }
        )
    return cfg


def _adapter_state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k}


class _Crash(RuntimeError):
    pass


def _crash_at(step: int):
    from transformers import TrainerCallback

    class CrashAt(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == step:
                raise _Crash(f"simulated crash at step {step}")

    return CrashAt()


def test_loss_falls_and_checkpoints_are_complete_and_rotated(smoke_cfg, toy_tokenizer, tmp_path):
    t = _trainer_cfg(smoke_cfg)
    loaded = _loaded(toy_tokenizer, t)
    root = tmp_path / "ckpt"
    result = train(
        loaded,
        plain_rows(toy_examples(48)),
        plain_rows(toy_examples(8, seed=9)),
        t,
        root,
        FP32,
        checkpoint_info={"model": "toy"},
    )
    losses = [r["loss"] for r in result.history if "loss" in r]
    assert result.steps == 12 and len(losses) == 12
    assert sum(losses[-3:]) / 3 < losses[0] - 0.5  # nats; ln(128) = 4.85 at the start
    assert result.eval_loss is not None and result.eval_loss < losses[0]
    assert result.tokens > 0 and result.tokens_per_second > 0
    assert 0 < result.padding_efficiency <= 1
    kept = checkpoints.list_checkpoints(root)
    assert [p.name for p in kept] == ["checkpoint-8", "checkpoint-12"]  # keep-last-2
    assert all(checkpoints.is_complete(p) for p in kept)
    assert json.loads((kept[-1] / checkpoints.INFO).read_text()) == {"model": "toy", "step": 12}


def test_crash_then_resume_matches_an_uninterrupted_run(smoke_cfg, toy_tokenizer, tmp_path):
    t = _trainer_cfg(smoke_cfg, "trainer.lora.dropout=0.1")  # dropout: RNG state must resume too
    data = plain_rows(toy_examples(48))

    straight = _loaded(toy_tokenizer, t)
    ref = train(straight, data, [], t, tmp_path / "a", FP32)

    crashed = _loaded(toy_tokenizer, t)
    from dnd_ft.training import loop

    original = loop.NonFiniteGuard
    loop.NonFiniteGuard = lambda: _crash_at(7)  # inject a crash after checkpoint-4
    try:
        with pytest.raises(_Crash):
            train(crashed, data, [], t, tmp_path / "b", FP32)
    finally:
        loop.NonFiniteGuard = original
    resume = checkpoints.resolve_resume("auto", tmp_path / "b", {})
    assert resume is not None and resume.name == "checkpoint-4"

    resumed_model = _loaded(toy_tokenizer, t)  # fresh process state: weights come from disk
    res = train(resumed_model, data, [], t, tmp_path / "b", FP32, resume_from=resume)
    assert res.steps == 12 and res.resumed_from.endswith("checkpoint-4")
    ref_losses = [r["loss"] for r in ref.history if "loss" in r]
    res_losses = [r["loss"] for r in res.history if "loss" in r]
    assert res_losses == pytest.approx(ref_losses, rel=1e-5)  # steps 1-4 from the checkpoint
    a, b = _adapter_state(straight.model), _adapter_state(resumed_model.model)
    assert a.keys() == b.keys() and all((a[k] - b[k]).abs().max().item() < 1e-5 for k in a)


def test_nan_loss_stops_training_before_a_poisoned_checkpoint(smoke_cfg, toy_tokenizer, tmp_path):
    t = _trainer_cfg(smoke_cfg, learning_rate=1e30, max_grad_norm=0.0)
    loaded = _loaded(toy_tokenizer, t)
    with pytest.raises(NonFiniteLoss, match=r"(loss|grad_norm) became (nan|inf)"):
        train(loaded, plain_rows(toy_examples(48)), [], t, tmp_path / "c", FP32)
    assert checkpoints.latest_complete(tmp_path / "c") is None


def test_gradient_checkpointing_and_packing_train_the_same_way(smoke_cfg, toy_tokenizer, tmp_path):
    """Activation checkpointing recomputes, it does not change the maths; packed rows train."""
    from dnd_ft.training.batching import packed_rows

    data = toy_examples(32, lo=10, hi=30)
    plain = _trainer_cfg(smoke_cfg, max_steps=3, save_steps=0, eval_steps=0)
    ref = train(_loaded(toy_tokenizer, plain), plain_rows(data), [], plain, tmp_path / "a", FP32)
    gc = _trainer_cfg(
        smoke_cfg, "trainer.gradient_checkpointing=true", max_steps=3, save_steps=0, eval_steps=0
    )
    got = train(_loaded(toy_tokenizer, gc), plain_rows(data), [], gc, tmp_path / "b", FP32)
    losses = [[r["loss"] for r in res.history if "loss" in r] for res in (ref, got)]
    assert losses[1] == pytest.approx(losses[0], rel=1e-4)

    packed = train(
        _loaded(toy_tokenizer, plain), packed_rows(data, 64), [], plain, tmp_path / "c", FP32
    )
    assert packed.padding_efficiency > ref.padding_efficiency
    assert packed.tokens > ref.tokens  # fuller rows: more real tokens in the same 3 steps


@pytest.mark.parametrize("embedding_lr", [None, 0.1])
def test_embedding_learning_rate_moves_control_token_rows_at_their_own_rate(
    smoke_cfg, toy_tokenizer, tmp_path, embedding_lr
):
    from peft import get_peft_model

    from dnd_ft.training.loop import embedding_parameters

    t = _trainer_cfg(
        smoke_cfg,
        max_steps=1,
        learning_rate=1e-3,
        lr_scheduler="constant",
        save_steps=0,
        eval_steps=0,
        embedding_learning_rate=embedding_lr,
    )
    model = get_peft_model(tiny_qwen3(seed=1), peft_lora_config(t, token_ids=[3, 5]))
    loaded = LoadedModel(model, toy_tokenizer, backend="hf", method="lora", quantized=False)
    (delta,) = embedding_parameters(model)
    assert tuple(delta.shape) == (2, 64)  # only the two chosen rows are trained
    before = delta.detach().clone()
    train(loaded, plain_rows(toy_examples(8)), [], t, tmp_path / "ckpt", FP32)
    # One Adam step moves each coordinate by about the group's rate.
    moved = (delta.detach() - before).abs().max().item()
    assert moved == pytest.approx(embedding_lr or 1e-3, rel=0.05)


def test_full_fine_tune_embedding_parameters_are_the_tied_matrix_once():
    from dnd_ft.training.loop import embedding_parameters

    model = tiny_qwen3(seed=1)  # tie_word_embeddings=True: one tensor for input and output
    (weight,) = embedding_parameters(model)
    assert weight is model.get_input_embeddings().weight
    model.get_input_embeddings().weight.requires_grad_(False)
    assert embedding_parameters(model) == []  # frozen rows are not the optimizer's
