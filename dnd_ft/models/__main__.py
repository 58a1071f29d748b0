"""Prepare models ahead of a run and show where they are.

    python -m dnd_ft.models build tiny_qwen3 tiny_gemma3 smollm2_135m gemma3_270m_offline   # build/convert, time it
    python -m dnd_ft.models path tiny_qwen3                              # print the folder

NAME is a file of configs/model/. The cache is $DND_FT_CACHE (default ~/.cache/dnd-ft), as in
configs/paths/default.yaml; --cache overrides it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from dnd_ft.errors import DndFtError
from dnd_ft.models.config import model_config


def main(argv: list[str] | None = None) -> int:
    from dnd_ft.assets import cache_dir

    parser = argparse.ArgumentParser(
        prog="python -m dnd_ft.models", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["build", "path"])
    parser.add_argument("names", nargs="+", metavar="NAME")
    parser.add_argument(
        "--cache", type=Path, default=None, help="cache folder (default: $DND_FT_CACHE)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.command == "build" else logging.WARNING, format="%(message)s"
    )
    cache = args.cache or cache_dir()
    from dnd_ft.models import load_model, load_tokenizer, resolve_model_dir

    try:
        for name in args.names:
            cfg = model_config(name)
            start = time.perf_counter()
            folder = resolve_model_dir(cfg, cache)
            if args.command == "path":
                sys.stdout.write(f"{folder}\n")
                continue
            ready = time.perf_counter() - start
            start = time.perf_counter()
            load_tokenizer(cfg, cache)
            load_model(cfg, cache)
            loaded = time.perf_counter() - start
            sys.stdout.write(
                f"{name}: {folder} (ready in {ready:.1f} s, loads in {loaded:.1f} s)\n"
            )
    except DndFtError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
