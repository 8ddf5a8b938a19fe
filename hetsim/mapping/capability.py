"""Which devices can run which tasks, and data clusters that must stay together.

Search policies need two facts a plain policy does not: whether a device can price a task at
all (an FPGA hosts only the kernels it has designs for), and which tasks are tied together
because they work in place on the same resident data (a task using two structures ties them
into one cluster).
"""

from __future__ import annotations

import networkx as nx

from ..config.system import SystemSpec
from ..costs import CostModel
from ..errors import CostLookupError
from ..graph import task_of


def latency_table(graph: nx.DiGraph, system: SystemSpec, costs: CostModel) -> dict[str, dict[str, float]]:
    """task -> {device: uncontended latency in s} over the devices that can run it."""
    out: dict[str, dict[str, float]] = {}
    for n in graph.nodes:
        t = task_of(graph, n)
        if t.is_transfer:
            continue
        row = {}
        for d in system.devices:
            try:
                row[d.name] = costs.price(t, d).latency_s
            except CostLookupError:
                continue
        out[n] = row
    return out


def data_clusters(graph: nx.DiGraph) -> list[tuple[frozenset[str], frozenset[str]]]:
    """Return ``(data names, task names)`` groups tied together by in-place data use."""
    parent: dict[str, str] = {d: d for d in graph.graph.get("data", {})}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for n in graph.nodes:
        ds = task_of(graph, n).data
        for a, b in zip(ds, ds[1:]):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, tuple[set, set]] = {}
    for d in parent:
        groups.setdefault(find(d), (set(), set()))[0].add(d)
    for n in graph.nodes:
        ds = task_of(graph, n).data
        if ds:
            groups[find(ds[0])][1].add(n)
    return [(frozenset(a), frozenset(b)) for _, (a, b) in sorted(groups.items())]
