"""dnd-ft's Optuna sweeper for Hydra (`hydra/sweeper=dnd_ft_optuna`; configs/sweep/*.yaml)."""
