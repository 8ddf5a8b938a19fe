"""The fast engine path gives the SimPy reference engine's trace, record for record.

Every built-in scenario under every mapping its golden values cover, and random systems,
graphs, mappings and queue policies (hypothesis), run through SimPy and through both loops
of the fast path (pure Python, and compiled by numba, which large graphs use); the records
(all fields, floats compared exactly), the bytes each memory served and the result must be
equal.
"""

from __future__ import annotations

import json
import os
import pickle
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings, strategies as st

from hetsim.config.scenario import Scenario
from hetsim.costs import CostModel
from hetsim.engine import compiled, simulate
from hetsim.errors import HetsimError
from hetsim.mapping.base import Mapping
from hetsim.mapping.transfers import insert_transfers
from hetsim.metrics import summarize
from hetsim.simulation import run_scenario
from hetsim.trace import LazyList
from simkit import graph_of, make_device, make_system
from strategies import graphs, systems

GOLDEN = json.loads((Path(__file__).parent / "golden" / "scenarios.json").read_text())
CASES = [(s, m) for s, ms in sorted(GOLDEN["scenarios"].items()) for m in sorted(ms)]
#: the fast path's two loops; "compiled" only where numba is installed
LOOPS = ["python"] + (["compiled"] if compiled.available() else [])


@contextmanager
def fast_loop(loop: str):
    """Force the fast path's pure-Python or compiled loop whatever the graph's size."""
    with mock.patch.dict(os.environ, {"HETSIM_COMPILED_MIN_TASKS": "0" if loop == "compiled" else str(10**12)}):
        yield


def dict_copy(trace):
    """A copy of *trace* whose meta can be popped again (one SimPy run, several comparisons)."""
    from dataclasses import replace

    return replace(trace, meta=dict(trace.meta))


def _same(a, b):
    assert a.meta.pop("engine") == "simpy" and b.meta.pop("engine") == "fast"
    assert len(a.records) == len(b.records)
    for ra, rb in zip(a.records, b.records):
        assert ra == rb
    assert a.memory_bytes == b.memory_bytes
    assert a.meta == b.meta and a.devices == b.devices and a.channels == b.channels


@pytest.mark.parametrize("scenario,mapping", CASES, ids=[f"{s}-{m}" for s, m in CASES])
def test_builtin_scenarios_identical_on_both_paths(scenario, mapping):
    sc = Scenario.model_validate(GOLDEN["resolved"][scenario])
    outs = {}
    for engine in ["simpy", *LOOPS]:
        s = sc.model_copy(update={"run": sc.run.model_copy(update={"engine": "simpy" if engine == "simpy" else "fast"})})
        with fast_loop(engine):
            outs[engine] = run_scenario(s, mapping=mapping)
    assert outs["simpy"].result.pop("engine") == "simpy"
    for loop in LOOPS:
        assert outs[loop].result.pop("engine") == "fast"
        assert outs["simpy"].result == outs[loop].result
        _same(dict_copy(outs["simpy"].trace), outs[loop].trace)


@st.composite
def cases(draw):
    system = draw(systems())
    g = draw(graphs())
    names = system.device_names
    assignment = {n: draw(st.sampled_from(names)) for n in sorted(g.nodes)}
    return system, g, assignment, draw(st.sampled_from(["fifo", "critical-path-first"]))


@settings(max_examples=150, deadline=None)
@given(cases())
def test_random_graphs_identical_on_both_paths(case):
    system, g, assignment, policy = case
    m = Mapping("random", assignment, {})
    gx = insert_transfers(g, m)
    a = simulate(gx, system, m, CostModel(), queue_policy=policy, engine="simpy")
    for loop in LOOPS:
        with fast_loop(loop):
            b = simulate(gx, system, m, CostModel(), queue_policy=policy, engine="fast")
        _same(dict_copy(a), b)


def test_contended_wide_graph_identical():
    """Many equal tasks on few engines and one memory: FIFO ties and bandwidth sharing."""
    tasks = [(f"t{i:02d}", "model", "gemm", {"m": 1 + i % 3, "k": 256, "n": 512}) for i in range(40)]
    edges = [(f"t{i:02d}", f"t{i + 8:02d}", 0) for i in range(32)]
    g = graph_of(tasks, edges)
    system = make_system([make_device("d", engines=3, bw=1e9, launch=1e-6)])
    m = Mapping("t", {n: "d" for n in g.nodes}, {})
    for policy in ("fifo", "critical-path-first"):
        a = simulate(g, system, m, queue_policy=policy, engine="simpy")
        for loop in LOOPS:
            with fast_loop(loop):
                b = simulate(g, system, m, queue_policy=policy, engine="fast")
            _same(dict_copy(a), b)
            assert a.edges == b.edges
        assert summarize(a)["makespan_s"] > 0


@pytest.mark.skipif("compiled" not in LOOPS, reason="numba is not installed")
def test_compiled_trace_is_lazy_and_reads_as_a_list():
    """The compiled loop's records are made on first read, compare and pickle as a list."""
    tasks = [(f"t{i}", "model", "gemm", {"m": 1, "k": 64, "n": 64}) for i in range(5)]
    g = graph_of(tasks, [("t0", "t1", 0), ("t0", "t2", 0)])
    system = make_system([make_device("d", engines=2)])
    m = Mapping("t", {n: "d" for n in g.nodes}, {})
    with fast_loop("compiled"):
        tr = simulate(g, system, m, engine="fast")
    assert isinstance(tr.records, LazyList) and tr.records._items is None and len(tr.records) == 5
    with fast_loop("python"):
        ref = simulate(g, system, m, engine="fast")
    assert tr.records == ref.records and ref.records == tr.records and tr.records[1:3] == ref.records[1:3]
    back = pickle.loads(pickle.dumps(tr))
    assert type(back.records) is list and back.records == ref.records and back.edges == ref.edges


def test_engine_choice_is_recorded_and_checked():
    g = graph_of([("a", "model", "gemm", {"m": 1, "k": 8, "n": 8})])
    system = make_system([make_device("d")])
    m = Mapping("t", {"a": "d"}, {})
    assert simulate(g, system, m).meta["engine"] == "fast"
    g.graph["engine_features"] = ["custom-process"]
    assert simulate(g, system, m).meta["engine"] == "simpy"  # auto falls back
    with pytest.raises(HetsimError, match="fast"):
        simulate(g, system, m, engine="fast")
    with pytest.raises(HetsimError, match="unknown engine"):
        simulate(g, system, m, engine="warp")
