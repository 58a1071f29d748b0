"""Every option of every group composes; typos and bad combinations fail loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigAttributeError

from dnd_ft.config.store import CONFIG_DIR
from dnd_ft.errors import ConfigError
from dnd_ft.pipeline.config import OVERLAYS, validate
from dnd_ft.pipeline.stages import GROUPS as REGISTERED

GROUPS = sorted(REGISTERED)


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


@pytest.mark.parametrize(
    "group,option", [(g, o) for g in GROUPS if g != "hydra" for o in _options(g)]
)
def test_every_group_option_composes(compose_cfg, group, option):
    cfg = compose_cfg(f"{group}={option}")
    assert cfg[group] is not None
    if group == "model":
        assert cfg.model.name == option  # file name and `name` agree
        validate(cfg)


@pytest.mark.parametrize("overlay,option", [(o, x) for o in OVERLAYS for x in _options(o)])
def test_every_overlay_composes(compose_cfg, overlay, option):
    cfg = compose_cfg(f"{overlay}={option}")
    validate(cfg)


def test_defaults_are_the_offline_cpu_run(compose_cfg):
    cfg = compose_cfg()
    assert cfg.model.name == "tiny_qwen3" and cfg.model.source == "tiny"
    assert cfg.trainer.backend == "hf"
    assert cfg.tracking.backend == "none"
    assert list(cfg.stages) == ["data", "train", "eval"]
    validate(cfg)


def test_misspelt_key_on_command_line_names_it(compose_cfg):
    with pytest.raises(ConfigCompositionException, match="trainer.lernig_rate"):
        compose_cfg("trainer.lernig_rate=0.1")


def test_misspelt_key_in_file_names_it(compose_cfg, tmp_path):
    bad = CONFIG_DIR / "model" / "_typo_test.yaml"
    bad.write_text("defaults:\n  - /schema/model@_here_\n  - _self_\nname: x\nfamly: qwen\n")
    try:
        with pytest.raises(ConfigCompositionException) as info:
            compose_cfg("model=_typo_test")
        assert "famly" in str(info.value.__cause__) + str(info.value)
    finally:
        bad.unlink()


def test_schemas_are_not_group_options(compose_cfg):
    from hydra.errors import MissingConfigException

    with pytest.raises(MissingConfigException, match=r"Could not find 'model/base_model'") as info:
        compose_cfg("model=base_model")
    assert "tiny_qwen3" in str(info.value)  # Hydra lists the real options


def test_wrong_type_fails(compose_cfg):
    with pytest.raises(ConfigCompositionException, match="trainer.batch_size"):
        compose_cfg("trainer.batch_size=many")


def test_cross_field_problems_are_reported_together(compose_cfg):
    cfg = compose_cfg("data.split.train=0.9", "model.family=mistral", "stages=[data,deploy]")
    with pytest.raises(ConfigError) as info:
        validate(cfg)
    problems = info.value.problems
    assert any(p.startswith("data.split:") for p in problems)
    assert any(p.startswith("model.family:") and "mistral" in p for p in problems)
    assert any(p.startswith("stages:") and "deploy" in p for p in problems)
    assert "3 config problem(s)" in str(info.value)


def test_hub_model_without_id_is_a_problem(compose_cfg):
    cfg = compose_cfg("model=qwen3_0_6b", "model.hub_id=null")
    with pytest.raises(ConfigError, match=r"model\.hub_id: required when model.source=hub"):
        validate(cfg)


def test_a_gemma_asset_in_a_hermes_format_is_refused_at_startup(compose_cfg):
    cfg = compose_cfg("model=gemma3_270m_offline", "model.chat_format=hermes")
    with pytest.raises(ConfigError, match=r"model\.chat_format: 'hermes' is not a Gemma format"):
        validate(cfg)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.run(
        [sys.executable, "-m", "dnd_ft", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_cli_typo_fails_at_startup_without_traceback(tmp_path):
    proc = _cli("trainer.lr=1", f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "trainer.lr" in out
    assert "Traceback" not in out


def test_cli_cross_field_error_is_one_message(tmp_path):
    proc = _cli(
        "data.split.val=0.5", "stages=[data]", f"hydra.run.dir={tmp_path}/run", cwd=tmp_path
    )
    assert proc.returncode == 1
    assert "data.split: train+val+test must be non-negative and sum to 1" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.parametrize(
    "override,key,hint",
    [
        ("+trainer.lr=1", "trainer.lr", "did you mean trainer.learning_rate?"),
        ("+trainer.lora.rr=3", "trainer.lora.rr", "did you mean trainer.lora.r?"),
        ("+lerning=1", "lerning", "not a key of the top level"),
        ("+tools.specs.0.bogus=1", "tools.specs[0].bogus", "known: name, description"),
        ("+trainer.merge=true", "trainer.merge", "the export stage writes the merged model"),
    ],
)
def test_plus_override_of_an_unknown_key_is_refused_by_name(compose_cfg, override, key, hint):
    cfg = compose_cfg(override)  # Hydra lets `+` add the key ...
    with pytest.raises(ConfigError) as info:  # ... the schema check refuses it by name
        validate(cfg)
    (problem,) = info.value.problems
    assert problem.startswith(f"{key}: ") and hint in problem


def test_free_form_json_schema_keys_are_not_refused(compose_cfg):
    cfg = compose_cfg("+tools.specs.0.parameters.properties.notation.pattern=x")
    validate(cfg)


def test_cli_plus_override_fails_at_startup_without_traceback(tmp_path):
    proc = _cli("+trainer.lr=1", "stages=[data]", f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert proc.returncode == 1
    assert "trainer.lr: not a key of trainer (did you mean trainer.learning_rate?" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_unknown_key_is_config_key_error_in_struct_mode(compose_cfg):
    cfg = compose_cfg()
    with pytest.raises(ConfigAttributeError, match="not_a_key"):
        cfg.trainer.not_a_key = 1
