"""Exceptions of the tools package; each message says what was wrong, where, and how to fix it."""

from __future__ import annotations


class RegistryError(ValueError):
    """A tool registry file or spec list is malformed; the message lists every problem."""


class ToolExecutionError(RuntimeError):
    """A tool call could not run: unknown tool, bad arguments, unknown monster, bad dice."""


class UnknownToolError(KeyError):
    """A tool name is not in the registry; the message suggests close names."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""
