"""Config machinery that knows no stage: Hydra's store, strict key checks, problem collection.

Each stage package owns its schema and checks (``<stage>/config.py``); the registry in
`dnd_ft.pipeline.stages` wires them in, and `dnd_ft.pipeline.config` registers and validates
them with the helpers here.
"""
