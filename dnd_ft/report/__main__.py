"""`python -m dnd_ft.report PATH... [--out DIR]`: see dnd_ft.report.cli."""

from dnd_ft.report.cli import main

raise SystemExit(main())
