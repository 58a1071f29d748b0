"""Read an offline W&B run back from its `.wandb` file: history, summary, config, exit code.

wandb (0.2x-0.3x) writes offline runs as a LevelDB-style log of protobuf `Record`s and no
longer ships a Python reader for it, so this is a small one: the framing is documented in
LevelDB's log_format.md and the record schema is `wandb.proto.wandb_internal_pb2.Record`.

    run = read_offline_run(run_dir)       # a run folder, a wandb/ folder or the .wandb file
    run.history[-1]["train/loss"], run.summary["train/loss_last"], run.exit_code, run.artifacts
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BLOCK = 32768
HEADER = 7  # crc32 (4) + length (2) + type (1); the file header is also 7 bytes
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
IDENT, MAGIC = b":W&B", 0xBEE1


class OfflineRunError(ValueError):
    """The file is not a W&B offline run, or is damaged beyond the last whole record."""


@dataclass
class OfflineRun:
    path: Path
    run: dict[str, Any] = field(default_factory=dict)  # name, project, group, job_type, tags
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)  # one dict per logged step
    summary: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # files saved with the run (relative)
    exit_code: int | None = None  # None: the run was never finished
    # logged artifacts: name, type, aliases, metadata (a dict), digest
    artifacts: list[dict[str, Any]] = field(default_factory=list)

    def series(self, key: str) -> list[Any]:
        """Every logged value of `key`, in order."""
        return [row[key] for row in self.history if key in row]


def find_run_file(path: Path) -> Path:
    """The newest `run-*.wandb` under `path` (or `path` itself when it is the file)."""
    path = Path(path)
    if path.is_file():
        return path
    found = sorted(path.glob("**/run-*.wandb"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise OfflineRunError(f"no run-*.wandb file under {path}; was tracking=wandb on?")
    return found[-1]


def records(path: Path) -> Iterator[bytes]:
    """Yield each record's payload; a torn tail (a run killed mid-write) ends the scan."""
    data = Path(path).read_bytes()
    if len(data) < HEADER or data[:4] != IDENT or struct.unpack("<H", data[4:6])[0] != MAGIC:
        raise OfflineRunError(f"{path} is not a W&B run file (bad header)")
    pos, pending = HEADER, b""
    while pos + HEADER <= len(data):
        left_in_block = BLOCK - pos % BLOCK
        if left_in_block < HEADER:  # block trailer: too small for a header, zero padded
            pos += left_in_block
            continue
        crc, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        if kind == 0 and length == 0:  # zero padding up to the next block
            pos += left_in_block
            continue
        payload = data[pos + HEADER : pos + HEADER + length]
        if len(payload) < length or zlib.crc32(payload, zlib.crc32(bytes([kind]))) != crc:
            return  # the writer was interrupted: everything before is still good
        pos += HEADER + length
        if kind == FULL:
            yield payload
        elif kind == FIRST:
            pending = payload
        elif kind == MIDDLE:
            pending += payload
        elif kind == LAST:
            yield pending + payload
            pending = b""


def _items(items: Any, into: dict[str, Any]) -> None:
    for item in items:
        key = "/".join(item.nested_key) if item.nested_key else item.key
        into[key] = json.loads(item.value_json) if item.value_json else None


def read_offline_run(path: Path) -> OfflineRun:
    """Parse every record of an offline run into an OfflineRun."""
    from wandb.proto import wandb_internal_pb2

    file = find_run_file(path)
    out = OfflineRun(path=file)
    for payload in records(file):
        rec = wandb_internal_pb2.Record()
        rec.ParseFromString(payload)
        kind = rec.WhichOneof("record_type")
        if kind == "history":
            row: dict[str, Any] = {}
            _items(rec.history.item, row)
            out.history.append(row)
        elif kind == "summary":
            _items(rec.summary.update, out.summary)
        elif kind == "config":
            _items(rec.config.update, out.config)
        elif kind == "run":
            r = rec.run
            out.run = {
                "id": r.run_id,
                "name": r.display_name,
                "project": r.project,
                "entity": r.entity,
                "group": r.run_group,
                "job_type": r.job_type,
                "tags": list(r.tags),
                "notes": r.notes,
            }
            _items(r.config.update, out.config)
        elif kind == "files":
            out.files += [f.path for f in rec.files.files]
        elif kind == "exit":
            out.exit_code = rec.exit.exit_code
        elif kind == "artifact":
            a = rec.artifact
            out.artifacts.append({"name": a.name, "type": a.type, "aliases": list(a.aliases),
                                  "metadata": json.loads(a.metadata or "{}"),
                                  "digest": a.digest})  # fmt: skip
    return out
