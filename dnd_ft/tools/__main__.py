"""``python -m dnd_ft.tools``: see `dnd_ft.tools.cli`."""

import sys

from dnd_ft.tools.cli import main

if __name__ == "__main__":
    sys.exit(main())
