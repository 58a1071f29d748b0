"""Run a Cactus bundle for real: full ``cactus convert`` and one tool-calling DM turn on ARM64.

    sudo .venv/bin/python scripts/cactus_arm64.py outputs/<run> [--out result.json] [--bits 4]
    sudo .venv/bin/python scripts/cactus_arm64.py outputs/<run>/export/merged --rootfs DIR
    sudo .venv/bin/python scripts/cactus_arm64.py --prepare-only     # build the rootfs, stop

Cactus's kernels are ARM64 only, and its graph step (the Generator of a full conversion)
calls them too, so on x86 the export stage writes only ``--weights-only`` bundles. This
script (run by hand; CI does not) closes the gap on an x86 Linux box with qemu-user-static
and binfmt_misc, or natively on ARM64 Linux:

1. Once, in ``--rootfs`` (default ``~/.cache/dnd-ft/arm64-rootfs``, reused later): an arm64
   Debian bookworm made by ``debootstrap --foreign`` and finished inside a chroot through
   qemu-aarch64-static, then ``/opt/cactus``, a venv holding cactus-compute's aarch64 wheel
   (``--no-deps``: its torchvision requirement would pull another torch) and what its full
   conversion and its bindings import (`CONVERT_DEPS`). Natively on ARM64 the folder holds
   only that venv, made with the host's Python. pip goes through the host's CA bundle
   (copied in), as a TLS-intercepting proxy needs.
2. The merged model (``<run>/export/merged`` or ``<run>/merged``) goes through the full
   ``cactus convert <merged> <bundle> --bits N --task auto`` on ARM64 (why ``--task auto``:
   `CONVERT_FLAGS`); the bundle is loaded with
   Cactus's Python bindings and completes the first DM turn of the run's held-out data
   (``<run>/data/test.jsonl``) whose gold answer calls a tool, with the tool registry's
   schemas and the completion options of the export's ``dnd_ft_bundle.json`` (or, for a run
   without a Cactus export, the same ones computed the way the export stage computes them).
3. On the host, the same merged model generates that turn greedily with transformers and our
   renderer (what the eval stage does); the call names are compared (reported, not required:
   the bundle is 4-bit).

The check passes when Cactus returns at least one call in ``function_calls``, every one named
after an offered tool with a dict of arguments. The result JSON (``--out``, default
``<rootfs>/work/<model>/result.json``) holds versions, arch, bits, timings, the raw text,
tokens/s, the calls, Cactus's rendered prompt beside ours, and pass/fail with the reason.
Needs root on x86 (debootstrap, chroot, mounts) and about 1.4 GB of disk. Measured figures:
docs/export.md (Cactus).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

CACTUS_VERSION = "2.2.2"
SUITE, MIRROR = "bookworm", "http://deb.debian.org/debian"
DEBS = ["python3", "python3-venv", "python3-pip", "ca-certificates", "libstdc++6"]
VENV = "/opt/cactus"  # inside the rootfs
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
GUEST_CA = "/usr/local/share/dnd-ft/host-ca.crt"
# What cactus-compute 2.2.2's full conversion and its bindings import, as wheels (no builds
# under emulation). torch 2.8.0, PyPI's aarch64 wheel (CPU only, 2.11 and later require CUDA
# 13 on aarch64): from 2.9 on, torch.export traces a full slice such as
# transformers' `hidden_states[:, slice(0, None), :]` as aten.alias, which Cactus's Generator
# has no lowering for ("no lowering rule for aten.alias.default"); 2.8 traces aten.slice.
# transformers is pinned by cactus's `convert` extra; the rest are the ranges it asks for.
CONVERT_DEPS = [
    "torch==2.8.0",
    "transformers==5.5.4",
    "numpy>=1.26,<3",
    "scipy>=1.13",
    "sentencepiece>=0.2.0",
    "protobuf>=4.25,<7",
    "pydantic>=2",
    "huggingface-hub>=1.5,<2",
    "safetensors",
]
CACTUS_WHEEL = f"cactus-compute=={CACTUS_VERSION}"
# How the graph is built. A local model gets Cactus's generic transpiler by default, which
# fails on both our families: its default cache style exports one full-context graph of 128
# tokens ("context exceeds graph-bundle full-context capacity" on a ~1,800-token DM prompt);
# with --cache-style dynamic-kv it converts Qwen3 but the runtime segfaults in the KV update
# of a sliding-window layer; and it cannot bind Gemma 3's embed_scale buffer ("could not
# resolve converted weight for ... embed_scale"). --task auto takes Cactus's graph-capture
# path with per-family adapters (Gemma 3's among them, sliding windows kept): both run.
CONVERT_FLAGS = ["--task", "auto"]
NICE = ["nice", "-n", "19"]  # everything heavy yields to the box's other work
NATIVE = platform.machine() in ("aarch64", "arm64")

# Runs inside the ARM64 venv: load the bundle, render the prompt, complete one turn.
GUEST_PROGRAM = """\
import json, platform, sys, time
import cactus
from cactus.bindings import cactus as cb
req = json.load(open(sys.argv[1]))
out = {"cactus_version": cactus.__version__, "arch": platform.machine()}
start = time.perf_counter()
model = cb.cactus_init(req["bundle"], None, False)
out["load_seconds"] = time.perf_counter() - start
try:
    out["rendered_prompt"] = cb.cactus_render_prompt(model, req["messages"], req["options"], req["tools"])
except Exception as exc:
    out["rendered_prompt_error"] = repr(exc)
start = time.perf_counter()
try:
    out["result"] = cb.cactus_complete(model, req["messages"], req["options"], req["tools"], None)
except Exception as exc:
    out["error"] = repr(exc)
out["seconds"] = time.perf_counter() - start
cb.cactus_destroy(model)
json.dump(out, open(sys.argv[2], "w"), indent=2)
"""


class Arm64:
    """Runs commands on ARM64: in the rootfs through chroot (x86) or directly (native)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def host(self, guest: str) -> Path:
        """Where the rootfs path ``guest`` (such as `VENV`) lies on this machine."""
        return self.root / guest.lstrip("/")

    def guest(self, host: Path) -> str:
        """The path ``host`` (inside the rootfs) has for the ARM64 side."""
        return str(host) if NATIVE else "/" + str(host.resolve().relative_to(self.root.resolve()))

    def run(self, argv: Sequence[str], *, log: Path | None = None) -> float:
        """Run ``argv`` (guest paths; ``python`` means the venv's) niced; seconds taken.
        Its output goes to ``log`` (and the error names it) or to this terminal."""
        argv = [f"{VENV}/bin/python" if a == "python" else a for a in argv]
        env = {
            "HF_HUB_OFFLINE": "1",  # local folders only
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "CACTUS_NO_CLOUD_TELE": "1",  # Cactus's cloud telemetry off
            "CACTUS_DISABLE_CLOUD_HANDOFF": "1",  # and its cloud handoff (auto_handoff too)
        }
        if NATIVE:  # the user's own environment (proxy, certificates), the venv by its path
            env = {**os.environ, **env}
            cmd = [*NICE, *(str(self.host(a)) if a.startswith(VENV) else a for a in argv)]
        else:  # a clean one: nothing of the host's leaks into the rootfs
            env.update(PATH=f"{VENV}/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                       HOME="/root", LANG="C.UTF-8", PIP_DISABLE_PIP_VERSION_CHECK="1",
                       PIP_CERT=GUEST_CA, SSL_CERT_FILE=GUEST_CA, REQUESTS_CA_BUNDLE=GUEST_CA)  # fmt: skip
            cmd = [*NICE, "chroot", str(self.root), *argv]
        start = time.perf_counter()
        with open(log, "w") if log else contextlib.nullcontext() as out:
            done = subprocess.run(
                cmd, env=env, stdout=out, stderr=subprocess.STDOUT if log else None
            )
        if done.returncode:
            raise Arm64Error(done.returncode, cmd, log)
        return time.perf_counter() - start


class Arm64Error(SystemExit):
    """An ARM64 command failed: its exit code (negative: the signal that ended it)."""

    def __init__(self, code: int, cmd: Sequence[str], log: Path | None) -> None:
        self.code = code
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        where = f"; its output: {log}\n{tail(log)}" if log else ""
        super().__init__(f"cactus_arm64: {' '.join(cmd)} ended with {how}{where}")


def tail(path: Path, lines: int = 8) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def sh(cmd: Sequence[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def check_host() -> None:
    if NATIVE:
        return
    if os.geteuid() != 0:
        raise SystemExit("cactus_arm64: debootstrap, chroot and mount need root; rerun with sudo")
    for tool in ("debootstrap", "qemu-aarch64-static", "chroot"):
        if not shutil.which(tool):
            raise SystemExit(f"cactus_arm64: {tool} not found: apt-get install debootstrap "
                             "qemu-user-static binfmt-support")  # fmt: skip
    entry = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
    if not entry.is_file() or "enabled" not in entry.read_text():
        raise SystemExit(
            "cactus_arm64: binfmt_misc does not run aarch64 binaries through qemu; enable it:\n"
            "  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc\n"
            "  update-binfmts --enable qemu-aarch64"
        )


@contextlib.contextmanager
def mounted(root: Path) -> Iterator[None]:
    """/proc and /sys (read-only) inside the rootfs while it is used, unmounted after whatever
    happens, and the host's resolv.conf. The rootfs has device nodes of its own: the host's
    /dev stays out."""
    if NATIVE:
        yield
        return
    resolv = root / "etc" / "resolv.conf"
    if resolv.is_symlink():
        resolv.unlink()
    shutil.copy2("/etc/resolv.conf", resolv)
    done = []
    try:
        for fstype, folder, options in (("proc", "proc", "rw"), ("sysfs", "sys", "ro")):
            path = root / folder
            if path.is_symlink():  # debootstrap links /proc to the host's in a container
                path.unlink()
            path.mkdir(exist_ok=True)
            if not os.path.ismount(path):
                subprocess.run(
                    ["mount", "-t", fstype, "-o", options, fstype, str(path)], check=True
                )
                done.append(path)
        yield
    finally:
        for path in reversed(done):
            if os.path.ismount(path) and subprocess.run(["umount", str(path)]).returncode:
                subprocess.run(["umount", "-l", str(path)])


def ensure_rootfs(root: Path) -> None:
    """The arm64 Debian in ``root``: made in ``<root>.partial`` and renamed when complete."""
    if NATIVE or (root / ".dnd_ft_rootfs").is_file():
        return
    if root.exists():
        raise SystemExit(f"cactus_arm64: {root} exists but is not a finished rootfs; remove it")
    partial = root.with_name(root.name + ".partial")
    if partial.exists():
        mounts = Path("/proc/mounts").read_text().splitlines()
        if any(line.split()[1].startswith(str(partial)) for line in mounts):
            raise SystemExit(f"cactus_arm64: something is mounted under {partial}; unmount it")
        shutil.rmtree(partial)
    partial.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    sh([*NICE, "debootstrap", "--arch=arm64", "--variant=minbase", "--foreign",
        f"--include={','.join(DEBS)}", SUITE, str(partial), MIRROR])  # fmt: skip
    shutil.copy2(str(shutil.which("qemu-aarch64-static")), partial / "usr/bin/qemu-aarch64-static")
    # In a container the first stage links <rootfs>/proc to the host's /proc: a mount there
    # would land on the host's. The second stage makes it a folder and mounts /proc itself.
    if (partial / "proc").is_symlink():
        (partial / "proc").unlink()
        (partial / "proc").mkdir()
    sh([*NICE, "chroot", str(partial), "/debootstrap/debootstrap", "--second-stage"])
    (partial / GUEST_CA.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
    (partial / ".dnd_ft_rootfs").write_text(f"{SUITE} arm64, {time.perf_counter() - start:.0f}s\n")
    partial.rename(root)


def ensure_venv(arm: Arm64) -> None:
    """``/opt/cactus``: cactus-compute (no deps) and `CONVERT_DEPS`; redone when they change."""
    marker = arm.host(VENV) / "dnd_ft_specs.json"
    specs = [*CONVERT_DEPS, CACTUS_WHEEL]
    if marker.is_file() and json.loads(marker.read_text()) == specs:
        return
    if not NATIVE:
        shutil.copy2(HOST_CA, arm.host(GUEST_CA))
    logs = arm.root / "work"
    logs.mkdir(parents=True, exist_ok=True)
    venv_python = "/usr/bin/python3" if not NATIVE else sys._base_executable
    print(f"cactus_arm64: installing {' '.join(specs)} into {arm.host(VENV)} (minutes)")
    pip = ["python", "-m", "pip", "install", "--no-cache-dir", "--no-compile",
           "--only-binary=:all:"]  # fmt: skip
    seconds = arm.run([venv_python, "-m", "venv", "--clear", VENV], log=logs / "venv.log")
    seconds += arm.run([*pip, *CONVERT_DEPS], log=logs / "pip_deps.log")
    seconds += arm.run([*pip, "--no-deps", CACTUS_WHEEL], log=logs / "pip_cactus.log")
    print(f"cactus_arm64: venv ready in {seconds:.0f}s")
    marker.write_text(json.dumps(specs) + "\n")


# --- the host side: which model, which turn, what the HF model says ---------------------------


def locate(path: Path) -> tuple[Path, Path]:
    """(merged model folder, run folder) from either of them."""
    path = path.resolve()
    if (path / "config.json").is_file():
        merged = path
        run = next((p for p in merged.parents if (p / "data" / "test.jsonl").is_file()), None)
    else:
        run = path
        merged = next((m for m in (path / "export" / "merged", path / "merged")
                       if (m / "config.json").is_file()), None)  # fmt: skip
        if merged is None:
            raise SystemExit(f"cactus_arm64: {path} has no export/merged/ or merged/ model")
    if run is None or not (run / "data" / "test.jsonl").is_file():
        raise SystemExit(f"cactus_arm64: no data/test.jsonl in the run above {merged}")
    return merged, run


def bundle_settings(run: Path) -> tuple[list[dict], dict[str, Any], str, Any]:
    """(tool schemas, completion options, where they came from, the run's config)."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(run / "config.yaml")
    manifests = sorted((run / "export" / "cactus").glob("*/dnd_ft_bundle.json"))
    if manifests:
        manifest = json.loads(manifests[-1].read_text(encoding="utf-8"))
        return manifest["tools"], manifest["completion_options"], str(manifests[-1]), cfg
    from dnd_ft.export.cactus import completion_options
    from dnd_ft.tools.registry import ToolRegistry

    tools = ToolRegistry.from_config(cfg.tools).schemas()
    from dnd_ft.chat.formats import get_format

    stops = list(get_format(str(cfg.model.chat_format)).stop_strings)
    options = completion_options(len(tools), int(cfg.eval.max_new_tokens), stops)
    return tools, options, "computed as the export stage does (no export/cactus/ in the run)", cfg


def pick_turn(run: Path) -> tuple[dict[str, Any], int]:
    """The first held-out DM turn whose gold answer calls a tool: (row, message index)."""
    from dnd_ft.data.rows import load_split
    from dnd_ft.evaluation.generate import dm_turns

    for row in load_split(run / "data", "test"):
        for i in dm_turns(row["messages"]):
            if row["messages"][i].get("tool_calls"):
                return row, i
    raise SystemExit(f"cactus_arm64: no DM turn with a tool call in {run}/data/test.jsonl")


def cactus_messages(messages: Sequence[dict[str, Any]], fmt: Any) -> list[dict[str, Any]]:
    """Our chat rows as Cactus messages: ``Name: text`` user turns (as we train), earlier calls
    written in the model's own call syntax, tool results as ``{"name", "content"}`` JSON (the
    form Cactus's README gives)."""
    from dnd_ft.chat import functiongemma, hermes
    from dnd_ft.chat.base import tool_calls_of

    format_call = {"hermes": hermes.format_call, "functiongemma": functiongemma.format_call}
    out = []
    for m in messages:
        role, text = m["role"], fmt.user_text(m)
        if role == "assistant" and m.get("tool_calls"):
            calls = "".join(format_call[fmt.name](n, a) for n, a in tool_calls_of(m))
            text = f"{text}\n{calls}" if text else calls
        elif role == "tool":
            text = json.dumps({"name": m.get("name"), "content": m.get("content")})
        out.append({"role": role, "content": text})
    return out


def hf_greedy(merged: Path, run: Path, messages: list, tools: list, max_new_tokens: int) -> dict:
    """The merged model's greedy answer to ``messages`` (the history before the DM turn) with
    ``tools`` offered, by transformers and our renderer, as the eval stage generates."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dnd_ft.chat.formats import load_format
    from dnd_ft.evaluation.generate import generate_texts
    from dnd_ft.evaluation.toolcalls import as_call

    tokenizer = AutoTokenizer.from_pretrained(merged)
    model = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32)
    fmt = load_format(run / "data", tokenizer)
    prompt = fmt.render_prompt(messages, tools)
    start = time.perf_counter()
    gen = generate_texts(model, tokenizer, [prompt], max_new_tokens=max_new_tokens,
                         stop_strings=fmt.stop_strings)[0]  # fmt: skip
    seconds = time.perf_counter() - start
    parsed = fmt.parse_assistant(gen.text)
    return {
        "prompt": prompt,
        "raw": gen.text,
        "tool_calls": [as_call(c, strict=False) for c in parsed.tool_calls],
        "new_tokens": gen.new_tokens,
        "tokens_per_second": gen.new_tokens / max(seconds, 1e-9),
        "format": fmt,
    }


def judge(reply: dict[str, Any], offered: set[str], malformed: Sequence[str]) -> tuple[bool, str]:
    """Did Cactus hand back at least one well-formed call to an offered tool? ``malformed``:
    the broken calls our parser finds in its text (to say why none came back)."""
    if "error" in reply:
        return False, f"the completion failed: {reply['error']}"
    result = reply.get("result") or {}
    if not result.get("success", False):
        return False, f"Cactus reported failure: {result.get('error')}"
    calls = result.get("function_calls") or []
    if not calls and malformed:
        return False, f"no call in function_calls: the model wrote a broken one {malformed[0]!r}"
    if not calls:
        return False, f"no call in function_calls; the text was {result.get('response')!r}"
    for call in calls:
        name, args = call.get("name"), call.get("arguments")
        if name not in offered:
            return False, f"function_calls names {name!r}, not an offered tool"
        if not isinstance(args, dict):
            return False, f"the arguments of {name} are a {type(args).__name__}, not a dict"
    return True, f"{len(calls)} call(s) parsed: {', '.join(c['name'] for c in calls)}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", type=Path, nargs="?", help="a run folder or its merged model folder")
    ap.add_argument("--rootfs", type=Path, default=Path.home() / ".cache/dnd-ft/arm64-rootfs")
    ap.add_argument(
        "--out", type=Path, help="result JSON (default <rootfs>/work/<model>/result.json)"
    )
    ap.add_argument("--bits", type=int, default=4, choices=(1, 2, 3, 4))
    ap.add_argument("--prepare-only", action="store_true", help="build the rootfs and venv, stop")
    args = ap.parse_args()
    if args.model is None and not args.prepare_only:
        ap.error("give a run folder or a merged model folder (or --prepare-only)")

    check_host()
    root = args.rootfs.expanduser().resolve()
    ensure_rootfs(root)
    arm = Arm64(root)
    with mounted(root):
        ensure_venv(arm)
        if args.prepare_only:
            return
        result = check_model(arm, *locate(args.model), args.bits)
    out = args.out or root / "work" / result["model"] / "result.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print_summary(result, out)
    if not result["passed"]:
        sys.exit(1)


def check_model(arm: Arm64, merged: Path, run: Path, bits: int) -> dict[str, Any]:
    """Convert ``merged`` on ARM64, complete one held-out DM turn with it, judge the reply."""
    tools, options, source, cfg = bundle_settings(run)
    row, turn = pick_turn(run)
    name = f"{cfg.model.name}-cq{bits}"
    work = arm.root / "work" / name
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copytree(merged, work / "merged")
    bundle = work / "bundle"
    convert = ["cactus", "convert", arm.guest(work / "merged"), arm.guest(bundle),
               "--bits", str(bits), *CONVERT_FLAGS]  # fmt: skip
    hf = hf_greedy(merged, run, row["messages"][:turn], tools, int(options["max_tokens"]))
    fmt = hf.pop("format")
    request = {"bundle": arm.guest(bundle), "tools": tools, "options": options,
               "messages": cactus_messages(row["messages"][:turn], fmt)}  # fmt: skip
    (work / "request.json").write_text(json.dumps(request, indent=2), encoding="utf-8")
    (work / "infer.py").write_text(GUEST_PROGRAM, encoding="utf-8")
    convert_s = infer_s = 0.0
    try:  # a failed conversion or a crash of the runtime is a result too
        print(f"cactus_arm64: {' '.join(convert)} on ARM64 (minutes)")
        convert_s = arm.run(["python", "-m", *convert], log=work / "convert.log")
        print("cactus_arm64: loading the bundle and completing one DM turn on ARM64")
        infer_s = arm.run(["python", arm.guest(work / "infer.py"), arm.guest(work / "request.json"),
                           arm.guest(work / "reply.json")], log=work / "infer.log")  # fmt: skip
        reply = json.loads((work / "reply.json").read_text(encoding="utf-8"))
    except Arm64Error as exc:
        reply = {"error": str(exc)}
    res = reply.get("result") or {}
    calls = res.get("function_calls") or []
    ours = fmt.parse_assistant(res.get("context_response") or res.get("response") or "")
    passed, reason = judge(reply, {t["function"]["name"] for t in tools}, ours.malformed)
    hf_names = [c["name"] for c in hf["tool_calls"]]
    return {
        "model": name,
        "merged": str(merged),
        "cactus_version": reply.get("cactus_version", CACTUS_VERSION),  # (as installed)
        "arch": reply.get("arch", platform.machine() if NATIVE else "aarch64"),
        "emulated": not NATIVE,
        "bits": bits,
        "convert_command": " ".join(convert),
        "bundle": str(bundle),
        "bundle_bytes": sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file()),
        "convert_seconds": round(convert_s, 1),
        "load_seconds": round(reply.get("load_seconds", 0.0), 2),
        "inference_seconds": round(reply.get("seconds", 0.0), 2),
        "inference_process_seconds": round(infer_s, 1),
        "example": row["id"],
        "turn": turn,
        "gold_calls": [c["function"]["name"] for c in row["messages"][turn]["tool_calls"]],
        "options": options,
        "options_source": source,
        "tools_offered": [t["function"]["name"] for t in tools],
        "function_calls": calls,
        "raw_text": res.get("response"),
        "context_response": res.get("context_response"),
        "context_response_parsed_by_our_format": {
            "tool_calls": list(ours.tool_calls),
            "malformed": list(ours.malformed),
        },
        "decode_tokens": res.get("decode_tokens"),
        "prefill_tokens": res.get("prefill_tokens"),
        "decode_tps": res.get("decode_tps"),
        "prefill_tps": res.get("prefill_tps"),
        "time_to_first_token_ms": res.get("time_to_first_token_ms"),
        "cactus_result": res,
        "cactus_error": reply.get("error"),
        "hf_greedy": {k: hf[k] for k in ("raw", "tool_calls", "new_tokens", "tokens_per_second")},
        "first_call_agrees_with_hf": (
            calls[0].get("name") == hf_names[0] if calls and hf_names else None
        ),
        "cactus_prompt_equals_ours": reply.get("rendered_prompt") == hf["prompt"],
        "cactus_prompt": reply.get("rendered_prompt", reply.get("rendered_prompt_error")),
        "our_prompt": hf["prompt"],
        "passed": passed,
        "reason": reason,
    }


def print_summary(r: dict[str, Any], out: Path) -> None:
    calls = ", ".join(f"{c.get('name')}({json.dumps(c.get('arguments'))})"
                      for c in r["function_calls"]) or "none"  # fmt: skip
    hf = ", ".join(c["name"] for c in r["hf_greedy"]["tool_calls"]) or "none"
    print(f"""
{r["model"]}: cactus {r["cactus_version"]} on {r["arch"]}{" (qemu-user)" if r["emulated"] else ""}, {r["bits"]}-bit
  convert {r["convert_seconds"]}s, load {r["load_seconds"]}s, completion {r["inference_seconds"]}s \
({r["decode_tokens"]} tokens, {r["decode_tps"]} tokens/s decode)
  calls: {calls}   HF greedy: {hf}   gold: {", ".join(r["gold_calls"])}
  {"PASS" if r["passed"] else "FAIL"}: {r["reason"]}
  result: {out}""")


if __name__ == "__main__":
    main()
