"""Calibrate-then-simulate, checked end to end on this machine: the pipelines and the
single-draw comparison.

``hetsim validate`` uses :mod:`calibration.rounds` (rounds of real passes interleaved with a
same-round re-measurement, errors as medians with intervals); this module holds what both
share (the validation pipelines, their shapes, the table-priced device, the simulation) and
the earlier single-draw :func:`validate`, kept for API users: its one number mixes model
error with machine drift, see :mod:`calibration.rounds`.

:func:`validate` answers two questions about a calibrated table:

1. *Per kernel*: how well does the fitted model predict shapes it was not fitted on? (The
   leave-one-out held-out error stored with each fit.)
2. *Per pipeline*: build a composed pipeline from the workload library (a multi-layer DSA
   decode step, a dense-RAG query), **execute it for real** with the torch kernels on this
   machine, simulate the same graph on a device priced by the table, and compare.

The real run executes the graph's tasks in a topological order, each kernel on buffers of its
own shape prepared beforehand (data dependencies are honoured in order; values are not passed
between kernels, which does not change the kernels' timing). The pipeline is repeated and the
median wall time taken, with one untimed pass first.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any

from hetsim.config.device import DeviceSpec
from hetsim.config.system import SystemSpec
from hetsim.costs import CostModel
from hetsim.costs.fitted import model_label
from hetsim.costs.tables import KernelTable, read_table
from hetsim.engine import simulate
from hetsim.graph import task_of, topological_order
from hetsim.mapping.gpu_only import single
from hetsim.metrics import summarize
from hetsim.workloads.registry import build_workload

#: The composed pipelines of ``hetsim validate`` (sized to run in seconds on 2 CPU cores
#: within a few GB of memory).
PIPELINES: dict[str, tuple[str, dict[str, Any]]] = {
    "dsa_decode": ("dsa_decode", {"context_len": 32768, "batch": 1, "num_layers": 3,
                                  "indexer_intermediate": 1}),
    "rag_dense": ("rag_dense", {"num_docs": 200_000, "embed_dim": 768, "top_k": 4, "doc_tokens": 64,
                                "query_tokens": 16, "decode_tokens": 2, "hidden_size": 1024,
                                "num_heads": 16, "num_kv_heads": 16, "intermediate_size": 2816,
                                "num_layers": 2, "vocab_size": 32000}),
}


def pipeline_graphs() -> dict[str, Any]:
    """name -> validated task graph of each validation pipeline."""
    return {name: build_workload(wl, params) for name, (wl, params) in PIPELINES.items()}


def pipeline_shapes() -> dict[str, list[dict]]:
    """kernel -> distinct shapes the validation pipelines use (calibrated exactly), resolved
    with the kernel's defaults so that ``{"elem_bytes": 2, ...}`` and ``{...}`` are one shape."""
    from hetsim.kernels import KERNELS

    out: dict[str, list[dict]] = {}
    for g in pipeline_graphs().values():
        for n in g.nodes:
            t = task_of(g, n)
            shape = KERNELS[t.kernel].resolve(dict(t.shape))
            if shape not in out.setdefault(t.kernel, []):
                out[t.kernel].append(shape)
    return out


def calibration_grids(kernels: list[str], quick: bool) -> dict[str, list[dict]]:
    """kernel -> the grid of :func:`calibration.grids.shape_grid` plus the validation
    pipelines' own shapes (as the grid's implementation variant), each distinct resolved
    shape once."""
    from hetsim.kernels import KERNELS

    from .grids import shape_grid

    from hetsim.costs.fitted import VARIANT_KEYS

    pipe = pipeline_shapes()
    grids = {}
    for k in kernels:
        shapes = [KERNELS[k].resolve(s) for s in shape_grid(k, quick)]
        # the grid names the implementation variant it measures (e.g. sparse_attention's
        # torch version materialises the gathered rows); a pipeline shape is measured as that
        # variant too, as the fit's shape_overrides will price it
        variant = {v: shapes[0][v] for v in VARIANT_KEYS.get(k, ())
                   if shapes and all(s.get(v) == shapes[0].get(v) for s in shapes)}
        for s in pipe.get(k, []):
            s = {**s, **variant}
            if s not in shapes:
                shapes.append(s)
        grids[k] = shapes
    return grids


def device_from_table(table: KernelTable) -> DeviceSpec:
    """A single-engine CPU device priced by *table* (memory numbers read off this machine);
    its bandwidth is the highest any calibrated call reached (:func:`_streaming_bandwidth`),
    so a task alone runs for its table time and concurrent tasks share."""
    meminfo = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    prov = table.data.get("provenance", {})
    measured = f"{prov.get('command', 'hetsim calibrate')} on {prov.get('host', '?')}, {prov.get('date', '?')}"
    bw = _streaming_bandwidth(table)
    return DeviceSpec.model_validate({
        "name": "cpu", "kind": "cpu", "description": f"calibrated {prov.get('cpu_model', 'CPU')}",
        "engines": [{"name": "compute", "count": 1}],
        "memory": {"capacity_bytes": {"value": meminfo, "measured": "os.sysconf physical pages"},
                   "peak_bandwidth_Bps": {"value": bw, "measured": measured},
                   "achievable_bandwidth_Bps": {"value": bw, "measured": measured}},
        "power": {"idle_w": {"value": 0.0, "measured": "no power reader: energy not modelled"},
                  "active_w": {"value": 0.0, "measured": "no power reader: energy not modelled"}},
        "cost_tables": [str(table.path)],
    })


def _streaming_bandwidth(table: KernelTable) -> float:
    """The highest bytes/s any calibrated call reached, counting bytes with the kernel's own
    formula (:func:`hetsim.kernels.get_kernel` ``work``) over its warm or cold time.

    The engine caps a task's memory traffic (the formula's bytes over its priced time) at the
    device's bandwidth and stretches the task when it asks for more. A device bandwidth
    below what a measured kernel demonstrably reached would stretch that kernel even when it
    runs alone, i.e. price it slower than its own measurement: with the bandwidth taken from
    the streaming kernels only (index_key_write: 5 GB/s on this project's CPU) the simulator
    priced the DSA step's weight-streaming GEMVs (10 GB/s by their formula) at twice their
    table times, +56% on the whole step.
    """
    from hetsim.kernels import get_kernel

    best = 0.0
    for name, entry in table.data["kernels"].items():
        try:
            kernel = get_kernel(name)
        except Exception:  # a kernel this hetsim does not know cannot be priced anyway
            continue
        for p in entry.get("points", []):
            _, nbytes = kernel.work(p["shape"])
            for key in ("median_s", "cold_s"):
                t = p.get(key)
                if t is not None and t > 0:
                    best = max(best, nbytes / t)
    return best or 1e10


def simulate_pipeline(graph, table: KernelTable) -> tuple[float, list]:
    """Simulated makespan in s of *graph* on the table-priced CPU (and the extrapolated
    tasks), tasks whose pipeline context the table holds priced in that context
    (:func:`calibration.contexts.context_extra_s`: the engine prices a task by kernel and
    shape alone, and a validation pipeline runs serially on one engine, so the extra adds)."""
    from .contexts import context_extra_s

    dev = device_from_table(table)
    system = SystemSpec(devices=(dev,))
    m = single(graph, system, {"device": "cpu"})
    trace = simulate(graph, system, m, CostModel({"cpu": [table]}))
    res = summarize(trace)
    return res["makespan_s"] + context_extra_s(graph, table), res["extrapolated_tasks"]


def execute_pipeline(graph, device: str = "cpu", repeats: int = 5, seed: int = 0) -> dict[str, float]:
    """Run *graph* for real with the torch kernels; return wall-time statistics in s."""
    from .kernels import prepare, require_torch

    torch = require_torch()
    gen = torch.Generator().manual_seed(seed)
    order = topological_order(graph)
    calls = []
    for n in order:
        t = task_of(graph, n)
        impl, inputs = prepare(t.kernel, dict(t.shape), device, gen)
        calls.append((impl.run, inputs))
    sync = torch.cuda.synchronize if device != "cpu" else (lambda: None)

    def once() -> float:
        sync()
        t0 = time.perf_counter()
        for run, inputs in calls:
            run(inputs)
        sync()
        return time.perf_counter() - t0

    with torch.inference_mode():
        once()  # untimed: first touches, lazy initialisation
        samples = [once() for _ in range(repeats)]
    calls.clear()
    return {"median_s": statistics.median(samples), "min_s": min(samples), "max_s": max(samples),
            "repeats": repeats}


def validate(table_path: str | Path, device: str = "cpu", repeats: int = 5,
             pipelines: list[str] | None = None, progress=None) -> dict[str, Any]:
    """Return ``{kernels: {NAME: {heldout_error}}, pipelines: {NAME: {measured_s, simulated_s, error}}}``.

    Errors are fractions: ``|simulated - measured| / measured``.
    """
    table = read_table(table_path)
    out: dict[str, Any] = {"table": str(table_path), "device": table.data.get("device", {}),
                           "provenance": table.data.get("provenance", {}), "kernels": {}, "pipelines": {}}
    for name, entry in sorted(table.data["kernels"].items()):
        fit = entry.get("fit", {})
        out["kernels"][name] = {"heldout_error": fit.get("heldout_error"), "model": model_label(fit),
                                "points": len(entry.get("points", []))}
    graphs = pipeline_graphs()
    for name in pipelines or list(graphs):
        g = graphs[name]
        simulated, extrapolated = simulate_pipeline(g, table)
        measured = execute_pipeline(g, device, repeats)
        out["pipelines"][name] = {
            "measured_s": measured["median_s"], "measured_min_s": measured["min_s"],
            "measured_max_s": measured["max_s"], "simulated_s": simulated,
            "error": abs(simulated - measured["median_s"]) / measured["median_s"],
            "tasks": g.number_of_nodes(), "extrapolated_tasks": len(extrapolated)}
        if progress:
            progress(name)
        del g
    errs = [v["heldout_error"] for v in out["kernels"].values() if v["heldout_error"] is not None]
    out["median_kernel_heldout_error"] = statistics.median(errs) if errs else None
    return out


def plot_validation(report: dict[str, Any], table_path: str | Path, path: str | Path) -> Path:
    """Predicted vs measured: every calibrated point (leave-one-out prediction) and pipeline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hetsim.costs.fitted import heldout_point_predictions

    table = read_table(table_path)
    fig, ax = plt.subplots(figsize=(6.5, 6))
    xs, ys = [], []
    for name, entry in table.data["kernels"].items():
        t, pred = heldout_point_predictions(entry.get("fit", {}), name)  # its regime's model, as fitted
        xs += [float(v) for v in t]
        ys += [float(v) for v in pred]
    ax.scatter(xs, ys, s=8, alpha=0.5, color="#9c9c9c", label="kernel shapes (held out)")
    for name, v in report["pipelines"].items():
        ax.scatter([v["measured_s"]], [v["simulated_s"]], s=90, marker="*",
                   label=f"{name} pipeline ({100 * v['error']:.1f}% error)", zorder=3)
    lo = min(xs + ys + [v["measured_s"] for v in report["pipelines"].values()] or [1e-6])
    hi = max(xs + ys + [v["measured_s"] for v in report["pipelines"].values()] or [1.0])
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8, label="predicted = measured")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("measured (s)")
    ax.set_ylabel("predicted / simulated (s)")
    ax.set_title("calibrated CPU: predicted vs measured")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
