"""One schema module per config group; `dnd_ft.config.store` registers them all."""
