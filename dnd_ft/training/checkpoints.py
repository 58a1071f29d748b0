"""Checkpoints that are either complete or ignored, keep-last-N rotation, and resume lookup.

The Trainer writes `checkpoint-N/` in several steps (weights, optimizer, RNG, state); a kill
in between leaves a folder that looks like a checkpoint but cannot be resumed. We write a
`COMPLETE` marker after the Trainer's save returns and only ever resume from folders that
have it. Rotation is ours too (the Trainer's `save_total_limit` is off): it runs after the
marker, and removes a folder's marker before its files, so a kill during rotation can never
leave a half-deleted folder that still claims to be complete.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

from dnd_ft.errors import StageError
from dnd_ft.utils.io import atomic_write_text

log = logging.getLogger(__name__)

MARKER = "COMPLETE"
INFO = "dnd_ft_checkpoint.json"  # what the checkpoint was trained with, checked on resume
_NAME = re.compile(r"^checkpoint-(\d+)$")


def step_of(path: Path) -> int | None:
    m = _NAME.match(path.name)
    return int(m.group(1)) if m else None


def is_complete(path: Path) -> bool:
    return (path / MARKER).is_file()


def list_checkpoints(root: Path) -> list[Path]:
    """checkpoint-N folders under root, oldest (lowest N) first, complete or not."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and step_of(p) is not None]
    return sorted(found, key=lambda p: step_of(p) or 0)


def latest_complete(root: Path) -> Path | None:
    complete = [p for p in list_checkpoints(root) if is_complete(p)]
    return complete[-1] if complete else None


def remove_incomplete(root: Path) -> list[Path]:
    """Delete checkpoint folders without a marker (a save that was interrupted)."""
    removed = [p for p in list_checkpoints(root) if not is_complete(p)]
    for p in removed:
        log.warning("removing incomplete checkpoint %s (its save was interrupted)", p)
        shutil.rmtree(p, ignore_errors=True)
    return removed


def mark_complete(path: Path, info: dict[str, Any]) -> None:
    """Record what produced the checkpoint, then the marker (last, atomically)."""
    atomic_write_text(path / INFO, json.dumps(info, indent=2, sort_keys=True) + "\n")
    atomic_write_text(path / MARKER, "ok\n")


def rotate(root: Path, keep: int) -> list[Path]:
    """Keep the newest `keep` complete checkpoints; older complete ones are deleted."""
    complete = [p for p in list_checkpoints(root) if is_complete(p)]
    old = complete[:-keep] if keep > 0 else complete
    for p in old:
        (p / MARKER).unlink(missing_ok=True)  # first: a half-deleted folder is never "complete"
        shutil.rmtree(p, ignore_errors=True)
    return old


def resolve_resume(resume: str, root: Path, info: dict[str, Any]) -> Path | None:
    """The checkpoint to resume from for trainer.resume (auto | never | <path>), or None.

    auto: the newest complete checkpoint under `root`; interrupted saves are removed.
    never: start from scratch; old checkpoints of this run folder are removed so rotation and
    the next auto-resume never mix two trainings. A path must be a complete checkpoint.
    The checkpoint must have been trained with the same model and method as `info` says.
    """
    if resume == "never":
        if list_checkpoints(root):
            log.warning("trainer.resume=never: removing old checkpoints in %s", root)
            shutil.rmtree(root, ignore_errors=True)
        return None
    if resume == "auto":
        remove_incomplete(root)
        found = latest_complete(root)
        if found is None:
            return None
    else:
        found = Path(resume)
        if not is_complete(found):
            raise StageError(
                f"trainer.resume: {found} is not a complete checkpoint (no {MARKER} marker: its "
                "save was interrupted or it is not a checkpoint-N folder); pick another "
                "checkpoint-N folder or use trainer.resume=auto"
            )
    _check_compatible(found, info)
    log.info("resuming from %s", found)
    return found


def run_info(cfg: Any) -> dict[str, Any]:
    """What a checkpoint of ``cfg``'s training is made with; a resume must match it."""
    t = cfg.trainer
    return {"model": cfg.model.name, "method": t.method, "packing": bool(t.packing),
            "max_length": int(t.max_length), "seed": int(t.seed)}  # fmt: skip


def check_resume(resume: str, root: Path, info: dict[str, Any]) -> None:
    """The checks of `resolve_resume`, without its clean-up: run before anything is written,
    so a refused resume leaves the run folder as it was."""
    if resume == "never":
        return
    found = latest_complete(root) if resume == "auto" else Path(resume)
    if found is None:
        return
    if resume != "auto" and not is_complete(found):
        resolve_resume(resume, root, info)  # raises the not-complete message
    _check_compatible(found, info)


def _check_compatible(path: Path, info: dict[str, Any]) -> None:
    saved_file = path / INFO
    if not saved_file.is_file():
        return  # a checkpoint from elsewhere: trust the user
    saved = json.loads(saved_file.read_text())
    diffs = [
        f"{k}: checkpoint {saved.get(k)!r}, config {v!r}"
        for k, v in info.items()
        if k in saved and saved[k] != v
    ]
    if diffs:
        raise StageError(
            f"trainer.resume: {path} was trained with different settings ({'; '.join(diffs)}); "
            "rerun with the original settings, or trainer.resume=never to start over"
        )
