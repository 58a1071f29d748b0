"""``python -m dnd_ft --help``: one short page, generated when asked for.

Hydra prints ``hydra.help.template``; configs/hydra/default.yaml sets it to
``${dnd_ft_help:}``, this resolver, so the page lists the config groups and overlays actually
on the search path (a user's own folders too) and marks the chosen option of each.
"""

from __future__ import annotations

from dnd_ft.config.options import group_options

SUMMARY = (
    "dnd-ft: fine-tune small Gemma and Qwen chat models into a D&D game master that calls tools."
)
EXAMPLES = (
    ("python -m dnd_ft", "offline default: data, train, eval on tiny_qwen3 (CPU)"),
    ("python -m dnd_ft model=tiny_gemma3 debug=smoke", "another model, fast smoke settings"),
    ("python -m dnd_ft -m model=tiny_qwen3,tiny_gemma3", "one run per family (multirun)"),
    ("python -m dnd_ft stages=[data]", "only build the datasets"),
    ("python -m dnd_ft experiment=demo trainer.learning_rate=1e-3", "an overlay plus any key"),
)


def help_page() -> str:
    """The help text (a Hydra resolver: called with no arguments while Hydra prints help)."""
    from dnd_ft.pipeline.config import OVERLAYS
    from dnd_ft.pipeline.stages import GROUPS, STAGES

    choices = _choices()
    width = max(len(g) for g in (*GROUPS, *OVERLAYS)) + 1
    lines = [
        SUMMARY,
        "",
        "Usage: python -m dnd_ft [-m] [group=option ...] [key=value ...]",
        "       (-m: one run per combination of comma-separated values)",
        "",
        "Config groups (group=option; * marks the current choice):",
    ]
    for group in GROUPS:
        lines.append(f"  {group + ':':<{width}} {_options(group, choices.get(group))}")
    lines += ["", "Overlays, off unless chosen (experiment=demo):"]
    for group in OVERLAYS:
        lines.append(f"  {group + ':':<{width}} {_options(group, choices.get(group))}")
    lines += [
        "",
        f"Stages (stages=[...], run in this order): {', '.join(STAGES)}",
        "",
        "Examples:",
        *(f"  {cmd:<58} # {what}" for cmd, what in EXAMPLES),
        "",
        "Any key of the composed config can be set (trainer.learning_rate=1e-4); a misspelt key",
        "stops the run naming it. --cfg job prints the composed config, --hydra-help Hydra's",
        "own flags. Your own config folders: hydra.searchpath=[file://my_configs].",
        "More: README.md and docs/ (docs/failures.md: what a failed or interrupted run leaves).",
        "",
    ]
    return "\n".join(lines).replace("$", "$$")  # Hydra substitutes $NAME in the template


def _options(group: str, chosen: str | None) -> str:
    names = group_options(group)
    return ", ".join(f"{n}*" if n == chosen else n for n in names) or "(none)"


def _choices() -> dict[str, str]:
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return {}
    return {k: str(v) for k, v in HydraConfig.get().runtime.choices.items() if v is not None}
