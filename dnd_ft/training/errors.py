"""Turn what goes wrong while training into one-line StageErrors with a cause and a fix.

The full traceback still reaches the run log: the CLI logs the chained exception at debug
level into `run_dir/dnd_ft.log`, and these errors are raised `from` the original.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from omegaconf import DictConfig

from dnd_ft.errors import DndFtError, StageError
from dnd_ft.training.callbacks import NonFiniteLoss
from dnd_ft.utils.disk import DiskFullError, failed_path, is_disk_full


def is_oom(exc: BaseException) -> bool:
    """CUDA OOM (torch.OutOfMemoryError), MPS OOM (a RuntimeError) or a failed CPU alloc."""
    if type(exc).__name__ == "OutOfMemoryError" or isinstance(exc, MemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def oom_message(cfg: DictConfig, device: str) -> str:
    t = cfg.trainer
    return (
        f"out of memory on {device} while training {cfg.model.name} "
        f"(method={t.method}, batch_size={t.batch_size}, max_length={t.max_length}); fix: lower "
        f"trainer.batch_size and raise trainer.grad_accum to keep the effective batch of "
        f"{t.batch_size * t.grad_accum}, lower trainer.max_length, set "
        "trainer.gradient_checkpointing=true, or use trainer=qlora (CUDA)"
    )


def diverged_message(cfg: DictConfig, exc: NonFiniteLoss, precision: str, data_dir: str) -> str:
    t = cfg.trainer
    return (
        f"training diverged: {exc.key} became {exc.value} at step {exc.step} "
        f"(learning_rate={t.learning_rate:g}, precision={precision}); fix: lower "
        f"trainer.learning_rate (e.g. trainer.learning_rate={t.learning_rate / 10:g}), train in "
        "trainer.precision=fp32, and check the data for empty or broken examples in "
        f"{data_dir}; checkpoints before the failure are kept for trainer.resume"
    )


def load_message(cfg: DictConfig, exc: BaseException) -> str:
    m = cfg.model
    where = {"hub": m.hub_id, "local": m.local_path, "gguf_asset": m.gguf_asset}.get(m.source, "")
    from dnd_ft.models.hub import download_command

    hint = (
        "the hub is not reachable from here (offline): download it where there is network "
        f"({download_command(m.hub_id, m.revision)}) and copy the Hugging Face cache, or set "
        "model.source=local model.local_path=<folder>"
        if m.source == "hub"
        else "check the model files exist and are complete"
    )
    return (
        f"could not load model {m.name} (source={m.source} {where or ''}): "
        f"{type(exc).__name__}: {exc}; {hint}; on a machine without them use model=tiny_qwen3"
    )


@contextmanager
def loading_errors(cfg: DictConfig) -> Iterator[None]:
    """Around model loading: missing files, no network, a backend that is not installed,
    LoRA target modules the model does not have, a full disk (building a cached model)."""
    try:
        yield
    except DndFtError:
        raise  # ModelLoadError and friends already say what to do
    except ImportError as exc:
        raise StageError(
            f"trainer.backend/method needs {exc.name or 'a package'} which is not installed "
            f"({exc}); pip install 'dnd-ft[cuda]' on a CUDA machine, or use trainer=cpu"
        ) from exc
    except BaseException as exc:
        if is_disk_full(exc):  # before OSError below: ENOSPC is an OSError too
            raise DiskFullError(failed_path(exc) or cfg.paths.cache_dir, "the model") from exc
        if is_oom(exc):
            raise StageError(oom_message(cfg, "the device")) from exc
        if isinstance(exc, ValueError) and "target module" in str(exc).lower():
            raise StageError(
                f"trainer.lora.target_modules: {list(cfg.trainer.lora.target_modules)} not found "
                f"in {cfg.model.name} ({exc}); list its projection layers, e.g. "
                "[q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj]"
            ) from exc
        if isinstance(exc, OSError) or "huggingface_hub" in type(exc).__module__:
            raise StageError(load_message(cfg, exc)) from exc
        raise


@contextmanager
def training_errors(
    cfg: DictConfig, device: str, precision: str, data_dir: str, out_dir: str
) -> Iterator[None]:
    """Around the training loop: divergence, out-of-memory and a disk too full for the
    checkpoints (in ``out_dir``) become StageErrors."""
    try:
        yield
    except NonFiniteLoss as exc:
        raise StageError(diverged_message(cfg, exc, precision, data_dir)) from exc
    except BaseException as exc:
        if is_disk_full(exc):
            raise DiskFullError(failed_path(exc) or out_dir, "a checkpoint") from exc
        if is_oom(exc):
            raise StageError(oom_message(cfg, device)) from exc
        raise
