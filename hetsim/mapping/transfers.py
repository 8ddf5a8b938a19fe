"""Turn every edge a mapping splits across devices into a transfer task.

An edge u -> v carrying ``b > 0`` bytes with u and v on different devices becomes
u -> ``xfer:u->v`` -> v, where the transfer task moves b bytes from u's device to v's device
along a route chosen at run time. Edges with 0 bytes stay ordering edges. The input graph is
not modified.

``free`` reproduces an assumption of the study's model (shared/reference/heterollm.md
section 5: ``optimal_assignment.py`` skips GPU->FPGA transfers of the "memory", so a 4 MB index
built on the GPU reaches the FPGA at no cost). A split edge it matches stays an ordering edge
with no transfer; the graph records how many edges and bytes were let through free
(``graph.graph["free_transfers"]``) so results can say so.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Iterable

import networkx as nx

from ..graph import Step, Task, task_of
from .base import Mapping


def transfer_name(u: str, v: str) -> str:
    return f"xfer:{u}->{v}"


def is_free(graph: nx.DiGraph, u: str, v: str, free: Iterable[str]) -> bool:
    """True if edge u -> v is let through free by an entry of *free*.

    An entry with ``->`` is an fnmatch pattern on ``"u->v"``; any other entry names resident
    data: the edge is free when v is a Prepare Memory task that updates that data in place
    (the bytes that build or extend the memory structure). A sharded item's name
    (``expert_weights.0``) is matched by its family's name (``expert_weights``).
    """
    tv = task_of(graph, v)
    for entry in free:
        if "->" in entry:
            if fnmatchcase(f"{u}->{v}", entry):
                return True
        elif tv.step == Step.PREPARE_MEMORY and any(names_data(entry, d) for d in tv.data):
            return True
    return False


def names_data(entry: str, name: str) -> bool:
    """True if a free-transfer *entry* names resident data *name* (itself or one of its shards)."""
    return name == entry or name.startswith(entry + ".")


def insert_transfers(graph: nx.DiGraph, mapping: Mapping, free: Iterable[str] = (), *,
                     copy: bool = True) -> nx.DiGraph:
    """Return *graph* with a transfer task on every split edge that carries data.

    With ``copy=True`` (default) the input is left alone and a copy is returned when any
    edge is split (the graph itself when none is); ``copy=False`` edits *graph* in place, for
    callers that own a private copy already. Split edges matched by *free* keep no bytes.
    """
    assignment = mapping.assignment
    free = tuple(free)
    split = [(u, v, b) for u, v, b in graph.edges(data="bytes")
             if b and assignment[u] != assignment[v]]
    if not split:
        return graph
    g = graph.copy() if copy else graph
    n_free, b_free = 0, 0
    for u, v, b in split:
        su, sv = assignment[u], assignment[v]
        if free and is_free(graph, u, v, free):
            g.edges[u, v]["bytes"] = 0
            n_free, b_free = n_free + 1, b_free + int(b)
            continue
        x = transfer_name(u, v)
        layer = task_of(graph, v).layer
        g.remove_edge(u, v)
        g.add_node(x, task=Task(name=x, step=Step.TRANSFER, nbytes=int(b), src=su, dst=sv,
                                layer=layer))
        g.add_edge(u, x, bytes=0)
        g.add_edge(x, v, bytes=0)
    if free:
        g.graph["free_transfers"] = {"edges": n_free, "bytes": b_free, "rules": list(free)}
    return g
