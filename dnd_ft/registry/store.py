"""The registry on disk: ``<root>/<line>/v<N>/version.json`` plus the files it names.

JSON records in plain folders rather than a SQLite index: a line holds tens of versions,
not millions, so listing reads every record in milliseconds; a version is then one
self-contained folder that can be copied, diffed, archived or put under git as it is, and
nothing can get out of step with it (an index beside the files could). Writes are atomic:
a version is built in a hidden temporary folder and renamed into place (a reader sees all
of it or nothing), the version number is chosen under a lock on the line (two runs of a
multirun registering at once get v3 and v4, never two v3), and aliases are one JSON file
replaced whole. A record lists every file of its folder with its sha256, and its folder
holds every file it names, so an entry never points at a missing file (`verify` checks).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dnd_ft.errors import DndFtError
from dnd_ft.utils.io import atomic_write_text, file_sha256

RECORD = "version.json"
ALIASES = "aliases.json"
SCHEMA = 1
_VERSION_RE = re.compile(r"^v(\d+)$")


class ModelRegistryError(DndFtError):
    """A registry reference or entry that cannot be used (unknown version, broken entry)."""


@dataclass(frozen=True)
class Version:
    """One registered version: its folder and its record (`version.json`)."""

    line: str
    name: str  # v1, v2, ...
    path: Path
    record: dict[str, Any]

    @property
    def number(self) -> int:
        return int(self.name[1:])

    @property
    def ref(self) -> str:
        """``line:vN``, the reference that names this version anywhere."""
        return f"{self.line}:{self.name}"

    def folder(self, name: str) -> Path | None:
        """A sub-folder of the version (adapter, merged, data, exports) when it has it."""
        path = self.path / name
        return path if path.is_dir() else None

    @property
    def adapter_dir(self) -> Path | None:
        path = self.folder("adapter")
        return path if path and (path / "adapter_config.json").is_file() else None

    @property
    def model_dir(self) -> Path | None:
        """The whole fine-tuned model (method=full), when the version is not an adapter."""
        path = self.folder("merged")
        return path if path and (path / "config.json").is_file() else None

    @property
    def data_dir(self) -> Path | None:
        return self.folder("data")


class Registry:
    """Versions under ``root``, one folder per model line."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # Reading.

    def lines(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.versions(p.name))

    def versions(self, line: str) -> list[Version]:
        """The line's versions, oldest first (only complete ones: a folder with its record)."""
        folder = self.root / line
        if not folder.is_dir():
            return []
        found = []
        for path in folder.iterdir():
            if _VERSION_RE.match(path.name) and (path / RECORD).is_file():
                record = json.loads((path / RECORD).read_text(encoding="utf-8"))
                found.append(Version(line, path.name, path, record))
        return sorted(found, key=lambda v: v.number)

    def aliases(self, line: str) -> dict[str, str]:
        path = self.root / line / ALIASES
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def resolve(self, ref: str, line: str | None = None) -> Version:
        """The version ``ref`` names: ``v3``, an alias (``latest``, ``production``), or either
        after ``line:`` (``dm-qwen3:v3``); a bare one is looked up in ``line``."""
        ref = str(ref)
        if ":" in ref:
            line, ref = ref.split(":", 1)
        if not line:
            raise ModelRegistryError(f"{ref!r}: which model line? write it as <line>:{ref}")
        versions = {v.name: v for v in self.versions(line)}
        if not versions:
            known = ", ".join(self.lines()) or "none yet"
            raise ModelRegistryError(
                f"registry {self.root}: no versions of line {line!r} (lines: {known}); "
                "register one with stages=[...,register] or pick another registry.line"
            )
        name = ref if _VERSION_RE.match(ref) else self.aliases(line).get(ref)
        if name is None or name not in versions:
            aliases = ", ".join(sorted(self.aliases(line))) or "none"
            raise ModelRegistryError(
                f"registry {self.root}: line {line!r} has no version {ref!r}; it has "
                f"{', '.join(versions)} (aliases: {aliases})"
            )
        return versions[name]

    def verify(self, version: Version) -> list[str]:
        """Problems with the files ``version`` records (missing, changed); [] when whole."""
        problems = []
        for rel, meta in sorted(version.record.get("files", {}).items()):
            path = version.path / rel
            if not path.is_file():
                problems.append(f"{path}: missing")
            elif path.stat().st_size != meta["bytes"] or file_sha256(path) != meta["sha256"]:
                problems.append(f"{path}: changed since it was registered (sha256 differs)")
        adapter = version.adapter_dir
        if adapter is not None:  # the parents it is trained on top of live in the version too
            from dnd_ft.core.lineage import read_base, read_parents

            base = read_base(adapter)
            for parent in [*read_parents(adapter), *([base] if base else [])]:
                if version.path.resolve() not in parent.parents or not parent.is_dir():
                    problems.append(f"{adapter}: its parent {parent} is not kept in the version")
        return problems

    # Writing.

    def register(
        self,
        line: str,
        fill: Callable[[Path, str], dict[str, Any]],
        aliases: list[str] | tuple[str, ...] = ("latest",),
    ) -> Version:
        """Add the next version of ``line``.

        ``fill(folder, name)`` puts the version's files into ``folder`` (a temporary folder)
        and returns its record; this adds the file list, renames the folder into place and
        moves ``aliases`` to it, all under the line's lock.
        """
        folder = self.root / line
        folder.mkdir(parents=True, exist_ok=True)
        with self.locked(line):
            numbers = [v.number for v in self.versions(line)]
            name = f"v{max(numbers, default=0) + 1}"
            tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".tmp-{name}-"))
            try:
                record = fill(tmp, name)
                record = {
                    "schema": SCHEMA,
                    "line": line,
                    "version": name,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    **record,
                    "files": file_list(tmp),
                }
                atomic_write_text(tmp / RECORD, json.dumps(record, indent=2) + "\n")
                os.chmod(tmp, 0o755)
                os.replace(tmp, folder / name)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            self._set_aliases(line, {alias: name for alias in aliases})
        return Version(line, name, folder / name, record)

    def promote(self, ref: str, alias: str, line: str | None = None) -> Version:
        """Point ``alias`` (e.g. production) at the version ``ref`` names."""
        if _VERSION_RE.match(alias):
            raise ModelRegistryError(f"alias {alias!r}: v<N> names a version; pick a word")
        version = self.resolve(ref, line)
        with self.locked(version.line):
            self._set_aliases(version.line, {alias: version.name})
        return version

    def _set_aliases(self, line: str, moves: dict[str, str]) -> None:
        aliases = {**self.aliases(line), **moves}
        atomic_write_text(self.root / line / ALIASES, json.dumps(aliases, indent=2) + "\n")

    @contextlib.contextmanager
    def locked(self, line: str) -> Iterator[None]:
        """Hold the line's lock (version numbers, aliases and records change under it)."""
        with open(self.root / line / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def file_list(folder: Path) -> dict[str, dict[str, Any]]:
    """Every file under ``folder`` (relative path -> bytes, sha256), the record excluded."""
    return {
        str(p.relative_to(folder)): {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != RECORD
    }


def add_tree(source: Path, target: Path, link: bool = True) -> None:
    """Put the files of ``source`` (a file or a folder) at ``target``: hard links when
    ``link`` and the filesystem allows (no second copy of the weights), else copies."""
    source, target = Path(source), Path(target)
    if not source.exists():
        raise ModelRegistryError(f"{source}: missing; a version must hold every file it names")
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    for path in files:
        dest = target if source.is_file() else target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if link:
            try:
                os.link(path, dest)
                continue
            except OSError:  # another filesystem, or links not allowed: copy instead
                pass
        shutil.copy2(path, dest)
