"""Benchmark: CPU instructions per scenario file linted, a figure a shared host cannot move.

    python benchmarks/bench_scenarios_instructions.py [--files 300]

Wall-clock throughput (bench_scenarios.py) swings by a third on a busy virtual machine;
instruction counts do not. This runs a child under valgrind's callgrind twice, once parsing
``--files`` warm-up files only and once parsing as many more, and prints the difference per
file: the cost of parsing and linting one generated scenario, imports and warm-up left out.
Needs valgrind (``apt install valgrind``); about a minute for 300 files.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def child(files: int, measured: bool) -> None:
    """Parse ``files`` generated scenarios, then ``files`` more when ``measured``."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_scenarios import scenario

    from dnd_ft.scenarios.frontmatter import DEFAULT_CATEGORIES
    from dnd_ft.scenarios.parser import parse_source
    from dnd_ft.tools.registry import ToolRegistry

    rng = random.Random(0)
    texts = [scenario(i, rng) for i in range(2 * files)]
    registry, path = ToolRegistry.default(), Path("bench.md")
    for text in texts[: files * (2 if measured else 1)]:
        parse_source(text, path, registry, DEFAULT_CATEGORIES)


def instructions(files: int, measured: bool) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out",
            sys.executable, __file__, "--child", str(files), "--measured", str(int(measured)),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONHASHSEED": "0"}  # same dict layouts in every run
        log = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    match = re.search(r"Collected : (\d+)", log.stderr)
    if match is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{log.stderr[-2000:]}")
    return int(match[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--measured", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, bool(args.measured))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt install valgrind")
    base, total = instructions(args.files, False), instructions(args.files, True)
    print(f"files             {args.files}")
    print(f"instructions/file {(total - base) / args.files / 1e6:.2f} M")


if __name__ == "__main__":
    main()
