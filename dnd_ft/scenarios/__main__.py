"""``python -m dnd_ft.scenarios``: see :mod:`dnd_ft.scenarios.cli`."""

import sys

from dnd_ft.scenarios.cli import main

if __name__ == "__main__":
    sys.exit(main())
