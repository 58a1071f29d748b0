"""Schema of the `trainer` group: backend, method and every training hyperparameter.

Cross-field and hardware checks (qlora needs CUDA, bf16 needs a GPU that has it, ...) live in
`dnd_ft.training.checks`; this module only declares keys, types and defaults (the only
defaults: configs/trainer/*.yaml are presets that override some).
"""

from __future__ import annotations

from dataclasses import dataclass, field

BACKENDS = ("auto", "hf", "unsloth")
INIT_MODES = ("continue", "new_adapter", "resume")
METHODS = ("lora", "qlora", "full")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup", "cosine_with_restarts")


@dataclass
class LoraConfig:
    """LoRA adapter shape; used by method=lora and method=qlora."""

    r: int = 16  # rank of the update matrices
    alpha: int = 32  # usually 2 x r; the update is scaled by alpha / r
    dropout: float = 0.05
    # Every attention and MLP projection of Qwen3 / Gemma3 / Llama: adapting only q,v is
    # cheaper but learns tool-call formats noticeably slower.
    target_modules: list[str] = field(
        default_factory=lambda: [
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ]
    )
    # Also train the embedding rows of the chat format's control tokens (PEFT's
    # trainable_token_indices): a model that had them added at load time (SmolLM2 has no
    # <tool_call> token) cannot learn to emit them with LoRA on the projections alone.
    train_control_tokens: bool = True


@dataclass
class LossWeightsConfig:
    """Weights of assistant tokens in the loss (all 1.0: the plain mean over them).

    The loss is normalised by the summed weights, so it stays a weighted mean. Needs the
    hf backend's own loss (trainer.target_logits_only); Unsloth fuses its own.
    """

    call: float = 1.0  # tokens of a tool-call block, markers included
    decision: float = 1.0  # each assistant turn's first token: the choice of prose or a call


@dataclass
class EarlyStoppingConfig:
    """Stop when the val loss has not improved for `patience` evaluations (0 turns it off)."""

    patience: int = 0
    min_delta: float = 0.0  # an improvement smaller than this does not count


@dataclass
class TrainerConfig:
    backend: str = "auto"  # auto | hf | unsloth; auto = unsloth on CUDA when installed, else hf
    method: str = "lora"  # lora | qlora (4-bit base, CUDA) | full (all weights, small models)
    precision: str = "auto"  # auto | fp32 | bf16 | fp16; auto = bf16 where supported, else fp32
    lora: LoraConfig = field(default_factory=LoraConfig)

    # Optimisation.
    learning_rate: float = 2e-4
    # A separate rate for trained embedding rows: the control-token rows under LoRA
    # (lora.train_control_tokens), the embedding and output matrices under method=full.
    # New tokens start far from where they must end (SmolLM2's added <tool_call> starts
    # ~18 nats below the text tokens), so they want a higher rate than the projections.
    # null: the same as learning_rate. (Unsloth's trainer calls it embedding_learning_rate too.)
    embedding_learning_rate: float | None = None
    lr_scheduler: str = "cosine"  # one of SCHEDULERS
    warmup_ratio: float = 0.05  # fraction of the total steps spent warming up
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0  # gradient clipping
    optimizer: str = "adamw_torch"  # any transformers `optim` name, e.g. adamw_8bit for qlora
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    # > 0: train on about this many real tokens, whatever the tokenizer: the steps follow from
    # the training rows' mean length (train/tokens records what was used). A fair budget when
    # families with different tokenizers are compared (experiment=compare_families).
    max_tokens: int = 0
    batch_size: int = 4  # examples (or packed rows) per device and step
    eval_batch_size: int = 8
    grad_accum: int = 1  # effective batch = batch_size x grad_accum
    max_length: int = "${model.max_seq_length}"  # type: ignore[assignment]  # tokens per row
    packing: bool = False  # pack several examples into one row of max_length tokens
    gradient_checkpointing: bool = False  # saves memory at ~30% more compute; off on CPU
    # Project onto the vocabulary only at positions that have a target (the assistant's
    # tokens): same loss and gradients, several times less lm_head work (hf backend only;
    # Unsloth fuses its own loss).
    target_logits_only: bool = True
    loss_weights: LossWeightsConfig = field(default_factory=LossWeightsConfig)
    seed: int = "${seed}"  # type: ignore[assignment]

    # Cadence, in optimizer steps; 0 turns the periodic action off.
    logging_steps: int = 10
    eval_steps: int = 50  # val loss every N steps (and always once at the end)
    save_steps: int = 50  # checkpoint every N steps
    save_total_limit: int = 2  # keep the newest N complete checkpoints
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)

    # Run management.
    resume: str = "auto"  # auto (newest complete checkpoint of this run dir) | never | <path>
    progress: bool = True  # rich progress bar on a terminal (log lines otherwise)
    dataloader_workers: int = 0  # batches are pre-tokenized: workers rarely help

    # Incremental training (docs/maintenance.md): start from an earlier result, not the base.
    # A registry version (v1, latest, production, <line>:v2), an adapter folder, a model
    # folder or a run folder; null trains from the base model.
    init_from: str | None = None
    # continue: train the parent's adapter further (same LoRA shape) | new_adapter: merge the
    # parent into the base and train a fresh adapter on top (its own shape) | resume: finish
    # an interrupted run (init_from = its run folder) from its newest checkpoint.
    init_mode: str = "continue"
