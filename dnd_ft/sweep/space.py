"""The search space: `hydra.sweeper.params` and the command line's sweep overrides, as
Optuna distributions, plus the fixed overrides every trial gets.

    trainer.learning_rate: tag(log, interval(1e-5, 1e-2))   FloatDistribution(log=True)
    trainer.lora.r: range(4, 33, 4)                         IntDistribution(4, 32, step=4)
    model: choice(tiny_qwen3, tiny_gemma3)                  CategoricalDistribution
    trainer.warmup_ratio: {type: float, low: 0.0, high: 0.1, step: 0.02}
    trainer.lora.alpha: 32                                  fixed for every trial

Hydra's override grammar parses the strings (the same grammar as the command line).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

from dnd_ft.errors import ConfigError

CATEGORICAL_TYPES = (str, int, float, bool, type(None))


@dataclass
class SearchSpace:
    dims: dict[str, Any] = field(default_factory=dict)  # key -> optuna distribution
    fixed: list[str] = field(default_factory=list)  # "key=value" overrides of every trial

    def overrides(self, params: Mapping[str, Any]) -> list[str]:
        """A trial's overrides: the fixed ones, then its sampled values."""
        return self.fixed + [f"{key}={_literal(params[key])}" for key in self.dims]


def build(params: Mapping[str, Any], arguments: list[str]) -> SearchSpace:
    """The space of ``params`` (hydra.sweeper.params) and ``arguments`` (the command line's
    overrides; a sweep there, e.g. ``trainer.lora.r=choice(8,16)``, adds a dimension).

    A later entry for a key replaces an earlier one: a value on the command line pins a key
    the sweep config searches, a sweep on the command line replaces its fixed value."""
    space, problems = SearchSpace(), []
    fixed: dict[str, str] = {}  # key -> override, in order
    parser = OverridesParser.create()
    entries = [(f"hydra.sweeper.params.{k}", k, v) for k, v in params.items()]
    for arg in arguments:
        override = parser.parse_override(arg)
        key = override.get_key_element()
        entries.append((f"command line {arg!r}", key, override))
    for where, key, value in entries:
        try:
            dist = _distribution(key, value, parser)
        except (ValueError, TypeError) as exc:
            problems.append(f"{where}: {exc}")
            continue
        name = key.lstrip("+~")
        fixed.pop(name, None)
        space.dims.pop(name, None)
        if dist is None:
            text = value.input_line if hasattr(value, "input_line") else f"{key}={_literal(value)}"
            fixed[name] = text
        else:
            space.dims[name] = dist
    if problems:
        raise ConfigError(problems)
    space.fixed = list(fixed.values())
    return space


def _distribution(key: str, value: Any, parser: OverridesParser) -> Any:
    """An optuna distribution for ``value``, or None for a fixed value."""
    import optuna.distributions as d

    if isinstance(value, Mapping):
        return _from_mapping(dict(value))
    if isinstance(value, str):
        value = parser.parse_override(f"{key}={value}")
    if not hasattr(value, "is_sweep_override"):  # a plain YAML value
        return None
    if not value.is_sweep_override():
        return None
    sweep = value.value()
    tags = set(getattr(sweep, "tags", ()) or ())
    log = "log" in tags
    if isinstance(sweep, ChoiceSweep):
        choices = list(value.sweep_iterator())
        bad = [c for c in choices if not isinstance(c, CATEGORICAL_TYPES)]
        if bad:
            raise ValueError(f"choice values must be strings or numbers, not {bad[0]!r}")
        return d.CategoricalDistribution(choices)
    if isinstance(sweep, RangeSweep):
        values = list(value.sweep_iterator())  # Hydra's range: stop is excluded
        if not values:
            raise ValueError(f"sweep {value.input_line!r} is empty")
        if all(isinstance(x, int) for x in values) and "float" not in tags:
            return d.IntDistribution(values[0], values[-1], log=log,
                                     step=1 if log else int(sweep.step))  # fmt: skip
        return d.FloatDistribution(float(values[0]), float(values[-1]), step=float(sweep.step))
    if isinstance(sweep, IntervalSweep):
        if "int" in tags:
            return d.IntDistribution(int(sweep.start), int(sweep.end), log=log)
        return d.FloatDistribution(float(sweep.start), float(sweep.end), log=log)
    raise ValueError(f"sweep {value.input_line!r}: use choice(), range(), interval() or tag()")


def _from_mapping(spec: dict[str, Any]) -> Any:
    import optuna.distributions as d

    kind = spec.pop("type", None)
    try:
        if kind == "float":
            return d.FloatDistribution(float(spec.pop("low")), float(spec.pop("high")),
                                       log=bool(spec.pop("log", False)),
                                       step=spec.pop("step", None))  # fmt: skip
        if kind == "int":
            return d.IntDistribution(int(spec.pop("low")), int(spec.pop("high")),
                                     log=bool(spec.pop("log", False)),
                                     step=int(spec.pop("step", 1)))  # fmt: skip
        if kind == "categorical":
            return d.CategoricalDistribution(list(spec.pop("choices")))
    except KeyError as exc:
        raise ValueError(f"{kind} needs {exc.args[0]!r}") from None
    finally:
        if kind in ("float", "int", "categorical") and spec:
            raise ValueError(f"unknown key(s) {sorted(spec)} for type {kind}")
    raise ValueError(f"type {kind!r} is not one of float, int, categorical")


def _literal(value: Any) -> str:
    """A value as the override grammar reads it back (floats keep every digit)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value)
    return str(value)
