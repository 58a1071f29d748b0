"""Library chatter to the run's log file, not the screen.

transformers, peft, datasets and friends warn about deprecations and print progress while a
run works; the user needs none of it on the screen, and all of it in ``dnd_ft.log`` when
something goes wrong. `library_output_to_log` filters the console handlers of the root logger
(Hydra's) so that only this project's records, and anything at ERROR or above, show there,
and routes Python warnings through logging so they land in the file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

SHOWN = ("dnd_ft", "__main__")  # loggers whose INFO reaches the screen


class ProjectOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        return record.name.split(".")[0] in SHOWN


@contextmanager
def library_output_to_log() -> Iterator[None]:
    """For the duration: console handlers show this project's records only (and errors),
    and ``warnings.warn`` becomes a log record (the file handlers keep everything)."""
    consoles = [h for h in logging.getLogger().handlers
                if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)]  # fmt: skip
    only = ProjectOnly()
    for handler in consoles:
        handler.addFilter(only)
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        for handler in consoles:
            handler.removeFilter(only)


def transformers_to_root() -> None:
    """transformers keeps its own stderr handler; hand its records to the root logger (and
    so to the filter above) instead. Call after importing transformers."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_default_handler()
    hf_logging.enable_propagation()
