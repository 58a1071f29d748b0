"""Loading an adapter trained on top of other results (``trainer.init_mode=new_adapter``):
apply its ``base_dir`` and merge its ``merge_first`` chain (`dnd_ft.core.lineage`, the
file) before the adapter itself. Every stage that loads an adapter (evaluation, export,
play) goes through here; an adapter without the file is applied to the base model directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dnd_ft.core.lineage import PARENTS_FILE, chain, read_base, read_parents, write_parents

__all__ = ["PARENTS_FILE", "chain", "merge_parents", "read_base", "read_parents", "write_parents"]


def merge_parents(model: Any, adapter_dir: Path) -> Any:
    """``model`` with every parent adapter of ``adapter_dir`` merged in (unchanged when it
    has none). Raises FileNotFoundError naming a parent that is gone."""
    from peft import PeftModel

    for parent in read_parents(adapter_dir):
        if not (parent / "adapter_config.json").is_file():
            raise FileNotFoundError(
                f"{adapter_dir} was trained on top of the adapter {parent}, which is missing; "
                "register versions (python -m dnd_ft.registry) so parents stay with them"
            )
        model = PeftModel.from_pretrained(model, str(parent)).merge_and_unload()
    return model
