"""Render a leaderboard.html to PNG with headless Chromium, as a 1400 px wide window shows it.

    python scripts/screenshot_leaderboard.py outputs/leaderboard/leaderboard.html
    python scripts/screenshot_leaderboard.py outputs/ --out /tmp/board.png   # build, then shoot
    python scripts/screenshot_leaderboard.py --sample /tmp/lb-sample          # a made-up sample

A folder is taken for a folder of runs: the leaderboard is built into <folder>/leaderboard
first. ``--sample DIR`` writes hand-made run folders (two random-init tiny families with
degenerate baselines, two real models, an n/a value and a 0.0037 value) and shoots their
leaderboard. Without Chromium (``apt-get install -y chromium``) the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_browser() -> str | None:
    """The first headless-capable Chromium on PATH, or None."""
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def screenshot(page: Path, out: Path, width: int = 1400, height: int = 2400) -> Path | None:
    """Shoot ``page`` in a ``width`` x ``height`` window; None when no Chromium is installed."""
    browser = find_browser()
    if browser is None:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           f"--screenshot={out.resolve()}", f"--window-size={width},{height}",
           page.resolve().as_uri()]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return out


def _metrics(**values: Any) -> dict[str, Any]:
    base = {"n_turns": 30, "n_gold_calls": 25, "n_malformed_calls": 0, "n_text_turns": 22}
    return base | values


def _silent() -> dict[str, Any]:
    """An untrained random-init model that prints only newlines."""
    return _metrics(
        tool_name_f1=0.0, tool_name_precision=0.0, tool_name_recall=0.0, tool_args_exact=None,
        tool_turn_exact=0.0, irrelevance_acc=1.0, hallucination_rate=None, missing_rate=1.0,
        malformed_rate=0.0, schema_valid_rate=None, exec_rate=None, state_match_rate=0.0,
        rouge_l=0.0, chrf=0.0, in_character_rate=None, invented_roll_rate=0.0,
        length_ok_rate=0.0, context_entity_recall=0.0, grounded_args_rate=None, n_pred_calls=0,
    )  # fmt: skip


SAMPLE: dict[str, tuple[dict[str, str], dict[str, Any], dict[str, Any] | None]] = {
    "tiny_gemma3": (
        {"family": "gemma", "size": "tiny", "source": "tiny"},
        _metrics(
            tool_name_f1=0.167,
            tool_name_precision=0.2,
            tool_name_recall=0.143,
            tool_args_exact=0.0,
            tool_turn_exact=0.0,
            irrelevance_acc=0.6,
            hallucination_rate=0.1,
            missing_rate=0.857,
            malformed_rate=0.233,
            schema_valid_rate=0.55,
            exec_rate=0.5,
            state_match_rate=0.0,
            rouge_l=0.041,
            chrf=0.06,
            in_character_rate=1.0,
            invented_roll_rate=0.0,
            length_ok_rate=0.2,
            context_entity_recall=0.0,
            grounded_args_rate=0.4,
            n_pred_calls=18,
        ),
        _silent(),
    ),
    "tiny_qwen3": (
        {"family": "qwen", "size": "tiny", "source": "tiny"},
        _metrics(
            tool_name_f1=0.0,
            tool_name_precision=0.0,
            tool_name_recall=0.0,
            tool_args_exact=None,
            tool_turn_exact=0.0,
            irrelevance_acc=0.4,
            hallucination_rate=None,
            missing_rate=1.0,
            malformed_rate=0.3,
            schema_valid_rate=None,
            exec_rate=None,
            state_match_rate=0.0,
            rouge_l=0.0037,
            chrf=0.012,
            in_character_rate=1.0,
            invented_roll_rate=0.0,
            length_ok_rate=0.05,
            context_entity_recall=0.0,
            grounded_args_rate=None,
            n_pred_calls=0,
            n_malformed_calls=14,
        ),
        _silent(),
    ),
    "smollm2_135m": (
        {"family": "llama", "size": "135M", "source": "gguf_asset"},
        _metrics(
            tool_name_f1=0.379,
            tool_name_precision=0.393,
            tool_name_recall=0.367,
            tool_args_exact=0.182,
            tool_turn_exact=0.04,
            irrelevance_acc=0.529,
            hallucination_rate=0.0,
            missing_rate=0.633,
            malformed_rate=0.024,
            schema_valid_rate=0.963,
            exec_rate=0.963,
            state_match_rate=0.0,
            rouge_l=0.123,
            chrf=0.136,
            in_character_rate=1.0,
            invented_roll_rate=0.0,
            length_ok_rate=0.86,
            context_entity_recall=0.182,
            grounded_args_rate=0.9,
            n_pred_calls=27,
        ),
        _metrics(
            tool_name_f1=0.0,
            tool_name_precision=0.0,
            tool_name_recall=0.0,
            tool_args_exact=None,
            tool_turn_exact=0.0,
            irrelevance_acc=1.0,
            hallucination_rate=None,
            missing_rate=1.0,
            malformed_rate=0.0,
            schema_valid_rate=None,
            exec_rate=None,
            state_match_rate=0.0,
            rouge_l=0.05,
            chrf=0.071,
            in_character_rate=1.0,
            invented_roll_rate=0.0,
            length_ok_rate=0.95,
            context_entity_recall=0.091,
            grounded_args_rate=None,
            n_pred_calls=0,
        ),
    ),
    "qwen3_0_6b": (
        {"family": "qwen", "size": "0.6B", "source": "hub"},
        _metrics(
            tool_name_f1=0.52,
            tool_name_precision=0.55,
            tool_name_recall=0.49,
            tool_args_exact=0.31,
            tool_turn_exact=0.12,
            irrelevance_acc=0.71,
            hallucination_rate=0.02,
            missing_rate=0.51,
            malformed_rate=0.0,
            schema_valid_rate=0.97,
            exec_rate=0.95,
            state_match_rate=0.25,
            rouge_l=0.151,
            chrf=0.18,
            in_character_rate=0.98,
            invented_roll_rate=0.1,
            length_ok_rate=0.9,
            context_entity_recall=0.27,
            grounded_args_rate=0.93,
            n_pred_calls=24,
        ),
        None,  # evaluated without a baseline: its baseline bars read n/a
    ),
}


def write_sample_runs(root: Path) -> Path:
    """Hand-made run folders (metrics.json, manifest.json, status.json) under ``root``."""
    for k, (name, (model, tuned, base)) in enumerate(SAMPLE.items()):
        folder = root / "multirun" / f"{k}_{name}"
        folder.mkdir(parents=True, exist_ok=True)
        metrics = {f"eval/{key}": v for key, v in tuned.items()}
        metrics |= {f"baseline/eval/{key}": v for key, v in (base or {}).items()}
        manifest = {"run_name": name, "model": {"name": name, **model}}
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=2))
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
        (folder / "status.json").write_text(json.dumps({"status": "ok"}))
    return root / "multirun"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", nargs="?", type=Path, help="leaderboard.html or a folder of runs")
    parser.add_argument("--out", type=Path, help="PNG path (default: beside the page)")
    parser.add_argument("--sample", type=Path, help="write sample runs here and shoot them")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=2400)
    args = parser.parse_args(argv)
    if (args.page is None) == (args.sample is None):
        parser.error("give a leaderboard.html or folder of runs, or --sample DIR")
    page = args.page if args.sample is None else write_sample_runs(args.sample)
    if page.is_dir():
        from dnd_ft.report import make_leaderboard

        page = make_leaderboard([page]).html
    out = args.out or page.with_suffix(".png")
    if screenshot(page, out, args.width, args.height) is None:
        print(f"skipped: no Chromium on PATH ({', '.join(BROWSERS)}); apt-get install -y chromium")
        return 0
    print(f"{out} ({args.width}x{args.height}) from {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
