"""status.json: what a run folder is doing or how it ended, from its first second.

    running      the run is going on (or was killed without a chance to say so: see `pid`)
    ok           every stage finished
    failed       a stage (or the config check, stage "config") raised; `error` says why
    interrupted  SIGINT or SIGTERM stopped it (`signal`); checkpoints are kept for resume
    pruned       a sweep's pruner stopped training early (`pruned_at_step`); later stages
                 were skipped, the record of the steps trained is kept

The file is rewritten at start and at every stage boundary; an earlier attempt in the same
folder (a resume, a rerun) is kept under `previous`, newest last.
"""

from __future__ import annotations

import json
import os
import socket
import time
import traceback
from pathlib import Path
from typing import Any

from dnd_ft.errors import DndFtError
from dnd_ft.utils.io import atomic_write_text

STATUS_FILE = "status.json"
KEEP_PREVIOUS = 10


def read_status(run_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(run_dir) / STATUS_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


class RunStatus:
    """Writes ``run_dir/status.json`` for one attempt of a run."""

    def __init__(self, run_dir: Path, stages: list[str]) -> None:
        self.path = Path(run_dir) / STATUS_FILE
        old = read_status(run_dir)
        previous = list((old or {}).pop("previous", []))
        if old:
            old.pop("traceback", None)  # the old log holds it; keep the record short
            previous = (previous + [old])[-KEEP_PREVIOUS:]
        self.data: dict[str, Any] = {
            "status": "running",
            "stage": "config",
            "stages": list(stages),
            "completed": [],
            "started": _now(),
            "updated": _now(),
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "attempt": len(previous) + 1,
            "previous": previous,
        }

    @property
    def status(self) -> str:
        return self.data["status"]

    def write(self) -> None:
        self.data["updated"] = _now()
        atomic_write_text(self.path, json.dumps(self.data, indent=2) + "\n")

    def stage(self, name: str) -> None:
        """A stage starts (the one before it, if any, has finished)."""
        previous = self.data["stage"]
        if previous not in (None, "config") and previous not in self.data["completed"]:
            self.data["completed"].append(previous)
        self.data["stage"] = name
        self.write()

    def ok(self) -> None:
        self.stage(None)  # type: ignore[arg-type]  # the last stage is complete
        self.data["status"] = "ok"
        self.write()

    def failed(self, exc: BaseException, message: str | None = None) -> None:
        """``error``: the message a user acts on (a DndFtError's own), else type and text."""
        if message is None:
            message = str(exc) if isinstance(exc, DndFtError) else f"{type(exc).__name__}: {exc}"
        self.data.update(
            status="failed",
            error=message,
            error_type=type(exc).__name__,
            traceback=traceback.format_exc(),
        )
        self.write()

    def pruned(self, step: int, value: float) -> None:
        self.data.update(status="pruned", pruned_at_step=step, pruned_value=value)
        self.write()

    def interrupted(self, signal_name: str) -> None:
        self.data.update(status="interrupted", signal=signal_name)
        self.write()


TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def started_at(status: dict[str, Any]) -> float:
    """When the attempt ``status`` records began, in epoch seconds (0 when unknown)."""
    from datetime import datetime

    try:
        return datetime.strptime(status["started"], TIME_FORMAT).timestamp()
    except (KeyError, ValueError):
        return 0.0


def _now() -> str:
    return time.strftime(TIME_FORMAT)
