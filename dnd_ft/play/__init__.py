"""``python -m dnd_ft.play``: play a session with the DM in the terminal (docs/play.md).

The same composed config as ``python -m dnd_ft`` chooses what plays (``model=``, a registry
version, an adapter, a GGUF); the session runs the app's tool loop (`dnd_ft.agent`), and
``/save`` writes it as a scenario file. Importing this package loads no model.
"""
