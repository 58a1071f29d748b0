"""The Hydra side of the sweeper: the config schema in Hydra's ConfigStore and a `Sweeper`
that hands its work to `dnd_ft.sweep`.

Hydra imports every module under `hydra_plugins` at startup, also for runs that sweep
nothing, so this one imports only Hydra and the dataclass schema; Optuna loads when a sweep
starts.
"""

from __future__ import annotations

from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.errors import CompactHydraException
from hydra.plugins.sweeper import Sweeper
from omegaconf import DictConfig, OmegaConf

from dnd_ft.tuning.config import OptunaSweeperConfig

ConfigStore.instance().store(
    group="hydra/sweeper", name="dnd_ft_optuna", node=OptunaSweeperConfig, provider="dnd_ft"
)


class DndOptunaSweeper(Sweeper):
    def __init__(self, **conf: Any) -> None:
        super().__init__()
        self.conf = OmegaConf.merge(OmegaConf.structured(OptunaSweeperConfig), conf)
        self.hydra_context: Any = None
        self.config: DictConfig | None = None
        self.launcher: Any = None

    def setup(self, *, hydra_context: Any, task_function: Any, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> Any:
        from dnd_ft.errors import DndFtError
        from dnd_ft.sweep.sweeper import Sweep

        assert self.config is not None, "Hydra calls setup() before sweep()"
        try:
            return Sweep(self.conf, self.hydra_context, self.config, self.launcher).run(arguments)
        except DndFtError as exc:  # a message for the user, not a traceback
            raise SweepError(f"error: {exc}") from exc


class SweepError(CompactHydraException):
    """Hydra prints these as their message alone, then exits 1."""
