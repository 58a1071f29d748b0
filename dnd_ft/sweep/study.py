"""The study in its storage: created or continued, its settings checked, its trials counted,
and trials whose sweep died while they ran found and failed (or retried).

Each trial a sweep starts carries who runs it (`host`, `pid`) and a `heartbeat` the sweep
renews while the trial runs. On start and while waiting, a running trial is stale when its
sweep process is gone (same host) or its heartbeat is older than `stale_after_seconds`
(another host): it is failed and, up to `retry_stale` times, queued again with its
parameters. Optuna's own heartbeat covers RDB storages inside `study.optimize` only; an
ask-and-tell sweeper over journal files needs this.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dnd_ft.errors import ConfigError
from dnd_ft.tuning.trial import STUDY_ATTR

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0
HOST = socket.gethostname()


@dataclass
class Counts:
    complete: int
    pruned: int
    failed: int  # failed by the job (stale trials are not counted: not the config's fault)
    stale: int
    running: int
    waiting: int

    @property
    def done(self) -> int:
        return self.complete + self.pruned


def open_study(name: str, storage: Any, sampler: Any, settings: dict[str, Any]) -> Any:
    """Create study ``name`` or continue it; refuse one made for another objective."""
    import optuna

    directions = settings["direction"]
    study = optuna.create_study(study_name=name, storage=storage, sampler=sampler,
                                directions=directions, load_if_exists=True)  # fmt: skip
    old = study.user_attrs.get(STUDY_ATTR)
    if old is not None and (old["objective"], old["direction"]) != (
        settings["objective"], settings["direction"]
    ):  # fmt: skip
        raise ConfigError([
            f"hydra.sweeper.study_name: study {name!r} in this storage optimises "
            f"{old['objective']} ({old['direction']}), not {settings['objective']} "
            f"({settings['direction']}); pick another hydra.sweeper.study_name or keep the "
            "study's objective"
        ])  # fmt: skip
    study.set_user_attr(STUDY_ATTR, settings)  # the pruner may change between sessions
    return study


def counts(study: Any) -> Counts:
    from optuna.trial import TrialState

    seen: Counter[str] = Counter()
    for trial in study.get_trials(deepcopy=False):
        if trial.state == TrialState.FAIL and trial.user_attrs.get("stale"):
            seen["stale"] += 1
        else:
            seen[trial.state.name.lower()] += 1
    return Counts(seen["complete"], seen["pruned"], seen["fail"], seen["stale"],
                  seen["running"], seen["waiting"])  # fmt: skip


def claim(trial: Any) -> None:
    """Mark ``trial`` as this process's."""
    trial.set_user_attr("host", HOST)
    trial.set_user_attr("pid", os.getpid())
    trial.set_user_attr("heartbeat", time.time())


def recover_stale(study: Any, storage: Any, retry: int, stale_after: float) -> list[int]:
    """Fail the running trials whose sweep is gone; queue each again up to ``retry`` times.
    Returns their numbers."""
    from optuna.trial import TrialState

    found = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        why = _stale(trial.user_attrs, stale_after)
        if why is None:
            continue
        tid = trial_id(storage, study.study_name, trial.number)
        storage.set_trial_user_attr(tid, "stale", why)
        storage.set_trial_user_attr(tid, "error", f"stale: {why}")
        study.tell(trial.number, state=TrialState.FAIL)
        retries = int(trial.user_attrs.get("retries", 0))
        again = retries < retry
        log.warning("sweep: trial %d was left running (%s); failed%s", trial.number, why,
                    ", queued again with its parameters" if again else "")  # fmt: skip
        if again:
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number,
                                                          "retries": retries + 1})  # fmt: skip
        found.append(trial.number)
    return found


def trial_id(storage: Any, study_name: str, number: int) -> int:
    return storage.get_trial_id_from_study_id_trial_number(
        storage.get_study_id_from_name(study_name), number
    )


def _stale(attrs: dict[str, Any], stale_after: float) -> str | None:
    host, pid, beat = attrs.get("host"), attrs.get("pid"), attrs.get("heartbeat")
    if host is None:
        return None  # not started by this sweeper (optuna's own optimize, a user's ask)
    if host == HOST and pid is not None and not _alive(int(pid)):
        return f"its sweep process {pid} on {host} is gone"
    if beat is not None and time.time() - float(beat) > stale_after:
        return f"no heartbeat from {host}:{pid} for {time.time() - float(beat):.0f} s"
    return None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


class Heartbeat:
    """Renews the `heartbeat` attribute of ``trials`` every 30 s while a batch runs."""

    def __init__(self, trials: Iterable[Any]):
        self.trials = list(trials)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="sweep-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            for trial in self.trials:
                try:
                    trial.set_user_attr("heartbeat", time.time())
                except Exception as exc:  # finished meanwhile, or storage hiccup: next beat
                    log.debug("heartbeat of trial %d: %s", trial.number, exc)
