"""Shared task shapes and the compiled plan's grouping of alike tasks.

``add_task`` keeps one dict per distinct shape (:func:`hetsim.graph.intern_shape`), and the
compiled plan groups tasks by that dict's identity, merging groups whose shapes are equal
but separate dicts. These tests check that sharing never merges shapes that differ, never
keeps the caller's dict, and that grouping gives the same trace and one price per distinct
(device, kernel, dtype, shape) whether or not the shapes are shared.
"""

from __future__ import annotations

import dataclasses
import os
from unittest import mock

import pytest

from hetsim.costs import CostModel
from hetsim.engine import compiled, simulate
from hetsim.graph import Step, add_edge, add_task, intern_shape, new_graph, task_of
from hetsim.mapping.base import Mapping
from hetsim.mapping.transfers import insert_transfers
from simkit import make_device, make_link, make_system


def test_equal_shapes_share_one_dict_and_unequal_ones_do_not():
    mine = {"m": 2, "k": 64, "n": 64}
    a = intern_shape(mine)
    assert a == mine and a is not mine  # the caller's dict is never kept
    mine["m"] = 3
    assert a["m"] == 2 and intern_shape({"m": 2, "k": 64, "n": 64}) is a
    assert intern_shape(mine) is not a
    assert intern_shape({"m": 2.0, "k": 64, "n": 64}) is not a  # 2 == 2.0, other type
    assert type(intern_shape({"m": 2.0, "k": 64, "n": 64})["m"]) is float
    assert intern_shape({"k": 64, "m": 2, "n": 64}) is not a  # another key order
    odd = {"m": [1]}  # unhashable: no sharing, still a copy
    assert intern_shape(odd) == odd and intern_shape(odd) is not odd


def test_add_task_shares_shapes_across_tasks_and_graphs():
    g, h = new_graph(), new_graph()
    add_task(g, "a", Step.MODEL, "gemm", {"m": 1, "k": 8, "n": 8})
    add_task(g, "b", Step.MODEL, "gemm", {"m": 1, "k": 8, "n": 8})
    add_task(h, "c", Step.MODEL, "gemm", dict(m=1, k=8, n=8))
    add_task(g, "d", Step.MODEL, "gemm", {"m": 2, "k": 8, "n": 8})
    assert task_of(g, "a").shape is task_of(g, "b").shape is task_of(h, "c").shape
    assert task_of(g, "d").shape is not task_of(g, "a").shape


def _graph(unshare: bool):
    """Two devices, repeated shapes, transfers; with *unshare*, every task gets its own
    copy of its shape (as a graph built without add_task would have)."""
    g = new_graph("groups")
    names = []
    for i in range(24):
        n = f"t{i:02d}"
        add_task(g, n, Step.MODEL if i % 3 else Step.COMPUTE_RELEVANCY, "gemm",
                 {"m": 1 + i % 2, "k": 256, "n": 128}, dtype="bf16" if i % 4 else "fp32")
        if i >= 3:
            add_edge(g, names[i - 3], n, 4096)
        names.append(n)
    if unshare:
        for n in names:
            t = task_of(g, n)
            g.nodes[n]["task"] = dataclasses.replace(t, shape=dict(t.shape))
    system = make_system([make_device("a", engines=2, bw=1e9, launch=1e-6),
                          make_device("b", kind="fpga", engines=1, bw=5e8, launch=2e-6)],
                         [(make_link(latency=1e-6, bw=2e9), "a", "b")])
    m = Mapping("t", {n: ("a" if i % 5 else "b") for i, n in enumerate(names)}, {})
    return insert_transfers(g, m), system, m


@pytest.mark.skipif(not compiled.available(), reason="numba is not installed")
@pytest.mark.parametrize("policy", ["fifo", "critical-path-first"])
def test_grouping_gives_the_same_trace_and_one_price_per_distinct_task(policy):
    prices = {}
    for unshare in (False, True):
        gx, system, m = _graph(unshare)
        assert any(task_of(gx, n).is_transfer for n in gx.nodes)
        costs = CostModel()
        with mock.patch.object(costs, "price", wraps=costs.price) as price, \
                mock.patch.dict(os.environ, {"HETSIM_COMPILED_MIN_TASKS": "0"}):
            fast = simulate(gx, system, m, costs, queue_policy=policy, engine="fast")
        keys = [(c.args[1].name, c.args[0].kernel, c.args[0].dtype, tuple(c.args[0].shape.items()))
                for c in price.call_args_list]
        assert len(keys) == len(set(keys)) == 6  # 2 devices x 2 dtypes x 2 m, minus unused
        prices[unshare] = sorted(keys)
        ref = simulate(gx, system, m, CostModel(), queue_policy=policy, engine="simpy")
        assert list(fast.records) == list(ref.records)
        assert fast.memory_bytes == ref.memory_bytes and list(fast.edges) == list(ref.edges)
    assert prices[False] == prices[True]


@pytest.mark.skipif(not compiled.available(), reason="numba is not installed")
def test_mapping_in_graph_order_or_not_gives_the_same_trace():
    """The plan reads a mapping listed in the graph's order in a row, any other by name."""
    g = new_graph("order")
    for i in range(12):
        add_task(g, f"t{i:02d}", Step.MODEL, "gemm", {"m": 1 + i % 3, "k": 64, "n": 64})
        if i >= 2:
            add_edge(g, f"t{i - 2:02d}", f"t{i:02d}", 0)
    system = make_system([make_device("a", engines=2), make_device("b", engines=1, bw=5e8)])
    names = list(g.nodes)
    pick = {n: ("a" if i % 4 else "b") for i, n in enumerate(names)}
    traces = []
    for order in (names, names[::-1]):
        m = Mapping("t", {n: pick[n] for n in order}, {})
        with mock.patch.dict(os.environ, {"HETSIM_COMPILED_MIN_TASKS": "0"}):
            traces.append(simulate(g, system, m, CostModel(), engine="fast"))
    ref = simulate(g, system, Mapping("t", pick, {}), CostModel(), engine="simpy")
    assert list(traces[0].records) == list(traces[1].records) == list(ref.records)
    assert {r.device for r in ref.records} == {"a", "b"}
