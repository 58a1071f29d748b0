"""Where the bundled configs and scenarios are, in a checkout and in an installed wheel.

The layout keeps ``configs/`` and ``scenarios/`` at the top of the repository; a wheel carries
them as ``dnd_ft/_data/configs`` and ``dnd_ft/_data/scenarios`` (setup.py maps them). A
checkout (an editable install, or the source tree on ``sys.path``) reads them in place.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED = ("configs", "scenarios")


def checkout_root() -> Path | None:
    """The repository this package runs from, or None for an installed wheel."""
    root = PACKAGE_DIR.parent
    return root if (root / "setup.cfg").is_file() and (root / "configs").is_dir() else None


def bundled(name: str) -> Path:
    """The folder of bundled ``configs`` or ``scenarios``."""
    if name not in BUNDLED:
        raise ValueError(f"no bundled folder {name!r}; known: {', '.join(BUNDLED)}")
    installed = PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    root = checkout_root()
    if root is None:
        raise FileNotFoundError(
            f"{installed}: the package was installed without its bundled {name}; reinstall it "
            "from a wheel or sdist built by `pip wheel .`"
        )
    return root / name


def project_root() -> Path:
    """The default home of ``outputs/``: the checkout when running from one, else the
    current folder (an installed package writes where the user runs it)."""
    return checkout_root() or Path.cwd()
