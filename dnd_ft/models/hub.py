"""Models from the Hugging Face hub (source=hub) and from local folders (source=local)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from dnd_ft.models.config import ModelConfig
from dnd_ft.models.errors import ModelLoadError
from dnd_ft.utils.offline import hub_offline

log = logging.getLogger(__name__)

# What a causal LM needs; skips duplicate weight formats (.bin, .pth, onnx, gguf) in repos.
HUB_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "*.tiktoken", "*.py"]


def hub_model_dir(model_cfg: ModelConfig) -> Path:
    """Local snapshot folder of ``model.hub_id``: from the HF cache, downloading if allowed."""
    from huggingface_hub import snapshot_download

    hub_id, revision = model_cfg.hub_id, model_cfg.revision
    if not hub_id:
        raise ModelLoadError(
            f"model.hub_id is not set for model {model_cfg.name!r} (source=hub); "
            "set model.hub_id=<org>/<name>"
        )
    offline = hub_offline()
    patterns = list(HUB_PATTERNS) if model_cfg.trust_remote_code else HUB_PATTERNS[:-1]
    try:
        path = snapshot_download(
            hub_id,
            revision=revision,
            allow_patterns=patterns,
            local_files_only=offline,
            cache_dir=os.environ.get("HF_HUB_CACHE") or None,  # read now, not at import
        )
    except Exception as exc:  # hub errors are many (network, auth, gated, missing revision)
        raise ModelLoadError(_hub_message(model_cfg, offline, exc)) from exc
    log.info("hub model %s%s at %s", hub_id, f"@{revision}" if revision else "", path)
    return Path(path)


def hub_cli() -> str:
    """The hub's command line as installed: huggingface_hub 0.34+ ships ``hf`` (and retires
    ``huggingface-cli``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        major, minor = (int(x) for x in version("huggingface_hub").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return "hf"
    return "hf" if (major, minor) >= (0, 34) else "huggingface-cli"


def download_command(hub_id: str | None, revision: str | None = None) -> str:
    rev = f" --revision {revision}" if revision else ""
    return f"{hub_cli()} download {hub_id}{rev}"


def _hub_message(model_cfg: ModelConfig, offline: bool, exc: Exception) -> str:
    hub_id = model_cfg.hub_id
    why = (
        "HF_HUB_OFFLINE=1 and it is not in the local Hugging Face cache"
        if offline
        else "the hub could not be reached or refused the download"
    )
    gated = (
        " Gemma models are gated: accept the license on the model page and run "
        f"`{hub_cli()} login` first."
        if hub_id.startswith("google/")
        else ""
    )
    return (
        f"cannot load model {model_cfg.name!r} from the Hugging Face hub ({hub_id}): {why} "
        f"[{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}].\n"
        f"Fix: on a connected machine run `{download_command(hub_id, model_cfg.revision)}` (the cache is "
        "HF_HOME, default ~/.cache/huggingface) and copy the cache here, then run with "
        "HF_HUB_OFFLINE=1; or use an offline model: model=tiny_qwen3, model=tiny_gemma3 or "
        f"model=smollm2_135m.{gated}"
    )


def local_model_dir(model_cfg: ModelConfig) -> Path:
    """The ``model.local_path`` folder, checked to hold a config, weights and a tokenizer."""
    if not model_cfg.local_path:
        raise ModelLoadError(
            f"model.local_path is not set for model {model_cfg.name!r} (source=local); "
            "set model.local_path=/path/to/folder"
        )
    path = Path(model_cfg.local_path).expanduser()
    if not path.is_dir():
        raise ModelLoadError(
            f"model.local_path={str(path)!r} is not a folder; point it at a Hugging Face model "
            "folder (config.json, *.safetensors, tokenizer files), e.g. one written by "
            "save_pretrained"
        )
    problems = missing_model_files(path)
    if problems:
        raise ModelLoadError(
            f"model.local_path={str(path)!r} is not a complete model folder: missing "
            f"{'; '.join(problems)}. Save the model there with model.save_pretrained(path) "
            "and tokenizer.save_pretrained(path)"
        )
    return path


def missing_model_files(path: Path) -> list[str]:
    """What a loadable model folder lacks (empty when complete)."""
    problems = []
    if not (path / "config.json").is_file():
        problems.append("config.json")
    weights = [*path.glob("*.safetensors"), *path.glob("pytorch_model*.bin")]
    if not weights:
        problems.append("weights (*.safetensors or pytorch_model*.bin)")
    tokenizer_files = ("tokenizer.json", "tokenizer.model", "vocab.json", "tokenizer_config.json")
    if not any((path / name).is_file() for name in tokenizer_files):
        problems.append("tokenizer files (tokenizer.json or tokenizer.model)")
    return problems
