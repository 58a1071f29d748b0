"""dnd-ft: fine-tune small chat models into a tool-calling D&D game master."""

__version__ = "0.1.0"
