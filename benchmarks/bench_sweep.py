"""Benchmark: what pruning saves in a sweep, and what it costs in the best value found.

    python benchmarks/bench_sweep.py [--trials 10] [--steps 24] [--seed 7] [--noise-seeds 3]

Runs the same search twice through the real entrypoint (`python -m dnd_ft -m sweep=smoke`,
tiny Gemma3, full fine-tuning on the real scenario corpus, the val loss every 4 steps as the
intermediate value and the objective): same trials, same TPE seed, once with the median
pruner and once without. Then, to judge noise, the best unpruned trial's settings trained
again with `--noise-seeds` other seeds (data order and init differ): two best values are
"within noise" when they differ by at most twice the standard deviation of those reruns.

Printed: per study the trials complete / pruned, total optimizer steps, best value, wall and
CPU seconds (CPU of the sweep process and its children: the figure a loaded box cannot
inflate); then the step saving and the verdict. The target (issue 11): at least 40% fewer
steps for a best value within noise.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run(args: list[str], cwd: Path) -> tuple[float, float]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    env.pop("HYDRA_FULL_ERROR", None)
    cpu, wall = _cpu_children(), time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "dnd_ft", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - wall, _cpu_children() - cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--steps", type=int, default=24)
    ap.add_argument("--seed", type=int, default=7, help="the TPE sampler's seed")
    ap.add_argument("--noise-seeds", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    common = [
        "-m", "sweep=smoke", f"trainer.max_steps={args.steps}", "trainer.eval_steps=4",
        "trainer.logging_steps=4", f"hydra.sweeper.n_trials={args.trials}",
        f"hydra.sweeper.sampler.seed={args.seed}", "hydra.sweeper.sampler.n_startup_trials=3",
        "hydra.sweeper.plots=false",
    ]  # fmt: skip
    studies = {
        "no pruning": ["hydra.sweeper.pruner.name=none"],
        "median pruner": [
            "hydra.sweeper.pruner.name=median",
            "hydra.sweeper.pruner.n_startup_trials=3",
            "hydra.sweeper.pruner.n_warmup_steps=4",
        ],  # fmt: skip
    }
    results = {}
    for name, extra in studies.items():
        folder = work / name.replace(" ", "_")
        wall, cpu = _run([*common, *extra, f"hydra.sweep.dir={folder}",
                          f"hydra.sweeper.study_name={folder.name}"], work)  # fmt: skip
        rows = json.loads((folder / "trials.json").read_text())
        complete = [r for r in rows if r["state"] == "complete"]
        best = min(complete, key=lambda r: r["values"]["train/eval_loss"])
        results[name] = {
            "complete": len(complete),
            "pruned": sum(r["state"] == "pruned" for r in rows),
            "steps": sum(r["train_steps"] or 0 for r in rows),
            "best": best["values"]["train/eval_loss"],
            "best_params": best["params"],
            "wall": wall,
            "cpu": cpu,
        }
        print(
            f"{name:14s} {results[name]['complete']:2d} complete {results[name]['pruned']:2d} "
            f"pruned  {results[name]['steps']:4d} steps  best val loss "
            f"{results[name]['best']:.4f}  {wall:6.0f} s wall {cpu:6.0f} s CPU",
            flush=True,
        )

    # Noise: the unpruned study's best settings, trained again with other seeds.
    base = results["no pruning"]["best_params"]
    overrides = [f"{k}={v!r}" if isinstance(v, float) else f"{k}={v}" for k, v in base.items()]
    again = []
    for seed in range(1, args.noise_seeds + 1):
        run_dir = work / f"noise_{seed}"
        _run(["sweep=smoke", f"trainer.max_steps={args.steps}", "trainer.eval_steps=4",
              *overrides, f"seed={seed}", f"hydra.run.dir={run_dir}"], work)  # fmt: skip
        again.append(json.loads((run_dir / "metrics.json").read_text())["train/eval_loss"])
    sd = statistics.stdev(again) if len(again) > 1 else float("nan")
    saved = 1 - results["median pruner"]["steps"] / results["no pruning"]["steps"]
    gap = results["median pruner"]["best"] - results["no pruning"]["best"]
    print(
        f"noise: the best settings with seeds 1..{args.noise_seeds}: "
        f"{', '.join(f'{v:.4f}' for v in again)} (sd {sd:.4f})"
    )
    print(f"steps saved by pruning: {saved:.0%} (target >= 40%)")
    print(
        f"best value, pruned - unpruned: {gap:+.4f}; within noise (|gap| <= 2 sd = "
        f"{2 * sd:.4f}): {'yes' if abs(gap) <= 2 * sd else 'no'}"
    )
    print(f"work folder: {work}")


if __name__ == "__main__":
    main()
