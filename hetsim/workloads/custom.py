"""A workload written out task by task in the scenario file (for what-ifs and tests)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..graph import STEP_NAMES, add_data, add_edge, add_task, new_graph

DESCRIPTION = "tasks, edges and resident data listed in the scenario (params.tasks / edges / data)"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TaskEntry(_Strict):
    name: str
    step: str = Field(description=f"one of {', '.join(STEP_NAMES)}")
    kernel: str
    shape: dict[str, int]
    dtype: str = "bf16"
    data: tuple[str, ...] = ()


class EdgeEntry(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    src: str = Field(alias="from")
    dst: str = Field(alias="to")
    bytes: int = Field(0, ge=0, description="bytes the consumer needs from the producer")


class CustomGraphParams(_Strict):
    tasks: tuple[TaskEntry, ...] = Field(min_length=1)
    edges: tuple[EdgeEntry, ...] = ()
    data: dict[str, int] = Field(default_factory=dict, description="resident data sizes in B")


def estimate(p: CustomGraphParams) -> tuple[int, dict[str, int]]:
    """(task count, resident data), read off the listing (size guard)."""
    return len(p.tasks), dict(p.data)


def build(p: CustomGraphParams):
    """Return the graph exactly as listed."""
    from ..errors import GraphError

    g = new_graph("custom")
    for name, size in p.data.items():
        add_data(g, name, size)
    for t in p.tasks:
        if t.step not in STEP_NAMES or t.step == "transfer":
            raise GraphError(f"task {t.name!r}: step {t.step!r} is not allowed; use one of "
                             f"{', '.join(s for s in STEP_NAMES if s != 'transfer')}")
        add_task(g, t.name, t.step, t.kernel, t.shape, dtype=t.dtype, data=t.data)
    for i, e in enumerate(p.edges):
        if g.has_edge(e.src, e.dst):  # a second listing would silently replace the first's bytes
            raise GraphError(f"edges.{i}: edge {e.src!r} -> {e.dst!r} is listed twice; list it once "
                             "with the bytes of both")
        add_edge(g, e.src, e.dst, e.bytes)
    return g
