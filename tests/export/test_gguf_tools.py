"""llama.cpp's own tools in the export: an importance matrix for the quantized types, and the
adapter as a LoRA GGUF applied to its base's GGUF in llama.cpp.

The tools are built once from the installed llama-cpp-python's source into the cache
(`dnd_ft.export.llamacpp_tools`, about 10 minutes on 2 cores); later runs reuse them.
"""

from __future__ import annotations

import json

import pytest

from dnd_ft.errors import ConfigError
from dnd_ft.export import gguf as gguf_mod
from dnd_ft.pipeline import runner
from dnd_ft.pipeline.config import validate
from dnd_ft.utils.io import file_sha256
from tests.training.train_helpers import SMOKE_ARGS, run_cli

needs_tools = pytest.mark.skipif(
    not gguf_mod.have_llama_cpp(), reason="llama-cpp-python is not installed (the gguf extra)"
)


@pytest.fixture(scope="module")
def llama_tools():
    """llama-imatrix, llama-quantize and the LoRA converter (built here when missing)."""
    from dnd_ft.assets import cache_dir
    from dnd_ft.export.llamacpp_tools import build_problem, ensure_tools

    if problem := build_problem():
        pytest.skip(problem)
    return ensure_tools(cache_dir())


@needs_tools
def test_imatrix_from_the_training_chats_changes_the_quantized_weights(
    llama_tools, qwen_smoke_run, compose_cfg, tmp_path
):
    cfg = compose_cfg(
        "model=tiny_qwen3", "stages=[export]", f"export.adapter_dir={qwen_smoke_run / 'adapter'}",
        "export.gguf=[f32,q4_k_m]", "export.imatrix=true", "export.imatrix_chunks=4",
        "export.imatrix_ctx=128", "eval.max_examples=1", "eval.max_new_tokens=16",
    )  # fmt: skip
    metrics = runner.run_pipeline(cfg).values
    out = tmp_path / "run" / "export" / "gguf"
    imatrix = out / "imatrix" / "tiny_qwen3.imatrix.gguf"
    assert imatrix.is_file() and "4 chunks" in imatrix.with_name(imatrix.name + ".log").read_text()
    assert metrics["export/q4_k_m/imatrix"] == 1 and "export/f32/imatrix" not in metrics
    # the same f32 file quantized without the matrix (llama-cpp-python's quantizer) differs
    plain = tmp_path / "plain-q4_k_m.gguf"
    gguf_mod.quantize(out / "tiny_qwen3-f32.gguf", plain, "q4_k_m")
    assert file_sha256(plain) != file_sha256(out / "tiny_qwen3-q4_k_m.gguf")
    # llama-quantize records the matrix it applied in the file's metadata
    from dnd_ft.export.llamacpp import GGUFModel

    with GGUFModel(out / "tiny_qwen3-q4_k_m.gguf", n_ctx=32) as quantized:
        assert quantized.metadata["quantize.imatrix.chunks_count"] == "4"
    with GGUFModel(plain, n_ctx=32) as unweighted:
        assert "quantize.imatrix.chunks_count" not in unweighted.metadata
    # and it still passes llama.cpp's checks and gets scored like any other type
    assert metrics["export/q4_k_m/tokens_equal"] == metrics["export/q4_k_m/template_equal"] == 1
    assert metrics["export/q4_k_m/top1_agreement"] > 0.5
    assert metrics["export/q4_k_m/eval/n_turns"] > 0
    manifest = json.loads((out.parent / "manifest.json").read_text())
    assert manifest["gguf"]["q4_k_m"]["imatrix"] == str(imatrix)
    assert "| q4_k_m + imatrix |" in (out / "table.md").read_text()


@needs_tools
def test_lora_gguf_on_its_base_gives_the_merged_models_logits(llama_tools, tmp_path):
    run = tmp_path / "run"
    proc = run_cli(
        *SMOKE_ARGS, "model=tiny_qwen3", "trainer.lora.train_control_tokens=false",
        "stages=[data,train,export]", "export.gguf=[f16]", "export.lora_gguf=true",
        "eval.max_examples=1", "eval.max_new_tokens=16", f"hydra.run.dir={run}", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    out = run / "export" / "gguf"
    base, lora = out / "tiny_qwen3-base-f16.gguf", out / "tiny_qwen3-lora-f16.gguf"
    assert base.is_file() and lora.is_file() and not (out / ".lora-base").exists()
    # the adapter alone is a small fraction of the model
    assert lora.stat().st_size < base.stat().st_size / 4
    assert metrics["export/lora_f16/bytes"] == lora.stat().st_size
    assert metrics["export/lora_f16/tokens_equal"] == metrics["export/lora_f16/template_equal"] == 1
    # base + LoRA in llama.cpp is held to f16's bound against base + adapter in PEFT ...
    assert metrics["export/lora_f16/top1_agreement"] >= 0.95
    assert metrics["export/lora_f16/max_logit_diff"] < 0.02 * metrics["export/lora_f16/logit_scale"]
    # ... and the adapter is really applied: the base alone is further from the fine-tune
    from dnd_ft.export.llamacpp import GGUFModel

    probe = list(range(1, 40))
    with GGUFModel(base, n_ctx=64, logits_all=True) as alone:
        without = alone.logits(probe)
    with GGUFModel(base, n_ctx=64, logits_all=True, lora=lora) as applied:
        with_lora = applied.logits(probe)
    assert abs(with_lora - without).max() > 1e-3
    assert metrics["export/lora_f16/eval/n_turns"] > 0
    modelfile = (out / "tiny_qwen3-lora-f16.Modelfile").read_text()
    assert f"FROM ./{base.name}" in modelfile and f"ADAPTER ./{lora.name}" in modelfile
    manifest = json.loads((run / "export" / "manifest.json").read_text())
    assert manifest["gguf"]["lora_f16"]["base_sha256"] == file_sha256(base)


def test_lora_gguf_refuses_trained_rows_and_full_fine_tunes_at_startup(qwen_smoke_run, compose_cfg):
    """Adapters with control-token rows (the default) cannot become LoRA GGUFs: refused by
    name before any training, whether from this run's settings or a saved adapter."""
    stages = "stages=[data,train,export]"
    with pytest.raises(ConfigError, match=r"trainer.lora.train_control_tokens=true trains"):
        validate(compose_cfg("model=tiny_qwen3", stages, "trainer=cpu", "export.lora_gguf=true"))
    with pytest.raises(ConfigError, match=r"trainer.method=full trains every weight"):
        validate(compose_cfg("model=tiny_qwen3", stages, "trainer=tiny", "export.lora_gguf=true"))
    adapter = qwen_smoke_run / "adapter"
    with pytest.raises(ConfigError, match=r"trained \d+ embedding rows \(control tokens\)"):
        validate(compose_cfg("model=tiny_qwen3", "stages=[export]", "export.lora_gguf=true",
                             f"export.adapter_dir={adapter}"))  # fmt: skip
    validate(compose_cfg("model=tiny_qwen3", stages, "trainer=cpu", "export.lora_gguf=true",
                         "trainer.lora.train_control_tokens=false"))  # fmt: skip


def test_imatrix_needs_a_type_that_reads_it(compose_cfg):
    with pytest.raises(ConfigError, match=r"export.imatrix: none of export.gguf=\['f16', 'q8_0'\]"):
        validate(compose_cfg("stages=[data,train,export]", "export.gguf=[f16,q8_0]",
                             "export.imatrix=true"))  # fmt: skip
