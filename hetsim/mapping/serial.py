"""Serialise a mapped graph: the study's model runs one kernel or transfer at a time.

Why: the study's own latency model (shared/reference/heterollm.md section 5,
``optimal_assignment.py``) walks its kernel chain strictly in order -- no overlap of devices,
transfers or layers, and therefore no contention. Chaining every task (transfers included)
with ordering edges in one deterministic topological order reproduces that model on any
engine, so the difference between it and hetsim's concurrent schedule can be measured.
"""

from __future__ import annotations

import networkx as nx

from ..graph import topological_order


def serialize(graph: nx.DiGraph) -> nx.DiGraph:
    """Return a copy of *graph* whose tasks form one chain (0-byte ordering edges added)."""
    g = graph.copy()
    order = topological_order(graph)
    for a, b in zip(order, order[1:]):
        if not g.has_edge(a, b):
            g.add_edge(a, b, bytes=0)
    g.graph["serialized"] = True
    return g
