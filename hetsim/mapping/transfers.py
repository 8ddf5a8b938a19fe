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


def insert_transfers(graph: nx.DiGraph, mapping: Mapping, *, copy: bool = True) -> nx.DiGraph:
    """Return *graph* with a transfer task on every split edge that carries data.

    With ``copy=True`` (default) the input is left alone and a copy is returned when any
    edge is split (the graph itself when none is); ``copy=False`` edits *graph* in place, for
    callers that own a private copy already.
    """
    assignment = mapping.assignment
    split = [(u, v, b) for u, v, b in graph.edges(data="bytes")
             if b and assignment[u] != assignment[v]]
    if not split:
        return graph
    g = graph.copy() if copy else graph
    for u, v, b in split:
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
