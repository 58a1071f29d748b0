"""The export stage: the merged model reloads as a plain model that behaves like base +
adapter, trained control-token rows included, with what converters need beside it."""

from __future__ import annotations

import json

import pytest

from dnd_ft.errors import StageError
from dnd_ft.pipeline import runner
from tests.training.train_helpers import run_cli


def test_lora_adapter_merges_into_a_model_that_matches_base_plus_adapter(
    qwen_smoke_run, compose_cfg, tmp_path
):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dnd_ft.models import control_token_ids, load_model, load_tokenizer

    adapter = qwen_smoke_run / "adapter"
    cfg = compose_cfg("model=tiny_qwen3", "stages=[export]", f"export.adapter_dir={adapter}")
    metrics = runner.run_pipeline(cfg).values
    out = tmp_path / "run" / "export" / "merged"
    assert {"model.safetensors", "config.json", "tokenizer.json", "chat_template.jinja"} <= {
        p.name for p in out.iterdir()
    }
    assert metrics["export/merged_max_logit_diff"] < 1e-3
    assert metrics["export/merged_reload_exact"] == 1
    assert metrics["export/merged_bytes"] == sum(p.stat().st_size for p in out.iterdir())
    manifest = json.loads((out.parent / "manifest.json").read_text())
    assert manifest["adapter_dir"] == str(adapter) and manifest["merged"]["dtype"] == "float32"
    assert set(manifest["merged"]["files"]) == {p.name for p in out.iterdir()}

    tok = load_tokenizer(cfg.model, cfg.paths.cache_dir)
    assert AutoTokenizer.from_pretrained(str(out)).chat_template == tok.chat_template
    merged = AutoModelForCausalLM.from_pretrained(str(out))
    base = load_model(cfg.model, cfg.paths.cache_dir)
    rows = control_token_ids(tok, "hermes")
    trained = merged.get_input_embeddings().weight[rows]
    assert not torch.allclose(trained, base.get_input_embeddings().weight[rows])  # rows merged
    adapted = PeftModel.from_pretrained(base, str(adapter)).eval()
    ids = tok.apply_chat_template([{"role": "user", "content": "I attack the goblin!"}],
                                  add_generation_prompt=True, return_tensors="pt")  # fmt: skip
    ids = ids["input_ids"] if hasattr(ids, "keys") else ids
    with torch.no_grad():
        a = merged.generate(ids, max_new_tokens=8, do_sample=False)
        b = adapted.generate(input_ids=ids, max_new_tokens=8, do_sample=False)
    assert torch.equal(a, b)


def test_export_without_an_adapter_or_model_says_what_to_do(compose_cfg, tmp_path):
    with pytest.raises(
        StageError, match=r"export: nothing to export in .*stages=\[data,train,export\]"
    ):
        runner.run_pipeline(compose_cfg("stages=[export]"))


def test_full_fine_tune_of_gemma_exports_with_its_sentencepiece_model(tmp_path):
    run = tmp_path / "run"
    proc = run_cli(
        "debug=smoke", "model=tiny_gemma3", "trainer.method=full", "trainer.max_steps=2",
        "stages=[data,train,export]", f"hydra.run.dir={run}", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    # library chatter (deprecation warnings, weight-loading bars) goes to the log, not the screen
    assert "Warning" not in proc.stderr and "Loading weights" not in proc.stderr
    assert "stage export: done" in (run / "dnd_ft.log").read_text()
    out = run / "export" / "merged"
    assert (out / "tokenizer.model").is_file()  # llama.cpp and Cactus read Gemma's from here
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["export/merged_reload_exact"] == 1
    assert "export/merged_max_logit_diff" not in metrics  # nothing was merged
    assert json.loads((out.parent / "manifest.json").read_text())["full_model_dir"] == str(
        run / "merged"
    )
