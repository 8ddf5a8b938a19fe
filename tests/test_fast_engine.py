"""The fast engine path gives the SimPy reference engine's trace, record for record.

Every built-in scenario under every mapping its golden values cover, and random systems,
graphs, mappings and queue policies (hypothesis), run through both paths; the records (all
fields, floats compared exactly), the bytes each memory served and the result must be equal.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from hetsim.config.scenario import Scenario
from hetsim.costs import CostModel
from hetsim.engine import simulate
from hetsim.errors import HetsimError
from hetsim.mapping.base import Mapping
from hetsim.mapping.transfers import insert_transfers
from hetsim.metrics import summarize
from hetsim.simulation import run_scenario
from simkit import graph_of, make_device, make_system
from strategies import graphs, systems

GOLDEN = json.loads((Path(__file__).parent / "golden" / "scenarios.json").read_text())
CASES = [(s, m) for s, ms in sorted(GOLDEN["scenarios"].items()) for m in sorted(ms)]


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
    for engine in ("simpy", "fast"):
        s = sc.model_copy(update={"run": sc.run.model_copy(update={"engine": engine})})
        outs[engine] = run_scenario(s, mapping=mapping)
    assert outs["simpy"].result.pop("engine") == "simpy"
    assert outs["fast"].result.pop("engine") == "fast"
    assert outs["simpy"].result == outs["fast"].result
    _same(outs["simpy"].trace, outs["fast"].trace)


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
    b = simulate(gx, system, m, CostModel(), queue_policy=policy, engine="fast")
    _same(a, b)


def test_contended_wide_graph_identical():
    """Many equal tasks on few engines and one memory: FIFO ties and bandwidth sharing."""
    tasks = [(f"t{i:02d}", "model", "gemm", {"m": 1 + i % 3, "k": 256, "n": 512}) for i in range(40)]
    edges = [(f"t{i:02d}", f"t{i + 8:02d}", 0) for i in range(32)]
    g = graph_of(tasks, edges)
    system = make_system([make_device("d", engines=3, bw=1e9, launch=1e-6)])
    m = Mapping("t", {n: "d" for n in g.nodes}, {})
    for policy in ("fifo", "critical-path-first"):
        a = simulate(g, system, m, queue_policy=policy, engine="simpy")
        b = simulate(g, system, m, queue_policy=policy, engine="fast")
        _same(a, b)
        assert summarize(a)["makespan_s"] > 0


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
