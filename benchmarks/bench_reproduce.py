"""``hetsim reproduce`` speed: the whole comparison (and what-ifs), as a ratio to one compare.

Run: ``python benchmarks/bench_reproduce.py [--whatif] [--no-plot] [--repeats R]``

Target (issue 13): all families and what-ifs with the report in under 3 minutes on a fresh
2-core machine. The baseline, timed in the same process, is one ``compare`` of the built-in
default scenario (a GPU-only and a hetero run of a 61-layer DSA decode step); the ratio
reproduce / baseline is what to compare across machines, since absolute times on a shared
machine drift.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from hetsim.loader import load_scenario
from hetsim.report.reproduce import write_report
from hetsim.reproduce import representative_traces, reproduce
from hetsim.simulation import run_scenario


def baseline() -> float:
    t = time.perf_counter()
    sc = load_scenario("default")
    for m in ("gpu-only", "hetero"):
        run_scenario(sc, mapping=m)
    return time.perf_counter() - t


def once(whatif: bool, plot: bool) -> tuple[float, float, int]:
    t, c = time.perf_counter(), time.process_time()
    data = reproduce(whatif=whatif)
    if plot:
        with tempfile.TemporaryDirectory() as d:
            write_report(data, Path(d), representative_traces(data))
    return time.perf_counter() - t, time.process_time() - c, data["simulations"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--whatif", action="store_true")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    base = [baseline() for _ in range(a.repeats)]
    runs = [once(a.whatif, not a.no_plot) for _ in range(a.repeats)]
    wall = [r[0] for r in runs]
    cpu = [r[1] for r in runs]
    print(f"baseline (default compare): median {statistics.median(base):.2f} s over {len(base)}")
    print(f"reproduce{' --whatif' if a.whatif else ''}{' --no-plot' if a.no_plot else ''}: "
          f"{runs[0][2]} simulations, wall median {statistics.median(wall):.1f} s "
          f"(min {min(wall):.1f}, max {max(wall):.1f}), cpu median {statistics.median(cpu):.1f} s")
    print(f"ratio reproduce / baseline (wall medians): {statistics.median(wall) / statistics.median(base):.1f}")


if __name__ == "__main__":
    main()
