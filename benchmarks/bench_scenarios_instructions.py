"""Benchmark: CPU instructions per scenario file linted, a figure a shared host cannot move.

    python benchmarks/bench_scenarios_instructions.py [--files 294]

Wall-clock throughput (bench_scenarios.py) swings by a third on a busy virtual machine;
instruction counts do not. This runs a child under valgrind's callgrind twice, once parsing
``--files`` warm-up files only and once parsing as many more, and prints the difference per
file: the cost of parsing and linting one scenario, imports and warm-up left out. The files
are bench_scenarios.py's realistic ones (varied copies of the real corpus); the default, six
times the real corpus's 49 files, holds each real file equally often in both halves. Needs
valgrind (``apt-get install -y valgrind``); a few minutes for 294 files.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def child(files: int, measured: bool) -> None:
    """Parse ``files`` realistic scenarios, then ``files`` more when ``measured``."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_scenarios import realistic_corpus

    from dnd_ft.scenarios.frontmatter import DEFAULT_CATEGORIES
    from dnd_ft.scenarios.parser import parse_source
    from dnd_ft.tools.registry import ToolRegistry

    texts = [text for _, text in realistic_corpus(2 * files)]  # the same in both runs
    registry, path = ToolRegistry.default(), Path("bench.md")
    for text in texts[: files * (2 if measured else 1)]:
        parsed = parse_source(text, path, registry, DEFAULT_CATEGORIES)
        if parsed.problems:
            raise SystemExit(f"a benchmark file has problems: {parsed.problems[0]}")


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
    parser.add_argument("--files", type=int, default=294)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--measured", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, bool(args.measured))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install -y valgrind")
    base, total = instructions(args.files, False), instructions(args.files, True)
    print(f"files             {args.files}")
    print(f"instructions/file {(total - base) / args.files / 1e6:.2f} M")


if __name__ == "__main__":
    main()
