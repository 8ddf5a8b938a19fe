"""Hypothesis strategies: random systems and random task graphs (shared by property tests)."""

from __future__ import annotations

import networkx as nx
from hypothesis import strategies as st

from hetsim.graph import task_of
from simkit import graph_of, make_device, make_link, make_system

KINDS = ("gpu", "fpga", "cpu")


class ShownGraph(nx.DiGraph):
    """A task graph whose repr lists its tasks and edges (readable shrunk examples)."""

    def __repr__(self):
        tasks = ", ".join(f"{n}:{task_of(self, n).kernel}{dict(task_of(self, n).shape)}"
                          for n in sorted(self.nodes))
        edges = ", ".join(f"{u}->{v}({b} B)" for u, v, b in sorted(self.edges(data="bytes")))
        return f"graph(tasks=[{tasks}], edges=[{edges}])"


@st.composite
def systems(draw, scale: float = 1.0):
    n = draw(st.integers(1, 3))
    devs = []
    for i in range(n):
        devs.append(make_device(
            f"d{i}", kind=KINDS[i % 3],
            flops=draw(st.sampled_from([1e11, 1e12, 5e12])) / scale,
            bw=draw(st.sampled_from([1e9, 4e9, 2e10])) / scale,
            launch=draw(st.sampled_from([0.0, 1e-6, 5e-6])) * scale,
            idle=draw(st.sampled_from([0.0, 5.0, 40.0])),
            active=draw(st.sampled_from([50.0, 300.0])),
            engines=draw(st.integers(1, 2))))
    links = []
    star = n == 3 and draw(st.booleans())
    for i in range(1, n):
        a, b = (f"d{0}", f"d{i}") if star else (f"d{i - 1}", f"d{i}")
        links.append((make_link(f"l{i}", latency=draw(st.sampled_from([0.0, 1e-6, 2e-5])) * scale,
                                bw=draw(st.sampled_from([4e9, 2.5e10])) / scale,
                                setup=draw(st.sampled_from([0.0, 1e-6])) * scale,
                                idle=draw(st.sampled_from([0.0, 1.0])), active=2.0,
                                per_byte=draw(st.sampled_from([0.0, 6e-11]))), a, b))
    return make_system(devs, links)


def _topk_shape(d) -> dict:
    """A top-k selects at most num_items of num_items (KernelSpec.at_most)."""
    batch, items = d(st.integers(1, 4)), d(st.integers(1, 50_000))
    return {"batch": batch, "num_items": items, "k": d(st.integers(1, min(64, items)))}


SHAPES = {
    "gemm": lambda d: {"m": d(st.integers(1, 64)), "n": d(st.integers(1, 512)), "k": d(st.integers(1, 512))},
    "elementwise": lambda d: {"num_elems": d(st.integers(0, 200_000))},
    "topk": _topk_shape,
}


@st.composite
def graphs(draw):
    n = draw(st.integers(1, 10))
    tasks = []
    for i in range(n):
        kernel = draw(st.sampled_from(sorted(SHAPES)))
        tasks.append((f"t{i}", draw(st.sampled_from(["prepare_memory", "compute_relevancy",
                                                     "retrieval", "apply_to_inference", "model"])),
                      kernel, SHAPES[kernel](draw)))
    edges = []
    for j in range(n):
        for i in range(j):
            if draw(st.integers(0, 3)) == 0:
                edges.append((f"t{i}", f"t{j}", draw(st.sampled_from([0, 64, 4096, 1_000_000]))))
    return ShownGraph(graph_of(tasks, edges))
