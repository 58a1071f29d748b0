"""The registry on disk: numbering, aliases, atomic entries, verification, lineage files."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from dnd_ft.core.lineage import read_parents, write_parents
from dnd_ft.registry.cli import main as registry_cli
from dnd_ft.registry.parent import resolve_parent
from dnd_ft.registry.store import ModelRegistryError, Registry


def _fill(text: str):
    def fill(folder: Path, name: str) -> dict:
        (folder / "adapter").mkdir()
        (folder / "adapter" / "adapter_config.json").write_text(json.dumps({"r": 4}))
        (folder / "adapter" / "weights.bin").write_text(text)
        return {"base_model": {"name": "tiny_qwen3"}, "note": text}

    return fill


def test_versions_are_numbered_per_line_and_aliases_move(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    v1 = reg.register("dm", _fill("one"))
    v2 = reg.register("dm", _fill("two"), aliases=["latest", "staging"])
    other = reg.register("other", _fill("x"))
    assert (v1.name, v2.name, other.name) == ("v1", "v2", "v1")
    assert reg.aliases("dm") == {"latest": "v2", "staging": "v2"}
    assert reg.resolve("latest", "dm").record["note"] == "two"
    assert reg.resolve("dm:v1").record["note"] == "one"
    reg.promote("v1", "production", "dm")
    assert reg.resolve("dm:production").name == "v1"
    assert reg.lines() == ["dm", "other"]
    # every file of the folder is recorded with its hash, and nothing is missing
    assert set(v2.record["files"]) == {"adapter/adapter_config.json", "adapter/weights.bin"}
    assert reg.verify(v2) == []


def test_unknown_references_say_what_exists(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    with pytest.raises(ModelRegistryError, match="no versions of line 'dm'"):
        reg.resolve("v1", "dm")
    reg.register("dm", _fill("one"))
    with pytest.raises(
        ModelRegistryError, match=r"no version 'production'; it has v1 \(aliases: latest\)"
    ):
        reg.resolve("production", "dm")
    with pytest.raises(ModelRegistryError, match="v<N> names a version"):
        reg.promote("v1", "v7", "dm")


def test_a_failed_registration_leaves_no_entry(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    reg.register("dm", _fill("one"))

    def broken(folder: Path, name: str) -> dict:
        (folder / "half.bin").write_text("half")
        raise OSError("disk on fire")

    with pytest.raises(OSError):
        reg.register("dm", broken)
    assert [v.name for v in reg.versions("dm")] == ["v1"]
    assert reg.aliases("dm") == {"latest": "v1"}
    assert not [p for p in (tmp_path / "dm").iterdir() if p.name.startswith(".tmp")]
    assert reg.register("dm", _fill("two")).name == "v2"  # the number was not burnt


def test_verify_finds_changed_and_missing_files(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    v1 = reg.register("dm", _fill("one"))
    (v1.path / "adapter" / "weights.bin").write_text("tampered")
    assert "changed since it was registered" in reg.verify(v1)[0]
    (v1.path / "adapter" / "weights.bin").unlink()
    assert "missing" in reg.verify(v1)[0]
    assert registry_cli(["--dir", str(tmp_path), "verify", "v1"]) == 1


def _register_one(root: str) -> str:
    return Registry(root).register("dm", _fill("p")).name


def test_concurrent_registrations_get_distinct_numbers(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        names = pool.map(_register_one, [str(tmp_path)] * 8)
    assert sorted(names, key=lambda n: int(n[1:])) == [f"v{i}" for i in range(1, 9)]


def test_lineage_paths_are_relative_so_a_version_moves_whole(tmp_path: Path) -> None:
    parent = tmp_path / "a" / "parents" / "0"
    child = tmp_path / "a" / "adapter"
    parent.mkdir(parents=True)
    child.mkdir()
    write_parents(child, [parent], ["dm:v1"])
    moved = tmp_path / "b"
    (tmp_path / "a").rename(moved)
    assert read_parents(moved / "adapter") == [(moved / "parents" / "0").resolve()]


def test_init_from_names_a_path_or_a_version(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "reg")
    reg.register("dm", _fill("one"))
    parent = resolve_parent("latest", tmp_path / "reg", "dm")
    assert parent.label == "dm:v1" and parent.adapter_dir is not None
    with pytest.raises(ModelRegistryError, match="does not exist"):
        resolve_parent("runs/gone/adapter", tmp_path / "reg", "dm")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelRegistryError, match="holds no adapter"):
        resolve_parent(str(empty), tmp_path / "reg", "dm")


def test_cli_list_show_promote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reg = Registry(tmp_path)
    reg.register("dm", lambda f, n: {**_fill("one")(f, n), **_minimal()})
    reg.register("dm", lambda f, n: {**_fill("two")(f, n), **_minimal(parent="dm:v1")})
    assert registry_cli(["--dir", str(tmp_path), "promote", "v1", "--alias", "production"]) == 0
    assert registry_cli(["--dir", str(tmp_path), "list"]) == 0
    out = capsys.readouterr().out
    assert "dm:v2" in out and "production" in out
    assert registry_cli(["--dir", str(tmp_path), "show", "latest"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["version"] == "v2" and shown["parent"]["ref"] == "dm:v1"
    assert registry_cli(["--dir", str(tmp_path), "diff", "v1", "v2"]) == 0
    diff = capsys.readouterr().out
    assert "parent: None -> dm:v1" in diff and "tools: +['cast_spell']" in diff
    assert registry_cli(["--dir", str(tmp_path), "show", "v9"]) == 1
    assert "no version 'v9'" in capsys.readouterr().err


def _minimal(parent: str | None = None) -> dict:
    tools = ["roll_dice", "cast_spell"] if parent else ["roll_dice"]
    return {
        "parent": {"ref": parent, "mode": "continue"} if parent else None,
        "data": {"sha256": "ab" * 32, "scenarios": {"train": ["a"]}},
        "tools": {"names": tools},
        "metrics": {"eval/tool_name_f1": 0.5},
    }
