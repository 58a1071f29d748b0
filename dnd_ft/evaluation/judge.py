"""An optional judge: a local model grades each DM reply 1-5 with a fixed rubric.

Off by default (``eval.judge.enabled``): a judge as small as the models under test grades
noisily, and it costs one more generation per turn. The judge is any model config
(``eval.judge.model``, a ``configs/model/`` name); its prompt is rendered in that model's own
chat format, and the first digit 1-5 of its answer is the score (no digit: unparsed).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

RUBRIC = """You grade replies of a Dungeon Master (DM) in a Dungeons & Dragons 5e game.
Score the DM reply from 1 to 5:
5 = vivid, in character, follows the rules, uses the scene's names, moves the game forward
4 = good, with one small flaw
3 = acceptable but bland, vague or slightly off the rules
2 = confusing, contradicts the scene, or breaks character
1 = off-topic, out of character or nonsense
Answer with a single digit and nothing else."""
MAX_SCENE_CHARS = 1200  # the judge needs the scene's gist, not the whole system prompt
_SCORE = re.compile(r"[1-5]")


def judge_messages(scene: str, player: str, reply: str, reference: str) -> list[dict[str, str]]:
    """The judge's conversation for one reply: rubric as system, the case as user."""
    case = (
        f"Scene:\n{scene[:MAX_SCENE_CHARS]}\n\nPlayer:\n{player}\n\n"
        f"Reference reply (by a human DM):\n{reference}\n\nDM reply to grade:\n{reply}\n\nScore:"
    )
    return [{"role": "system", "content": RUBRIC}, {"role": "user", "content": case}]


def parse_score(text: str) -> int | None:
    """The first digit 1-5 of the judge's answer, or None."""
    match = _SCORE.search(text)
    return int(match.group(0)) if match else None


def judge_cases(
    rows: Sequence[Mapping[str, Any]], records: Sequence[Mapping[str, Any]], max_turns: int
) -> list[list[dict[str, str]]]:
    """Judge conversations for the first ``max_turns`` records whose gold reply has text."""
    by_id = {str(r["id"]): r for r in rows}
    cases = []
    for rec in records:
        if len(cases) >= max_turns or not rec["gold"]["content"].strip():
            continue
        messages = by_id[rec["id"]]["messages"]
        scene = str(messages[0].get("content") or "") if messages[0].get("role") == "system" else ""
        player = next((str(m.get("content") or "") for m in reversed(messages[: rec["turn"]])
                       if m.get("role") == "user"), "")  # fmt: skip
        cases.append(judge_messages(scene, player, rec["content"], rec["gold"]["content"]))
    return cases


def run_judge(
    rows: Sequence[Mapping[str, Any]],
    records: Sequence[Mapping[str, Any]],
    judge_cfg: Any,
    cache_dir: str | Path,
    *,
    judge: tuple[Any, Any, Any] | None = None,
) -> dict[str, float | int | None]:
    """Grade replies; returns ``judge_score`` (mean 1-5), ``judge_parse_rate``, ``n_judged``.

    judge: an already loaded ``(model, tokenizer, chat format)``; loaded from
    ``judge_cfg.model`` when None.
    """
    from dnd_ft.evaluation.generate import generate_texts

    cases = judge_cases(rows, records, int(judge_cfg.max_turns))
    if not cases:
        return {"judge_score": None, "judge_parse_rate": None, "n_judged": 0}
    if judge is None:
        judge = load_judge(judge_cfg.model, cache_dir)
    model, tokenizer, fmt = judge
    prompts = [fmt.render_prompt(c, None) for c in cases]
    outputs = generate_texts(
        model, tokenizer, prompts, batch_size=int(judge_cfg.batch_size),
        max_new_tokens=int(judge_cfg.max_new_tokens), stop_strings=fmt.stop_strings,
    )  # fmt: skip
    scores = [s for s in (parse_score(o.text) for o in outputs) if s is not None]
    return {
        "judge_score": sum(scores) / len(scores) if scores else None,
        "judge_parse_rate": len(scores) / len(outputs),
        "n_judged": len(outputs),
    }


def load_judge(name: str, cache_dir: str | Path) -> tuple[Any, Any, Any]:
    """Model, tokenizer and chat format of the judge model config ``name``."""
    from dnd_ft.chat.formats import get_format
    from dnd_ft.models import load_model, load_tokenizer
    from dnd_ft.models.config import model_config

    model_cfg = model_config(name)
    tokenizer = load_tokenizer(model_cfg, cache_dir)
    model = load_model(model_cfg, cache_dir)
    log.info("judge model: %s", name)
    return model, tokenizer, get_format(model_cfg.chat_format, tokenizer)
