"""``python -m dnd_ft.registry``: see `dnd_ft.registry.cli`."""

import sys

from dnd_ft.registry.cli import main

if __name__ == "__main__":
    sys.exit(main())
