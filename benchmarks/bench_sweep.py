"""Sweep speed: per-run overhead of the sweep machinery and a 1,000-run sweep on 2 workers.

Run: ``python benchmarks/bench_sweep.py [--quick] [--json]``; ``benchmarks/run.py`` calls
:func:`run`.

- ``overhead``: a sweep of a tiny scenario (2 layers, so simulation is cheap) in this process
  (``jobs=1``) against the same runs made by calling :func:`hetsim.simulation.run_scenario`
  in a loop (the reference: no validation pass, no fingerprints, no file). The difference
  per run is what the sweep adds.
- ``pool``: the same tiny sweep with ``jobs=2`` (process start-up, chunk round trips).
- ``sweep1000``: the default scenario (61-layer DSA decode, MI210 + U55C) over 125
  context lengths x 4 batch sizes x 2 mappings = 1,000 runs with ``jobs=2`` (``--quick``:
  25 x 2 x 2 = 100 runs), wall time and runs/s.
"""

from __future__ import annotations

import copy
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from hetsim.loader import resolve_scenario_path, scenario_from_dict
from hetsim.simulation import run_scenario
from hetsim.sweep import Axis, run_sweep, set_path

TINY = {"name": "tiny", "system": {"devices": [{"preset": "mi210", "name": "gpu"}]},
        "workload": {"name": "dsa_decode", "params": {"context_len": 1024, "batch": 1, "num_layers": 2}},
        "mapping": {"policy": "gpu-only"}}


def _tiny_sweep(d: Path, n: int, jobs: int) -> tuple[float, float, int]:
    """(sweep wall s, reference loop wall s, runs) for n context values x 1 mapping."""
    f = d / "tiny.yaml"
    f.write_text(yaml.safe_dump(TINY))
    axes = [Axis("workload.params.context_len", tuple(1024 + 64 * i for i in range(n)))]
    t = time.perf_counter()
    run_sweep(str(f), axes, ["gpu-only"], d / f"o{jobs}-{time.monotonic_ns()}", jobs=jobs)
    sweep_s = time.perf_counter() - t
    t = time.perf_counter()
    for v in axes[0].values:
        doc = copy.deepcopy(TINY)
        set_path(doc, axes[0].path, v)
        run_scenario(scenario_from_dict(doc, str(f)), mapping="gpu-only", file=str(f))
    return sweep_s, time.perf_counter() - t, n


def run(quick: bool = False) -> dict:
    """Measure; return a flat dict with stable keys (seconds, runs/s, ratios)."""
    res: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        n = 40 if quick else 200
        sw, ref, runs = [], [], n
        for _ in range(1 if quick else 3):
            a, b, runs = _tiny_sweep(d, n, 1)
            sw.append(a)
            ref.append(b)
        res["overhead_runs"] = runs
        res["overhead_sweep_s"] = statistics.median(sw)
        res["overhead_reference_loop_s"] = statistics.median(ref)
        res["overhead_per_run_s"] = (res["overhead_sweep_s"] - res["overhead_reference_loop_s"]) / runs
        res["overhead_ratio_vs_loop"] = res["overhead_sweep_s"] / res["overhead_reference_loop_s"]
        a, _, _ = _tiny_sweep(d, n, 2)
        res["pool_jobs2_tiny_sweep_s"] = a
        # the big one: the default scenario
        ctx = tuple(512 * (k + 1) for k in range(25 if quick else 125))
        batch = (1, 8) if quick else (1, 2, 4, 8)
        axes = [Axis("workload.params.context_len", ctx), Axis("workload.params.batch", batch)]
        t = time.perf_counter()
        out = run_sweep(str(resolve_scenario_path(None)), axes, ["gpu-only", "hetero"], d / "big", jobs=2)
        wall = time.perf_counter() - t
        res["sweep_runs"] = len(out.rows)
        res["sweep_failed_runs"] = len(out.failed)
        res["sweep_jobs2_wall_s"] = wall
        res["sweep_runs_per_s"] = len(out.rows) / wall
        t = time.perf_counter()
        again = run_sweep(str(resolve_scenario_path(None)), axes, ["gpu-only", "hetero"], d / "big", jobs=2)
        res["sweep_resume_all_reused_s"] = time.perf_counter() - t
        assert again.reused == len(out.rows)
    res["sweep_scenario_tasks_note"] = "default scenario: dsa_decode 61 layers"
    return res


def main() -> None:
    from _cli import main as cli_main

    cli_main(run, __doc__, width=36)


if __name__ == "__main__":
    main()
