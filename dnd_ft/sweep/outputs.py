"""What a sweep leaves in its folder: trials.md / trials.json (every trial, its state,
values, parameters and run folder), best.yaml (the best trial's overrides and the command
that reruns it), Optuna's plots (plots/*.png) and the trials' leaderboard.

Written at the end of every sweep session, also one that stopped early; several workers of
one study each rewrite them (atomically) from the storage, so the last one covers them all.
"""

from __future__ import annotations

import json
import logging
import shlex
import warnings
from pathlib import Path
from typing import Any

import yaml

from dnd_ft.sweep.space import SearchSpace
from dnd_ft.utils.io import atomic_write_text

log = logging.getLogger(__name__)


def write_outputs(study: Any, sweep_dir: Path, conf: Any, space: SearchSpace) -> None:
    rows = trial_rows(study, conf)
    atomic_write_text(sweep_dir / "trials.json", json.dumps(rows, indent=2) + "\n")
    atomic_write_text(sweep_dir / "trials.md", trials_markdown(rows, conf))
    best = best_record(study, conf, space)
    if best is not None:
        atomic_write_text(sweep_dir / "best.yaml", yaml.safe_dump(best, sort_keys=False))
    if conf.plots:
        write_plots(study, sweep_dir / "plots", list(conf.objective))
    if conf.leaderboard:
        _leaderboard(sweep_dir, rows)


def trial_rows(study: Any, conf: Any) -> list[dict[str, Any]]:
    rows = []
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        rows.append({
            "number": t.number,
            "state": t.state.name.lower(),
            "values": dict(zip(conf.objective, t.values, strict=True)) if t.values else None,
            "params": dict(t.params),
            "train_steps": attrs.get("train_steps"),
            "pruned_at_step": attrs.get("pruned_at_step"),
            "seconds": round(t.duration.total_seconds(), 1) if t.duration else None,
            "run_dir": attrs.get("run_dir"),
            "error": attrs.get("error"),
            "retry_of": attrs.get("retry_of"),
        })  # fmt: skip
    return rows


STATE_ORDER = {"complete": 0, "pruned": 1, "running": 2, "waiting": 3, "fail": 4}


def ranked(rows: list[dict[str, Any]], conf: Any) -> list[dict[str, Any]]:
    """Complete trials best first (by the first objective), then pruned (by the value they
    were stopped on), then the rest by number."""
    first, sign = conf.objective[0], 1.0 if conf.direction[0] == "minimize" else -1.0

    def key(r: dict[str, Any]) -> tuple:
        value = (r["values"] or {}).get(first)
        scored = value is not None and r["state"] in ("complete", "pruned")
        return (STATE_ORDER.get(r["state"], 5), sign * value if scored else 0.0, r["number"])

    return sorted(rows, key=key)


def trials_markdown(rows: list[dict[str, Any]], conf: Any) -> str:
    keys = sorted({k for r in rows for k in r["params"]})
    objectives = list(conf.objective)
    head = ["#", "state", *objectives, *keys, "steps", "seconds", "run folder / error"]
    rows = ranked(rows, conf)
    lines = [
        f"# Study {conf.study_name}: {len(rows)} trial(s), best first",
        "",
        "A pruned trial's value is the val loss it was stopped on (negated when the study "
        "maximises), not its objective.",
        "",
        "Objective: "
        + ", ".join(f"{o} ({d})" for o, d in zip(objectives, conf.direction, strict=True)),
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in rows:
        values = [_fmt((r["values"] or {}).get(o)) for o in objectives]
        params = [_fmt(r["params"].get(k)) for k in keys]
        where = r["error"] or (Path(r["run_dir"]).name if r["run_dir"] else "")
        state = r["state"] + (f" at {r['pruned_at_step']}" if r["pruned_at_step"] else "")
        cells = [str(r["number"]), state, *values, *params, _fmt(r["train_steps"]),
                 _fmt(r["seconds"]), where.replace("|", "/")]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def best_record(study: Any, conf: Any, space: SearchSpace) -> dict[str, Any] | None:
    """The best trial (one objective) or the Pareto front (several), as runnable overrides."""
    from optuna.trial import TrialState

    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return None
    best = [study.best_trial] if len(conf.direction) == 1 else list(study.best_trials)
    out = []
    for t in best:
        overrides = _rerun_overrides(space.overrides(t.params))
        out.append({
            "trial": t.number,
            "values": dict(zip(conf.objective, t.values, strict=True)),
            "params": dict(t.params),
            "overrides": overrides,
            "command": "python -m dnd_ft " + " ".join(shlex.quote(o) for o in overrides),
            "run_dir": t.user_attrs.get("run_dir"),
        })  # fmt: skip
    record: dict[str, Any] = {"study": conf.study_name,
                              "objective": dict(zip(conf.objective, conf.direction, strict=True))}  # fmt: skip
    if len(conf.direction) == 1:
        record.update(out[0])
    else:  # the trials no other beats on every objective
        record["pareto_front"] = out
    return record


def _rerun_overrides(overrides: list[str]) -> list[str]:
    """A trial's overrides for a single run: the sweep overlay stays (it carries the trial's
    settings), the run goes to its own folder."""
    return [o for o in overrides if not o.startswith("hydra.sweep")]


def write_plots(study: Any, out: Path, objectives: list[str]) -> dict[str, Path]:
    """Optuna's matplotlib plots as PNG; a plot the study cannot have yet (too few finished
    trials, one parameter) is skipped with a log line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as vis

    out.mkdir(parents=True, exist_ok=True)
    multi = len(objectives) > 1
    plots: dict[str, Any] = {
        "param_importances": lambda: vis.plot_param_importances(
            study, target=(lambda t: t.values[0]) if multi else None, target_name=objectives[0]
        ),
        "parallel_coordinate": lambda: vis.plot_parallel_coordinate(
            study, target=(lambda t: t.values[0]) if multi else None, target_name=objectives[0]
        ),
    }
    if multi:
        plots["pareto_front"] = lambda: vis.plot_pareto_front(study, target_names=objectives)
    else:
        plots["optimization_history"] = lambda: vis.plot_optimization_history(
            study, target_name=objectives[0]
        )
        plots["intermediate_values"] = lambda: _labelled(
            vis.plot_intermediate_values(study),
            "val loss" + (" (negated: the study maximises)" if _maximises(study) else ""),
        )
    written = {}
    for name, draw in plots.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
                ax = draw()
            fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
            fig.set_size_inches(9, 5.5)
            fig.tight_layout()
            path = out / f"{name}.png"
            tmp = path.with_suffix(".tmp.png")
            fig.savefig(tmp, dpi=110)
            tmp.replace(path)
            plt.close(fig)
            written[name] = path
        except Exception as exc:  # noqa: BLE001  # e.g. importances of fewer than 2 trials
            log.info("sweep: no %s plot yet (%s)", name, exc)
            plt.close("all")
    return written


def _labelled(ax: Any, label: str) -> Any:
    ax.set_ylabel(label)
    return ax


def _maximises(study: Any) -> bool:
    from optuna.study import StudyDirection

    return study.direction == StudyDirection.MAXIMIZE


def _leaderboard(sweep_dir: Path, rows: list[dict[str, Any]]) -> None:
    """The report's leaderboard of the trials that ran the eval stage (none does when the
    objective is the val loss)."""
    from dnd_ft.report.build import make_leaderboard

    evaluated = [r for r in rows if r["run_dir"] and _has_eval(Path(r["run_dir"]))]
    if not evaluated:
        log.info("sweep: no leaderboard: no trial ran the eval stage")
        return
    make_leaderboard([Path(r["run_dir"]) for r in evaluated], sweep_dir / "leaderboard")


def _has_eval(run_dir: Path) -> bool:
    return any(k.startswith("eval/") for k in read_metrics(run_dir))


def read_metrics(run_dir: Path) -> dict[str, Any]:
    """A trial's metrics.json; empty when it has none (yet), or only half of one."""
    try:
        return json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
