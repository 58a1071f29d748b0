"""Config checks of the data group: a bad combination fails at startup, naming the key."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from omegaconf import DictConfig

from dnd_ft.errors import ConfigError
from dnd_ft.pipeline.config import validate


def test_default_data_config_is_valid(compose_cfg: Callable[..., DictConfig]) -> None:
    validate(compose_cfg())
    validate(compose_cfg("data=augmented"))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.augment.copies=0", r"data.augment.copies: 0 makes no augmented rows"),
        ("data.augment.splits=[train,dev]", r"data.augment.splits: \['dev'\] are not splits"),
        ("data.max_length=0", r"data.max_length: 0 must be a positive"),
        ("data.scenario_dirs=[]", r"data.scenario_dirs: list at least one"),
        (
            "data.scenario_dirs=[/no/such/folder]",
            r"data.scenario_dirs: /no/such/folder does not exist",
        ),
        (
            "paths.scenarios_dir=/no/such/folder",
            r"data.scenario_dirs: /no/such/folder does not exist",
        ),
    ],
)
def test_bad_data_settings_are_named(
    compose_cfg: Callable[..., DictConfig], override: str, message: str
) -> None:
    overrides = [override] + (["data.augment.enabled=true"] if "copies" in override else [])
    with pytest.raises(ConfigError, match=message):
        validate(compose_cfg(*overrides))
