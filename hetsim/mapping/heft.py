"""``heft``: Heterogeneous Earliest Finish Time list scheduling (Topcuoglu et al., 2002).

Tasks are ranked by their upward rank (average latency over the devices that can run them
plus the largest average transfer time and rank of a successor) and, in that order, each goes
to the device where it would finish earliest given its inputs' arrival (uncontended route time
from where each producer ran) and the device's engine slots. Tasks that work in place on
resident data follow the first decision made for that data; data must fit in the memory of
the device chosen for it.
"""

from __future__ import annotations

from statistics import fmean

from ..costs import CostModel
from ..errors import MappingError
from ..graph import topological_order
from ..topology import Topology
from .base import Mapping
from .capability import data_clusters, latency_table


def heft(graph, system, params, **_):
    """HEFT over all devices (``params['devices']`` may restrict the set)."""
    allowed = params.get("devices") or system.device_names
    topo = Topology(system)
    lat = {n: {d: v for d, v in row.items() if d in allowed}
           for n, row in latency_table(graph, system, CostModel()).items()}
    for n, row in lat.items():
        if not row:
            raise MappingError(f"heft: no allowed device can run task {n!r}")
    order_index = {n: i for i, n in enumerate(topological_order(graph))}

    def comm(u: str, v: str, b: int) -> float:
        pairs = [(a, c) for a in lat[u] for c in lat[v]]
        return fmean(topo.route_time_s(a, c, b) if a != c else 0.0 for a, c in pairs) if b else 0.0

    rank: dict[str, float] = {}
    for n in reversed(topological_order(graph)):
        rank[n] = fmean(lat[n].values()) + max(
            (comm(n, s, graph.edges[n, s]["bytes"]) + rank[s] for s in graph.successors(n)), default=0.0)
    order = sorted(graph.nodes, key=lambda n: (-rank[n], order_index[n]))

    data = graph.graph.get("data", {})
    cluster_of: dict[str, int] = {}
    clusters = data_clusters(graph)
    for i, (_, tasks) in enumerate(clusters):
        for t in tasks:
            cluster_of[t] = i
    cluster_dev: dict[int, str] = {}
    used_mem = {d.name: 0.0 for d in system.devices}
    slots = {d.name: [0.0] * d.num_engines for d in system.devices}
    finish: dict[str, float] = {}
    where: dict[str, str] = {}
    done: set[str] = set()
    pending = list(order)
    while pending:
        # the highest-ranked task whose predecessors are all placed (rank order is a valid
        # topological order except for ties among zero-cost tasks)
        n = next(x for x in pending if all(p in done for p in graph.predecessors(x)))
        pending.remove(n)
        cands = sorted(lat[n])
        c = cluster_of.get(n)
        if c is not None:
            if c in cluster_dev:
                cands = [cluster_dev[c]] if cluster_dev[c] in lat[n] else []
            else:
                size = sum(data[d] for d in clusters[c][0])
                cands = [d for d in cands
                         if used_mem[d] + size <= float(system.device(d).memory.capacity_bytes)
                         and all(d in lat[t] for t in clusters[c][1])]
        if not cands:
            raise MappingError(f"heft: no device can run task {n!r} together with its data")
        best = None
        for d in cands:
            ready = max((finish[p] + (topo.route_time_s(where[p], d, b) if where[p] != d and b else 0.0)
                         for p, _, b in graph.in_edges(n, data="bytes")), default=0.0)
            slot = min(range(len(slots[d])), key=lambda i: (slots[d][i], i))
            eft = max(ready, slots[d][slot]) + lat[n][d]
            if best is None or eft < best[0] - 1e-15:
                best = (eft, d, slot)
        eft, d, slot = best
        slots[d][slot] = eft
        finish[n], where[n] = eft, d
        done.add(n)
        if c is not None and c not in cluster_dev:
            cluster_dev[c] = d
            used_mem[d] += sum(data[x] for x in clusters[c][0])
    placement = {}
    for i, (names, _) in enumerate(clusters):
        dev = cluster_dev.get(i, system.device_names[0])
        placement.update({x: dev for x in names})
    return Mapping("heft", where, placement)
