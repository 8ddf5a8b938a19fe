"""Task graphs: networkx DiGraphs whose nodes are tasks of the four-step pipeline.

A node's attribute ``task`` holds a :class:`Task`; an edge's attribute ``bytes`` is the data
the consumer needs from the producer (0 for a pure ordering edge). When a mapping puts the two
ends on different devices, that edge becomes a transfer task (see
:mod:`hetsim.mapping.transfers`). Graph-level attribute ``data`` maps each resident memory
structure (KV cache, index cache, weights, ...) to its size in bytes; tasks that work in place
on a structure list it in ``Task.data`` and must run where the structure lives.
Graphs are validated once, by :func:`validate_graph`, so later passes can trust them.
"""

from __future__ import annotations

import heapq
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Mapping

import networkx as nx

from .errors import GraphError
from .kernels import get_kernel
from .limits import MAX_SIZE, big
from .steps import MEMORY_PROCESSING_STEPS, STEP_NAMES, Step  # noqa: F401 - re-exported


@dataclass(frozen=True)
class Task:
    """One unit of work on one device.

    Parameters
    ----------
    name : str
        Unique node name.
    step : Step
        Pipeline step (a label for metrics; the engine never branches on it).
    kernel : str or None
        Kernel name in :data:`hetsim.kernels.KERNELS`; None for transfers.
    shape : mapping of str to int
        Sizes for the cost lookup.
    dtype : str
        Datatype used to pick the device's peak (``bf16``, ``fp32``, ``int8`` ...).
    data : tuple of str
        Resident memory structures this task works on in place.
    nbytes : int
        For transfers: bytes moved.
    src, dst : str or None
        For transfers: source and destination device.
    layer : int or None
        Model layer, for grouping in reports.
    """

    name: str
    step: Step
    kernel: str | None = None
    shape: Mapping[str, int] = field(default_factory=dict)
    dtype: str = "bf16"
    data: tuple[str, ...] = ()
    nbytes: int = 0
    src: str | None = None
    dst: str | None = None
    layer: int | None = None

    @property
    def is_transfer(self) -> bool:
        return self.step is Step.TRANSFER


def new_graph(name: str = "workload") -> nx.DiGraph:
    """Return an empty task graph."""
    g = nx.DiGraph(name=name)
    g.graph["data"] = {}
    return g


_TASK_BUDGET: ContextVar[int | None] = ContextVar("hetsim_task_budget", default=None)


@contextmanager
def task_budget(limit: int):
    """Within this block, :func:`add_task` refuses to grow a graph past *limit* tasks.

    The size guard of workloads without an estimate (:mod:`hetsim.workloads.sizing`).
    """
    token = _TASK_BUDGET.set(limit)
    try:
        yield
    finally:
        _TASK_BUDGET.reset(token)


def add_task(g: nx.DiGraph, name: str, step: Step | str, kernel: str | None, shape: Mapping[str, int],
             *, dtype: str = "bf16", data: tuple[str, ...] = (), layer: int | None = None) -> str:
    """Add a task node and return its name (GraphError on a duplicate name)."""
    if name in g:
        raise GraphError(f"duplicate task name {name!r}")
    limit = _TASK_BUDGET.get()
    if limit is not None and g.number_of_nodes() >= limit:
        raise GraphError(f"the workload has more than {limit:,} tasks, above the limit "
                         "run.max_tasks; reduce its sizes or raise run.max_tasks")
    g.add_node(name, task=Task(name=name, step=Step(step), kernel=kernel, shape=intern_shape(shape),
                               dtype=dtype, data=tuple(data), layer=layer))
    return name


#: Distinct shapes seen by :func:`intern_shape` (cleared when it grows past the bound).
_SHAPES: dict[tuple, dict] = {}
_SHAPES_MAX = 1 << 16


def intern_shape(shape: Mapping[str, int]) -> dict:
    """A private copy of *shape*, shared by every task given an equal shape.

    A large graph repeats a handful of shapes (a layer's kernels, once per layer and
    micro-batch): sharing one dict per distinct shape saves memory, and lets the compiled
    engine group tasks by the shape object's identity instead of hashing every task's shape
    (:mod:`hetsim.engine.compiled`). Equal means same keys in the same order with values of
    the same types (``1`` and ``1.0`` stay apart). Shapes are never mutated once in a task
    (tasks are frozen); the caller's dict is never kept.
    """
    vals = tuple(shape.values())
    key = (tuple(shape), vals, tuple(map(type, vals)))
    try:
        hit = _SHAPES.get(key)
    except TypeError:  # an unhashable value (bad input, reported by validation): no sharing
        return dict(shape)
    if hit is None:
        if len(_SHAPES) >= _SHAPES_MAX:
            _SHAPES.clear()
        hit = _SHAPES[key] = dict(shape)
    return hit


def add_data(g: nx.DiGraph, name: str, nbytes: int) -> None:
    """Declare a resident memory structure of *nbytes* B."""
    if nbytes < 0:
        raise GraphError(f"data {name!r}: size must be >= 0 B, got {nbytes}")
    g.graph.setdefault("data", {})[name] = int(nbytes)


def add_edge(g: nx.DiGraph, u: str, v: str, nbytes: int = 0) -> None:
    """Add a data edge carrying *nbytes* B from task *u* to task *v*."""
    for x in (u, v):
        if x not in g:
            raise GraphError(f"edge {u!r} -> {v!r}: unknown task {x!r}")
    g.add_edge(u, v, bytes=int(nbytes))


def task_of(g: nx.DiGraph, node: str) -> Task:
    """Return the :class:`Task` of *node*."""
    return g.nodes[node]["task"]


def validate_graph(g: nx.DiGraph) -> nx.DiGraph:
    """Check a task graph once; return it unchanged.

    Raises
    ------
    GraphError
        On a cycle (naming it), a node without a task, an unknown step or kernel, a bad
        shape, a negative byte count, or a task using undeclared data.
    """
    if not isinstance(g, nx.DiGraph):
        raise GraphError("a task graph must be a networkx DiGraph")
    if not is_acyclic(g):
        raise_cycle(g)
    data = g.graph.get("data", {})
    for n, attrs in g.nodes(data=True):
        t = attrs.get("task")
        if not isinstance(t, Task):
            raise GraphError(f"node {n!r} has no task")
        if t.name != n:
            raise GraphError(f"node {n!r} holds a task named {t.name!r}")
        if t.is_transfer:
            if t.nbytes < 0 or t.src is None or t.dst is None:
                raise GraphError(f"transfer {n!r} needs src, dst and bytes >= 0")
            continue
        if t.kernel is None:
            raise GraphError(f"task {n!r} ({t.step.value}) has no kernel")
        try:  # a graph holds many tasks of one kernel: say which one's shape is wrong
            get_kernel(t.kernel).resolve(t.shape)
        except GraphError as e:
            raise GraphError(f"task {n!r}: {e.detail}", file=e.file, field=e.field) from None
        for d in t.data:
            if d not in data:
                raise GraphError(f"task {n!r} uses undeclared data {d!r}; declared: {sorted(data)}")
    for u, v, b in g.edges(data="bytes"):
        if b is None or b < 0 or b > MAX_SIZE:
            raise GraphError(f"edge {u!r} -> {v!r}: bytes must be an integer from 0 to 2**53, got "
                             f"{b if b is None or b <= MAX_SIZE else big(b)}")
    return g


def raise_cycle(g: nx.DiGraph) -> None:
    """Raise the GraphError that names a cycle of *g* (only called once one is known to exist)."""
    cycle = nx.find_cycle(g)
    path = " -> ".join([str(u) for u, _ in cycle] + [str(cycle[0][0])])
    raise GraphError(f"task graph has a cycle: {path}")


def is_acyclic(g: nx.DiGraph) -> bool:
    """Linear-time acyclicity test (Kahn's algorithm over the adjacency dicts)."""
    pred, succ = g._pred, g._succ
    indeg = {n: len(p) for n, p in pred.items()}
    stack = [n for n, d in indeg.items() if d == 0]
    seen = 0
    while stack:
        n = stack.pop()
        seen += 1
        for s in succ[n]:
            d = indeg[s] - 1
            indeg[s] = d
            if d == 0:
                stack.append(s)
    return seen == len(indeg)


def topological_order(g: nx.DiGraph) -> list[str]:
    """Deterministic topological order: of the ready tasks, the smallest name first.

    The same order as ``networkx.lexicographical_topological_sort`` (the engine starts its
    processes in this order, so FIFO ties and therefore traces depend on it), computed
    directly on the adjacency dicts. Raises GraphError naming a cycle if there is one.
    """
    pred, succ = g._pred, g._succ
    indeg = {n: len(p) for n, p in pred.items()}
    heap = [n for n, d in indeg.items() if d == 0]
    heapq.heapify(heap)
    out = []
    push, pop = heapq.heappush, heapq.heappop
    while heap:
        n = pop(heap)
        out.append(n)
        for s in succ[n]:
            d = indeg[s] - 1
            indeg[s] = d
            if d == 0:
                push(heap, s)
    if len(out) != len(indeg):
        raise_cycle(g)
    return out


def any_topological_order(g: nx.DiGraph) -> list[str]:
    """A topological order for passes whose result does not depend on which one (linear)."""
    return list(nx.topological_sort(g))
