"""Search spaces: Hydra's sweep grammar and mappings become Optuna distributions; anything
else is a fixed override; bad entries are refused naming the key."""

from __future__ import annotations

import optuna.distributions as d
import pytest

from dnd_ft.errors import ConfigError
from dnd_ft.sweep.samplers import make_sampler
from dnd_ft.sweep.space import build


def test_the_grammar_and_mappings_become_distributions():
    space = build(
        {
            "trainer.learning_rate": "tag(log, interval(1e-5, 1e-2))",
            "trainer.lora.r": "range(4, 33, 4)",
            "model": "choice(tiny_qwen3, tiny_gemma3)",
            "trainer.warmup_ratio": {"type": "float", "low": 0.0, "high": 0.1, "step": 0.02},
            "trainer.grad_accum": {"type": "int", "low": 1, "high": 8, "log": True},
            "trainer.lora.alpha": 32,
        },
        ["sweep=smoke", "trainer.lora.dropout=choice(0.0,0.1)", "seed=7"],
    )
    assert space.dims == {
        "trainer.learning_rate": d.FloatDistribution(1e-5, 1e-2, log=True),
        "trainer.lora.r": d.IntDistribution(4, 32, step=4),  # Hydra's range excludes its stop
        "model": d.CategoricalDistribution(["tiny_qwen3", "tiny_gemma3"]),
        "trainer.warmup_ratio": d.FloatDistribution(0.0, 0.1, step=0.02),
        "trainer.grad_accum": d.IntDistribution(1, 8, log=True),
        "trainer.lora.dropout": d.CategoricalDistribution([0.0, 0.1]),
    }
    assert space.fixed == ["trainer.lora.alpha=32", "sweep=smoke", "seed=7"]
    params = {
        "trainer.learning_rate": 0.000123456789,
        "trainer.lora.r": 8,
        "model": "tiny_qwen3",
        "trainer.warmup_ratio": 0.02,
        "trainer.grad_accum": 2,
        "trainer.lora.dropout": 0.1,
    }
    assert space.overrides(params)[3:] == [
        "trainer.learning_rate=0.000123456789", "trainer.lora.r=8", "model=tiny_qwen3",
        "trainer.warmup_ratio=0.02", "trainer.grad_accum=2", "trainer.lora.dropout=0.1",
    ]  # fmt: skip


def test_bad_entries_are_refused_by_key():
    with pytest.raises(ConfigError) as err:
        build(
            {"trainer.lora.r": {"type": "int", "low": 4}, "x": {"type": "normal"},
             "y": {"type": "float", "low": 0, "high": 1, "lg": True}},
            [],
        )  # fmt: skip
    text = str(err.value)
    assert "hydra.sweeper.params.trainer.lora.r: int needs 'high'" in text
    assert "hydra.sweeper.params.x: type 'normal' is not one of float, int, categorical" in text
    assert "hydra.sweeper.params.y: unknown key(s) ['lg'] for type float" in text


def test_the_grid_sampler_needs_finite_values():
    space = build({"a": "choice(1,2)", "b": "range(0,3)"}, [])
    spec = type("S", (), {"name": "grid", "seed": 0})()
    sampler = make_sampler(spec, space.dims)
    assert sorted(sampler._search_space) == ["a", "b"]
    with pytest.raises(ConfigError, match="hydra.sweeper.params.c: the grid sampler"):
        make_sampler(spec, build({"c": "interval(0, 1)"}, []).dims)


@pytest.mark.parametrize(
    ("name", "cls"),
    [("tpe", "TPESampler"), ("random", "RandomSampler"), ("nsga2", "NSGAIISampler"),
     ("nsga3", "NSGAIIISampler"), ("gp", "GPSampler"), ("grid", "GridSampler")],
)  # fmt: skip
def test_every_sampler_is_built_by_name(name, cls):
    import optuna

    if name == "gp":
        pytest.importorskip("scipy")
    from dnd_ft.tuning.config import SamplerConfig

    spec = SamplerConfig(name=name, seed=3, n_startup_trials=2 if name in ("tpe", "gp") else None)
    sampler = make_sampler(spec, build({"a": "choice(1,2)"}, []).dims)
    assert type(sampler) is getattr(optuna.samplers, cls)


def test_an_unknown_sampler_is_refused():
    from dnd_ft.tuning.config import SamplerConfig

    with pytest.raises(ConfigError, match="sampler.name: 'cmaes' is not one of tpe, random"):
        make_sampler(SamplerConfig(name="cmaes"), {})


def test_the_command_line_pins_or_replaces_a_key_of_the_sweep_config():
    space = build(
        {"trainer.learning_rate": "tag(log, interval(1e-5, 1e-2))", "trainer.lora.r": 16},
        ["trainer.learning_rate=0.001", "trainer.lora.r=choice(8,32)"],
    )
    assert list(space.dims) == ["trainer.lora.r"]  # the rate is pinned, the rank searched
    assert space.fixed == ["trainer.learning_rate=0.001"]
