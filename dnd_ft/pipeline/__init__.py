"""Run-level plumbing: the stage registry, the run context, metrics and the manifest."""
