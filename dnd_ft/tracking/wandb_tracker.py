"""Weights & Biases behind the Tracker interface. Offline by default: no account, no network.

One W&B run per pipeline run, created in the run folder (`run_dir/wandb/`), grouped by model
family so Gemma and Qwen runs sit side by side. `wandb sync run_dir/wandb/offline-run-*`
uploads an offline run later.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from dnd_ft.errors import StageError

log = logging.getLogger(__name__)

# W&B shows a run with a non-zero exit code as failed; interrupted runs keep the signal's code.
EXIT_CODES = {"ok": 0, "pruned": 0, "failed": 1, "interrupted": 130}


class WandbTracker:
    """Wraps a live `wandb.Run`; every method is a no-op after `finish`."""

    def __init__(self, run: Any, run_dir: Path, log_data_report: bool = True):
        self.run = run
        self.run_dir = Path(run_dir)
        self.log_data_report = log_data_report
        self.finished = False

    def log(self, values: dict[str, Any], step: int | None = None) -> None:
        clean = {k: v for k, v in values.items() if _loggable(v)}
        if clean and not self.finished:
            self.run.log(clean, step=step)

    def summary(self, values: dict[str, Any]) -> None:
        if self.finished:
            return
        for key, value in values.items():
            if _loggable(value) or isinstance(value, str):
                self.run.summary[key] = value

    def log_image(self, key: str, path: Path) -> None:
        import wandb

        if not self.finished and Path(path).is_file():
            self.run.log({key: wandb.Image(str(path))})

    def log_table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None:
        import wandb

        if not self.finished:
            self.run.log({key: wandb.Table(columns=list(columns), data=[list(r) for r in rows])})

    def save_file(self, path: Path) -> None:
        """Keep a copy of a run-folder file with the W&B run (under files/)."""
        if not self.finished and Path(path).is_file():
            self.run.save(str(path), base_path=str(self.run_dir), policy="now")

    def log_model_version(self, version: Any, collection: str | None = None) -> None:
        """A registry version (`dnd_ft.registry.Version`) as a W&B model Artifact.

        Its lineage: the dataset it trained on is an artifact of its own, and so is its
        parent (an earlier version of the line). Online, both become the run's inputs
        (``use_artifact``: the lineage graph) and the model is linked into the W&B Registry
        ``collection`` when one is given; offline W&B cannot use artifacts, so the two are
        logged beside the model and its metadata names them (``wandb sync`` uploads all)."""
        import wandb

        if self.finished:
            return
        r = version.record
        data = wandb.Artifact(f"{version.line}-data", type="dataset",
                              metadata={"sha256": r["data"]["sha256"],
                                        "scenarios": r["data"]["scenarios"]})  # fmt: skip
        if (version.path / "data").is_dir():
            data.add_dir(str(version.path / "data"))
        parent = r.get("parent") or {}
        metadata = {
            "registry_version": version.ref,
            "base_model": r.get("base_model"),
            "chat_format": r.get("chat_format"),
            "parent": parent.get("ref"),
            "parent_artifact": f"{parent['line']}:registry-{parent['version']}"
            if parent.get("version") else None,
            "dataset_sha256": r["data"]["sha256"],
            "tools_sha256": r["tools"].get("sha256"),
            "seed": r.get("seed"),
            "code": r.get("code"),
            "metrics": {k: v for k, v in r.get("metrics", {}).items()
                        if k.startswith(("eval/", "forgetting/", "export/"))},
        }  # fmt: skip
        model = wandb.Artifact(version.line, type="model", metadata=metadata)
        for name in ("adapter", "merged", "parents"):
            if (version.path / name).is_dir():
                model.add_dir(str(version.path / name), name=name)
        model.add_file(str(version.path / "version.json"))
        aliases = [f"registry-{version.name}"]  # W&B numbers its own versions v0, v1, ...
        if self.run.offline:
            self.run.log_artifact(data)
        else:
            self.run.use_artifact(self.run.log_artifact(data).wait())
            if metadata["parent_artifact"]:
                try:
                    self.run.use_artifact(metadata["parent_artifact"])
                except Exception as exc:  # a parent registered without W&B: say so, go on
                    log.warning("W&B: parent artifact %s not found (%s); lineage kept in "
                                "the metadata only", metadata["parent_artifact"], exc)  # fmt: skip
        logged = self.run.log_artifact(model, aliases=aliases)
        if collection and not self.run.offline:
            self.run.link_artifact(logged, collection)

    def finish(self, metrics: dict[str, Any], status: str = "ok") -> None:
        """Final summary, the data report and the run log, then close the run.

        ``status``: the run's (ok, failed, interrupted), kept in the summary; the exit code
        W&B records is 0, 1 or the interrupting signal's (130 for SIGINT, 143 for SIGTERM)."""
        if self.finished:
            return
        try:
            self.summary({k: v for k, v in metrics.items() if v is not None})
            self.summary({"status": status})
            if self.log_data_report:
                self._log_data_report()
            self.save_file(self.run_dir / "dnd_ft.log")
        finally:
            self.finished = True
            sync_file = Path(self.run.settings.sync_file) if self.run.offline else None
            self.run.finish(exit_code=EXIT_CODES.get(status, 1))
            if sync_file is not None:
                _wait_until_closed(sync_file)

    def _log_data_report(self) -> None:
        """Scalars of run_dir/data/report.json as `data_report/...` summary keys, lists of
        records as tables, and the file itself saved with the run. (Not `data/...`: the data
        stage's metrics already use those keys.)"""
        path = self.run_dir / "data" / "report.json"
        if not path.is_file():
            return
        report = json.loads(path.read_text())
        scalars: dict[str, Any] = {}
        _flatten(report, "data_report", scalars)
        self.summary(scalars)
        for key, value in report.items() if isinstance(report, dict) else ():
            if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
                columns = sorted({c for r in value for c in r})
                rows = [[_cell(r.get(c)) for c in columns] for r in value]
                self.log_table(f"data_report/{key}", columns, rows)
        self.save_file(path)


def start_wandb(cfg: DictConfig, run_dir: Path) -> WandbTracker:
    """wandb.init from the `tracking` group; WANDB_MODE in the environment wins over mode."""
    os.environ.setdefault("WANDB_SILENT", "true")
    import wandb

    t = cfg.tracking
    mode = os.environ.get("WANDB_MODE") or t.mode
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        config = OmegaConf.to_container(cfg, resolve=True)
    except Exception:  # an interpolation only Hydra's app context can resolve
        config = OmegaConf.to_container(cfg, resolve=False)
    try:
        run = wandb.init(
            project=t.project,
            entity=t.entity,
            group=t.group,
            job_type=t.job_type,
            name=cfg.run_name,
            tags=list(dict.fromkeys([*cfg.tags, *t.tags])),
            notes=t.notes,
            config=config,
            dir=str(run_dir),
            mode=mode,
            reinit="finish_previous",  # a -m sweep runs its jobs one after another in-process
            # The run log (dnd_ft.log) is saved with the run instead of a console capture,
            # which would fight the rich progress bar for the terminal.
            settings=wandb.Settings(silent=True, console="off"),
        )
    except Exception as exc:
        raise StageError(
            f"tracking: wandb.init failed ({type(exc).__name__}: {exc}); for online runs "
            "run `wandb login` first, or use tracking.mode=offline (the default) or tracking=none"
        ) from exc
    log.info("W&B run %s (%s) in %s", run.name, mode, run_dir / "wandb")
    return WandbTracker(run, run_dir, log_data_report=t.log_data_report)


def _wait_until_closed(path: Path, timeout_s: float = 60.0) -> None:
    """Wait for the offline run file to end with its exit record.

    `run.finish()` can return while wandb-core still holds the tail of the file in its write
    buffer; a reader (the report, `wandb sync`, a test) that comes at once would see a torn
    run record. Polls the file rather than sleeping a fixed time.
    """
    from dnd_ft.tracking.offline import OfflineRunError, read_offline_run

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if read_offline_run(path).exit_code is not None:
                return
        except (OfflineRunError, OSError):
            pass  # not written yet
        time.sleep(0.05)
    log.warning("W&B offline run file %s still has no exit record after %.0f s", path, timeout_s)


def _loggable(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    return hasattr(value, "item")  # numpy / torch scalars


def _cell(value: Any) -> Any:
    return (
        value if isinstance(value, (str, int, float, bool)) or value is None else json.dumps(value)
    )


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{prefix}/{k}", out)
    elif isinstance(value, (int, float, bool)) or (isinstance(value, str) and len(value) <= 200):
        out[prefix] = value
