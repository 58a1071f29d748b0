"""``python -m dnd_ft.tools``: the commands of `dnd_ft.tools.cli`, plus ``check`` and
``scaffold`` from `dnd_ft.scenarios.toolcli` (they read and write scenario files).

An entry point, like ``dnd_ft/__main__.py``: the one module of ``dnd_ft.tools`` that may import
the scenarios layer above it (setup.cfg's layers contract lists this import as its exception),
because ``python -m dnd_ft.tools`` always runs a module inside the package. Nothing imports it.
"""

import sys

from dnd_ft.scenarios.toolcli import COMMANDS
from dnd_ft.tools.cli import main

if __name__ == "__main__":
    sys.exit(main(commands=COMMANDS))
