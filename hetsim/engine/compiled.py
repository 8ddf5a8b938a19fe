"""The fast path for large graphs: the plan as numpy arrays, the event loop compiled by numba.

Same schedule as :mod:`.fast` (whose event loop :func:`.kernels.event_loop` replays) and
therefore as the SimPy reference; what changes is the cost around the loop, which dominated
large runs in pure Python:

* the plan (:func:`make_array_plan`) is built by C-level passes over the graph's dicts in
  insertion order (no Python code per task or edge): tasks are grouped by (device, pool,
  step, kernel, dtype, shape object), shapes being shared dicts (:func:`hetsim.graph.
  intern_shape`), and priced once per distinct (device, pool, kernel, dtype, shape); the start
  order (the same name-lexicographic topological order as :func:`hetsim.graph.
  topological_order`), the successor lists and the critical-path priorities are computed
  on index arrays by compiled loops;
* the trace is kept as arrays: records are sorted by the engine's key with ``numpy.lexsort``
  on (start, end, resource rank, name rank, hop), and the :class:`~hetsim.trace.Record`
  objects are made only when read (:class:`~hetsim.trace.LazyList`), with the values the
  pure-Python path computes.

numba is imported only here (and only for graphs of at least :data:`hetsim.engine.run.COMPILED_MIN_TASKS` tasks, since
loading it and its cached machine code costs a few tenths of a second); without numba the
pure-Python fast path runs instead.
"""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass

import networkx as nx
import numpy as np

from ..config.system import SystemSpec
from ..costs import CostModel
from ..errors import HetsimError
from ..graph import Step, raise_cycle
from ..mapping.base import Mapping
from ..trace import LazyList, make_record
from .plan import QUEUE_POLICIES, Resources, resources

_AVAILABLE: bool | None = None
_TASK = operator.itemgetter("task")
_SHAPE = operator.attrgetter("shape")
_STEP_KERNEL_DTYPE = operator.attrgetter("step", "kernel", "dtype")


def available() -> bool:
    """Whether the compiled loop can run here: numba imports and can set up its cache
    (checked once per process; the pure-Python fast path runs otherwise)."""
    global _AVAILABLE
    if _AVAILABLE is None:
        try:
            from . import kernels  # noqa: F401  (imports numba, sets up its disk cache)
            _AVAILABLE = True
        except Exception:  # no numba, one that does not match this numpy, or no cache dir
            _AVAILABLE = False
    return _AVAILABLE


@dataclass
class ArrayPlan:
    """A mapped graph as arrays in start order (the order of :class:`.plan.Plan`).

    Task *i* in start order is graph task ``order[i]``; names and Task objects stay in the
    graph's order (``graph_names``, ``graph_tasks``) and are looked up only when records
    are made.
    """

    order: np.ndarray            # graph index of each task in start order
    graph_names: list[str]       # names in graph order
    graph_tasks: list            # Task objects in graph order
    name_rank: np.ndarray        # rank of each task's name in sorted order
    is_xfer: np.ndarray
    pool: np.ndarray             # engine pool, -1 for a transfer
    cost_idx: np.ndarray         # index into ucosts, -1 for a transfer
    ucosts: list                 # distinct KernelCost objects
    ovh: np.ndarray
    work: np.ndarray
    memb: np.ndarray
    mem_of: np.ndarray
    npred: np.ndarray
    succ_ptr: np.ndarray
    succ_idx: np.ndarray
    prio: np.ndarray
    route_ptr: np.ndarray        # hops of transfer i: route_ptr[i] .. route_ptr[i + 1]
    route_pool: np.ndarray
    route_hop: np.ndarray
    udev: list                   # device name of each distinct cost
    edges_src: np.ndarray        # the graph's edges in its own order, as graph indices
    edges_dst: np.ndarray
    res: Resources
    fifo: bool


def _csr(graph: nx.DiGraph, gindex: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The graph's successor lists as (ptr, dst, in-degree) over graph indices, in one pass
    over its adjacency dicts (C-level maps; no Python code per edge)."""
    succ_adj = graph._succ
    n = len(gindex)
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.fromiter(map(len, succ_adj.values()), np.int64, n), out=ptr[1:])
    ne = int(ptr[-1])
    dst = np.fromiter(map(gindex.__getitem__, itertools.chain.from_iterable(succ_adj.values())),
                      np.int64, ne)
    return ptr, dst, np.bincount(dst, minlength=n).astype(np.int64, copy=False)


def _task_codes(gnames: list, tasks: list, mapping: Mapping) -> tuple[np.ndarray, list[int]]:
    """Group tasks that price alike: (group of each task, first task of each group).

    Tasks group by (device, pool, step, kernel, dtype, shape object). Workloads share one
    shape dict per distinct shape (:func:`hetsim.graph.intern_shape`), so a graph of 100K
    tasks has a handful of groups and no shape is hashed per task; tasks whose equal shapes
    are separate dicts only make more groups, which :func:`make_array_plan` merges by
    content. ``dict.setdefault`` with a running count returns, per task, the index of the
    first task with its key."""
    pools_of, assignment = mapping.pools, mapping.assignment
    # a mapping made by walking the graph lists its tasks in the graph's order: read its
    # values in a row instead of looking every name up
    in_order = len(assignment) == len(gnames) and list(assignment) == gnames
    keys = zip(assignment.values() if in_order else map(assignment.get, gnames),
               map(pools_of.get, gnames) if pools_of else itertools.repeat(None),
               map(_STEP_KERNEL_DTYPE, tasks), map(id, map(_SHAPE, tasks)))
    first = np.fromiter(map({}.setdefault, keys, itertools.count()), np.int64, len(gnames))
    reps = np.flatnonzero(first == np.arange(len(gnames)))  # the first task of each group
    return np.searchsorted(reps, first), reps.tolist()


def make_array_plan(graph: nx.DiGraph, system: SystemSpec, mapping: Mapping, costs: CostModel,
                    queue_policy: str, power_off_unused: bool) -> ArrayPlan:
    """Flatten *graph* into arrays (GraphError on a cycle, CostLookupError before the clock)."""
    from .kernels import lex_topo_order, upward_rank

    if queue_policy not in QUEUE_POLICIES:
        raise HetsimError(f"unknown queue policy {queue_policy!r}; allowed: {', '.join(QUEUE_POLICIES)}")
    res = resources(system, mapping, power_off_unused)
    nodes = graph._node
    gnames = list(nodes)
    n = len(gnames)
    gindex = dict(zip(gnames, range(n)))
    ptr, dst, indeg = _csr(graph, gindex)
    src = np.repeat(np.arange(n, dtype=np.int64), np.diff(ptr))
    # start order: smallest name first among the ready tasks (hetsim.graph.topological_order)
    by_rank = np.fromiter(sorted(range(n), key=gnames.__getitem__), np.int64, n)
    rank = np.empty(n, np.int64)
    rank[by_rank] = np.arange(n, dtype=np.int64)
    order = lex_topo_order(ptr, dst, indeg, rank, by_rank) if n else np.zeros(0, np.int64)
    if len(order) != n:
        raise_cycle(graph)
    pos = np.empty(n, np.int64)
    pos[order] = np.arange(n, dtype=np.int64)
    # successors in start order, each list sorted
    s_src, s_dst = pos[src], pos[dst]
    k = np.lexsort((s_dst, s_src))
    succ_idx = s_dst[k]
    succ_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(s_src, minlength=n), out=succ_ptr[1:])

    # prices: once per group of alike tasks (see _task_codes), once per distinct content
    tasks_g = list(map(_TASK, nodes.values()))
    group_g, reps = _task_codes(gnames, tasks_g, mapping)
    assignment, pools_of = mapping.assignment, mapping.pools
    devices, pool_index, chan_index, topo = res.devices, res.pool_index, res.chan_index, res.topo
    ucosts: list = []
    upool: list = []
    udev: list = []
    by_content: dict = {}
    g_xfer, g_cost = [], []  # per group
    for gi in reps:
        t = tasks_g[gi]
        if t.step is Step.TRANSFER:
            g_xfer.append(True)
            g_cost.append(-1)
            continue
        name = gnames[gi]
        dname, pname = assignment[name], pools_of.get(name)
        key = (dname, pname, t.kernel, t.dtype, tuple(t.shape), tuple(t.shape.values()))
        ci = by_content.get(key)
        if ci is None:
            dev = devices[dname]
            ci = by_content[key] = len(ucosts)
            ucosts.append(costs.price(t, dev))
            upool.append(pool_index[(dname, pname if pname is not None else dev.engines[0].name)])
            udev.append(dname)
        g_xfer.append(False)
        g_cost.append(ci)
    xfer_g = np.array(g_xfer, np.bool_)[group_g] if n else np.zeros(0, np.bool_)
    cost_g = np.array(g_cost, np.int64)[group_g] if n else np.zeros(0, np.int64)
    cost_idx = cost_g[order]
    pool = np.array(upool + [-1], np.int64)[cost_idx]  # -1: the transfers' row
    is_xfer = xfer_g[order]
    c_ovh = np.array([c.overhead_s for c in ucosts] + [0.0])
    c_work = np.array([c.work_s for c in ucosts] + [0.0])
    c_memb = np.array([float(c.mem_bytes) for c in ucosts] + [0.0])
    ovh, work, memb = c_ovh[cost_idx], c_work[cost_idx], c_memb[cost_idx]
    pool_mem = np.array(res.pool_memory + [-1], np.int64)
    mem_of = pool_mem[pool]
    npred = indeg[order]
    # transfers' routes, in start order (a Python loop per transfer only)
    xpos = np.flatnonzero(is_xfer).tolist()
    hop_counts = np.zeros(n, np.int64)
    route_pool_l: list = []
    route_hop_l: list = []
    xdur: list = []
    for p_, gi in zip(xpos, order[xpos].tolist()):
        t = tasks_g[gi]
        r = topo.route(t.src, t.dst, t.nbytes)
        hops = [c.time_s(t.nbytes) for c in r]
        hop_counts[p_] = len(hops)
        route_pool_l.extend(chan_index[c.name] for c in r)
        route_hop_l.extend(hops)
        xdur.append(sum(hops))
    route_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(hop_counts, out=route_ptr[1:])
    route_pool = np.array(route_pool_l, np.int64)
    route_hop = np.array(route_hop_l, np.float64)
    fifo = queue_policy == "fifo"
    if fifo:
        prio = np.zeros(n)
    else:
        dur = np.array([c.latency_s for c in ucosts] + [0.0])[cost_idx]
        dur[xpos] = xdur
        prio = -upward_rank(succ_ptr, succ_idx, dur)
    return ArrayPlan(
        order, gnames, tasks_g, rank[order], is_xfer, pool, cost_idx, ucosts, ovh, work, memb,
        mem_of, npred, succ_ptr, succ_idx, prio, route_ptr, route_pool, route_hop, udev, src, dst,
        res, fifo)


def run_compiled(plan: ArrayPlan) -> tuple[LazyList, dict[str, float], LazyList]:
    """Simulate *plan*: (records in the engine's sort order, bytes per memory, edges)."""
    from .kernels import event_loop

    res = plan.res
    n = len(plan.order)
    pool_count = np.array(res.pool_count, np.int64)
    pool_mem = np.array(res.pool_memory, np.int64)
    nmem = len(res.memory_Bps)
    mem_flows_cap = np.array([int(pool_count[pool_mem == m].sum()) for m in range(nmem)], np.int64)
    (ready, start, end, slot, hop_start, hop_end, hop_ready, served, finished) = event_loop(
        plan.fifo, plan.is_xfer, plan.pool, plan.ovh, plan.work, plan.memb, plan.mem_of,
        plan.npred, plan.succ_ptr, plan.succ_idx, plan.prio, plan.route_ptr, plan.route_pool,
        plan.route_hop, pool_count, np.array(res.memory_Bps, np.float64), mem_flows_cap)
    if finished != n:  # pragma: no cover - would be an engine bug
        raise RuntimeError("simulation ended with unfinished tasks")

    # records: compute tasks (index = task) then hops (index = nc + hop), in sort-key order
    comp = np.flatnonzero(~plan.is_xfer)
    nh = len(hop_start)
    hop_task = np.repeat(np.arange(n, dtype=np.int64), np.diff(plan.route_ptr))
    hop_no = np.arange(nh, dtype=np.int64) - plan.route_ptr[hop_task]
    # resource names: slots of every pool (channels are pools of one), ranked by name
    slot_off = np.zeros(len(pool_count) + 1, np.int64)
    np.cumsum(pool_count, out=slot_off[1:])
    slot_names = [f"{pref}[{i}]" if c > 1 else pref for pref, c in zip(res.pool_prefix, res.pool_count)
                  for i in range(c)]
    rank_of = {s: r for r, s in enumerate(sorted(set(slot_names)))}  # equal names, equal rank
    slot_rank = np.array([rank_of[s] for s in slot_names], np.int64)
    c_slot = slot_off[plan.pool[comp]] + slot[comp]
    h_slot = slot_off[plan.route_pool] if nh else np.zeros(0, np.int64)
    r_start = np.concatenate((start[comp], hop_start))
    r_end = np.concatenate((end[comp], hop_end))
    key = np.lexsort((np.concatenate((np.zeros(len(comp), np.int64), hop_no)),
                      plan.name_rank[np.concatenate((comp, hop_task))],
                      slot_rank[np.concatenate((c_slot, h_slot))], r_end, r_start))
    nc = len(comp)

    def build() -> list:
        tasks, ucosts, udev = plan.graph_tasks, plan.ucosts, plan.udev
        cidx = plan.cost_idx.tolist()
        gof = plan.order.tolist()  # start index -> graph index
        chan_rows = {}
        for p, ch in res.channel_objs.items():
            power = ch.spec.power
            chan_rows[p] = (ch.name, float(power.active_w) - float(power.idle_w),
                            float(power.energy_per_byte_j), f"link:{ch.spec.direction(ch.forward).model}")
        rs, re_, rd = r_start.tolist(), r_end.tolist(), np.concatenate((ready[comp], hop_ready)).tolist()
        ct, cs = comp.tolist(), c_slot.tolist()
        ht, hn, hp = hop_task.tolist(), hop_no.tolist(), plan.route_pool.tolist()
        out = []
        for k in key.tolist():
            st, en, rdy = rs[k], re_[k], rd[k]
            if k < nc:
                i = ct[k]
                c = cidx[i]
                t, cost = tasks[gof[i]], ucosts[c]
                extra_w = cost.extra_power_w
                out.append(make_record((
                    t.name, "task", t.step.value, udev[c], slot_names[cs[k]], st, en, rdy,
                    cost.overhead_s, cost.mem_bytes, cost.flop, extra_w, extra_w * (en - st),
                    cost.source, cost.extrapolated, t.layer, 0)))
            else:
                h = k - nc
                t = tasks[gof[ht[h]]]
                cname, extra_w, per_byte, source = chan_rows[hp[h]]
                out.append(make_record((
                    t.name, "hop", t.step.value, None, cname, st, en, rdy, 0.0, float(t.nbytes),
                    0.0, extra_w, extra_w * (en - st) + per_byte * t.nbytes, source, False,
                    t.layer, hn[h])))
        return out

    src, dst, gnames = plan.edges_src, plan.edges_dst, plan.graph_names
    edges = LazyList(len(src), lambda: [(gnames[u], gnames[v]) for u, v in zip(src.tolist(), dst.tolist())])
    memory_bytes = {name: float(b) for name, b in zip(res.memory_names, served.tolist())}
    return LazyList(nc + nh, build), memory_bytes, edges
