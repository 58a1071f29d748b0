"""The end of a multirun: which jobs failed, in one table, and a non-zero exit if any did.

A failing job never stops the others (the entrypoint records it and returns); Hydra calls
`MultirunSummary.on_multirun_end` in the launching process once every job is done, whatever
the launcher, so the summary reads the jobs' status.json files rather than in-memory results.
It also says how long the multirun took, in wall and in CPU time.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from dnd_ft.pipeline.status import STATUS_FILE, read_status
from dnd_ft.utils.io import atomic_write_text

log = logging.getLogger(__name__)

SUMMARY_FILE = "multirun_summary.json"
# How a job may end without failing its multirun: a sweep's pruner stopping a trial is normal.
GOOD = ("ok", "pruned")
# Jobs of the multirun that just ended that did not end ok; read by the entrypoint's exit code.
unfinished: list[JobResult] = []


@dataclass
class JobResult:
    job: str  # the job's folder name, e.g. "0_qwen3_0_6b"
    status: str  # ok | pruned | failed | interrupted | running | missing
    stage: str | None
    error: str | None


class MultirunSummary(Callback):
    """Hydra callback (configs/hydra/default.yaml): writes ``multirun_summary.json`` into the
    sweep folder and prints one line per job that did not end ok."""

    def __init__(self) -> None:
        self.started = time.time()
        self.cpu = _cpu_seconds()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.started, self.cpu = time.time(), _cpu_seconds()
        unfinished.clear()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        jobs = collect(sweep_dir, since=self.started)
        wall, cpu = time.time() - self.started, _cpu_seconds() - self.cpu
        record = {"jobs": [asdict(j) for j in jobs], "wall_seconds": round(wall, 1),
                  "cpu_seconds": round(cpu, 1)}  # fmt: skip
        atomic_write_text(sweep_dir / SUMMARY_FILE, json.dumps(record, indent=2) + "\n")
        bad = [j for j in jobs if j.status not in GOOD]
        unfinished[:] = bad
        sys.stderr.write(summary_text(jobs, sweep_dir, wall, cpu))


def collect(sweep_dir: Path, since: float = 0.0) -> list[JobResult]:
    """The job folders of ``sweep_dir`` written since ``since`` (epoch seconds), in order."""
    jobs = []
    for folder in sorted(sweep_dir.iterdir() if sweep_dir.is_dir() else [], key=_job_order):
        path = folder / STATUS_FILE
        if not folder.is_dir() or not path.is_file() or path.stat().st_mtime < since - 1:
            continue
        status = read_status(folder) or {}
        error = status.get("error") or status.get("signal")
        jobs.append(JobResult(folder.name, status.get("status", "missing"),
                              status.get("stage"), _first_line(error)))  # fmt: skip
    return jobs


def summary_text(
    jobs: list[JobResult], sweep_dir: Path, wall: float | None = None, cpu: float | None = None
) -> str:
    ok = sum(j.status == "ok" for j in jobs)
    pruned = sum(j.status == "pruned" for j in jobs)
    bad = len(jobs) - ok - pruned
    took = f" in {wall / 60:.1f} min wall, {cpu / 60:.1f} min CPU" if wall is not None else ""
    counted = f"{ok} ok, " + (f"{pruned} pruned, " if pruned else "") + f"{bad} not ok"
    lines = [f"multirun: {len(jobs)} job(s), {counted}{took} ({sweep_dir})"]
    for j in jobs:
        if j.status not in GOOD:
            lines.append(f"  {j.job}: {j.status} in stage {j.stage or '?'}: {j.error or ''}")
    return "\n".join(lines) + "\n"


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (launchers that fork jobs), user
    plus system: on a shared machine the figure load cannot inflate, unlike wall time."""
    import resource

    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _job_order(folder: Path) -> tuple[int, str]:
    head = folder.name.split("_", 1)[0]
    return (int(head) if head.isdigit() else 1 << 30, folder.name)


def _first_line(text: str | None) -> str | None:
    return text.strip().splitlines()[0][:300] if text and text.strip() else text
