"""A job's side of a hyperparameter search: its Optuna trial, reached through the study's
storage (so a trial run by any launcher, in any process or machine, can report and be pruned).

The sweep itself (asking, launching, telling) is `dnd_ft.sweep`, driven by the Hydra sweeper
plugin in `hydra_plugins/dnd_ft_sweeper`.
"""
