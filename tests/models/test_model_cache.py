"""cached_build: a folder appears whole or not at all, and is built once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from dnd_ft.models.cache import MARKER, cached_build, read_marker, spec_hash


def _write(tmp: Path) -> None:
    (tmp / "weights.bin").write_bytes(b"x" * 10)


def test_builds_once_and_records_the_spec(tmp_path: Path) -> None:
    calls = []
    final = tmp_path / "models" / "m-1"

    def build(tmp: Path) -> None:
        calls.append(tmp)
        _write(tmp)

    assert cached_build(final, build, {"a": 1}) == final
    assert cached_build(final, build, {"a": 1}) == final
    assert len(calls) == 1
    assert (final / "weights.bin").is_file()
    assert read_marker(final)["spec"] == {"a": 1}


def test_failed_build_leaves_nothing_behind(tmp_path: Path) -> None:
    final = tmp_path / "m"

    def broken(tmp: Path) -> None:
        _write(tmp)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        cached_build(final, broken, {})
    assert not final.exists()
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


def test_interrupted_leftovers_and_half_folders_are_replaced(tmp_path: Path) -> None:
    final = tmp_path / "m"
    stale = tmp_path / ".m.abc123.tmp"  # what a killed build leaves
    stale.mkdir()
    final.mkdir()  # a folder without the marker, e.g. a half copy made by hand
    (final / "partial").write_text("?")
    cached_build(final, _write, {})
    assert not stale.exists()
    assert (final / MARKER).is_file() and not (final / "partial").exists()


def test_concurrent_builders_build_once(tmp_path: Path) -> None:
    final = tmp_path / "m"
    calls = []

    def slow(tmp: Path) -> None:
        calls.append(1)
        time.sleep(0.3)
        _write(tmp)

    threads = [threading.Thread(target=cached_build, args=(final, slow, {})) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert (final / "weights.bin").is_file()


def test_spec_hash_is_stable_and_order_independent() -> None:
    assert spec_hash({"a": 1, "b": [1, 2]}) == spec_hash({"b": [1, 2], "a": 1})
    assert spec_hash({"a": 1}) != spec_hash({"a": 2})
    assert len(spec_hash({})) == 10
