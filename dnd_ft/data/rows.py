"""Dataset rows on disk: JSON Lines per split, and the same rows as a Hugging Face
``DatasetDict`` in ``hf/`` (``datasets.load_from_disk(run_dir / "data" / "hf")``, ready to
``push_to_hub``).

Arrow merges dict keys across rows and fills the gaps with nulls, so the two free-form
parts of a row are stored as JSON strings: ``tools`` and every tool call's ``arguments``.
`load_split` decodes them back, so training and evaluation get the HF chat convention.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dnd_ft.chat.base import Rendered, arguments_of
from dnd_ft.data.split import SPLITS
from dnd_ft.utils.io import read_jsonl


def to_row(
    record: dict[str, Any], rendered: Rendered, num_tokens: int | None, split: str
) -> dict[str, Any]:
    """A record plus its rendering, in the on-disk form."""
    return {
        "id": record["id"],
        "scenario_id": record["scenario_id"],
        "flow": record.get("flow", ""),
        "category": record.get("category", ""),
        "tags": list(record.get("tags") or []),
        "source": record.get("source", ""),
        "split": split,
        "augmented": bool(record.get("augmented", False)),
        "augmentation": record.get("augmentation") or "",
        "tools": json.dumps(record.get("tools") or [], ensure_ascii=False),
        "messages": [_store_message(m) for m in record["messages"]],
        "text": rendered.text,
        "spans": [list(span) for span in rendered.spans],
        "call_spans": [list(span) for span in rendered.call_spans],
        "num_tokens": num_tokens,
    }


HF_DIR = "hf"


def to_dataset_dict(splits: dict[str, list[dict[str, Any]]]) -> Any:
    """The splits' rows as a ``datasets.DatasetDict`` with one schema for all splits (an
    empty split gets the others' columns)."""
    from datasets import Dataset, DatasetDict

    everything = [row for rows in splits.values() for row in rows]
    features = Dataset.from_list(everything).features if everything else None

    def dataset(rows: list[dict[str, Any]]) -> Any:
        if rows or features is None:
            return Dataset.from_list(rows, features=features)
        # from_list([]) has no columns to match the features against (datasets 4 refuses it)
        return Dataset.from_dict({name: [] for name in features}, features=features)

    return DatasetDict({name: dataset(rows) for name, rows in splits.items()})


def from_row(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row with ``tools`` and call arguments decoded (dicts again) and nulls dropped."""
    out = dict(row)
    if isinstance(out.get("tools"), str):
        out["tools"] = json.loads(out["tools"])
    out["messages"] = [_load_message(m) for m in row["messages"]]
    out["spans"] = [tuple(span) for span in row.get("spans") or []]
    out["call_spans"] = [tuple(span) for span in row.get("call_spans") or []]
    return out


def load_split(data_dir: str | Path, split: str) -> list[dict[str, Any]]:
    """Rows of ``<data_dir>/<split>.jsonl`` decoded for training and evaluation."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    path = Path(data_dir) / f"{split}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no such split file; run the data stage first (stages=[data])"
        )
    return [from_row(row) for row in read_jsonl(path)]


def _store_message(message: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message["role"], "content": message.get("content") or ""}
    if message.get("name"):
        out["name"] = message["name"]
    if message.get("tool_calls"):
        out["tool_calls"] = []
        for call in message["tool_calls"]:
            func = call.get("function", call)
            args = arguments_of(func.get("arguments"), func.get("name", "?"))
            out["tool_calls"].append({
                "type": "function",
                "function": {"name": func["name"], "arguments": json.dumps(args, ensure_ascii=False)},
            })  # fmt: skip
    return out


def _load_message(message: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in message.items() if v is not None}
    if out.get("tool_calls"):
        out["tool_calls"] = [
            {"type": "function", "function": {
                "name": c["function"]["name"],
                "arguments": arguments_of(c["function"]["arguments"], c["function"]["name"]),
            }}
            for c in out["tool_calls"]
        ]  # fmt: skip
    else:
        out.pop("tool_calls", None)
    return out
