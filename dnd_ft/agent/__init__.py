"""The game master's tool loop, torch-free: the model writes, its calls run, results go back.

`loop.ToolLoop` runs one DM turn (used by ``python -m dnd_ft.play`` and by evaluation's
rollout mode); generation is injected as a function, so any backend (an HF model, a GGUF
through llama.cpp, a scripted model in tests) plays through the same loop.
"""
