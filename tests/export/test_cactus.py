"""Cactus bundles: `cactus convert --weights-only` (the real package, isolated) on the merged
tiny models, checked, with our manifest and app snippets; refusals before training."""

from __future__ import annotations

import json

import pytest

from dnd_ft.errors import ConfigError
from dnd_ft.export.cactus import compatibility
from dnd_ft.pipeline import runner
from dnd_ft.pipeline.config import validate
from dnd_ft.tools.registry import ToolRegistry
from dnd_ft.utils.io import file_sha256


def test_tiny_qwen3_becomes_a_checked_cactus_bundle(qwen_smoke_run, compose_cfg, tmp_path):
    cfg = compose_cfg("model=tiny_qwen3", "stages=[export]", "export=cactus",
                      f"export.adapter_dir={qwen_smoke_run / 'adapter'}")  # fmt: skip
    metrics = runner.run_pipeline(cfg).values
    bundle = tmp_path / "run" / "export" / "cactus" / "tiny_qwen3-cq4"
    config = dict(
        line.split("=", 1)
        for line in (bundle / "config.txt").read_text().splitlines()
        if "=" in line
    )
    assert config["model_type"] == "qwen" and config["hidden_size"] == "128"
    weights = sorted(bundle.glob("*.weights"))
    assert len(weights) > 10 and all(w.read_bytes()[:4] == b"CACT" for w in weights)
    manifest = json.loads((bundle / "dnd_ft_bundle.json").read_text())
    registry = ToolRegistry.from_config(cfg.tools)
    assert manifest["tools"] == registry.schemas()
    assert manifest["tool_registry_digest"] == registry.digest()
    assert manifest["bits"] == 4 and manifest["runtime"]["version"] == "2.2.2"
    options = manifest["completion_options"]
    assert options["auto_handoff"] is False and options["tool_rag_top_k"] == len(registry)
    assert options["stop_sequences"] == ["<|im_end|>", "<|endoftext|>"]  # Hermes's stops
    assert manifest["files"]["config.txt"]["sha256"] == file_sha256(bundle / "config.txt")
    assert manifest["adapter_sha256"] == file_sha256(
        qwen_smoke_run / "adapter" / "adapter_model.safetensors"
    )
    assert metrics["export/cactus/files"] == len(manifest["files"])
    app = (bundle.parent / "app" / "react_native.ts").read_text()
    assert all(f'"{name}"' in app for name in registry.names())
    assert "auto_handoff" in (bundle.parent / "app" / "android.kt").read_text()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model=qwen2_5_0_5b"], "Cactus runs Qwen3, not Qwen2.5"),
        (["model=tiny_qwen3", "model.tiny.hidden_size=96"], "hidden size 96 is not a multiple"),
        (
            ["model=tiny_gemma3", "model.chat_format=gemma3"],
            "Cactus formats gemma tools as functiongemma",
        ),  # fmt: skip
        (["model=smollm2_135m"], "Cactus runs Qwen3 and Gemma 3 here, not smollm2_135m"),
        (["model=tiny_qwen3", "export.cactus_bits=8"], "export.cactus_bits: 8"),
    ],
)
def test_cactus_refuses_at_startup_by_name(compose_cfg, overrides, message):
    cfg = compose_cfg("stages=[data,train,export]", "export=cactus", *overrides)
    with pytest.raises(ConfigError, match=message):
        validate(cfg)


def test_cactus_checks_the_exported_config_too():
    # a model whose name says nothing: its config.json does
    problems = compatibility(family="qwen", name="my_model", chat_format="hermes",
                             hidden_size=896, model_type="qwen2")  # fmt: skip
    assert problems and "Qwen2.5" in problems[0]
    assert compatibility(family="gemma", name="g", chat_format="functiongemma",
                         hidden_size=640, model_type="gemma3_text") == []  # fmt: skip
