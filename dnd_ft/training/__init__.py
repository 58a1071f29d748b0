"""The `train` stage: LoRA / QLoRA / full fine-tuning with checkpoints, resume and monitoring.

    stage.run(ctx)             the pipeline entry (`dnd_ft.training.stage:run`)
    backends.preimport(cfg)    import Unsloth before transformers when it will be used
    checks                     hardware and cross-field config checks (registered with validate)

Nothing heavy is imported here: torch, transformers and peft load inside the functions that
train, so `import dnd_ft.training` stays cheap.
"""
