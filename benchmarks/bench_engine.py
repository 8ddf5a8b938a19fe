"""Engine speed: simulated tasks per second, as a ratio to bare SimPy in the same process.

Run: ``python benchmarks/bench_engine.py [--layers N] [--micro-batches M] [--repeats R]``

The baseline is the least a generator-per-task SimPy engine can cost: one process per task
that waits for its predecessors (AllOf) and yields one timeout. The ratio (hetsim time /
baseline time) is what to compare across machines and commits; absolute times on a shared
2-core machine are noisy.
"""

from __future__ import annotations

import argparse
import statistics
import time

import simpy

from hetsim.costs import CostModel
from hetsim.engine import simulate
from hetsim.graph import topological_order
from hetsim.loader import load_scenario
from hetsim.mapping.registry import map_graph
from hetsim.mapping.transfers import insert_transfers
from hetsim.metrics import summarize
from hetsim.workloads.registry import build_workload


def bare_simpy(graph) -> None:
    env = simpy.Environment()
    done = {n: env.event() for n in graph.nodes}

    def proc(n):
        preds = [done[p] for p in graph.predecessors(n)]
        if preds:
            yield simpy.AllOf(env, preds)
        yield env.timeout(1e-6)
        done[n].succeed()

    for n in topological_order(graph):
        env.process(proc(n))
    env.run()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=61)
    ap.add_argument("--micro-batches", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--mapping", default="gpu-only")
    a = ap.parse_args()
    sc = load_scenario(None)
    params = {**sc.workload.params, "num_layers": a.layers, "micro_batches": a.micro_batches}
    graph = build_workload("dsa_decode", params)
    m = map_graph(a.mapping, graph, sc.system, {})
    gx = insert_transfers(graph, m)
    n = gx.number_of_nodes()
    base, ours, summ = [], [], []
    for _ in range(a.repeats):  # interleaved, so drift hits both alike
        t0 = time.perf_counter()
        bare_simpy(gx)
        t1 = time.perf_counter()
        trace = simulate(gx, sc.system, m, CostModel())
        t2 = time.perf_counter()
        summarize(trace)
        t3 = time.perf_counter()
        base.append(t1 - t0)
        ours.append(t2 - t1)
        summ.append(t3 - t2)
    b, o, s = statistics.median(base), statistics.median(ours), statistics.median(summ)
    print(f"graph: {n} tasks ({a.layers} layers x {a.micro_batches} micro-batches, {a.mapping})")
    print(f"bare SimPy baseline : {b * 1e3:8.1f} ms  ({n / b:,.0f} tasks/s)")
    print(f"hetsim simulate     : {o * 1e3:8.1f} ms  ({n / o:,.0f} tasks/s)  ratio {o / b:.2f}x baseline")
    print(f"hetsim summarize    : {s * 1e3:8.1f} ms  ratio {s / b:.2f}x baseline")


if __name__ == "__main__":
    main()
