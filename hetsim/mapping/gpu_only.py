"""``gpu-only`` and ``single``: every task and every memory structure on one device."""

from __future__ import annotations

from ..graph import task_of
from .base import Mapping, first_of_kind


def gpu_only(graph, system, params, **_) -> Mapping:
    """Place everything on ``params['gpu']`` (default: the first GPU)."""
    gpu = first_of_kind(system, "gpu", params.get("gpu")).name
    tasks = {n: gpu for n in graph.nodes if not task_of(graph, n).is_transfer}
    return Mapping("gpu-only", tasks, {d: gpu for d in graph.graph.get("data", {})})


def single(graph, system, params, **_) -> Mapping:
    """``single``: everything on ``params['device']`` (any kind; default: the first device)."""
    name = params.get("device") or system.device_names[0]
    if name not in system.device_names:
        from ..errors import MappingError

        raise MappingError(f"unknown device {name!r}; devices: {', '.join(system.device_names)}")
    tasks = {n: name for n in graph.nodes if not task_of(graph, n).is_transfer}
    return Mapping("single", tasks, {d: name for d in graph.graph.get("data", {})})
