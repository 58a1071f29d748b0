"""A sweep's settings fail loudly at startup, before any trial trains: a misspelt sweeper
key, an objective no planned stage writes, a pruner on two objectives, an unknown key in
the search space. The launcher configs compose."""

from __future__ import annotations

import importlib.util

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from dnd_ft.config.store import CONFIG_DIR
from dnd_ft.pipeline.config import register_configs
from tests.sweep.sweep_helpers import run


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["hydra.sweeper.n_trail=3"], "n_trail"),
        (["hydra.sweeper.objective=[eval/tool_name_f1]", "hydra.sweeper.direction=[maximize]"],
         "eval/tool_name_f1 is written by stage eval, which is not in stages=['data', 'train']"),
        (["hydra.sweeper.objective=[train/eval_loss,train/seconds]",
          "hydra.sweeper.direction=[minimize,minimize]"], "pruners work on one objective"),
        (["hydra.sweeper.direction=[minimise]"], "'minimise' is not one of minimize, maximize"),
        (["trainer.learnin_rate=choice(0.1,0.2)"], "learnin_rate"),
        (["hydra.sweeper.pruner.name=wilcox"], "pruner.name: 'wilcox' is not one of"),
        (["hydra.sweeper.pruner.name=wilcoxon", "trainer.target_logits_only=false"],
         "wilcoxon pairs each val conversation's loss"),
        (["trainer.eval_steps=0"], "set trainer.eval_steps > 0"),
    ],
)  # fmt: skip
def test_bad_sweep_settings_fail_before_any_trial(tmp_path, args, message):
    proc = run(f"hydra.sweep.dir={tmp_path / 'sweep'}", *args, cwd=tmp_path, timeout=120)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr[-2000:]
    assert not list((tmp_path / "sweep").glob("*/status.json"))  # no trial started


def _launcher(name: str):
    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose("train", overrides=[f"hydra/launcher={name}", "sweep=smoke"],
                          return_hydra_config=True)  # fmt: skip
    finally:
        GlobalHydra.instance().clear()
    return cfg.hydra.launcher


@pytest.mark.parametrize(
    ("name", "module", "target"),
    [
        ("parallel", "hydra_plugins.hydra_joblib_launcher", "JoblibLauncher"),
        ("slurm", "hydra_plugins.hydra_submitit_launcher", "SlurmLauncher"),
        ("ray_cluster", "hydra_plugins.hydra_ray_launcher", "RayLauncher"),
    ],
)
def test_the_launcher_configs_compose(name, module, target):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (docs/sweeps.md says how)")
    launcher = _launcher(name)
    assert launcher._target_.endswith(target)
    if name == "slurm":
        assert launcher.gpus_per_node == 1 and launcher.submitit_folder.endswith("/.submitit/%j")
    if name == "parallel":
        assert launcher.n_jobs == 2 and launcher.backend == "loky"
    if name == "ray_cluster":
        assert launcher.ray.init.address == "auto" and launcher.ray.remote.num_gpus == 1
