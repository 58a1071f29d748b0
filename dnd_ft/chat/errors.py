"""The chat layer's one error: a conversation, format or template it cannot handle."""

from __future__ import annotations

from dnd_ft.errors import DndFtError


class ChatFormatError(DndFtError, ValueError):
    """An unknown format or template, or a conversation a format cannot render.

    A ValueError too, so callers that guard rendering with ``except ValueError`` keep working.
    """
