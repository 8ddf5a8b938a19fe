"""Reporting speed: the timeline picture, the Perfetto trace, and `hetsim run` as a whole process.

Run: ``python benchmarks/bench_report.py [--quick] [--json]``; ``benchmarks/run.py`` calls
:func:`run`. Each figure sits beside a reference measured in the same process on the same
trace, so the ratio is what to compare across machines and commits:

- ``timeline``: :func:`hetsim.report.plots.plot_timeline` (one collection per row and step)
  against the drawing it replaced, one ``broken_barh`` call per record (same figure size, same
  rows and colours, PNG at the same dpi).
- ``trace``: the streamed ``trace.json`` writer against building the whole document in memory
  and writing it with one ``json.dumps``.
- ``cli``: wall time of ``hetsim run`` (default scenario and ``rag-dense``) as a fresh
  process, with and without the PNG; median of a few runs.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hetsim.loader import load_scenario, resolve_scenario_path
from hetsim.report.perfetto import chrome_trace, write_chrome_trace
from hetsim.report.plots import STEP_COLORS, _scale, plot_timeline, pyplot, timeline_rows
from hetsim.simulation import run_scenario


def per_record_reference(trace, path: Path) -> None:
    """The old drawing: one broken_barh (one collection, one autoscale) per record."""
    plt = pyplot()
    rows = timeline_rows(trace)
    index = {r: i for i, r in enumerate(rows)}
    f, _ = _scale(trace.makespan_s or 1.0)
    fig, ax = plt.subplots(figsize=(13, 0.9 + 0.35 * len(rows) + 0.8))
    for r in trace.records:
        if r.resource in index:
            ax.broken_barh([(r.start_s * f, r.duration_s * f)], (index[r.resource] - 0.4, 0.8),
                           facecolors=STEP_COLORS[r.step], edgecolor="black", linewidth=0.2)
    ax.set_xlim(0, trace.makespan_s * f)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _time(fn, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds (CPU: what the call costs on a shared machine)."""
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def _cli_wall(args: list[str], repeats: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "hetsim.cli", *args, "--out", d], check=True, env=env,
                           stdout=subprocess.DEVNULL)
            out.append(time.perf_counter() - t)
    return statistics.median(out)


def run(quick: bool = False) -> dict:
    """Measure; return a flat dict with stable keys (seconds, ratios, counts)."""
    name = "default" if quick else "rag-dense"
    p = resolve_scenario_path(name)
    trace = run_scenario(load_scenario(p), file=str(p)).trace
    res: dict = {"timeline_scenario": name, "timeline_records": len(trace.records)}
    repeats = 1 if quick else 3
    with tempfile.TemporaryDirectory() as d:
        png = Path(d) / "t.png"
        plot_timeline(trace, png)  # warm: matplotlib import and font cache
        res["timeline_s"], res["timeline_cpu_s"] = _time(lambda: plot_timeline(trace, png), repeats)
        res["timeline_per_record_reference_s"], res["timeline_per_record_reference_cpu_s"] = _time(
            lambda: per_record_reference(trace, png), 1)
        res["timeline_speedup_vs_reference"] = (res["timeline_per_record_reference_cpu_s"]
                                                / res["timeline_cpu_s"])
        tj = Path(d) / "trace.json"
        res["trace_streamed_s"], _ = _time(lambda: write_chrome_trace(trace, tj), repeats)
        res["trace_in_memory_reference_s"], _ = _time(lambda: tj.write_text(json.dumps(chrome_trace(trace))),
                                                      repeats)
        res["trace_ratio_vs_reference"] = res["trace_streamed_s"] / res["trace_in_memory_reference_s"]
    n = 1 if quick else 3
    res["cli_run_default_wall_s"] = _cli_wall(["run"], n)
    res["cli_run_default_no_plot_wall_s"] = _cli_wall(["run", "--no-plot", "--json"], n)
    if not quick:
        res["cli_run_rag_dense_wall_s"] = _cli_wall(["run", "rag-dense"], n)
        res["cli_run_rag_dense_no_plot_wall_s"] = _cli_wall(["run", "rag-dense", "--no-plot"], n)
    return res


def main() -> None:
    from _cli import main as cli_main

    cli_main(run, __doc__, width=40)


if __name__ == "__main__":
    main()
