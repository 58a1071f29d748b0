"""The `export` stage: the fine-tuned model in the forms that run elsewhere.

Today: the merged model (`dnd_ft.export.merge`), verified by reloading it. GGUF with its
quantizations, Ollama/LM Studio files and Cactus bundles build on it (the export issue).
"""
