"""``fpga-max``: everything the FPGA can run goes to the FPGA, with its data.

A data cluster (resident data and the tasks that work on it in place) moves to the FPGA when
the FPGA can run every task of the cluster and the data fits; other tasks go to the FPGA when
it can run them; the rest stay on the GPU.
"""

from __future__ import annotations

from ..costs import CostModel
from ..graph import task_of
from .base import Mapping, first_of_kind
from .capability import data_clusters, latency_table


def fpga_max(graph, system, params, **_):
    """Place as much as possible on ``params['fpga']`` (default: the first FPGA)."""
    gpu = first_of_kind(system, "gpu", params.get("gpu")).name
    fpga = first_of_kind(system, "fpga", params.get("fpga"))
    lat = latency_table(graph, system, CostModel())
    data = graph.graph.get("data", {})
    assignment: dict[str, str] = {}
    placement: dict[str, str] = {}
    room = float(fpga.memory.capacity_bytes)
    for names, tasks in data_clusters(graph):
        size = sum(data[d] for d in names)
        ok = all(fpga.name in lat[t] for t in tasks) and size <= room
        where = fpga.name if ok else gpu
        room -= size if ok else 0
        placement.update({d: where for d in names})
        assignment.update({t: where for t in tasks})
    for n in graph.nodes:
        if n in assignment or task_of(graph, n).is_transfer:
            continue
        assignment[n] = fpga.name if fpga.name in lat[n] else gpu
    return Mapping("fpga-max", assignment, placement)
