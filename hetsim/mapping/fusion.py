"""Fuse Compute Relevancy + Retrieval into one FPGA kernel where the FPGA has such a design.

Every FPGA kernel of the study streams its scores straight into a top-k engine: the scores
never reach memory, and one invocation does both steps. When a mapping places a scoring task
and the top-k that consumes its scores on the same device, and that device hosts the fused
kernel (its file lists, e.g., ``indexer_topk``), this pass replaces the pair with one task
``<score>+<topk>`` priced by the fused design. The fused task is labelled with the scoring
task's step (Compute Relevancy); results therefore show the pair's time there.
"""

from __future__ import annotations

from typing import Callable

import networkx as nx

from ..config.device import DeviceSpec
from ..config.system import SystemSpec
from ..graph import Task, intern_shape, task_of
from .base import Mapping

#: (scoring kernel, "topk") -> (fused kernel, the scoring shape key that counts items)
FUSIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("indexer_score", "topk"): ("indexer_topk", "num_keys"),
    ("inner_product_score", "topk"): ("inner_product_topk", "num_items"),
    ("page_bound_score", "topk"): ("page_bound_topk", "num_pages"),
    ("bm25_score", "topk"): ("bm25_topk", "num_docs"),
}


def hosts(device: DeviceSpec, kernel: str) -> bool:
    """True if the FPGA *device* has a design for *kernel*, alone or inside a fused kernel."""
    if device.fpga is None:
        return False
    k = device.fpga.kernels
    return kernel in k or any(kernel in pair and fused in k for pair, (fused, _) in FUSIONS.items())


def fusable(graph: nx.DiGraph, u: str, v: str) -> tuple[str, dict] | None:
    """(fused kernel, fused shape) if edge u -> v is a scoring task feeding only its top-k."""
    tu, tv = task_of(graph, u), task_of(graph, v)
    rule = FUSIONS.get((tu.kernel, tv.kernel))
    if rule is None or graph.out_degree(u) != 1 or graph.in_degree(v) != 1:
        return None
    fused, items = rule
    su, sv = dict(tu.shape), dict(tv.shape)
    if sv.get("num_items") != su.get(items) or sv.get("batch", 1) != su.get("batch", 1):
        return None
    return fused, {**{k: x for k, x in su.items() if k not in ("intermediate",)}, "k": sv["k"]}


def fuse_pairs(graph: nx.DiGraph, system: SystemSpec, mapping: Mapping,
               can_fuse: Callable[[DeviceSpec, str], bool] | None = None) -> tuple[nx.DiGraph, Mapping]:
    """Return (graph, mapping) with every fusable pair on a hosting FPGA merged into one task.

    The inputs are not modified.
    """
    can_fuse = can_fuse or (lambda dev, kernel: dev.fpga is not None and kernel in dev.fpga.kernels)
    # the fused kernels each device can run, asked once per device: edges on a device that
    # runs none (every GPU) are skipped without looking at their tasks
    fused_on = {d.name: {f for f, _ in FUSIONS.values() if can_fuse(d, f)} for d in system.devices}
    merges = []
    for u, v in graph.edges:
        dev = mapping.assignment.get(u)
        if dev is None or not fused_on.get(dev) or mapping.assignment.get(v) != dev:
            continue
        rule = fusable(graph, u, v)
        if rule and rule[0] in fused_on[dev]:
            merges.append((u, v, rule))
    if not merges:
        return graph, mapping
    g = graph.copy()
    assignment = dict(mapping.assignment)
    for u, v, (kernel, shape) in merges:
        tu, tv = task_of(graph, u), task_of(graph, v)
        name = f"{u}+{v}"
        g.add_node(name, task=Task(name=name, step=tu.step, kernel=kernel, shape=intern_shape(shape),
                                   dtype=tu.dtype, data=tuple(dict.fromkeys(tu.data + tv.data)), layer=tu.layer))
        for p, _, b in graph.in_edges(u, data="bytes"):
            g.add_edge(p, name, bytes=b)
        for _, s, b in graph.out_edges(v, data="bytes"):
            g.add_edge(name, s, bytes=b)
        g.remove_nodes_from([u, v])
        assignment[name] = assignment.pop(u)
        assignment.pop(v)
    return g, Mapping(mapping.policy, assignment, dict(mapping.placement), dict(mapping.pools))
