"""Mapping policies: unit cases by hand, and the search never losing to another policy."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from hetsim.costs import CostModel
from hetsim.engine import simulate
from hetsim.errors import MappingError
from hetsim.mapping.registry import map_graph, policies
from hetsim.mapping.search import OBJECTIVES, objective_value, search
from hetsim.mapping.transfers import insert_transfers
from hetsim.metrics import summarize
from simkit import graph_of, make_device, make_link, make_system
from strategies import graphs, systems


def _evaluator(graph, system):
    def evaluate(m):
        return summarize(simulate(insert_transfers(graph, m), system, m, CostModel()))
    return evaluate


def test_registry_lists_every_policy():
    assert {"gpu-only", "hetero", "fpga-max", "heft", "optimal"} <= set(policies())


def test_heft_puts_a_big_task_on_the_fast_device_and_a_tiny_one_next_to_its_input():
    slow = make_device("slow", flops=1e11, bw=1e9)
    fast = make_device("fast", kind="fpga", flops=1e13, bw=1e11)
    system = make_system([slow, fast], [(make_link(latency=1e-3, bw=1e9), "slow", "fast")])
    # a (big gemm) -> b (tiny elementwise): a goes to 'fast'; b is cheap anywhere, and moving
    # a's 64 B output costs 1 ms, so b stays on 'fast' too.
    g = graph_of([("a", "model", "gemm", {"m": 512, "n": 512, "k": 512}),
                  ("b", "model", "elementwise", {"num_elems": 10})], [("a", "b", 64)])
    m = map_graph("heft", g, system)
    assert m.assignment == {"a": "fast", "b": "fast"}


def test_fpga_max_keeps_data_with_tasks_the_fpga_cannot_run():
    gpu = make_device("gpu")
    fpga = make_device("fpga", kind="fpga", efficiency={"copy": {"memory": 1.0}})
    system = make_system([gpu, fpga], [(make_link(), "gpu", "fpga")])
    g = graph_of([("w", "prepare_memory", "index_key_write", {"batch": 1, "head_dim": 8}, ("idx",)),
                  ("s", "compute_relevancy", "gemm", {"m": 1, "n": 8, "k": 8}, ("idx",)),
                  ("c", "prepare_memory", "index_key_write", {"batch": 1, "head_dim": 8})],
                 [("w", "s", 0)], data={"idx": 1000})
    m = map_graph("fpga-max", g, system)
    # the FPGA has only a 'copy' roofline: 'c' goes there, but 'idx' must stay with the gemm
    assert m.assignment == {"w": "gpu", "s": "gpu", "c": "fpga"}
    assert m.placement == {"idx": "gpu"}


def test_optimal_needs_an_evaluator():
    system = make_system([make_device("gpu")])
    g = graph_of([("a", "model", "elementwise", {"num_elems": 1})])
    with pytest.raises(MappingError):
        map_graph("optimal", g, system)


@st.composite
def small_cases(draw):
    system = draw(systems())
    g = draw(graphs().filter(lambda g: g.number_of_nodes() <= 5))
    return system, g


@settings(max_examples=200, deadline=None)
@given(small_cases(), st.sampled_from(OBJECTIVES))
def test_optimal_is_never_worse_than_any_other_policy(case, objective):
    system, g = case
    evaluate = _evaluator(g, system)
    best = search(g, system, objective, evaluate, granularity="task")
    assert best.proven_optimal
    for name in ("gpu-only", "hetero", "fpga-max", "heft"):
        try:
            m = map_graph(name, g, system)
        except MappingError:
            continue  # e.g. no FPGA in this system
        other = objective_value(evaluate(m), objective)
        assert best.best.value(objective) <= other * (1 + 1e-9), (
            f"optimal {objective}={best.best.value(objective)} worse than {name}={other}")


@settings(max_examples=60, deadline=None)
@given(small_cases(), st.sampled_from(OBJECTIVES))
def test_branch_and_bound_finds_the_exhaustive_optimum(case, objective):
    system, g = case
    evaluate = _evaluator(g, system)
    full = search(g, system, objective, evaluate, granularity="task")
    bnb = search(g, system, objective, evaluate, granularity="task", exhaustive_limit=0)
    assert bnb.method == "branch-and-bound" and bnb.proven_optimal
    assert bnb.best.value(objective) == pytest.approx(full.best.value(objective), rel=1e-9)
    assert len(bnb.candidates) <= len(full.candidates)


def test_pareto_front_is_nondominated():
    system = make_system([make_device("gpu", flops=1e12, bw=1e10, idle=50, active=300),
                          make_device("fpga", kind="fpga", flops=2e11, bw=4e9, idle=10, active=30)],
                         [(make_link(latency=1e-6, bw=1e10), "gpu", "fpga")])
    g = graph_of([(f"t{i}", "model", "gemm", {"m": 64, "n": 256, "k": 256}) for i in range(4)])
    res = search(g, system, "edp", _evaluator(g, system), granularity="task")
    front = res.pareto()
    assert front and res.exhaustive and len(res.candidates) == 16
    for a in front:
        for c in res.candidates:
            assert not (c.result["makespan_s"] < a.result["makespan_s"] and c.result["energy_j"] < a.result["energy_j"])
