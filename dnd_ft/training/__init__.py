"""The `train` stage: LoRA / QLoRA / full fine-tuning with checkpoints, resume and monitoring.

    stage.run(ctx)             the pipeline entry (`dnd_ft.training.stage:run`)
    backends.setup_run(cfg)    import Unsloth before transformers when it will be used
    config, checks             the `trainer` schema, and its value and hardware checks
    disk.estimate(cfg, n)      bytes a run writes (for doctor)

Nothing heavy is imported here: torch, transformers and peft load inside the functions that
train, so `import dnd_ft.training` stays cheap.
"""
