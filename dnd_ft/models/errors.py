"""The one error the models stage raises for problems a user can fix."""

from __future__ import annotations

from dnd_ft.errors import StageError


class ModelLoadError(StageError):
    """A model or tokenizer could not be built or loaded; the message says how to fix it."""
