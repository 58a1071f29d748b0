"""Keys the schemas do not know, wherever they came from.

Hydra refuses a misspelt key in a group file or a plain override (``trainer.lr=1``) because
the schemas are in struct mode, but a ``+`` override (``+trainer.lr=1``, which Hydra itself
suggests after refusing the plain one) opens the struct flag and adds the key, which nothing
would then read. So after composition the whole config is walked against the dataclasses
and every unknown key is reported by name, with the closest known key.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, ListConfig


def unknown_keys(
    node: Any, schema: type, prefix: str = "", moved: Mapping[str, str] | None = None
) -> list[str]:
    """Messages for every key of ``node`` (a DictConfig) that ``schema`` does not declare.

    Nested dataclasses and lists of dataclasses are walked; ``dict``-typed fields (free-form
    JSON schemas, say) accept any key. ``moved`` maps a retired key to where it went.
    """
    if not isinstance(node, DictConfig) or not dataclasses.is_dataclass(schema):
        return []
    hints = typing.get_type_hints(schema)
    known = [f.name for f in dataclasses.fields(schema)]
    problems: list[str] = []
    for key in node:
        path = f"{prefix}{key}"
        if key not in hints:
            problems.append(_unknown(path, str(key), known, prefix, moved or {}))
            continue
        child = node._get_node(key)
        kind = _dataclass_of(hints[key])
        if kind is not None and isinstance(child, DictConfig):
            problems += unknown_keys(child, kind, f"{path}.", moved)
        item = _list_item_dataclass(hints[key])
        if item is not None and isinstance(child, ListConfig):
            for i, element in enumerate(child):
                problems += unknown_keys(element, item, f"{path}[{i}].", moved)
    return problems


def _unknown(path: str, key: str, known: list[str], prefix: str, moved: Mapping[str, str]) -> str:
    if path in moved:
        return f"{path}: this key is gone; {moved[path]}"
    close = closest(key, known)
    hint = f"did you mean {prefix}{close}? " if close else ""
    group = prefix.rstrip(".") or "the top level"
    return (
        f"{path}: not a key of {group} ({hint}known: {', '.join(known)}); a `+` override "
        "cannot add keys the schema does not declare: fix the name or drop the override"
    )


def closest(key: str, known: list[str]) -> str | None:
    """The known key ``key`` most likely meant: one it abbreviates by initials (``lr`` for
    ``learning_rate``), else the closest spelling."""
    initials = [k for k in known if "_" in k and "".join(w[:1] for w in k.split("_")) == key]
    if initials:
        return initials[0]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return close[0] if close else None


def _dataclass_of(hint: Any) -> type | None:
    """The dataclass inside ``hint`` (``X`` or ``X | None``), else None."""
    for arg in _union_args(hint):
        if isinstance(arg, type) and dataclasses.is_dataclass(arg):
            return arg
    return None


def _list_item_dataclass(hint: Any) -> type | None:
    for arg in _union_args(hint):
        if typing.get_origin(arg) in (list, typing.List):  # noqa: UP006
            (item,) = typing.get_args(arg) or (None,)
            if isinstance(item, type) and dataclasses.is_dataclass(item):
                return item
    return None


def _union_args(hint: Any) -> tuple[Any, ...]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return tuple(a for a in typing.get_args(hint) if a is not type(None))
    return (hint,)
