"""The eval stage: replay held-out conversations, score tool calls, prose and context use.

Metric modules (`toolcalls`, `executable`, `quality`, `context`, `scoring`) are pure Python
and import nothing heavy; `generate`, `judge` and `stage` import torch inside functions.
Definitions of every metric: docs/evaluation.md.
"""
