"""Turn every edge a mapping splits across devices into a transfer task.

An edge u -> v carrying ``b > 0`` bytes with u and v on different devices becomes
u -> ``xfer:u->v`` -> v, where the transfer task moves b bytes from u's device to v's device
along a route chosen at run time. Edges with 0 bytes stay ordering edges. The input graph is
not modified.
"""

from __future__ import annotations

import networkx as nx

from ..graph import Step, Task, task_of
from .base import Mapping


def transfer_name(u: str, v: str) -> str:
    return f"xfer:{u}->{v}"


def insert_transfers(graph: nx.DiGraph, mapping: Mapping) -> nx.DiGraph:
    """Return a copy of *graph* with a transfer task on every split edge that carries data."""
    g = graph.copy()
    for u, v, b in list(graph.edges(data="bytes")):
        su, sv = mapping.assignment[u], mapping.assignment[v]
        if su == sv or not b:
            continue
        x = transfer_name(u, v)
        layer = task_of(graph, v).layer
        g.remove_edge(u, v)
        g.add_node(x, task=Task(name=x, step=Step.TRANSFER, nbytes=int(b), src=su, dst=sv,
                                layer=layer))
        g.add_edge(u, x, bytes=0)
        g.add_edge(x, v, bytes=0)
    return g
