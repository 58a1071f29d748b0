"""GGUF export: llama.cpp's converter and quantizer write the files, and each file is checked
in llama.cpp (tokens, embedded template, logits) and scored on held-out tool calls."""

from __future__ import annotations

import json
import shutil

import pytest
from omegaconf import OmegaConf

from dnd_ft.errors import ConfigError, StageError
from dnd_ft.export import gguf as gguf_mod
from dnd_ft.pipeline import runner
from dnd_ft.pipeline.config import validate
from dnd_ft.utils.io import file_sha256
from tests.training.train_helpers import run_cli

needs_llama_cpp = pytest.mark.skipif(
    not gguf_mod.have_llama_cpp(), reason="llama-cpp-python is not installed (the gguf extra)"
)


@needs_llama_cpp
def test_tiny_qwen3_exports_f16_q8_and_q4_k_m_that_pass_every_check(
    qwen_smoke_run, compose_cfg, tmp_path
):
    adapter = qwen_smoke_run / "adapter"
    cfg = compose_cfg(
        "model=tiny_qwen3", "stages=[export]", f"export.adapter_dir={adapter}",
        "export.gguf=[f16,q8_0,q4_k_m]", "eval.max_examples=2", "eval.max_new_tokens=24",
    )  # fmt: skip
    metrics = runner.run_pipeline(cfg).values
    out = tmp_path / "run" / "export" / "gguf"
    files = {q: out / f"tiny_qwen3-{q}.gguf" for q in ("f16", "q8_0", "q4_k_m")}
    sizes = {q: f.stat().st_size for q, f in files.items()}
    assert sizes["f16"] > sizes["q8_0"] > sizes["q4_k_m"]
    assert not list(out.glob(".source-*")) and not list(out.glob(".tmp-*"))  # f32 source gone
    for q in files:
        assert metrics[f"export/{q}/tokens_equal"] == 1
        assert metrics[f"export/{q}/template_equal"] == 1
        assert metrics[f"export/{q}/bytes"] == sizes[q]
        assert metrics[f"export/{q}/eval/n_turns"] > 0
        assert 0 <= metrics[f"export/{q}/eval/tool_name_f1"] <= 1
        assert metrics[f"export/{q}/eval/gen_tokens_per_s"] > 0
        assert (out / f"tiny_qwen3-{q}.Modelfile").read_text().startswith("# ollama create")
    assert metrics["export/f16/max_logit_diff"] < 0.1
    assert metrics["export/f16/top1_agreement"] >= 0.95
    # quantized: recorded, and still mostly the same next token
    assert metrics["export/q4_k_m/max_logit_diff"] > metrics["export/f16/max_logit_diff"]
    assert metrics["export/q4_k_m/top1_agreement"] > 0.5
    manifest = json.loads((out.parent / "manifest.json").read_text())
    assert manifest["gguf"]["q4_k_m"]["sha256"] == file_sha256(files["q4_k_m"])
    assert manifest["gguf"]["f16"]["checks"]["passed"] is True
    table = (out / "table.md").read_text()
    assert all(f"| {q} |" in table for q in files)
    lines = (out / "tiny_qwen3-q4_k_m.predictions.jsonl").read_text().splitlines()
    predictions = [json.loads(line) for line in lines]
    assert len(predictions) == metrics["export/q4_k_m/eval/n_turns"]


@needs_llama_cpp
def test_f32_gguf_generates_what_the_hf_model_generates(qwen_smoke_run, compose_cfg, tmp_path):
    """The llama.cpp eval backend against the HF one: same prompts, greedy, same tokens."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dnd_ft.chat.formats import load_format
    from dnd_ft.data import load_split
    from dnd_ft.evaluation.generate import build_prompts, generate_texts
    from dnd_ft.export import llamacpp

    cfg = compose_cfg("model=tiny_qwen3", "stages=[export]",
                      f"export.adapter_dir={qwen_smoke_run / 'adapter'}", "export.gguf=[f32]",
                      "export.verify=false")  # fmt: skip
    runner.run_pipeline(cfg)
    merged = tmp_path / "run" / "export" / "merged"
    tok = AutoTokenizer.from_pretrained(str(merged))
    model = AutoModelForCausalLM.from_pretrained(str(merged), dtype=torch.float32)
    data = qwen_smoke_run / "data"
    fmt = load_format(data, tok)
    prompts = [p.prompt for p in build_prompts(list(load_split(data, "val"))[:1], fmt)][:3]
    hf = generate_texts(model, tok, prompts, max_new_tokens=12, stop_strings=fmt.stop_strings)
    with llamacpp.GGUFModel(merged.parent / "gguf" / "tiny_qwen3-f32.gguf") as gguf:
        ours = llamacpp.generate_texts(gguf, tok, prompts, max_new_tokens=12,
                                       stop_strings=fmt.stop_strings)  # fmt: skip
        assert [g.text for g in ours] == [g.text for g in hf]
        # later turns of the conversation prefilled only what their prompt added
        assert ours[1].prefilled_tokens < ours[1].prompt_tokens


@needs_llama_cpp
def test_tiny_gemma3_exports_gguf_with_its_control_tokens_and_a_cactus_bundle(tmp_path):
    run = tmp_path / "run"
    proc = run_cli(
        "debug=smoke", "model=tiny_gemma3", "trainer.method=full", "trainer.max_steps=2",
        "stages=[data,train,export]", "export=all", "eval.max_examples=1",
        "eval.max_new_tokens=16", "tracking=wandb", f"hydra.run.dir={run}", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "llama_model_quantize" not in proc.stderr  # llama.cpp's chatter went to a log file
    metrics = json.loads((run / "metrics.json").read_text())
    # the size/quality table is in the W&B run beside the metrics
    from dnd_ft.tracking.offline import read_offline_run

    logged = read_offline_run(run)
    assert logged.summary["export/gguf/_type"] == "table-file"
    assert logged.summary["export/gguf/nrows"] == 3  # one row per type
    assert logged.summary["export/q4_k_m/eval/n_turns"] == metrics["export/q4_k_m/eval/n_turns"]
    for q in ("f16", "q8_0", "q4_k_m"):  # export=all
        # <start_of_turn> and the function-call markers are single tokens in llama.cpp too
        assert metrics[f"export/{q}/tokens_equal"] == 1
        assert metrics[f"export/{q}/template_equal"] == 1
    assert metrics["export/f16/max_logit_diff"] < 0.1
    for q in ("f16", "q8_0", "q4_k_m"):  # a FunctionGemma Modelfile beside each (docs)
        modelfile = (run / "export" / "gguf" / f"tiny_gemma3-{q}.Modelfile").read_text()
        assert "PARSER functiongemma" in modelfile and "<start_function_declaration>" in modelfile
    # export=all also made the Cactus bundle (FunctionGemma is Cactus's Gemma 3 tool format)
    bundle = run / "export" / "cactus" / "tiny_gemma3-cq4"
    assert (bundle / "config.txt").is_file() and (bundle / "tokenizer.json").is_file()
    assert metrics["export/cactus/files"] > 10


@needs_llama_cpp
def test_token_check_catches_a_vocabulary_without_token_types(tmp_path, compose_cfg):
    """A transformers 5 save without added_tokens_decoder: llama.cpp spells <start_of_turn>
    out letter by letter, and the check says so."""
    from transformers import AutoTokenizer

    from dnd_ft.chat.formats import get_format
    from dnd_ft.export.llamacpp import GGUFModel
    from dnd_ft.export.verify import check_gguf
    from dnd_ft.models import resolve_model_dir

    cfg = compose_cfg("model=tiny_gemma3")
    folder = tmp_path / "model"
    shutil.copytree(resolve_model_dir(cfg.model, cfg.paths.cache_dir), folder)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    assert not config.get("added_tokens_decoder")  # as transformers 5 saves it
    out = tmp_path / "model-f32.gguf"
    gguf_mod.convert(folder, out, "f32", cfg.paths.cache_dir)
    tok = AutoTokenizer.from_pretrained(str(folder))
    messages = [{"role": "user", "content": "I roll to hit the goblin."},
                {"role": "assistant", "content": "Roll it."}]  # fmt: skip
    with GGUFModel(out, n_ctx=64, logits_all=True) as gguf:
        check = check_gguf(gguf, "f32", tokenizer=tok, fmt=get_format("functiongemma"),
                           template=None, conversations=[(messages, None)],
                           probe_ids=[2, 5], expected_logits=[[0.0] * gguf.n_vocab] * 2)  # fmt: skip
    assert not check.tokens_equal and not check.passed
    assert any(
        p.startswith("tokens: llama.cpp splits a prompt differently") for p in check.problems
    )


def test_quant_that_loses_tool_calls_fails_by_name(compose_cfg, tmp_path):
    from dnd_ft.core.metrics import Metrics
    from dnd_ft.export.gguf_export import _f1_drops

    class Ctx:
        cfg = compose_cfg("export.gguf=[f16,q4_k_m]", "export.max_f1_drop=0.05")
        metrics = Metrics(tmp_path / "metrics.json")

    metrics = {"export/f16/eval/tool_name_f1": 0.80, "export/q4_k_m/eval/tool_name_f1": 0.70}
    (problem,) = _f1_drops(Ctx(), ["f16", "q4_k_m"], metrics)
    assert problem.startswith("q4_k_m: tool_name_f1 0.700 is 0.100 below f16 (0.800)")
    assert "export.max_f1_drop=0.05" in problem
    metrics["export/q4_k_m/eval/tool_name_f1"] = 0.78
    assert _f1_drops(Ctx(), ["f16", "q4_k_m"], metrics) == []
    # without an f16, the HF model's eval of this run is the reference
    Ctx.metrics.update({"eval/tool_name_f1": 0.9})
    (problem,) = _f1_drops(Ctx(), ["q4_k_m"], metrics)
    assert "below the HF model (0.900)" in problem


def test_gguf_config_problems_name_the_key(compose_cfg, monkeypatch):
    cfg = compose_cfg("stages=[data,train,export]", "export.gguf=[f16,q4_km]",
                      "export.merged=false")  # fmt: skip
    with pytest.raises(ConfigError) as info:
        validate(cfg)
    problems = info.value.problems
    assert any(p.startswith("export.gguf[1]: unknown GGUF type 'q4_km'") for p in problems)
    assert any(
        p.startswith("export.gguf: GGUF files are converted from the merged") for p in problems
    )
    # k-quants need llama.cpp's quantizer: said at startup, not after training
    monkeypatch.setattr("dnd_ft.export.config.have_llama_cpp", lambda: False)
    cfg = compose_cfg("stages=[data,train,export]", "export=gguf_q4_k_m")
    with pytest.raises(ConfigError, match=r"export.gguf\[1\]: q4_k_m is written by llama.cpp's "):
        validate(cfg)
    validate(compose_cfg("stages=[data,train,export]", "export.gguf=[f16,q8_0]"))


def test_converter_failure_is_a_stage_error_naming_the_folder(tmp_path, compose_cfg):
    cfg = compose_cfg()
    broken = tmp_path / "not-a-model"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"architectures": ["NoSuchModel"]}))
    with pytest.raises(StageError, match=r"llama.cpp's converter failed on .*not-a-model \(f16\)"):
        gguf_mod.convert(broken, tmp_path / "x.gguf", "f16", cfg.paths.cache_dir)
    assert not (tmp_path / "x.gguf").exists() and not (tmp_path / ".tmp-x.gguf").exists()


def test_export_configs_compose(compose_cfg):
    for choice, wanted in (("gguf_q4_k_m", ["f16", "q4_k_m"]), ("gguf_all", None)):
        cfg = compose_cfg(f"export={choice}")
        gguf = OmegaConf.to_container(cfg.export.gguf)
        assert gguf == wanted or (wanted is None and {"f16", "q8_0", "q4_k_m"} <= set(gguf))
        assert all(q in gguf_mod.GGUF_TYPES for q in gguf)
