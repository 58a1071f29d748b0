"""`python -m dnd_ft`: the Hydra entrypoint."""

from dnd_ft.cli import main

if __name__ == "__main__":
    main()
