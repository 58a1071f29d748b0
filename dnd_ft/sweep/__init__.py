"""Hyperparameter search through Hydra: `python -m dnd_ft -m sweep=smoke` (docs/sweeps.md).

The Hydra sweeper plugin (`hydra_plugins/dnd_ft_sweeper`) hands its config and the launcher
to `sweeper.Sweep`, which asks Optuna for trials, launches them as jobs, and tells Optuna what
each job's run folder says (status.json, metrics.json). Jobs find their trial through the
study's storage (`dnd_ft.tuning`), so pruning works under any launcher.
"""
