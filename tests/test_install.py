"""A non-editable install works outside the checkout: the wheel carries the configs and the
scenarios, `dnd-ft` runs from an empty folder, and a user's own config folder joins through
Hydra's search path without touching the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from dnd_ft.assets import cache_dir

ROOT = Path(__file__).resolve().parents[1]


def _sources(dest: Path) -> Path:
    """The checkout's files as git sees them (tracked, and new ones it does not ignore)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for name in listed:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel built from this checkout, installed without -e; the
    dependencies come from the test's own environment (a .pth line), not from the index."""
    if shutil.which("git") is None:
        pytest.skip("git is needed to list the checkout's files")
    tmp = tmp_path_factory.mktemp("install")
    src = _sources(tmp / "src")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp / "dist"), str(src)], check=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (tmp / "dist").glob("dnd_ft-*.whl")
    env_dir = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=120)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "outer_deps.pth").write_text("".join(f"{p}\n" for p in deps))
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True, timeout=300,
    )  # fmt: skip
    return env_dir


def _env(tmp_path: Path) -> dict[str, str]:
    """Offline, with a private model cache that shares the fetched assets."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "assets").symlink_to(cache_dir() / "assets")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYDRA_", "PYTHONPATH"))}
    env.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", DND_FT_CACHE=str(cache))
    return env


def _run(venv: Path, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(venv / "bin" / "dnd-ft"), *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip


def test_the_installed_package_is_the_wheel_with_its_data(venv: Path) -> None:
    probe = (
        "import dnd_ft, dnd_ft.locations as L; print(dnd_ft.__file__); "
        "print(L.bundled('configs')); print(L.bundled('scenarios')); print(L.checkout_root())"
    )
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe], capture_output=True, text=True,
        cwd="/", check=True,
    ).stdout.split()  # fmt: skip
    assert all(str(venv) in line for line in out[:3]), out  # not the checkout
    assert out[3] == "None"
    assert Path(out[1], "train.yaml").is_file()
    assert len(list(Path(out[2]).rglob("*.md"))) >= 40


def test_dnd_ft_runs_the_data_stage_from_an_empty_folder(venv: Path, tmp_path: Path) -> None:
    work = tmp_path / "empty"
    work.mkdir()
    proc = _run(venv, work, _env(tmp_path), "stages=[data]")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = (work / "outputs" / "train" / "runs").iterdir()  # outputs/ where the user is
    assert (run / "data" / "train.jsonl").stat().st_size > 10_000
    assert '"status": "ok"' in (run / "status.json").read_text()


def test_a_users_config_folder_joins_through_the_search_path(venv: Path, tmp_path: Path) -> None:
    mine = tmp_path / "my_configs"
    (mine / "model").mkdir(parents=True)
    (mine / "experiment").mkdir()
    (mine / "model" / "my_tiny.yaml").write_text(
        "defaults:\n  - /schema/model@_here_\n  - _self_\n\nname: my_tiny\nfamily: qwen\nsize: tiny\n"
        "chat_format: hermes\nsource: tiny\nmax_seq_length: 4096\n"
        "tiny:\n  num_hidden_layers: 1\n  max_position_embeddings: 4096\n"
    )
    (mine / "experiment" / "mine.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /model: my_tiny\n\n"
        "task_name: mine\ndata:\n  split: {train: 0.6, val: 0.2, test: 0.2}\n"
    )
    work = tmp_path / "work"
    work.mkdir()
    env = _env(tmp_path)
    search = f"hydra.searchpath=[file://{mine}]"
    proc = _run(venv, work, env, search, "experiment=mine", "stages=[data]")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = (work / "outputs" / "mine" / "runs").iterdir()
    config = (run / "config.yaml").read_text()
    assert "name: my_tiny" in config and "train: 0.6" in config
    helped = _run(venv, work, env, search, "--help")
    assert "my_tiny" in helped.stdout and "mine" in helped.stdout


def test_the_wheel_carries_the_sweeper_plugin(venv: Path, tmp_path: Path) -> None:
    """Hydra's own plugin scan finds the sweeper in the installed wheel, and a sweep config
    composes with it."""
    probe = (
        "from hydra.core.plugins import Plugins; from hydra.plugins.sweeper import Sweeper; "
        "print(' '.join(c.__module__ for c in Plugins.instance().discover(Sweeper)))"
    )
    found = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe], capture_output=True, text=True,
        cwd="/", check=True,
    ).stdout.split()  # fmt: skip
    assert "hydra_plugins.dnd_ft_sweeper.optuna_sweeper" in found
    proc = _run(venv, tmp_path, _env(tmp_path), "sweep=smoke", "--cfg", "hydra", "-p",
                "hydra.sweeper")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "study_name: smoke" in proc.stdout and "DndOptunaSweeper" in proc.stdout
