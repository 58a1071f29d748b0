"""Cactus bundles for phone apps: ``cactus convert`` on the merged model, checked, with our
manifest and app snippets beside it.

Cactus (``cactus-compute`` on PyPI) runs its own bundle format, not GGUF: ``config.txt``, the
tokenizer files and one ``*.weights`` file per tensor, quantized in groups of 128. Its
package requires torchvision (which would replace the CPU torch) and, for conversion, scipy:
so, like llama.cpp's converter, it is unpacked with ``pip install --no-deps --target`` into
``<cache>/tools/cactus-compute-<version>`` (scipy beside it, also without dependencies) and
run as a subprocess with that folder on ``PYTHONPATH``. Its inference kernels are ARM64 only:
on x86 the weights step (``--weights-only``) runs, and that is what is built and checked here
(files, headers, config); running the bundle needs an ARM64 device (docs/export.md).

Cactus formats tools itself, Qwen as Hermes ``<tool_call>`` JSON and Gemma 3 in the
FunctionGemma style, so a model must have been trained in that format for its calls to parse
on the phone: `compatibility` refuses anything else, by name, before training and before
export.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from dnd_ft.errors import StageError
from dnd_ft.export.isolated import ensure_tool, run_tool, tail, tool_dir

log = logging.getLogger(__name__)

CACTUS = "cactus-compute"
CACTUS_VERSION = "2.2.2"
SCIPY = "scipy>=1.13"  # cactus's converter imports scipy.linalg (its `convert` extra)
GROUP = 128  # Cactus quantizes weights in groups of this many columns
BITS = (1, 2, 3, 4)
# model_type of config.json -> the chat format Cactus renders and parses for it
FORMATS = {"qwen3": "hermes", "gemma3_text": "functiongemma", "gemma3": "functiongemma"}
HEADER = b"CACT"  # first bytes of every .weights file


def compatibility(
    *, family: str, name: str, chat_format: str, hidden_size: int | None, model_type: str | None
) -> list[str]:
    """Why Cactus cannot run this model with our tool calls (empty: it can)."""
    problems = []
    if "qwen2" in name.lower() or model_type == "qwen2":
        problems.append(
            f"export.cactus: Cactus runs Qwen3, not Qwen2.5 ({name}); pick model=qwen3_0_6b or "
            "another Qwen3, or drop export.cactus"
        )
    elif family not in ("qwen", "gemma") or (model_type and model_type not in FORMATS):
        problems.append(
            f"export.cactus: Cactus runs Qwen3 and Gemma 3 here, not {name} "
            f"(family {family}, model_type {model_type}); drop export.cactus"
        )
    else:
        wanted = FORMATS.get(model_type or "", "hermes" if family == "qwen" else "functiongemma")
        if chat_format != wanted:
            problems.append(
                f"export.cactus: Cactus formats {family} tools as {wanted}, but the model is "
                f"trained with model.chat_format={chat_format}; its calls would not parse on "
                f"the phone. Train with model.chat_format={wanted}"
            )
    if hidden_size is not None and hidden_size % GROUP:
        problems.append(
            f"export.cactus: hidden size {hidden_size} is not a multiple of {GROUP}, Cactus's "
            "quantization group; use a model (or model.tiny.hidden_size) that is"
        )
    return problems


def cactus_dir(cache_dir: str | Path) -> Path:
    return tool_dir(cache_dir, CACTUS, CACTUS_VERSION)


def ensure_cactus(cache_dir: str | Path) -> Path:
    """The unpacked Cactus package (and scipy), installed on first use from the index."""
    return ensure_tool(cactus_dir(cache_dir), [f"{CACTUS}=={CACTUS_VERSION}", SCIPY],
                       "cactus/__main__.py", "export.cactus")  # fmt: skip


def convert(merged_dir: Path, out: Path, bits: int, cache_dir: str | Path) -> str:
    """``cactus convert --weights-only`` of ``merged_dir`` into ``out`` (replaced only when
    complete); returns the converter's summary lines."""
    from dnd_ft.utils.io import atomic_dir

    tool = ensure_cactus(cache_dir)
    # Into a subfolder: cactus deletes an existing output folder that has no config.txt yet.
    with atomic_dir(out) as tmp:
        code, text = run_tool(tool, ["-m", "cactus", "convert", str(merged_dir),
                                     str(tmp / "bundle"), "--bits", str(bits), "--weights-only"])  # fmt: skip
        bundle = tmp / "bundle"
        if code != 0 or not (bundle / "config.txt").is_file():
            raise StageError(f"export.cactus: cactus convert failed on {merged_dir}:\n{tail(text)}")
        for item in bundle.iterdir():
            item.rename(tmp / item.name)
        bundle.rmdir()
    return text


def check_bundle(bundle: Path, model_config: dict[str, Any]) -> list[str]:
    """Problems of a converted bundle: missing files, a weights file without Cactus's
    header, a config that disagrees with the model's."""
    problems = []
    weights = sorted(bundle.glob("*.weights"))
    if not weights:
        problems.append(f"cactus: {bundle} holds no .weights files")
    for path in weights:
        with open(path, "rb") as f:
            if f.read(4) != HEADER:
                problems.append(f"cactus: {path.name} does not start with Cactus's CACT header")
                break
    config = read_config_txt(bundle / "config.txt")
    for key in ("hidden_size", "num_hidden_layers", "vocab_size"):
        if key in model_config and str(model_config[key]) != config.get(key):
            problems.append(
                f"cactus: config.txt says {key}={config.get(key)}, the model {model_config[key]}"
            )
    for name in ("tokenizer.json", "vocab.txt"):
        if not (bundle / name).is_file():
            problems.append(f"cactus: {bundle} has no {name}")
    return problems


def read_config_txt(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def completion_options(
    n_tools: int, max_tokens: int, stop_sequences: list[str] | None = None
) -> dict[str, Any]:
    """Default completion options for offline play (Cactus's option names).

    stop_sequences: the chat format's stop strings. Without them Cactus ran a FunctionGemma
    turn on past its call up to max_tokens (scripts/cactus_arm64.py, under qemu); with them it
    stopped after the call with the text transformers generates."""
    return {
        "temperature": 0.0,
        "max_tokens": max_tokens,
        "stop_sequences": list(stop_sequences or []),
        "auto_handoff": False,  # never hand a turn to a cloud model: the table plays offline
        "force_tools": False,  # the DM decides when to roll; narration turns call nothing
        "tool_rag_top_k": n_tools,  # offer every tool: the registry is small
    }


def app_snippets(bundle_name: str, tools: list[dict[str, Any]], options: dict[str, Any]) -> dict:
    """App configuration templates (file name -> text) that load the bundle with our tools."""
    tools_json = json.dumps(tools, indent=2)
    options_json = json.dumps(options, indent=2)
    react_native = f"""// React Native (cactus-react-native): load the bundle and play with the DM's tools.
import {{ CactusLM }} from 'cactus-react-native';

export const TOOLS = {tools_json};
export const OPTIONS = {options_json};

export async function loadGameMaster(bundleDir: string) {{
  // bundleDir: where the app keeps the `{bundle_name}` folder (copied from export/cactus/)
  return await CactusLM.init({{ model: bundleDir }});
}}

export async function dmTurn(lm: CactusLM, messages: any[]) {{
  // result.function_calls: the DM's tool calls; run them, append role "tool" results, call again
  return await lm.complete(messages, {{ ...OPTIONS, tools: TOOLS }});
}}
"""
    kotlin = f"""// Kotlin (Cactus Android SDK): load the bundle and play with the DM's tools.
// TOOLS_JSON and OPTIONS_JSON are generated from the tool registry (dnd_ft/tools).
const val BUNDLE = "{bundle_name}"
val TOOLS_JSON = \"\"\"{tools_json}\"\"\"
val OPTIONS_JSON = \"\"\"{options_json}\"\"\"
// val model = Cactus.init(File(context.filesDir, BUNDLE).path)
// val result = model.complete(messagesJson, OPTIONS_JSON, TOOLS_JSON)
// result.functionCalls -> run each tool, append a "tool" message, complete again
"""
    return {"react_native.ts": react_native, "android.kt": kotlin}
