"""The Cactus part of the export stage (``export.cactus``): the bundle, checked, with our
manifest and app configuration beside it.

Writes ``export/cactus/<model>-cq<bits>/`` (what ``cactus convert --weights-only`` wrote,
plus ``dnd_ft_bundle.json``) and ``export/cactus/app/`` (React Native and Kotlin snippets that
load the bundle with the tool registry's schemas and our completion options).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from dnd_ft.errors import StageError
from dnd_ft.export import cactus
from dnd_ft.export.trained import trained_format_name
from dnd_ft.utils.io import atomic_write_text, file_sha256

log = logging.getLogger(__name__)


def export_cactus(ctx: Any, merged_dir: Path, adapter_sha256: str | None) -> dict[str, Any]:
    """Convert ``merged_dir`` into a Cactus bundle; returns metrics and the manifest entry."""
    cfg, e = ctx.cfg, ctx.cfg.export
    model_config = json.loads((merged_dir / "config.json").read_text(encoding="utf-8"))
    problems = cactus.compatibility(
        family=cfg.model.family, name=cfg.model.name, chat_format=trained_format_name(ctx),
        hidden_size=model_config.get("hidden_size"), model_type=model_config.get("model_type"),
    )  # fmt: skip
    if problems:
        raise StageError("\n".join(problems))
    name = f"{cfg.model.name}-cq{e.cactus_bits}"
    out = ctx.stage_dir("export") / "cactus" / name
    start = time.perf_counter()
    summary = cactus.convert(merged_dir, out, int(e.cactus_bits), cfg.paths.cache_dir)
    seconds = time.perf_counter() - start
    problems = cactus.check_bundle(out, model_config)
    if problems:
        raise StageError("export.cactus: the bundle failed its checks:\n  " + "\n  ".join(problems))

    from dnd_ft.tools.registry import ToolRegistry

    registry = ToolRegistry.from_config(cfg.tools)
    tools = registry.schemas()
    from dnd_ft.chat.formats import get_format

    stops = list(get_format(trained_format_name(ctx)).stop_strings)
    options = cactus.completion_options(len(tools), int(cfg.eval.max_new_tokens), stops)
    files = {p.name: {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
             for p in sorted(out.iterdir()) if p.is_file()}  # fmt: skip
    manifest = {
        "runtime": {
            "package": cactus.CACTUS,
            "version": cactus.CACTUS_VERSION,
            "converted": "weights-only",
        },  # fmt: skip
        "bits": int(e.cactus_bits),
        "group_size": cactus.GROUP,
        "model": {
            k: cfg.model.get(k) for k in ("name", "family", "hub_id", "revision", "chat_format")
        },  # fmt: skip
        "adapter_sha256": adapter_sha256,
        "tools": tools,
        "tool_registry_digest": registry.digest(),
        "completion_options": options,
        "files": files,
        "converter_summary": _summary_lines(summary),
    }
    atomic_write_text(out / "dnd_ft_bundle.json", json.dumps(manifest, indent=2) + "\n")
    app_dir = out.parent / "app"
    for file_name, text in cactus.app_snippets(name, tools, options).items():
        atomic_write_text(app_dir / file_name, text)
    size = sum(f["bytes"] for f in files.values())
    log.info("cactus: %s (%d files, %.1f MB, %.1fs)", out, len(files), size / 2**20, seconds)
    metrics = {"export/cactus/bytes": size, "export/cactus/files": len(files),
               "export/cactus/convert_seconds": seconds}  # fmt: skip
    return {"metrics": metrics, "bundle": {"path": str(out), **manifest}}


def _summary_lines(text: str) -> list[str]:
    lines = text.strip().splitlines()
    start = next((i for i, line in enumerate(lines) if "Conversion summary" in line), len(lines))
    return [line for line in lines[start:] if line.strip() and not set(line) <= {"-"}]
