"""manifest.json: what a run was made of, so it can be reproduced and compared."""

from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from dnd_ft.locations import checkout_root
from dnd_ft.utils.hardware import detect
from dnd_ft.utils.io import atomic_write_text

PACKAGES = (
    "dnd-ft",
    "torch",
    "transformers",
    "trl",
    "peft",
    "datasets",
    "accelerate",
    "tokenizers",
    "hydra-core",
    "omegaconf",
    "wandb",
    "unsloth",
    "bitsandbytes",
    "llama-cpp-python",
    "gguf",
)


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_state(root: Path) -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def corpus_hash(dirs: list[str]) -> dict[str, Any]:
    """sha256 over every scenario file's relative path and bytes, in sorted order."""
    digest = hashlib.sha256()
    count = 0
    for d in dirs:
        base = Path(d)
        for path in sorted(base.rglob("*.md")) if base.is_dir() else [base]:
            if path.name.lower() == "readme.md":
                continue
            digest.update(str(path.relative_to(base) if base.is_dir() else path.name).encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            count += 1
    return {"sha256": digest.hexdigest(), "files": count}


def tools_hash(tools_cfg: DictConfig) -> str:
    from dnd_ft.tools.registry import ToolRegistry

    return ToolRegistry.from_config(tools_cfg).digest()


def job_overrides() -> list[str] | None:
    """The overrides of this job (Hydra's task overrides), None outside a Hydra app."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    return list(HydraConfig.get().overrides.task)


def write_manifest(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    manifest = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "run_name": cfg.run_name,
        "stages": list(cfg.stages),
        "seed": cfg.seed,
        "model": {
            "name": cfg.model.name,
            "family": cfg.model.family,
            "size": cfg.model.size,
            "source": cfg.model.source,
        },
        # The command as typed (`python -m dnd_ft ...`, not __main__.py's path), and this job's
        # own overrides: in a multirun each job records its combination, not the sweep's.
        "command": shlex.join(getattr(sys, "orig_argv", sys.argv)),
        "overrides": job_overrides(),
        "git": git_state(checkout_root()) if checkout_root() else None,
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "hardware": detect().as_dict(),
        "scenario_corpus": corpus_hash(list(cfg.data.scenario_dirs)),
        "tool_registry": {"name": cfg.tools.name, "sha256": tools_hash(cfg.tools)},
    }
    atomic_write_text(run_dir / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return manifest
