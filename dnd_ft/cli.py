"""`python -m dnd_ft` / `dnd-ft`: compose the config with Hydra and run the pipeline.

python -m dnd_ft                                  # offline default: tiny Qwen3 on CPU
python -m dnd_ft model=tiny_gemma3 debug=smoke    # override a group
python -m dnd_ft -m model=tiny_qwen3,tiny_gemma3  # one run per family
python -m dnd_ft --help                           # groups, overlays, examples

Exit codes: 0 ok; 1 a run (or any job of a multirun) failed; 130 / 143 interrupted by
SIGINT / SIGTERM. A failing job of a multirun is recorded in its folder and the others go
on; the multirun ends with a summary of the jobs that did not end ok (docs/failures.md).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

# Nothing in a run should reach the network unless the user asks: no hub look-ups for files
# we already have, no telemetry. Set before transformers/trl/wandb are imported by a stage.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from dnd_ft.config.store import CONFIG_DIR  # noqa: E402
from dnd_ft.errors import DndFtError  # noqa: E402
from dnd_ft.pipeline.config import register_configs  # noqa: E402

log = logging.getLogger("dnd_ft")

# Runs of this process that failed (a single run, or jobs of a multirun on the basic launcher).
_failed: list[str] = []


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _app(cfg: DictConfig) -> float | None:
    from dnd_ft.pipeline.runner import run_pipeline

    run_dir = Path(cfg.paths.run_dir)
    try:
        metrics = run_pipeline(cfg)
    except DndFtError as exc:
        _report(exc, run_dir, f"error: {exc}\nrun folder: {run_dir}\n")
        return None
    except Exception as exc:
        # Unexpected: the full traceback goes to the run's log file, the screen gets one line
        # naming the cause and where to look.
        _report(
            exc, run_dir, f"error: {type(exc).__name__}: {exc}\nfull log: {run_dir}/dnd_ft.log\n"
        )
        return None
    log.info("run folder: %s", run_dir)
    if cfg.optimized_metric:
        return metrics.get(cfg.optimized_metric)
    return None


def _report(exc: BaseException, run_dir: Path, message: str) -> None:
    """Log the traceback to the run's log file, tell the screen in short, remember the
    failure; never raise, so a multirun goes on to its next job."""
    record = logging.LogRecord(
        "dnd_ft", logging.ERROR, __file__, 0, "run failed: %s", (exc,),
        (type(exc), exc, exc.__traceback__),
    )  # fmt: skip
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)
    sys.stderr.write(message)
    _failed.append(str(run_dir))


def main() -> None:
    from dnd_ft.pipeline import multirun
    from dnd_ft.pipeline.signals import exit_code

    register_configs()
    try:
        _app()
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: the run recorded it already
        sys.stderr.write(f"interrupted ({exc or 'SIGINT'})\n")
        sys.exit(exit_code(exc))
    if _failed or multirun.unfinished:
        sys.exit(1)


if __name__ == "__main__":
    main()
