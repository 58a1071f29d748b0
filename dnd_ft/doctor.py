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

        from dnd_ft.models.hub import download_command
        from dnd_ft.utils.offline import offline

        cached = try_to_load_from_cache(m.hub_id, "config.json", revision=m.revision)
        if isinstance(cached, str):
            return [Finding("ok", f"model {m.hub_id} is in the local Hugging Face cache")]
        if offline():
            return [
                Finding(
                    "fail",
                    f"model {m.hub_id} is not cached and this machine is offline "
                    "(HF_HUB_OFFLINE or DND_FT_OFFLINE)",
                    f"{download_command(m.hub_id, m.revision)} on a connected machine, "
                    "or model=tiny_qwen3",
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


def estimated_output_bytes(cfg: DictConfig) -> int:
    """What the run will write under its run folder: each planned stage's own estimate
    (the stage registry names them) from the model's parameter count, plus data and logs."""
    from dnd_ft.models.size import parameter_count
    from dnd_ft.pipeline import stages

    parameters = parameter_count(cfg.model)
    total = 20 * 2**20  # datasets, reports, logs, W&B files: tens of MB at most
    for name in stages.ordered(list(cfg.stages)):
        if stages.STAGES[name].disk:
            total += stages.resolve(stages.STAGES[name].disk)(cfg, parameters)
    return total


def check_disk(cfg: DictConfig) -> list[Finding]:
    """Free space where the run writes against what it will write (an estimate)."""
    from dnd_ft.utils.disk import free_bytes

    need = estimated_output_bytes(cfg)
    free = free_bytes(cfg.paths.output_dir)
    what = f"{need / 2**30:.2f} GB estimated for this run under {cfg.paths.output_dir}"
    if free is None:
        return [Finding("warn", f"disk: free space unknown; {what}")]
    line = f"disk: {free / 2**30:.1f} GB free, {what}"
    if free < need:
        return [Finding("warn", line, "free space, or set paths.output_dir=<a bigger disk>; "
                        "fewer checkpoints: trainer.save_total_limit=1")]  # fmt: skip
    return [Finding("ok", line)]


def diagnose(cfg: DictConfig, hw: Hardware | None = None) -> list[Finding]:
    from dnd_ft.errors import ConfigError
    from dnd_ft.pipeline.config import validate

    hw = hw or detect()
    found: list[Finding] = []
    try:
        validate(cfg)
        found.append(Finding("ok", "config is valid"))
    except ConfigError as exc:
        found += [problem(p) for p in exc.problems]
    found += check_packages() + check_hardware(cfg, hw) + check_model(cfg) + check_tracking(cfg)
    found += check_disk(cfg)
    # validate() runs the hardware checks too (on this machine): report each problem once.
    unique = {(f.level, f.what): f for f in reversed(found)}
    return [f for f in found if unique[(f.level, f.what)] is f]


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    argv = sys.argv[1:] if argv is None else argv
    console = Console()
    from dnd_ft.pipeline.config import compose

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
