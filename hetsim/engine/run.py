"""Run a mapped task graph on a system and return its trace, on either engine path.

* ``simpy`` — :mod:`.reference`: one SimPy process per task, the modelling API of the design
  and the reference every other path is checked against.
* ``fast`` — :mod:`.fast`: the same events in the same order on a plain event queue; traces
  are identical (``tests/test_fast_engine.py`` runs every built-in scenario and generated
  graphs through both).
* ``auto`` (default) — ``fast`` when the run uses nothing the fast path lacks
  (:func:`fast_path_blocker`), else ``simpy``. The trace's ``meta["engine"]`` says which ran.

Python's cyclic garbage collector is paused during the event loop (restored afterwards):
the loop allocates millions of short-lived objects and no reference cycles that need it.
"""

from __future__ import annotations

import gc
import os

import networkx as nx

from ..config.system import SystemSpec
from ..costs import CostModel
from ..errors import HetsimError
from ..mapping.base import Mapping
from ..trace import Trace
from .fast import run_fast
from .plan import QUEUE_POLICIES, Plan, make_plan
from .reference import run_reference

ENGINES = ("auto", "simpy", "fast")

__all__ = ["ENGINES", "QUEUE_POLICIES", "fast_path_blocker", "simulate"]


#: Graphs with fewer tasks take the pure-Python fast path (no numba import, no JIT cache load,
#: and :mod:`.compiled`, which needs numpy, is not imported at all: a short run's start-up);
#: ``HETSIM_COMPILED_MIN_TASKS`` overrides it (0 = always compiled when numba is installed).
COMPILED_MIN_TASKS = 20_000


def compiled_min_tasks() -> int:
    v = os.environ.get("HETSIM_COMPILED_MIN_TASKS")
    return int(v) if v else COMPILED_MIN_TASKS


def use_compiled(num_tasks: int) -> bool:
    """Whether the fast path runs its compiled loop (:mod:`.compiled`): the graph has at least
    :func:`compiled_min_tasks` tasks and numba is installed. Smaller graphs are decided
    without importing :mod:`.compiled` (numpy) or numba."""
    if num_tasks < compiled_min_tasks():
        return False
    from . import compiled

    return compiled.available()


def fast_path_blocker(graph: nx.DiGraph, plan: Plan | None = None) -> str | None:
    """Why the fast path cannot run this graph, or None if it can.

    The fast path implements exactly the reference engine's task processes, engine pools,
    link channels and shared memory bandwidth. A graph that asks for anything else (graph
    attribute ``engine_features``, e.g. a plug-in that adds its own SimPy processes) runs on
    SimPy.
    """
    extra = graph.graph.get("engine_features")
    if extra:
        return f"graph needs engine features {sorted(extra)} that only the SimPy engine has"
    return None


def simulate(graph: nx.DiGraph, system: SystemSpec, mapping: Mapping, costs: CostModel | None = None,
             *, queue_policy: str = "fifo", power_off_unused: bool = True,
             engine: str = "auto") -> Trace:
    """Simulate *graph* (with transfer tasks already inserted) and return its trace.

    Parameters
    ----------
    graph : networkx.DiGraph
        Validated task graph in which split edges are transfer tasks
        (:func:`hetsim.mapping.transfers.insert_transfers`). It is checked for cycles here
        (as a by-product of the start order), not validated again.
    system : SystemSpec
    mapping : Mapping
        Device (and optional engine pool) of every non-transfer task.
    costs : CostModel, optional
        Prices tasks; a fresh one by default.
    queue_policy : {"fifo", "critical-path-first"}
        Which waiting task gets a freed engine or channel first.
    power_off_unused : bool
        A device that the mapping gives no task and no data counts as absent (no idle
        energy), so a ``gpu-only`` run is the GPU alone, as in the study's baseline.
    engine : {"auto", "simpy", "fast"}
        Which engine path runs (see the module docstring).
    """
    if engine not in ENGINES:
        raise HetsimError(f"unknown engine {engine!r}; allowed: {', '.join(ENGINES)}")
    blocker = fast_path_blocker(graph)
    if engine == "fast" and blocker:
        raise HetsimError(f"engine 'fast' cannot run this graph: {blocker}")
    chosen = "simpy" if engine == "simpy" or (engine == "auto" and blocker) else "fast"
    costs = costs or CostModel()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        if chosen == "fast" and use_compiled(graph.number_of_nodes()):
            from .compiled import make_array_plan, run_compiled

            aplan = make_array_plan(graph, system, mapping, costs, queue_policy, power_off_unused)
            records, memory_bytes, edges = run_compiled(aplan)
            res = aplan.res
        else:
            plan = make_plan(graph, system, mapping, costs, queue_policy, power_off_unused)
            records, memory_bytes = (run_fast if chosen == "fast" else run_reference)(plan)
            records.sort(key=lambda r: (r.start_s, r.end_s, r.resource, r.name, r.hop))
            edges = list(graph.edges())
            res = plan.res
    finally:
        if was_enabled:
            gc.enable()
    return Trace(
        records=records, devices=res.dev_info, channels=res.chan_info,
        link_idle_w=res.link_idle_w, edges=edges, memory_bytes=memory_bytes,
        meta={"queue_policy": queue_policy, "mapping": mapping.policy,
              "num_tasks": graph.number_of_nodes(), "graph": graph.graph.get("name", ""),
              "tokens": graph.graph.get("tokens", 1), "engine": chosen},
    )
