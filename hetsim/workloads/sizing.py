"""Size guards: refuse a workload that cannot fit or is too large *before* building its graph.

Why: building a graph is linear in its tasks, so ``num_layers: 10000000`` used to build for
minutes and take gigabytes before any check said no. A workload may provide
``estimate(params) -> (task_count, {data name: bytes})``, computed from its parameters in
microseconds; :func:`check_size` compares that with the system's memories (first: data
that fits nowhere is the clearer answer) and with ``run.max_tasks``. A workload without an
estimate is built under a task budget instead (:func:`hetsim.graph.task_budget`), which stops
it at ``max_tasks + 1`` tasks: cheap, generic, and exact for any builder that uses
:func:`hetsim.graph.add_task`.
"""

from __future__ import annotations

from ..config.system import SystemSpec
from ..errors import CapacityError, ConfigError
from ..units import format_quantity


def check_size(tasks: int, data: dict[str, int], system: SystemSpec, max_tasks: int | None, *,
               file: str | None = None, field: str = "workload.params") -> None:
    """Raise when the estimated workload cannot fit in *system* or exceeds *max_tasks*."""
    caps = {d.name: float(d.memory.capacity_bytes) for d in system.devices}
    big_name = max(caps, key=lambda n: caps[n])
    for name, size in sorted(data.items()):
        if size > caps[big_name]:
            raise CapacityError(
                f"resident data {name!r} needs {format_quantity(size, 'B')}, more than the largest "
                f"device memory ({big_name!r}, {format_quantity(caps[big_name], 'B')}); no mapping "
                "can place it: reduce the workload's sizes", file=file, field=field)
    total, room = sum(data.values()), sum(caps.values())
    if total > room:
        raise CapacityError(
            f"resident data needs {format_quantity(total, 'B')} in all, more than the "
            f"{format_quantity(room, 'B')} of all device memories together; no mapping can place it",
            file=file, field=field)
    if max_tasks is not None and tasks > max_tasks:
        raise ConfigError(
            f"the workload has {tasks:,} tasks, above the limit run.max_tasks = {max_tasks:,}; "
            "reduce its sizes (layers, decode tokens, micro-batches) or raise run.max_tasks",
            file=file, field=field)
