"""`TrialLink`: a job's handle on its Optuna trial, opened from the `trial` config keys.

The job reports its periodic val loss to the trial and asks whether to stop; the answer comes
from the study's pruner over every trial in the storage. Nothing here depends on Hydra or on
the process that launched the job.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from dnd_ft.tuning.pruners import PER_INSTANCE, make_pruner
from dnd_ft.tuning.storage import describe, open_storage

log = logging.getLogger(__name__)

# The study's user attribute holding the sweep's settings (pruner, objective, direction).
STUDY_ATTR = "dnd_ft"


class TrialLink:
    """Open trial ``number`` of ``study`` in ``storage``.

    The intermediate value is the val loss, lower is better; in a study that maximises its
    objective the link reports it negated, so the pruner compares trials the right way round.
    """

    def __init__(self, study: str, storage: str, number: int) -> None:
        import optuna

        backend = open_storage(storage)
        loaded = optuna.load_study(study_name=study, storage=backend)
        settings = loaded.user_attrs.get(STUDY_ATTR, {})
        loaded.pruner = make_pruner(settings.get("pruner"))
        name = settings.get("pruner", {}).get("name", "none")
        self.pruning = name != "none"
        # one value per val conversation (step: evaluation round x conversations + index)
        self.per_instance = name in PER_INSTANCE
        self.multi_objective = len(loaded.directions) > 1
        study_id = backend.get_study_id_from_name(study)
        trial_id = backend.get_trial_id_from_study_id_trial_number(study_id, number)
        self.trial = optuna.trial.Trial(loaded, trial_id)
        self.number = number
        maximize = loaded.directions[0] == optuna.study.StudyDirection.MAXIMIZE
        self.sign = -1.0 if maximize else 1.0
        self.where = f"trial {number} of study {study!r} in {describe(storage)}"
        log.info("sweep: this run is %s", self.where)

    @property
    def reports(self) -> bool:
        """Whether intermediate values go to the trial (pruners are single-objective)."""
        return self.pruning and not self.multi_objective

    def report(self, step: int, val_loss: float) -> bool:
        """Record the val loss at ``step``; True when the pruner says to stop here."""
        if not self.reports:
            return False
        self.trial.report(self.sign * float(val_loss), step)
        return bool(self.trial.should_prune())

    def report_instances(self, round_: int, losses: Sequence[float]) -> int | None:
        """Record the val loss of each conversation of evaluation ``round_`` (steps
        ``round_ * len(losses) + i``, so trials pair conversation by conversation at equal
        training progress); the index at which the pruner said to stop, else None."""
        if not self.reports:
            return None
        for i, loss in enumerate(losses):
            self.trial.report(self.sign * float(loss), round_ * len(losses) + i)
            if self.trial.should_prune():
                return i
        return None


def open_link(trial_cfg: Any) -> TrialLink | None:
    """The link for a job the sweeper launched (``trial.number`` set), else None."""
    if trial_cfg is None or trial_cfg.number is None:
        return None
    if not trial_cfg.study or not trial_cfg.storage:
        raise ValueError("trial.number is set but trial.study or trial.storage is not")
    return TrialLink(str(trial_cfg.study), str(trial_cfg.storage), int(trial_cfg.number))
