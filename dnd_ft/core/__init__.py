"""What every stage is handed: the run context and the run's metrics (below all stages)."""
