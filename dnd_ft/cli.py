"""`python -m dnd_ft` / `dnd-ft`: compose the config with Hydra and run the pipeline.

python -m dnd_ft                                  # offline default: tiny Qwen3 on CPU
python -m dnd_ft model=tiny_gemma3 debug=smoke    # override a group
python -m dnd_ft -m model=tiny_qwen3,tiny_gemma3  # one run per family
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

from dnd_ft.config.store import CONFIG_DIR, register_configs  # noqa: E402
from dnd_ft.errors import DndFtError  # noqa: E402

log = logging.getLogger("dnd_ft")


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _app(cfg: DictConfig) -> float | None:
    from dnd_ft.pipeline.runner import run_pipeline

    run_dir = Path(cfg.paths.run_dir)
    try:
        metrics = run_pipeline(cfg)
    except DndFtError as exc:
        _to_log_file(exc)
        sys.stderr.write(f"error: {exc}\nrun folder: {run_dir}\n")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write(f"interrupted; run folder: {run_dir}\n")
        sys.exit(130)
    except Exception as exc:
        # An unexpected failure: the full traceback goes to the run's log file, the screen
        # gets one line naming the cause and where to look.
        _to_log_file(exc)
        sys.stderr.write(f"error: {type(exc).__name__}: {exc}\nfull log: {run_dir}/dnd_ft.log\n")
        sys.exit(1)
    log.info("run folder: %s", run_dir)
    if cfg.optimized_metric:
        return metrics.get(cfg.optimized_metric)
    return None


def _to_log_file(exc: BaseException) -> None:
    """Write the traceback to the run's log file only: the screen gets one short message."""
    record = logging.LogRecord(
        "dnd_ft", logging.ERROR, __file__, 0, "run failed: %s", (exc,),
        (type(exc), exc, exc.__traceback__),
    )  # fmt: skip
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def main() -> None:
    register_configs()
    _app()


if __name__ == "__main__":
    main()
