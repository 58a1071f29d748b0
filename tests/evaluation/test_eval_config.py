"""The eval group composes, and its cross-field checks name the key and the fix."""

from __future__ import annotations

import pytest

from dnd_ft.errors import ConfigError
from dnd_ft.pipeline.config import validate


def test_defaults(compose_cfg):
    cfg = compose_cfg()
    e = cfg.eval
    assert (e.split, e.fallback_split, e.baseline, e.do_sample, e.judge.enabled) == (
        "test",
        "val",
        True,
        False,
        False,
    )
    assert list(e.metrics.free_text_args) == ["reason"]
    validate(cfg)


@pytest.mark.parametrize("overrides,message", [
    (["eval.split=holdout"], "eval.split: 'holdout' is not one of train, val, test"),
    (["eval.batch_size=0"], "eval.batch_size: must be >= 1"),
    (["eval.max_examples=0"], "eval.max_examples: must be >= 1 or null"),
    (["eval.do_sample=true", "eval.temperature=0"], "eval.temperature: must be > 0"),
    (["eval.metrics.min_words=10", "eval.metrics.max_words=5"], "eval.metrics: need 0 <= min_words <= max_words"),
    (["eval.max_new_tokens=4096"], "eval.max_new_tokens: 4096 leaves no room"),
    (["eval.baseline_model=qwen9"], "eval.baseline_model: no model config 'qwen9'; use one of functiongemma_270m"),
    (["eval.judge.enabled=true", "eval.judge.model=nope"], "eval.judge.model: no model config 'nope'"),
    (["eval.adapter_dir=/no/such/adapter"], "eval.adapter_dir: /no/such/adapter is not a folder"),
])  # fmt: skip
def test_bad_eval_settings_are_reported(compose_cfg, overrides, message):
    cfg = compose_cfg(*overrides)
    with pytest.raises(ConfigError, match="eval") as info:
        validate(cfg)
    assert any(p.startswith(message) for p in info.value.problems), info.value.problems


def test_misspelt_eval_key_fails_at_compose(compose_cfg):
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match="eval.batchsize"):
        compose_cfg("eval.batchsize=4")
