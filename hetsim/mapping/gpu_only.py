"""``gpu-only``: every task and every memory structure on one GPU (the baseline)."""

from __future__ import annotations

from ..graph import task_of
from .base import Mapping, first_of_kind


def gpu_only(graph, system, params, **_) -> Mapping:
    """Place everything on ``params['gpu']`` (default: the first GPU)."""
    gpu = first_of_kind(system, "gpu", params.get("gpu")).name
    tasks = {n: gpu for n in graph.nodes if not task_of(graph, n).is_transfer}
    return Mapping("gpu-only", tasks, {d: gpu for d in graph.graph.get("data", {})})
