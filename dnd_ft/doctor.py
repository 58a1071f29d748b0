"""`python -m dnd_ft.doctor [overrides...]`: can this machine run this config?

Composes the same config as `python -m dnd_ft` (same overrides), detects CUDA / Apple MPS /
CPU, checks the packages the config needs, and prints each problem with its fix. Exit code 0
only when the config can run; warnings (e.g. a model that will be downloaded) do not fail it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from omegaconf import DictConfig

from dnd_ft.utils.hardware import Hardware, detect

# Minimum versions this code is written against (see setup.cfg).
REQUIRED = {
    "torch": "2.4",
    "transformers": "4.56",
    "peft": "0.15",
    "trl": "0.20",
    "datasets": "3.0",
    "accelerate": "1.0",
    "hydra-core": "1.3.2",
    "jsonschema": "4.20",
    "d20": "1.1.2",
}


@dataclass
class Finding:
    level: str  # ok | warn | fail
    what: str
    fix: str = ""


def compose(overrides: list[str]) -> DictConfig:
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from dnd_ft.config.store import CONFIG_DIR, register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return hydra_compose("train", overrides=overrides)


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _at_least(installed: str, minimum: str) -> bool:
    from packaging.version import Version

    return Version(installed.split("+")[0]) >= Version(minimum)


def check_packages() -> list[Finding]:
    found = []
    for name, minimum in REQUIRED.items():
        version = _version(name)
        if version is None:
            found.append(Finding("fail", f"{name} is not installed", "pip install -e '.[cpu,dev]'"))
        elif not _at_least(version, minimum):
            found.append(
                Finding(
                    "fail",
                    f"{name} {version} is older than {minimum}",
                    f"pip install -U '{name}>={minimum}'",
                )
            )
        else:
            found.append(Finding("ok", f"{name} {version}"))
    return found


def problem(message: str) -> Finding:
    """A failed check as a finding; the checks write `key: what is wrong; how to fix it`."""
    what, _, fix = message.partition("; ")
    return Finding("fail", what, fix)


def check_hardware(cfg: DictConfig, hw: Hardware) -> list[Finding]:
    """What `hw` can run: the training stage's own hardware checks, plus what auto will pick."""
    from dnd_ft.training.checks import check_hardware as training_checks

    t = cfg.trainer
    found = [Finding("ok", f"accelerator: {hw.accelerator} ({hw.device_name})")]
    if t.backend == "auto":
        unsloth = importlib.util.find_spec("unsloth") is not None
        chosen = "unsloth" if hw.accelerator == "cuda" and unsloth else "hf"
        found.append(Finding("ok", f"trainer.backend=auto will use {chosen}"))
    return found + [problem(p) for p in training_checks(t, cfg.model, hw)]


def check_model(cfg: DictConfig) -> list[Finding]:
    m = cfg.model
    if m.source == "hub":
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(m.hub_id, "config.json", revision=m.revision)
        if isinstance(cached, str):
            return [Finding("ok", f"model {m.hub_id} is in the local Hugging Face cache")]
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            return [
                Finding(
                    "fail",
                    f"model {m.hub_id} is not cached and HF_HUB_OFFLINE=1",
                    f"huggingface-cli download {m.hub_id} on a connected machine, or model=tiny_qwen3",
                )
            ]
        return [
            Finding(
                "warn",
                f"model {m.hub_id} is not cached; it will be downloaded on first use",
                "needs network access to the Hugging Face hub",
            )
        ]
    if m.source == "local" and not Path(m.local_path or "").is_dir():
        return [
            Finding(
                "fail",
                f"model.local_path {m.local_path} is not a folder",
                "point it at a model folder",
            )
        ]
    return [Finding("ok", f"model {m.name} ({m.source}) is available offline")]


def check_tracking(cfg: DictConfig) -> list[Finding]:
    if cfg.tracking.backend != "wandb":
        return [Finding("ok", "tracking: none (metrics.json and the local leaderboard)")]
    if _version("wandb") is None:
        return [Finding("fail", "tracking=wandb but wandb is not installed", "pip install wandb")]
    mode = os.environ.get("WANDB_MODE", cfg.tracking.mode)
    if mode == "online" and not (
        os.environ.get("WANDB_API_KEY") or (Path.home() / ".netrc").exists()
    ):
        return [
            Finding(
                "fail",
                "W&B online mode but not logged in",
                "run `wandb login`, or WANDB_MODE=offline",
            )
        ]
    return [Finding("ok", f"tracking: wandb ({mode})")]


def diagnose(cfg: DictConfig, hw: Hardware | None = None) -> list[Finding]:
    from dnd_ft.config.validate import validate
    from dnd_ft.errors import ConfigError

    hw = hw or detect()
    found: list[Finding] = []
    try:
        validate(cfg)
        found.append(Finding("ok", "config is valid"))
    except ConfigError as exc:
        found += [problem(p) for p in exc.problems]
    found += check_packages() + check_hardware(cfg, hw) + check_model(cfg) + check_tracking(cfg)
    # validate() runs the hardware checks too (on this machine): report each problem once.
    unique = {(f.level, f.what): f for f in reversed(found)}
    return [f for f in found if unique[(f.level, f.what)] is f]


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    argv = sys.argv[1:] if argv is None else argv
    console = Console()
    try:
        cfg = compose(argv)
    except Exception as exc:  # Hydra's own errors name the bad key or override
        console.print(f"[red]FAIL[/] config does not compose: {exc}")
        return 1
    findings = diagnose(cfg)
    marks = {"ok": "[green]ok  [/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}
    for f in findings:
        console.print(f"{marks[f.level]} {f.what}" + (f"\n      fix: {f.fix}" if f.fix else ""))
    failed = sum(f.level == "fail" for f in findings)
    console.print(f"\n{'cannot run' if failed else 'ready'}: {failed} problem(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
