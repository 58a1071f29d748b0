"""``python -m dnd_ft.play [overrides...]``: see `dnd_ft.play.cli`."""

import sys

from dnd_ft.play.cli import main

if __name__ == "__main__":
    sys.exit(main())
